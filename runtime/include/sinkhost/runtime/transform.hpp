#pragma once

#include <chrono>
#include <memory>
#include <string_view>
#include <vector>

#include "sinkhost/connector/record.hpp"
#include "sinkhost/connector/result.hpp"
#include "sinkhost/connector/settings.hpp"
#include "sinkhost/runtime/common_settings.hpp"

namespace sinkhost::runtime {

using connector::Result;

namespace detail {
struct TransformEngine;
}

// A KurrentDB-style record transform: a JavaScript function `transform(record)` that edits the
// record in place before the sink sees it (docs/transforms.md). One QuickJS runtime and context
// per instance; the function is compiled once. Not thread-safe: one instance belongs to one connector worker.
class RecordTransform {
 public:
  enum class Verdict { keep, drop };

  // Compiles `source` and runs its top-level code. Errors (invalid_argument) name the problem:
  // a syntax error with its line and column, a throw, the time limit, or no function named `transform`.
  static Result<std::unique_ptr<RecordTransform>> compile(std::string_view source,
                                                          std::chrono::milliseconds time_limit);
  // The same from transformer:function's base64 text.
  static Result<std::unique_ptr<RecordTransform>> compile_base64(std::string_view function_base64,
                                                                 std::chrono::milliseconds time_limit);
  ~RecordTransform();
  RecordTransform(const RecordTransform&) = delete;
  RecordTransform& operator=(const RecordTransform&) = delete;

  // Runs the transform on `record`: its value (data), headers and key may change; drop means the
  // transform returned false. Records whose data is not JSON are not transformed (keep, as is).
  // An error means the function threw or ran past the time limit; the record is then unchanged.
  Result<Verdict> apply(connector::Record& record);

 private:
  explicit RecordTransform(std::unique_ptr<detail::TransformEngine> engine);
  std::unique_ptr<detail::TransformEngine> engine_;
};

// transformer:enabled / :function / :timeout rules, checked when settings are created or changed:
// the function must decode and compile and define `transform`.
std::vector<connector::FieldViolation> check_transform(const TransformSettings& settings);
std::vector<connector::FieldViolation> check_transform_settings(const connector::Settings& settings);

// The transform a connector runs with, compiled from its settings; nullptr when it has none.
Result<std::unique_ptr<RecordTransform>> transform_from(const TransformSettings& settings);
Result<std::unique_ptr<RecordTransform>> transform_from_settings(const connector::Settings& settings);

}  // namespace sinkhost::runtime
