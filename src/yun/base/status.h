// Status and Result<T>: errors as values across module edges.
//
// A Status is OK or carries a code and a one-line message. Result<T> holds a
// value or a non-OK Status. No exception leaves a module: functions that can
// fail on bad input return one of these.
#pragma once

#include <cassert>
#include <string>
#include <utility>
#include <variant>

namespace yun {

enum class StatusCode {
  kOk = 0,
  kInvalidArgument,   // bad input from a caller or a file (-> 400 / exit 2)
  kNotFound,          // missing file, tensor, model (-> 404 / exit 2)
  kOutOfRange,        // values past limits (context length, offsets)
  kResourceExhausted, // KV cache / queue full (-> 429/503)
  kUnimplemented,     // unsupported architecture or feature
  kAborted,           // cancelled request
  kInternal,          // a bug: an invariant broke
  kUnavailable,       // shutting down, device missing
};

const char* status_code_name(StatusCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status ok() { return Status(); }
  bool is_ok() const { return code_ == StatusCode::kOk; }
  explicit operator bool() const { return is_ok(); }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }
  // "invalid_argument: message" (or "ok").
  std::string to_string() const;
  // Returns a copy whose message is "prefix: message".
  Status with_context(const std::string& prefix) const;

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

inline Status invalid_argument(std::string m) { return {StatusCode::kInvalidArgument, std::move(m)}; }
inline Status not_found(std::string m) { return {StatusCode::kNotFound, std::move(m)}; }
inline Status out_of_range(std::string m) { return {StatusCode::kOutOfRange, std::move(m)}; }
inline Status resource_exhausted(std::string m) { return {StatusCode::kResourceExhausted, std::move(m)}; }
inline Status unimplemented(std::string m) { return {StatusCode::kUnimplemented, std::move(m)}; }
inline Status aborted(std::string m) { return {StatusCode::kAborted, std::move(m)}; }
inline Status internal_error(std::string m) { return {StatusCode::kInternal, std::move(m)}; }
inline Status unavailable(std::string m) { return {StatusCode::kUnavailable, std::move(m)}; }

// Result<T>: a T or a non-OK Status. REQUIRES: a Status given to it is not OK.
template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : v_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Status status) : v_(std::move(status)) {  // NOLINT
    assert(!std::get<Status>(v_).is_ok());
  }

  bool is_ok() const { return std::holds_alternative<T>(v_); }
  explicit operator bool() const { return is_ok(); }
  // REQUIRES: is_ok().
  T& value() & { return std::get<T>(v_); }
  const T& value() const& { return std::get<T>(v_); }
  T&& value() && { return std::get<T>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  // OK when is_ok(), else the error.
  Status status() const { return is_ok() ? Status() : std::get<Status>(v_); }

 private:
  std::variant<T, Status> v_;
};

}  // namespace yun

// Propagate a non-OK Status from an expression returning Status.
#define YUN_RETURN_IF_ERROR(expr)                 \
  do {                                            \
    ::yun::Status yun_status_ = (expr);           \
    if (!yun_status_.is_ok()) return yun_status_; \
  } while (0)

#define YUN_CONCAT_INNER(a, b) a##b
#define YUN_CONCAT(a, b) YUN_CONCAT_INNER(a, b)
// `YUN_ASSIGN_OR_RETURN(auto x, expr)`: x = value of a Result, or return its Status.
#define YUN_ASSIGN_OR_RETURN(lhs, expr) YUN_ASSIGN_OR_RETURN_IMPL(YUN_CONCAT(yun_r_, __LINE__), lhs, expr)
#define YUN_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                              \
  if (!tmp.is_ok()) return tmp.status();          \
  lhs = std::move(tmp).value()
