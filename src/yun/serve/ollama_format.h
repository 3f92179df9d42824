// Ollama's response shapes: a generation job's output as Ollama's NDJSON
// stream or single object (OllamaOutput, a JobOutput of generation_job.h),
// Ollama's error object, and a ResponseWriter that turns the server's
// OpenAI error objects into Ollama's.
//
// /api/chat lines:     {"model","created_at","message":{"role":"assistant",
//                       "content","thinking"?,"tool_calls"?},"done":false}
// /api/generate lines: {"model","created_at","response","thinking"?,"done":false}
// The last line (or the whole non-streamed body) has "done": true,
// "done_reason" ("stop" or "length"; a reply with tool calls is "stop" as
// Ollama says it), and total_duration, load_duration, prompt_eval_count,
// prompt_eval_duration, eval_count, eval_duration (nanoseconds; durations
// from the engine's own timing, load_duration 0 for a loaded model).
// Tool calls are sent whole ({"function":{"name","arguments":{...}}}) once
// generation has finished them, never as fragments. Nothing here throws.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "yun/serve/api_error.h"
#include "yun/serve/generation_job.h"
#include "yun/serve/http_server.h"
#include "yun/serve/openai_format.h"

namespace yun::serve {

inline constexpr const char* kNdjsonType = "application/x-ndjson";

// RFC 3339 in UTC with nanoseconds, as Ollama writes created_at.
std::string ollama_timestamp(std::chrono::system_clock::time_point t);
// {"error":"message"}.
std::string ollama_error_json(const std::string& message);
// OpenAI tool calls ([{id, type, function:{name, arguments (a JSON string or
// an object)}}]) -> Ollama's ([{function:{name, arguments (an object)}}]);
// arguments that are not a JSON object become {}.
OJson ollama_tool_calls(const OJson& openai_calls);
// Ollama's done_reason for an OpenAI finish_reason.
std::string ollama_done_reason(const std::string& finish_reason);

class OllamaOutput : public JobOutput {
 public:
  enum class Kind { kChat, kGenerate };
  OllamaOutput(Kind kind, std::string model);

  std::string stream_content_type() const override { return kNdjsonType; }
  void on_event(const RequestEvent& ev) override;
  std::string stream_chunk(const OJson& choice) override;
  std::string stream_end(const JobOutcome& out) override;
  std::string stream_error(const ApiError& e) override;
  std::string body(const OJson& openai_body, const JobOutcome& out) override;

 private:
  struct PendingCall {
    std::string name, arguments;
  };
  OJson line_base() const;  // model, created_at
  // One line with `content`/`thinking` (and `calls` for chat), done: false.
  std::string delta_line(const std::string& content, const std::string& thinking,
                         const OJson& calls) const;
  // The done: true object: the last message / response and the counts.
  OJson final_object(const std::string& content, const std::string& thinking, const OJson& calls,
                     const JobOutcome& out) const;

  Kind kind_;
  std::string model_;
  std::string done_reason_ = "stop";
  std::vector<PendingCall> calls_;  // streamed tool-call fragments, by index
  double first_token_s_ = -1;       // since submit
  double last_event_s_ = 0;
};

// Rewrites every complete error response (status >= 400, an OpenAI error
// object {"error":{"message",...}}) that `inner` sends into Ollama's
// {"error":"message"}, so /api/ routes answer auth, 404, 405 and 429 as
// Ollama does. Everything else passes through.
std::shared_ptr<ResponseWriter> ollama_errors(std::shared_ptr<ResponseWriter> inner);

}  // namespace yun::serve
