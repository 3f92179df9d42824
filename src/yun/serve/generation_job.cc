#include "yun/serve/generation_job.h"

#include <algorithm>

#include "yun/serve/openai_service.h"

namespace yun::serve {

GenerationJob::GenerationJob(JobSetup setup, Engine* engine, std::shared_ptr<const Tokenizer> tok,
                             Metrics* metrics, std::shared_ptr<ResponseWriter> writer)
    : setup_(std::move(setup)),
      engine_(engine),
      tok_(std::move(tok)),
      metrics_(metrics),
      writer_(std::move(writer)),
      chat_(setup_.request.kind == OpenAiRequest::Kind::kChat),
      id_(make_request_id(chat_ ? "chatcmpl" : "cmpl")),
      created_(unix_time_now()),
      start_(std::chrono::steady_clock::now()) {
  int n = setup_.request.n;
  choices_.reserve(setup_.prompts.size() * n);
  for (size_t p = 0; p < setup_.prompts.size(); ++p) {
    for (int i = 0; i < n; ++i) {
      choices_.push_back(Choice{static_cast<int>(p),
                                "",
                                {},
                                std::nullopt,
                                "",
                                {},
                                ReasoningParser(setup_.starts_in_reasoning),
                                StreamingToolParser(setup_.tool_reply_prefix),
                                false,
                                0,
                                {},
                                false});
    }
  }
  first_token_seen_.assign(setup_.prompts.size(), false);
}

void GenerationJob::start(const std::vector<SamplingParams>& params) {
  auto self = shared_from_this();
  for (size_t p = 0; p < setup_.prompts.size(); ++p) {
    GenerateRequest r;
    r.prompt_ids = setup_.prompts[p];
    r.params = params[p];
    r.meta = setup_.meta;
    r.sink = [self, w = writer_, p](const RequestEvent& ev) {
      w->post([self, p, ev] { self->on_event(static_cast<int>(p), ev); });
    };
    auto id = engine_->submit(std::move(r));
    if (!id.is_ok()) {
      // Prompts never submitted end here; the submitted ones end through
      // the engine's abort events, and the job completes with the last.
      failure_ = id.status();
      for (auto& c : choices_) {
        if (c.prompt >= static_cast<int>(p) && !c.finish) {
          c.finish = FinishReason::kError;
          ++finished_;
        }
      }
      abort_all();
      respond_error();
      if (finished_ == static_cast<int>(choices_.size())) complete();
      return;
    }
    engine_ids_.push_back(*id);
  }
  writer_->on_close([self] {
    if (self->completed_) return;
    // The engine still sends each sample's final event (kAbort) with its
    // counts; the job completes, and records its usage, with the last one.
    self->client_gone_ = true;
    self->abort_all();
  });
  if (setup_.request.stream) {
    stream_started_ = true;
    std::string type = setup_.output ? setup_.output->stream_content_type() : "text/event-stream";
    writer_->start_stream(200, type, setup_.response_headers);
    if (setup_.output) {
      pending_ += setup_.output->stream_begin();
      flush();
    }
  }
}

void GenerationJob::abort_all() {
  for (uint64_t id : engine_ids_) engine_->abort(id);
}

OJson GenerationJob::chunk_base() const {
  OJson j;
  j["id"] = id_;
  j["object"] = chat_ ? "chat.completion.chunk" : "text_completion";
  j["created"] = created_;
  j["model"] = setup_.model_name;
  return j;
}

void GenerationJob::on_event(int prompt, const RequestEvent& ev) {
  if (completed_) return;
  size_t index = static_cast<size_t>(prompt) * setup_.request.n + ev.index;
  if (index >= choices_.size()) return;
  Choice& c = choices_[index];
  if (c.finish) return;
  if (setup_.output) setup_.output->on_event(ev);
  c.usage = ev.usage;
  auto now = std::chrono::steady_clock::now();
  if (!ev.token_ids.empty()) {
    if (!first_token_seen_[prompt]) {
      first_token_seen_[prompt] = true;
      metrics_->observe_ttft(ev.time_since_submit);
      if (std::all_of(first_token_seen_.begin(), first_token_seen_.end(),
                      [](bool b) { return b; })) {
        setup_.waiting_ticket.release();
      }
    }
    if (c.got_token) {
      double dt = std::chrono::duration<double>(now - c.last).count() / ev.token_ids.size();
      for (size_t k = 0; k < ev.token_ids.size(); ++k) metrics_->observe_inter_token(dt);
    }
    c.got_token = true;
    c.last = now;
  }
  if (ev.finish && *ev.finish == FinishReason::kError) {
    c.finish = FinishReason::kError;
    metrics_->count_finished("error", ev);
    if (failure_.is_ok()) failure_ = ev.error.is_ok() ? internal_error("generation failed") : ev.error;
    abort_all();
    respond_error();
    if (++finished_ == static_cast<int>(choices_.size())) complete();
    return;
  }
  const bool answering = !responded_ && !client_gone_;
  c.text += ev.text;
  if (setup_.request.logprobs >= 0) {
    c.logprobs.insert(c.logprobs.end(), ev.logprobs.begin(), ev.logprobs.end());
  }
  if (answering && setup_.request.stream) stream_delta(c, static_cast<int>(index), ev);
  if (ev.finish) {
    c.finish = ev.finish;
    c.stop_reason = ev.stop_reason;
    if (answering && setup_.request.stream) stream_finish(c, static_cast<int>(index));
    // The engine's reason: a reply with tool calls counts as "stop", as in vLLM.
    metrics_->count_finished(finish_reason_name(*ev.finish), ev);
    if (++finished_ == static_cast<int>(choices_.size())) {
      complete();
      return;
    }
  }
  if (answering) flush();  // one write (one send) for everything this event produced
}

void GenerationJob::complete() {
  if (completed_) return;
  completed_ = true;
  setup_.waiting_ticket.release();
  metrics_->observe_e2e(
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count());
  JobOutcome out;
  out.request_id = id_;
  out.model = setup_.model_name;
  // Prompts the engine never took (a submit error) cost nothing.
  for (size_t p = 0; p < engine_ids_.size(); ++p) {
    out.prompt_tokens += static_cast<int64_t>(setup_.prompts[p].size());
    out.cached_prompt_tokens += choices_[p * setup_.request.n].usage.cached_prompt_tokens;
  }
  bool any_abort = false;
  for (const auto& c : choices_) {
    out.completion_tokens += c.usage.completion_tokens;
    any_abort |= c.finish == FinishReason::kAbort;
  }
  if (!choices_.empty() && choices_[0].finish) out.finish_reason = finish_reason_name(*choices_[0].finish);
  if (!failure_.is_ok()) {
    out.kind = JobOutcome::kFailed;
    out.error = failure_;
    out.http_status = error_from_status(failure_).http_status;
  } else if (client_gone_ || any_abort) {
    out.kind = JobOutcome::kAborted;  // the client left, or the engine drained
    out.http_status = client_gone_ ? 499 : 200;
  }
  if (setup_.output) setup_.output->on_complete(out);
  if (setup_.on_complete) setup_.on_complete(out);
  const bool answer = !responded_ && !client_gone_;
  if (setup_.commit_usage) {
    if (!answer) return setup_.commit_usage(out, nullptr);
    // Billed before the last byte: finalize once the record is committed.
    auto self = shared_from_this();
    setup_.commit_usage(out, [self, out] {
      self->writer_->post([self, out] {
        if (!self->responded_ && !self->client_gone_) self->finalize(out);
      });
    });
    return;
  }
  if (answer) finalize(out);
}

namespace {

OJson delta_choice(int index, OJson delta, OJson logprobs) {
  OJson choice;
  choice["index"] = index;
  choice["delta"] = std::move(delta);
  choice["logprobs"] = std::move(logprobs);
  choice["finish_reason"] = nullptr;
  return choice;
}

// One delta per tool-call delta, after the content that came before them.
void append_tool_deltas(std::vector<OJson>& deltas, const ToolStreamDelta& td) {
  if (!td.content.empty()) deltas.push_back(OJson{{"content", td.content}});
  for (const auto& d : td.calls) {
    deltas.push_back(OJson{{"tool_calls", OJson::array({tool_call_delta_json(d)})}});
  }
}

}  // namespace

void GenerationJob::write_chunk(const OJson& choice) {
  if (setup_.output) {
    pending_ += setup_.output->stream_chunk(choice);
    return;
  }
  // chunk_base() + "choices" + "usage", in that order, as one SSE event;
  // the fixed part is dumped once per job.
  if (chunk_prefix_.empty()) {
    chunk_prefix_ = dump_json(chunk_base());
    chunk_prefix_.pop_back();  // the closing '}'
    chunk_prefix_ = "data: " + chunk_prefix_ + ",\"choices\":[";
  }
  pending_ += chunk_prefix_;
  pending_ += dump_json(choice);
  pending_ += setup_.request.include_usage ? "],\"usage\":null}\n\n" : "]}\n\n";
}

void GenerationJob::flush() {
  if (pending_.empty()) return;
  writer_->write(std::move(pending_));
  pending_.clear();
}

void GenerationJob::end_stream() {
  if (!setup_.output) pending_ += kSseDone;
  flush();
  writer_->finish();
}

void GenerationJob::send_role(Choice& c, int index) {
  if (c.sent_role) return;
  c.sent_role = true;
  write_chunk(delta_choice(index, {{"role", "assistant"}, {"content", ""}}, nullptr));
}

std::vector<OJson> GenerationJob::chat_deltas(Choice& c, const std::string& reasoning,
                                              const std::string& content, bool last) {
  std::vector<OJson> deltas;
  if (!reasoning.empty()) deltas.push_back(OJson{{"reasoning_content", reasoning}});
  ToolStreamDelta td;
  if (setup_.parse_tools) {
    td = c.tools.push(content);
  } else {
    td.content = content;
  }
  if (!td.content.empty() && !deltas.empty()) {
    deltas.back()["content"] = std::move(td.content);
    td.content.clear();
  }
  append_tool_deltas(deltas, td);
  if (last && setup_.parse_tools) append_tool_deltas(deltas, c.tools.finish());
  return deltas;
}

void GenerationJob::stream_delta(Choice& c, int index, const RequestEvent& ev) {
  bool has_lp = setup_.request.logprobs >= 0 && !ev.logprobs.empty();
  if (!chat_) {
    if (ev.text.empty() && !has_lp) return;
    OJson choice;
    choice["index"] = index;
    choice["text"] = ev.text;
    choice["logprobs"] =
        has_lp ? completion_logprobs_json(tok_.get(), ev.logprobs, c.text_offset) : OJson(nullptr);
    c.text_offset += static_cast<int64_t>(ev.text.size());
    choice["finish_reason"] = nullptr;
    write_chunk(std::move(choice));
    return;
  }
  send_role(c, index);
  std::string content = ev.text, reasoning;
  if (setup_.reasoning) {
    auto d = c.reasoning.push(content);
    reasoning = std::move(d.reasoning);
    content = std::move(d.content);
  }
  std::vector<OJson> deltas = chat_deltas(c, reasoning, content, false);
  if (deltas.empty()) {
    if (!has_lp) return;
    deltas.push_back(OJson{{"content", ""}});
  }
  OJson lp = has_lp ? chat_logprobs_json(tok_.get(), ev.logprobs) : OJson(nullptr);
  for (auto& d : deltas) {
    write_chunk(delta_choice(index, std::move(d), std::move(lp)));
    lp = nullptr;
  }
}

void GenerationJob::stream_finish(Choice& c, int index) {
  std::string finish = finish_reason_name(*c.finish);
  OJson last = OJson::object();
  if (chat_) {
    send_role(c, index);
    std::string content, reasoning;
    if (setup_.reasoning) {
      auto d = c.reasoning.finish();
      reasoning = std::move(d.reasoning);
      content = std::move(d.content);
    }
    std::vector<OJson> deltas = chat_deltas(c, reasoning, content, true);
    if (!deltas.empty()) {
      last = std::move(deltas.back());
      deltas.pop_back();
    }
    for (auto& d : deltas) write_chunk(delta_choice(index, std::move(d), nullptr));
    if (c.tools.num_calls() > 0 && *c.finish == FinishReason::kStop) finish = "tool_calls";
  }
  OJson choice;
  choice["index"] = index;
  if (chat_) {
    choice["delta"] = std::move(last);
  } else {
    choice["text"] = "";
  }
  choice["logprobs"] = nullptr;
  choice["finish_reason"] = finish;
  choice["stop_reason"] = c.stop_reason.empty() ? OJson(nullptr) : OJson(c.stop_reason);
  write_chunk(std::move(choice));
}

void GenerationJob::finalize(const JobOutcome& out) {
  responded_ = true;
  OJson usage = usage_json(out.prompt_tokens, out.completion_tokens, out.cached_prompt_tokens);

  if (setup_.request.stream) {
    if (setup_.output) {
      pending_ += setup_.output->stream_end(out);
    } else if (setup_.request.include_usage) {
      OJson chunk = chunk_base();
      chunk["choices"] = OJson::array();
      chunk["usage"] = usage;
      pending_ += sse_event(chunk);
    }
    end_stream();
    return;
  }

  OJson body;
  body["id"] = id_;
  body["object"] = chat_ ? "chat.completion" : "text_completion";
  body["created"] = created_;
  body["model"] = setup_.model_name;
  OJson choices = OJson::array();
  for (size_t i = 0; i < choices_.size(); ++i) {
    const Choice& c = choices_[i];
    OJson choice;
    choice["index"] = i;
    std::string finish = finish_reason_name(*c.finish);
    if (chat_) {
      std::string content = c.text;
      OJson message;
      message["role"] = "assistant";
      OJson reasoning = nullptr;
      if (setup_.reasoning) {
        auto d = ReasoningParser::parse(content, setup_.starts_in_reasoning);
        if (!d.reasoning.empty()) reasoning = d.reasoning;
        content = d.content;
      }
      std::vector<ToolCall> calls;
      if (setup_.parse_tools) {
        auto t = parse_tool_calls(setup_.tool_reply_prefix + content);
        calls = std::move(t.calls);
        content = std::move(t.content);
      }
      message["content"] = calls.empty() || !content.empty() ? OJson(content) : OJson(nullptr);
      if (setup_.reasoning) message["reasoning_content"] = reasoning;
      if (!calls.empty()) {
        message["tool_calls"] = tool_calls_json(calls);
        if (*c.finish == FinishReason::kStop) finish = "tool_calls";
      }
      choice["message"] = std::move(message);
      choice["logprobs"] = setup_.request.logprobs >= 0 ? chat_logprobs_json(tok_.get(), c.logprobs)
                                                        : OJson(nullptr);
    } else {
      std::string prefix = setup_.request.echo ? setup_.prompt_texts[c.prompt] : "";
      choice["text"] = prefix + c.text;
      choice["logprobs"] = setup_.request.logprobs >= 0
                               ? completion_logprobs_json(tok_.get(), c.logprobs,
                                                          static_cast<int64_t>(prefix.size()))
                               : OJson(nullptr);
    }
    choice["finish_reason"] = finish;
    choice["stop_reason"] = c.stop_reason.empty() ? OJson(nullptr) : OJson(c.stop_reason);
    choices.push_back(std::move(choice));
  }
  body["choices"] = std::move(choices);
  body["usage"] = usage;
  writer_->send(HttpResponse{200, "application/json",
                             setup_.output ? setup_.output->body(body, out) : dump_json(body),
                             setup_.response_headers});
}

void GenerationJob::respond_error() {
  if (responded_ || client_gone_) return;
  responded_ = true;
  ApiError e = error_from_status(failure_);
  if (stream_started_) {
    OJson err = OJson::parse(e.to_json(), nullptr, false);
    pending_ += setup_.output ? setup_.output->stream_error(e) : sse_event(err);
    end_stream();
  } else {
    send_error(*writer_, e);
  }
}

}  // namespace yun::serve
