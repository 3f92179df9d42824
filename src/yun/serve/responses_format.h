// The answer side of POST /v1/responses: ResponsesOutput, a JobOutput
// (generation_job.h) that turns the job's chat-shaped pieces (its parsed
// reasoning, content and tool-call deltas, or its chat.completion body) into
// Response objects and their SSE event stream (OpenAI's Responses API).
//
// Output items, in order: a `reasoning` item (its <think> text as one
// summary_text part, when the reasoning parser is on and the reply has
// some), a `message` item (one output_text part, annotations []) unless the
// reply is only tool calls (whitespace-only content between them opens no
// message), then one `function_call` item per tool call (call_id, name,
// arguments). Status: "completed"; "incomplete" with
// incomplete_details.reason "max_output_tokens" when generation hit the
// token limit ("interrupted" when the engine stopped it); "failed" with an
// error once a stream has started (before that, errors are plain 4xx/5xx).
//
// Streamed, each event is "event: TYPE\ndata: JSON\n\n" with a
// sequence_number from 0: response.created, response.in_progress, then per
// item response.output_item.added, its parts and deltas
// (reasoning_summary_part.added, reasoning_summary_text.delta/.done,
// reasoning_summary_part.done | content_part.added, output_text.delta,
// output_text.done, content_part.done | function_call_arguments.delta/.done),
// response.output_item.done; last response.completed (or
// response.incomplete, or response.failed) holding the whole Response. The
// deltas of an item concatenate to its final text. No [DONE].
//
// Kept: with keep_final(), the Response as it was last answered (the body,
// or the stream's response.completed / .incomplete / .failed) is handed to
// the keeper once, before its bytes are returned (so a client that reads it
// can retrieve it at once); a job that ends with no such answer (a failure
// before the stream, the client gone) hands over a "failed" / "incomplete"
// (interrupted) Response of the items finished so far.
//
// Usage: input_tokens (+ cached), output_tokens, and reasoning_tokens, the
// <think> text re-tokenized (the engine does not label reasoning tokens).
// Runs on the job's strand; no engine calls.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "yun/serve/generation_job.h"
#include "yun/text/tokenizer.h"

namespace yun::serve {

// What every Response object of one request repeats.
struct ResponsesInfo {
  std::string id;  // make_response_id()
  int64_t created_at = 0;
  std::string model;
  OJson echo = OJson::object();  // the request's fields (ResponsesRequest::echo)
};

// "resp_<hex>"; items get "msg_", "rs_", "fc_" ids the same way.
std::string make_response_id(const std::string& prefix = "resp");

class ResponsesOutput : public JobOutput {
 public:
  // `tok` (may be null: reasoning_tokens 0) counts the reasoning tokens.
  ResponsesOutput(ResponsesInfo info, std::shared_ptr<const Tokenizer> tok);

  std::string stream_content_type() const override { return "text/event-stream"; }
  std::string stream_begin() override;  // response.created + response.in_progress
  std::string stream_chunk(const OJson& choice) override;
  std::string stream_end(const JobOutcome& out) override;
  std::string stream_error(const ApiError& e) override;
  std::string body(const OJson& openai_body, const JobOutcome& out) override;
  void on_complete(const JobOutcome& out) override;

  using Keeper = std::function<void(const OJson& response)>;
  void keep_final(Keeper keeper) { keeper_ = std::move(keeper); }

 private:
  enum class Open { kNone, kReasoning, kMessage, kCall };
  void event(const char* type, OJson j);
  void reasoning(const std::string& text);
  void content(const std::string& text);
  void tool_call(const OJson& call);  // one chat tool_calls delta entry
  void open_message();
  void close(const char* status);
  OJson usage(const JobOutcome& out, const std::string& reasoning) const;
  void keep(const OJson& response);  // to keeper_, once

  ResponsesInfo info_;
  std::shared_ptr<const Tokenizer> tok_;
  std::string out_;  // events not yet returned
  int64_t seq_ = 0;
  OJson items_ = OJson::array();  // finished items
  Open open_ = Open::kNone;
  OJson item_;        // the open item
  std::string text_;  // the open item's text (summary, output_text or arguments)
  std::string held_;  // whitespace not yet known to belong to a message
  bool had_message_ = false, had_call_ = false;
  std::string reasoning_text_;  // all streamed reasoning, for usage
  Keeper keeper_;
  bool kept_ = false;
};

}  // namespace yun::serve
