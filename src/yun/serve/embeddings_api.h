// POST /v1/embeddings: OpenAI's embeddings API over whatever decoder is
// loaded (as vLLM's pooling runner does): last-token pooling of the final
// normed hidden state (the engine's RequestKind::kEmbed), L2-normalized, with
// optional Matryoshka `dimensions` (truncate, then re-normalize). An
// embedding checkpoint such as Qwen3-Embedding gives meaningful vectors; a
// chat model gives vectors too (its own hidden states), and is served the
// same way.
//
// Body: {"input": string | [string] | [int] | [[int]], "model"?,
// "encoding_format"?: "float" | "base64" (little-endian float32 bytes),
// "dimensions"?: 1..hidden_size, "user"?}. Text is tokenized as it is
// (add_special_tokens=False: a model trained with an EOS appended, as
// Qwen3-Embedding is, wants "<|endoftext|>" at the end of the text, or ids).
// Every input is one engine request, batched with everything else.
// Answer: {"object": "list", "data": [{"object": "embedding", "index",
// "embedding"}], "model", "usage": {"prompt_tokens", "total_tokens"}}.
// Errors (400 naming the field in `param`): no or empty input, wrong types,
// a token id outside the vocabulary, an input longer than the context, more
// tokens than --max-request-tokens, dimensions out of range, an unknown
// encoding_format; 404 for an unknown model; 429 when --max-waiting is full
// or the tenant's limits say so; 400 (kUnimplemented) on a runner without
// hidden states (the CUDA runner, for now).
//
// Usage: with tenancy, recorded through JobSetup::commit_usage (the ledger)
// before the answer is sent, exactly once however the request ends; the
// service's on_job_complete sees the same JobOutcome (completion_tokens 0).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "yun/engine/engine.h"
#include "yun/serve/admission_gate.h"
#include "yun/serve/model_registry.h"
#include "yun/serve/api_error.h"
#include "yun/serve/generation_job.h"
#include "yun/serve/route_table.h"
#include "yun/text/tokenizer.h"

namespace yun::serve {

// OpenAI's limit on inputs per request.
constexpr int32_t kMaxEmbeddingInputs = 2048;

struct EmbeddingsRequest {
  std::string model;                            // empty: the default model
  std::vector<std::string> texts;               // input as text(s), or
  std::vector<std::vector<int32_t>> token_ids;  // input as token ids
  bool input_is_ids = false;
  std::optional<int64_t> dimensions;
  bool base64 = false;  // encoding_format "base64"
};

// Parses and checks the body (types, emptiness, encoding_format, dimensions
// >= 1); the model-dependent checks are the handler's. nullopt on success.
std::optional<ApiError> parse_embeddings_request(std::string_view body, EmbeddingsRequest& out);

// The API's vector from a pooled hidden state: its first `dimensions` values
// (all when dimensions <= 0 or >= its size), L2-normalized (a zero vector
// stays zero).
std::vector<float> normalize_embedding(std::span<const float> hidden, int64_t dimensions);

// encoding_format "base64": the floats as little-endian float32 bytes, base64.
std::string embedding_base64(std::span<const float> v);

// Continues a request once its model is loaded (on the connection's strand,
// or a worker for a large body), with the request and context it came with.
using ModelContinue = std::function<void(const HttpRequest&, const RequestContext&,
                                         std::shared_ptr<ResponseWriter>, ModelHandle)>;

// What the route needs of the service.
struct EmbeddingsContext {
  AdmissionGate* waiting_gate = nullptr;       // --max-waiting
  int64_t max_waiting = -1;                    // for the 429 message
  // The service's one model path (OpenAiService::with_model): the 404 for an
  // unknown or forbidden `model` ("" = default), else `then` with the model,
  // loaded first when it is not.
  std::function<void(const std::string& model, const HttpRequest&, const RequestContext&,
                     std::shared_ptr<ResponseWriter>, ModelContinue then)>
      with_model;
  // --max-request-tokens for a model (sum of input tokens).
  std::function<int64_t(const LoadedModel&)> max_request_tokens;
  // With tenancy: admits `reserve_tokens` for the tenant and fills the
  // setup's meta, headers and commit_usage; false when it answered. Null
  // without tenancy.
  std::function<bool(const RequestContext& ctx, int64_t reserve_tokens, JobSetup& setup,
                     ResponseWriter& w)>
      admit_tenant;
  std::function<void(const JobOutcome&)> on_complete;  // may be empty
};

// The POST /v1/embeddings handler. The context's pointers must outlive it.
RouteHandler embeddings_handler(EmbeddingsContext ctx);

}  // namespace yun::serve
