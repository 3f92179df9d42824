#include "yun/serve/responses_format.h"

#include <algorithm>
#include <cctype>

namespace yun::serve {
namespace {

bool all_space(std::string_view s) {
  return std::all_of(s.begin(), s.end(), [](unsigned char c) { return std::isspace(c) != 0; });
}

OJson text_part(const std::string& text) {
  return OJson{{"type", "output_text"}, {"text", text}, {"annotations", OJson::array()},
               {"logprobs", OJson::array()}};
}

OJson message_item(const std::string& id, const std::string& text, const char* status) {
  return OJson{{"id", id},           {"type", "message"},
               {"status", status},   {"role", "assistant"},
               {"content", OJson::array({text_part(text)})}};
}

OJson summary_part(const std::string& text) { return OJson{{"type", "summary_text"}, {"text", text}}; }

OJson reasoning_item(const std::string& id, const std::string& text) {
  return OJson{{"id", id}, {"type", "reasoning"}, {"summary", OJson::array({summary_part(text)})}};
}

OJson call_item(const std::string& id, const std::string& call_id, const std::string& name,
                const std::string& arguments, const char* status) {
  return OJson{{"id", id},           {"type", "function_call"}, {"status", status},
               {"arguments", arguments}, {"call_id", call_id},  {"name", name}};
}


// "completed", or "incomplete" and why, by the engine's finish reason
// ("stop", "length", "abort"; chat's "tool_calls" is a stop).
const char* status_of(const std::string& finish) {
  return finish == "length" || finish == "abort" ? "incomplete" : "completed";
}

OJson incomplete_details(const std::string& finish) {
  if (finish == "length") return OJson{{"reason", "max_output_tokens"}};
  if (finish == "abort") return OJson{{"reason", "interrupted"}};
  return nullptr;
}

OJson object_at(const OJson& obj, const char* key) {
  auto it = obj.find(key);
  return it != obj.end() && it->is_object() ? *it : OJson::object();
}

std::string string_or_empty(const OJson& obj, const char* key) {
  auto it = obj.find(key);
  return it != obj.end() && it->is_string() ? it->get<std::string>() : std::string();
}

OJson response_object(const ResponsesInfo& info, const char* status, OJson output, OJson usage,
                      OJson incomplete, OJson error) {
  OJson r;
  r["id"] = info.id;
  r["object"] = "response";
  r["created_at"] = info.created_at;
  r["status"] = status;
  r["background"] = false;
  r["error"] = std::move(error);
  r["incomplete_details"] = std::move(incomplete);
  r["model"] = info.model;
  r["output"] = std::move(output);
  for (const auto& [k, v] : info.echo.items()) r[k] = v;
  r["usage"] = std::move(usage);
  return r;
}

}  // namespace

std::string make_response_id(const std::string& prefix) {
  std::string id = make_request_id(prefix);  // "<prefix>-<hex>"
  id[prefix.size()] = '_';
  return id;
}

ResponsesOutput::ResponsesOutput(ResponsesInfo info, std::shared_ptr<const Tokenizer> tok)
    : info_(std::move(info)), tok_(std::move(tok)) {}

OJson ResponsesOutput::usage(const JobOutcome& out, const std::string& reasoning) const {
  int64_t reasoning_tokens = 0;
  if (tok_ && !reasoning.empty()) {
    reasoning_tokens = std::min(static_cast<int64_t>(tok_->encode(reasoning).size()),
                                out.completion_tokens);
  }
  return OJson{{"input_tokens", out.prompt_tokens},
               {"input_tokens_details", {{"cached_tokens", out.cached_prompt_tokens}}},
               {"output_tokens", out.completion_tokens},
               {"output_tokens_details", {{"reasoning_tokens", reasoning_tokens}}},
               {"total_tokens", out.prompt_tokens + out.completion_tokens}};
}

std::string ResponsesOutput::body(const OJson& openai_body, const JobOutcome& out) {
  OJson choice = OJson::object(), message = OJson::object();
  if (auto cs = openai_body.find("choices"); openai_body.is_object() && cs != openai_body.end() &&
                                             cs->is_array() && !cs->empty() && (*cs)[0].is_object()) {
    choice = (*cs)[0];
  }
  if (auto m = choice.find("message"); m != choice.end() && m->is_object()) message = *m;
  std::string finish = string_or_empty(choice, "finish_reason");
  const char* status = status_of(finish);
  std::string reasoning = string_or_empty(message, "reasoning_content");
  std::string content = string_or_empty(message, "content");
  OJson calls = OJson::array();
  if (auto tc = message.find("tool_calls"); tc != message.end() && tc->is_array()) calls = *tc;
  OJson output = OJson::array();
  if (!reasoning.empty()) output.push_back(reasoning_item(make_response_id("rs"), reasoning));
  if (calls.empty() || !all_space(content)) {
    output.push_back(message_item(make_response_id("msg"), content, status));
  }
  for (const auto& c : calls) {
    if (!c.is_object()) continue;
    const OJson fn = object_at(c, "function");
    output.push_back(call_item(make_response_id("fc"), string_or_empty(c, "id"),
                               string_or_empty(fn, "name"), string_or_empty(fn, "arguments"),
                               status));
  }
  OJson r = response_object(info_, status, std::move(output), usage(out, reasoning),
                            incomplete_details(finish), nullptr);
  keep(r);
  return dump_json(r);
}

void ResponsesOutput::keep(const OJson& response) {
  if (kept_ || !keeper_) return;
  kept_ = true;
  keeper_(response);
}

void ResponsesOutput::on_complete(const JobOutcome& out) {
  if (kept_ || !keeper_) return;
  if (out.kind == JobOutcome::kFailed) {
    ApiError e = error_from_status(out.error);
    OJson err{{"code", e.code.empty() ? e.type : e.code}, {"message", e.message}};
    keep(response_object(info_, "failed", items_, usage(out, reasoning_text_), nullptr,
                         std::move(err)));
  } else if (out.http_status == 499) {  // the client went away: no answer will be built
    keep(response_object(info_, "incomplete", items_, usage(out, reasoning_text_),
                         incomplete_details("abort"), nullptr));
  }
}

void ResponsesOutput::event(const char* type, OJson j) {
  OJson e;
  e["type"] = type;
  e["sequence_number"] = seq_++;
  for (auto& [k, v] : j.items()) e[k] = std::move(v);
  out_ += "event: ";
  out_ += type;
  out_ += "\n";
  out_ += sse_event(e);
}

std::string ResponsesOutput::stream_begin() {
  OJson r = response_object(info_, "in_progress", OJson::array(), nullptr, nullptr, nullptr);
  event("response.created", {{"response", r}});
  event("response.in_progress", {{"response", std::move(r)}});
  return std::exchange(out_, {});
}

std::string ResponsesOutput::stream_chunk(const OJson& choice) {
  auto d = choice.find("delta");
  if (d == choice.end() || !d->is_object()) return {};
  reasoning(string_or_empty(*d, "reasoning_content"));
  content(string_or_empty(*d, "content"));
  if (auto calls = d->find("tool_calls"); calls != d->end() && calls->is_array()) {
    for (const auto& c : *calls) tool_call(c);
  }
  return std::exchange(out_, {});
}

std::string ResponsesOutput::stream_end(const JobOutcome& out) {
  if (!had_message_ && !had_call_) open_message();  // a reply always has a message or a call
  const char* status = status_of(out.finish_reason);
  close(status);
  OJson r = response_object(info_, status, items_, usage(out, reasoning_text_),
                            incomplete_details(out.finish_reason), nullptr);
  keep(r);
  event(std::string(status) == "completed" ? "response.completed" : "response.incomplete",
        {{"response", std::move(r)}});
  return std::exchange(out_, {});
}

std::string ResponsesOutput::stream_error(const ApiError& error) {
  close("incomplete");
  OJson err{{"code", error.code.empty() ? error.type : error.code}, {"message", error.message}};
  OJson r = response_object(info_, "failed", items_, nullptr, nullptr, std::move(err));
  keep(r);
  event("response.failed", {{"response", std::move(r)}});
  return std::exchange(out_, {});
}

void ResponsesOutput::reasoning(const std::string& text) {
  if (text.empty()) return;
  if (open_ != Open::kReasoning) {
    close("completed");
    item_ = OJson{{"id", make_response_id("rs")}, {"type", "reasoning"}, {"summary", OJson::array()}};
    open_ = Open::kReasoning;
    event("response.output_item.added", {{"output_index", items_.size()}, {"item", item_}});
    event("response.reasoning_summary_part.added", {{"item_id", item_["id"]},
                                                    {"output_index", items_.size()},
                                                    {"summary_index", 0},
                                                    {"part", summary_part("")}});
  }
  text_ += text;
  reasoning_text_ += text;
  event("response.reasoning_summary_text.delta",
        {{"item_id", item_["id"]}, {"output_index", items_.size()}, {"summary_index", 0}, {"delta", text}});
}

void ResponsesOutput::open_message() {
  close("completed");
  item_ = OJson{{"id", make_response_id("msg")}, {"type", "message"}, {"status", "in_progress"},
                {"role", "assistant"},            {"content", OJson::array()}};
  open_ = Open::kMessage;
  had_message_ = true;
  event("response.output_item.added", {{"output_index", items_.size()}, {"item", item_}});
  event("response.content_part.added", {{"item_id", item_["id"]},
                                        {"output_index", items_.size()},
                                        {"content_index", 0},
                                        {"part", text_part("")}});
  if (!held_.empty()) content("");
}

void ResponsesOutput::content(const std::string& text) {
  if (open_ != Open::kMessage) {
    held_ += text;
    // Whitespace alone (before or between tool calls) opens no message.
    if (all_space(held_)) return;
    open_message();
    return;
  }
  std::string delta = std::exchange(held_, {}) + text;
  if (delta.empty()) return;
  text_ += delta;
  event("response.output_text.delta", {{"item_id", item_["id"]},
                                       {"output_index", items_.size()},
                                       {"content_index", 0},
                                       {"delta", delta},
                                       {"logprobs", OJson::array()}});
}

void ResponsesOutput::tool_call(const OJson& call) {
  if (!call.is_object()) return;
  const OJson fn = object_at(call, "function");
  if (call.contains("id")) {  // a call's head: a new item
    close("completed");
    held_.clear();
    item_ = call_item(make_response_id("fc"), string_or_empty(call, "id"),
                      string_or_empty(fn, "name"), "", "in_progress");
    open_ = Open::kCall;
    had_call_ = true;
    event("response.output_item.added", {{"output_index", items_.size()}, {"item", item_}});
  }
  std::string args = string_or_empty(fn, "arguments");
  if (args.empty() || open_ != Open::kCall) return;
  text_ += args;
  event("response.function_call_arguments.delta",
        {{"item_id", item_["id"]}, {"output_index", items_.size()}, {"delta", args}});
}

void ResponsesOutput::close(const char* status) {
  const OJson id = item_.is_object() ? item_["id"] : OJson(nullptr);
  const size_t index = items_.size();
  switch (open_) {
    case Open::kNone:
      return;
    case Open::kReasoning:
      event("response.reasoning_summary_text.done",
            {{"item_id", id}, {"output_index", index}, {"summary_index", 0}, {"text", text_}});
      event("response.reasoning_summary_part.done",
            {{"item_id", id}, {"output_index", index}, {"summary_index", 0}, {"part", summary_part(text_)}});
      item_ = reasoning_item(id.get<std::string>(), text_);
      break;
    case Open::kMessage:
      event("response.output_text.done", {{"item_id", id},
                                          {"output_index", index},
                                          {"content_index", 0},
                                          {"text", text_},
                                          {"logprobs", OJson::array()}});
      event("response.content_part.done",
            {{"item_id", id}, {"output_index", index}, {"content_index", 0}, {"part", text_part(text_)}});
      item_ = message_item(id.get<std::string>(), text_, status);
      break;
    case Open::kCall:
      event("response.function_call_arguments.done",
            {{"item_id", id}, {"output_index", index}, {"name", item_["name"]}, {"arguments", text_}});
      item_ = call_item(id.get<std::string>(), item_["call_id"].get<std::string>(),
                        item_["name"].get<std::string>(), text_, status);
      break;
  }
  event("response.output_item.done", {{"output_index", index}, {"item", item_}});
  items_.push_back(std::move(item_));
  item_ = nullptr;
  text_.clear();
  open_ = Open::kNone;
}

}  // namespace yun::serve
