#include "yun/serve/ollama_format.h"

#include <cstdio>
#include <ctime>

namespace yun::serve {

std::string ollama_timestamp(std::chrono::system_clock::time_point t) {
  using namespace std::chrono;
  auto ns = duration_cast<nanoseconds>(t.time_since_epoch()).count();
  std::time_t secs = static_cast<std::time_t>(ns / 1'000'000'000);
  long frac = static_cast<long>(ns % 1'000'000'000);
  if (frac < 0) {
    frac += 1'000'000'000;
    --secs;
  }
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%09ldZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, frac);
  return buf;
}

std::string ollama_error_json(const std::string& message) {
  return dump_json(OJson{{"error", message}});
}

std::string ollama_done_reason(const std::string& finish_reason) {
  if (finish_reason == "tool_calls" || finish_reason.empty()) return "stop";
  return finish_reason;
}

namespace {

OJson arguments_object(const OJson& args) {
  if (args.is_object()) return args;
  if (args.is_string()) {
    OJson parsed = OJson::parse(args.get<std::string>(), nullptr, false);
    if (parsed.is_object()) return parsed;
  }
  return OJson::object();
}

int64_t ns(double seconds) { return seconds > 0 ? static_cast<int64_t>(seconds * 1e9) : 0; }

std::string str_field(const OJson& o, const char* key) {
  auto it = o.find(key);
  return it != o.end() && it->is_string() ? it->get<std::string>() : "";
}

}  // namespace

OJson ollama_tool_calls(const OJson& openai_calls) {
  OJson out = OJson::array();
  if (!openai_calls.is_array()) return out;
  for (const auto& c : openai_calls) {
    if (!c.is_object() || !c.contains("function") || !c["function"].is_object()) continue;
    const OJson& fn = c["function"];
    OJson call;
    if (c.contains("id") && c["id"].is_string()) call["id"] = c["id"];
    call["function"] = {{"index", out.size()},
                        {"name", str_field(fn, "name")},
                        {"arguments", arguments_object(fn.value("arguments", OJson::object()))}};
    out.push_back(std::move(call));
  }
  return out;
}

OllamaOutput::OllamaOutput(Kind kind, std::string model) : kind_(kind), model_(std::move(model)) {}

OJson OllamaOutput::line_base() const {
  OJson j;
  j["model"] = model_;
  j["created_at"] = ollama_timestamp(std::chrono::system_clock::now());
  return j;
}

void OllamaOutput::on_event(const RequestEvent& ev) {
  if (ev.first_token_time >= 0 && first_token_s_ < 0) first_token_s_ = ev.first_token_time;
  if (ev.time_since_submit > last_event_s_) last_event_s_ = ev.time_since_submit;
}

std::string OllamaOutput::delta_line(const std::string& content, const std::string& thinking,
                                     const OJson& calls) const {
  OJson j = line_base();
  if (kind_ == Kind::kChat) {
    OJson m;
    m["role"] = "assistant";
    m["content"] = content;
    if (!thinking.empty()) m["thinking"] = thinking;
    if (!calls.empty()) m["tool_calls"] = calls;
    j["message"] = std::move(m);
  } else {
    j["response"] = content;
    if (!thinking.empty()) j["thinking"] = thinking;
  }
  j["done"] = false;
  return dump_json(j) + "\n";
}

std::string OllamaOutput::stream_chunk(const OJson& choice) {
  std::string content, thinking;
  if (choice.contains("delta") && choice["delta"].is_object()) {
    const OJson& d = choice["delta"];
    content = str_field(d, "content");
    thinking = str_field(d, "reasoning_content");
    if (d.contains("tool_calls") && d["tool_calls"].is_array()) {
      for (const auto& t : d["tool_calls"]) {
        size_t i = t.value("index", size_t{0});
        if (i >= calls_.size()) calls_.resize(i + 1);
        if (t.contains("function") && t["function"].is_object()) {
          const OJson& fn = t["function"];
          if (fn.contains("name") && fn["name"].is_string()) calls_[i].name = fn["name"];
          calls_[i].arguments += str_field(fn, "arguments");
        }
      }
    }
  } else {
    content = str_field(choice, "text");  // a completions choice (raw generate)
  }
  OJson calls = OJson::array();
  if (choice.contains("finish_reason") && choice["finish_reason"].is_string()) {
    done_reason_ = ollama_done_reason(choice["finish_reason"].get<std::string>());
    OJson openai = OJson::array();
    for (const auto& c : calls_)
      openai.push_back({{"function", {{"name", c.name}, {"arguments", c.arguments}}}});
    calls = ollama_tool_calls(openai);
    calls_.clear();
  }
  if (content.empty() && thinking.empty() && calls.empty()) return "";
  return delta_line(content, thinking, calls);
}

OJson OllamaOutput::final_object(const std::string& content, const std::string& thinking,
                                 const OJson& calls, const JobOutcome& out) const {
  OJson j = line_base();
  if (kind_ == Kind::kChat) {
    OJson m;
    m["role"] = "assistant";
    m["content"] = content;
    if (!thinking.empty()) m["thinking"] = thinking;
    if (!calls.empty()) m["tool_calls"] = calls;
    j["message"] = std::move(m);
  } else {
    j["response"] = content;
    if (!thinking.empty()) j["thinking"] = thinking;
  }
  j["done"] = true;
  j["done_reason"] = done_reason_;
  double first = first_token_s_ >= 0 ? first_token_s_ : last_event_s_;
  j["total_duration"] = ns(last_event_s_);
  j["load_duration"] = 0;
  j["prompt_eval_count"] = out.prompt_tokens;
  j["prompt_eval_duration"] = ns(first);
  j["eval_count"] = out.completion_tokens;
  j["eval_duration"] = ns(last_event_s_ - first);
  return j;
}

std::string OllamaOutput::stream_end(const JobOutcome& out) {
  return dump_json(final_object("", "", OJson::array(), out)) + "\n";
}

std::string OllamaOutput::stream_error(const ApiError& e) {
  return ollama_error_json(e.message) + "\n";
}

std::string OllamaOutput::body(const OJson& openai_body, const JobOutcome& out) {
  std::string content, thinking;
  OJson calls = OJson::array();
  const OJson* choice = nullptr;
  if (openai_body.contains("choices") && openai_body["choices"].is_array() &&
      !openai_body["choices"].empty()) {
    choice = &openai_body["choices"][0];
  }
  if (choice) {
    done_reason_ = ollama_done_reason(str_field(*choice, "finish_reason"));
    if (choice->contains("message") && (*choice)["message"].is_object()) {
      const OJson& m = (*choice)["message"];
      content = str_field(m, "content");
      thinking = str_field(m, "reasoning_content");
      if (m.contains("tool_calls")) calls = ollama_tool_calls(m["tool_calls"]);
    } else {
      content = str_field(*choice, "text");
    }
  }
  return dump_json(final_object(content, thinking, calls, out));
}

namespace {

class OllamaErrorWriter : public ResponseWriter {
 public:
  explicit OllamaErrorWriter(std::shared_ptr<ResponseWriter> inner) : inner_(std::move(inner)) {}
  void send(HttpResponse r) override {
    if (r.status >= 400) {
      OJson j = OJson::parse(r.body, nullptr, false);
      if (j.is_object() && j.contains("error") && j["error"].is_object() &&
          j["error"].contains("message") && j["error"]["message"].is_string()) {
        r.body = ollama_error_json(j["error"]["message"].get<std::string>());
        r.content_type = "application/json";
      }
    }
    inner_->send(std::move(r));
  }
  void start_stream(int status, const std::string& content_type,
                    std::vector<std::pair<std::string, std::string>> headers) override {
    inner_->start_stream(status, content_type, std::move(headers));
  }
  void write(std::string data) override { inner_->write(std::move(data)); }
  void finish() override { inner_->finish(); }
  void post(std::function<void()> fn) override { inner_->post(std::move(fn)); }
  void on_close(std::function<void()> fn) override { inner_->on_close(std::move(fn)); }
  bool closed() const override { return inner_->closed(); }

 private:
  std::shared_ptr<ResponseWriter> inner_;
};

}  // namespace

std::shared_ptr<ResponseWriter> ollama_errors(std::shared_ptr<ResponseWriter> inner) {
  return std::make_shared<OllamaErrorWriter>(std::move(inner));
}

}  // namespace yun::serve
