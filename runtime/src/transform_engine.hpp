#pragma once
// The QuickJS side of RecordTransform, shared by transform.cpp (the engine's lifetime, compiling,
// errors, apply) and transform_record.cpp (the record object in, the edited fields out).

#include <quickjs/quickjs.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "sinkhost/connector/record.hpp"

namespace sinkhost::runtime::detail {

using Clock = std::chrono::steady_clock;

// The name errors and stack traces give the transform's source ("transform.js:3:18").
inline constexpr const char* kFileName = "transform.js";

// The record object's property names, interned once per engine: defining a property by atom
// skips hashing the name for every record.
struct RecordAtoms {
  JSAtom record_id = 0, position = 0, stream_id = 0, stream_revision = 0, log_position = 0;
  JSAtom schema_info = 0, subject = 0, type = 0, headers = 0, value = 0, key = 0;
  JSAtom topic = 0, partition = 0;  // routing: not on the object, read back if the function set them
};

// A header as the last record had it at this position, with its JavaScript name (atom) and
// value (string). Records of one connector carry the same header names in the same order, and
// many values repeat (the schema type, the content type): those are reused instead of created,
// and a header whose value is still the very string we made is read back without converting.
struct HeaderSlot {
  std::string name;
  JSAtom atom = 0;
  std::string value;
  JSValue js_value{};
  bool has_js_value = false;
};

// quickjs.h's JS_UNDEFINED, JS_NULL and JS_EXCEPTION are C compound literals, which clang's
// -Wpedantic flags where they are expanded: expanded here, once, with that warning off.
#if defined(__clang__)
#pragma clang diagnostic push
#pragma clang diagnostic ignored "-Wc99-extensions"
#endif
inline JSValue js_undefined() { return JS_UNDEFINED; }
inline JSValue js_null() { return JS_NULL; }
inline JSValue js_exception() { return JS_EXCEPTION; }
#if defined(__clang__)
#pragma clang diagnostic pop
#endif

// What went wrong in JavaScript: "TypeError: message (line 3)", or the time limit.
struct JsFailure {
  bool timed_out = false;
  std::string text;
};

// One QuickJS runtime and context with the compiled function and the bookkeeping the interrupt
// handler needs (it gets the engine as its opaque pointer).
struct TransformEngine {
  JSRuntime* rt = nullptr;
  JSContext* ctx = nullptr;
  JSValue function{};  // the transform, once compiled
  bool has_function = false;
  RecordAtoms atoms;
  std::vector<HeaderSlot> header_slots;
  // The previous record's headers and value: their strings' capacity is reused for the next
  // record's results, which are swapped into the record.
  std::vector<connector::Header> spare_headers;
  std::string spare_data;
  std::chrono::milliseconds time_limit{0};
  Clock::time_point deadline = Clock::time_point::max();
  bool timed_out = false;

  TransformEngine() = default;
  TransformEngine(const TransformEngine&) = delete;
  TransformEngine& operator=(const TransformEngine&) = delete;
  ~TransformEngine();
};

// Starts the clock for one run of JavaScript code, and stops it when the scope ends.
class ArmedDeadline {
 public:
  explicit ArmedDeadline(TransformEngine& engine) : engine_(engine) {
    engine_.deadline = Clock::now() + engine_.time_limit;
    engine_.timed_out = false;
  }
  ~ArmedDeadline() { engine_.deadline = Clock::time_point::max(); }
  ArmedDeadline(const ArmedDeadline&) = delete;
  ArmedDeadline& operator=(const ArmedDeadline&) = delete;

 private:
  TransformEngine& engine_;
};

// Describes a thrown value (and frees it); with_column adds the column to the line (syntax
// errors, where the column points at the mistake).
JsFailure describe_exception(TransformEngine& engine, JSValue exception, bool with_column);

// Takes the pending exception off the context and describes it.
inline JsFailure take_exception(TransformEngine& engine, bool with_column) {
  return describe_exception(engine, JS_GetException(engine.ctx), with_column);
}

// Interns the record's property names; false when the runtime is out of memory.
bool make_record_atoms(TransformEngine& engine);
// Frees those and the header slots' atoms and strings (before the context goes).
void free_record_atoms(TransformEngine& engine);

// The object the function gets: recordId, position, schemaInfo, headers, value (takes
// ownership of `value`, the parsed data) and key. JS_EXCEPTION when the runtime is out of memory.
JSValue make_record_object(TransformEngine& engine, const connector::Record& record, JSValue value);

// Reads value (as JSON), headers and key back from the object into `record`, all or nothing:
// on failure the record is unchanged.
std::optional<JsFailure> read_back(TransformEngine& engine, JSValueConst object, connector::Record& record);

}  // namespace sinkhost::runtime::detail
