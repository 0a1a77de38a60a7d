#pragma once

#include <optional>
#include <string>
#include <utility>
#include <variant>
#include <vector>

namespace sinkhost::connector {

// The kinds of failure a caller can act on. They map one to one onto google.rpc.Code values
// (and HTTP statuses) at the management API.
enum class ErrorCode {
  invalid_argument,     // the request or a setting is wrong: fix the input
  not_found,            // the thing named does not exist
  already_exists,       // create on an id that exists
  failed_precondition,  // the current state forbids the command
  permission_denied,    // the caller may not do this
  resource_exhausted,   // a limit was hit (body size, queue full)
  unavailable,          // a dependency (broker, disk) is not reachable now: retrying may help
  internal,             // a bug or an unexpected system failure
};

// The google.rpc.Code name of an error code ("INVALID_ARGUMENT"), as errorDetails shows it.
inline const char* code_name(ErrorCode code) {
  switch (code) {
    case ErrorCode::invalid_argument: return "INVALID_ARGUMENT";
    case ErrorCode::not_found: return "NOT_FOUND";
    case ErrorCode::already_exists: return "ALREADY_EXISTS";
    case ErrorCode::failed_precondition: return "FAILED_PRECONDITION";
    case ErrorCode::permission_denied: return "PERMISSION_DENIED";
    case ErrorCode::resource_exhausted: return "RESOURCE_EXHAUSTED";
    case ErrorCode::unavailable: return "UNAVAILABLE";
    case ErrorCode::internal: return "INTERNAL";
  }
  return "UNKNOWN";
}

struct FieldViolation {
  std::string field;
  std::string description;
};

struct Error {
  ErrorCode code = ErrorCode::internal;
  std::string message;
  std::vector<FieldViolation> field_violations;
};

inline Error make_error(ErrorCode code, std::string message, std::vector<FieldViolation> violations = {}) {
  return Error{code, std::move(message), std::move(violations)};
}

// A value or an Error. Exceptions stay inside parsing code; module boundaries return Result.
template <class T>
class [[nodiscard]] Result {
 public:
  Result(T value) : state_(std::in_place_index<0>, std::move(value)) {}
  Result(Error error) : state_(std::in_place_index<1>, std::move(error)) {}

  [[nodiscard]] bool ok() const { return state_.index() == 0; }
  explicit operator bool() const { return ok(); }

  T& value() & { return std::get<0>(state_); }
  const T& value() const& { return std::get<0>(state_); }
  T&& value() && { return std::get<0>(std::move(state_)); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

  const Error& error() const { return std::get<1>(state_); }
  Error&& take_error() && { return std::get<1>(std::move(state_)); }

 private:
  std::variant<T, Error> state_;
};

template <>
class [[nodiscard]] Result<void> {
 public:
  Result() = default;
  Result(Error error) : error_(std::move(error)) {}

  [[nodiscard]] bool ok() const { return !error_.has_value(); }
  explicit operator bool() const { return ok(); }
  const Error& error() const { return *error_; }
  Error&& take_error() && { return std::move(*error_); }

 private:
  std::optional<Error> error_;
};

}  // namespace sinkhost::connector
