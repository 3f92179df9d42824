// GenerationJob: one chat or completions request in flight. Owns the
// per-choice state (text, logprobs, reasoning/tool parsers), turns engine
// events into SSE chunks or a final JSON body, records latency metrics and
// aborts its engine requests when the client goes away. Streamed, each
// tool-call delta (tool_stream_parser.h) is a chunk of its own: a call's
// id + name (arguments ""), then its argument fragments; finish_reason is
// "tool_calls" when a call was sent and generation stopped normally.
//
// Threading: engine sinks (engine thread) post events to the connection's
// strand via ResponseWriter::post; every member runs on that strand.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "yun/engine/engine.h"
#include "yun/serve/admission_gate.h"
#include "yun/serve/job_outcome.h"
#include "yun/serve/http_server.h"
#include "yun/serve/metrics.h"
#include "yun/serve/openai_format.h"
#include "yun/serve/reasoning_parser.h"
#include "yun/serve/request_parse.h"
#include "yun/serve/tool_parser.h"
#include "yun/serve/tool_stream_parser.h"

namespace yun::serve {

// An output mode other than OpenAI's chat/completions one (e.g. Ollama's
// NDJSON, ollama_format.h; the Responses API, responses_format.h):
// the job still builds its OpenAI-shaped pieces and hands them here for the
// bytes to send. Every call runs on the job's strand.
class JobOutput {
 public:
  virtual ~JobOutput() = default;
  virtual std::string stream_content_type() const = 0;
  // The first bytes of a stream, sent as soon as it starts (maybe none).
  virtual std::string stream_begin() { return {}; }
  // Every engine event of the job, before it is turned into output.
  virtual void on_event(const RequestEvent& ev) { (void)ev; }
  // One streamed choice (the OpenAI chunk's "choices" entry) -> bytes (maybe none).
  virtual std::string stream_chunk(const OJson& choice) = 0;
  // The last bytes of a successful stream.
  virtual std::string stream_end(const JobOutcome& out) = 0;
  // An error once the stream has started.
  virtual std::string stream_error(const ApiError& e) = 0;
  // A non-streamed success: the OpenAI body -> the response body (JSON).
  virtual std::string body(const OJson& openai_body, const JobOutcome& out) = 0;
  // How the job ended, once, from its one terminal path, before the
  // success response (body / stream_end) is built, if there is one (a
  // failure or a client gone has none).
  virtual void on_complete(const JobOutcome& out) { (void)out; }
};

struct JobSetup {
  OpenAiRequest request;
  std::string model_name;
  std::vector<std::vector<int32_t>> prompts;  // one engine request each
  std::vector<std::string> prompt_texts;      // for echo (completions)
  bool reasoning = false;                     // split <think> (chat)
  bool starts_in_reasoning = false;
  bool parse_tools = false;  // chat with tools
  // The forced start of the reply (tool_choice.h), already in the prompt;
  // the reply is parsed for tool calls as prefix + generated text.
  std::string tool_reply_prefix;
  // --max-waiting's slot: released once every prompt has its first token, or
  // when the job ends.
  AdmissionGate::Ticket waiting_ticket;
  // Called once, on the strand, when the last engine event of the job has
  // arrived: finished, failed, aborted (client gone) and drained alike.
  std::function<void(const JobOutcome&)> on_complete;
  // The tenant as the engine sees it (fair share, cache salt); default: none.
  RequestMeta meta;
  // With tenancy: records the job's usage and calls `then` once it is
  // committed (or the store gave up waiting, ledger.h), from any thread; the
  // success response's last bytes are held until then. `then` is null when
  // nothing is left to answer (failed, client gone).
  std::function<void(const JobOutcome&, std::function<void()> then)> commit_usage;
  // Added to the response (x-ratelimit-* with tenancy).
  std::vector<std::pair<std::string, std::string>> response_headers;
  // Null: OpenAI's SSE chunks and bodies.
  std::shared_ptr<JobOutput> output;
};

class GenerationJob : public std::enable_shared_from_this<GenerationJob> {
 public:
  GenerationJob(JobSetup setup, Engine* engine, std::shared_ptr<const Tokenizer> tok,
                Metrics* metrics, std::shared_ptr<ResponseWriter> writer);

  // Submits every prompt (on the strand). On a submit error, aborts what was
  // submitted and answers with the error.
  void start(const std::vector<SamplingParams>& params);

 private:
  struct Choice {
    int prompt = 0;
    std::string text;
    std::vector<TokenLogprob> logprobs;
    std::optional<FinishReason> finish;
    std::string stop_reason;
    Usage usage;
    ReasoningParser reasoning;
    StreamingToolParser tools;
    bool sent_role = false;
    int64_t text_offset = 0;  // completions logprobs offsets
    std::chrono::steady_clock::time_point last;
    bool got_token = false;
  };

  void on_event(int prompt, const RequestEvent& ev);
  void stream_delta(Choice& c, int index, const RequestEvent& ev);
  void stream_finish(Choice& c, int index);
  // Chat deltas for one step, in output order: reasoning and content, then
  // one delta per tool-call delta (`last`: the tool parser is finished too).
  std::vector<OJson> chat_deltas(Choice& c, const std::string& reasoning,
                                 const std::string& content, bool last);
  void send_role(Choice& c, int index);  // the first chunk of a chat choice
  // Appends one SSE chunk holding `choice` to pending_; flush() writes what
  // is pending as one HTTP chunk (one send per engine event, not per chunk).
  void write_chunk(const OJson& choice);
  void flush();
  void end_stream();  // appends [DONE], flushes, ends the chunked response
  // The one terminal path: runs once, after every sample's final event.
  void complete();
  void finalize(const JobOutcome& out);  // the success response (body or stream end)
  void respond_error();                  // failure_ as the response, at most once
  OJson chunk_base() const;
  void abort_all();

  JobSetup setup_;
  Engine* engine_;
  std::shared_ptr<const Tokenizer> tok_;
  Metrics* metrics_;
  std::shared_ptr<ResponseWriter> writer_;
  bool chat_;
  std::string id_;
  int64_t created_;
  std::vector<uint64_t> engine_ids_;
  std::vector<Choice> choices_;
  std::vector<bool> first_token_seen_;
  std::chrono::steady_clock::time_point start_;
  int finished_ = 0;
  bool completed_ = false;  // complete() ran
  bool responded_ = false;  // the response is finished (or failed)
  bool client_gone_ = false;
  Status failure_;
  bool stream_started_ = false;
  std::string chunk_prefix_;  // "data: {...chunk_base...,\"choices\":["
  std::string pending_;       // SSE text not yet written
};

}  // namespace yun::serve
