#include "yun/serve/api_error.h"

#include <nlohmann/json.hpp>

namespace yun::serve {

std::string ApiError::to_json() const {
  nlohmann::json err = {{"message", message}, {"type", type}};
  err["param"] = param.empty() ? nlohmann::json(nullptr) : nlohmann::json(param);
  err["code"] = code.empty() ? nlohmann::json(http_status) : nlohmann::json(code);
  nlohmann::json body = {{"error", err}};
  return body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

ApiError bad_request(std::string message, std::string param) {
  return ApiError{400, std::move(message), "invalid_request_error", std::move(param), ""};
}

ApiError not_found_error(std::string message, std::string code) {
  return ApiError{404, std::move(message), "invalid_request_error", "model", std::move(code)};
}

ApiError unauthorized(std::string message) {
  return ApiError{401, std::move(message), "invalid_request_error", "", "invalid_api_key"};
}

ApiError too_large(std::string message) {
  return ApiError{413, std::move(message), "invalid_request_error", "", ""};
}

ApiError overloaded(std::string message) {
  return ApiError{429, std::move(message), "server_overloaded", "", ""};
}

ApiError server_error(std::string message) {
  return ApiError{500, std::move(message), "server_error", "", ""};
}

ApiError error_from_status(const Status& s) {
  switch (s.code()) {
    case StatusCode::kInvalidArgument:
    case StatusCode::kOutOfRange:
    case StatusCode::kUnimplemented:
      return bad_request(s.message());
    case StatusCode::kNotFound:
      return ApiError{404, s.message(), "invalid_request_error", "", ""};
    case StatusCode::kResourceExhausted:
      return overloaded(s.message());
    case StatusCode::kUnavailable:
      return ApiError{503, s.message(), "server_error", "", ""};
    default:
      return server_error(s.message());
  }
}

ApiError model_acquire_error(const Status& s, bool known) {
  switch (s.code()) {
    case StatusCode::kNotFound:
      if (!known) return not_found_error(s.message());
      return ApiError{500, s.message(), "server_error", "", "model_load_failed"};
    case StatusCode::kUnavailable:
    case StatusCode::kAborted:
      return ApiError{503, s.message(), "server_error", "", "service_unavailable"};
    default:
      return ApiError{500, s.message(), "server_error", "", "model_load_failed"};
  }
}

}  // namespace yun::serve
