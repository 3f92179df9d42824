// ApiError: an OpenAI-style error object with its HTTP status.
//
// Serialized as {"error": {"message", "type", "param", "code"}} as OpenAI and
// vLLM return them. `code` is the HTTP status number unless a string code
// (e.g. "model_not_found", "invalid_api_key") is set.
#pragma once

#include <string>

#include "yun/base/status.h"

namespace yun::serve {

struct ApiError {
  int http_status = 400;
  std::string message;
  std::string type = "invalid_request_error";
  std::string param;  // empty: null
  std::string code;   // empty: the HTTP status number

  // The JSON body (a complete object, UTF-8 safe).
  std::string to_json() const;
};

ApiError bad_request(std::string message, std::string param = "");
ApiError not_found_error(std::string message, std::string code = "model_not_found");
ApiError unauthorized(std::string message);
ApiError too_large(std::string message);
ApiError overloaded(std::string message);
ApiError server_error(std::string message);
// Maps a Status from the engine or tokenizer: kInvalidArgument/kOutOfRange
// -> 400, kNotFound -> 404, kResourceExhausted -> 429, kUnavailable -> 503,
// else 500.
ApiError error_from_status(const Status& s);
// A model registry acquisition's error (model_registry.h's codes): 404 for
// a name no entry has, 503 for a wait that ran out or a shutdown, 500
// model_load_failed for a load that failed (`known`: the name is an entry's).
ApiError model_acquire_error(const Status& s, bool known);

}  // namespace yun::serve
