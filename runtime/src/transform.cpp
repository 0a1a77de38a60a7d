#include "sinkhost/runtime/transform.hpp"

#include <sodium.h>

#include <string>

#include "transform_engine.hpp"

namespace sinkhost::runtime {

using connector::ErrorCode;
using connector::make_error;
using detail::ArmedDeadline;
using detail::JsFailure;
using detail::TransformEngine;

namespace {

// A transform that builds ever larger values fails with an out-of-memory error instead of
// taking the host's memory.
constexpr std::size_t kMemoryLimitBytes = 64 * 1024 * 1024;
// Deep recursion (or deeply nested JSON) fails with "stack overflow" long before the thread's
// stack (8 MiB for the worker's std::thread) runs out.
constexpr std::size_t kMaxStackBytes = 1024 * 1024;

// QuickJS calls this every few thousand instructions and from long regular expression matches.
// Returning 1 throws an "interrupted" InternalError that no catch or finally of the script can
// stop: it unwinds to our call.
int interrupt_when_late(JSRuntime*, void* opaque) {
  auto* engine = static_cast<TransformEngine*>(opaque);
  if (detail::Clock::now() < engine->deadline) return 0;
  engine->timed_out = true;
  return 1;
}

// ToString of a thrown value; nullopt when that throws too (the exception is dropped).
std::optional<std::string> to_string(JSContext* ctx, JSValueConst value) {
  std::size_t size = 0;
  const char* text = JS_ToCStringLen(ctx, &size, value);
  if (text == nullptr) {
    JS_FreeValue(ctx, JS_GetException(ctx));
    return std::nullopt;
  }
  std::string out(text, size);
  JS_FreeCString(ctx, text);
  return out;
}

// " (line 3)" or " (line 3, column 18)" from the first "transform.js:LINE:COLUMN" of a stack
// trace (the innermost frame of the transform's code; built-ins show as "(native)").
std::string location(std::string_view stack, bool with_column) {
  const std::string marker = std::string(detail::kFileName) + ":";
  const auto at = stack.find(marker);
  if (at == std::string_view::npos) return {};
  auto digits = [&](std::size_t from) {
    auto end = from;
    while (end < stack.size() && stack[end] >= '0' && stack[end] <= '9') ++end;
    return stack.substr(from, end - from);
  };
  const auto line = digits(at + marker.size());
  if (line.empty()) return {};
  const auto after = at + marker.size() + line.size();
  const auto column = after < stack.size() && stack[after] == ':' ? digits(after + 1) : std::string_view();
  if (!with_column || column.empty()) return " (line " + std::string(line) + ")";
  return " (line " + std::string(line) + ", column " + std::string(column) + ")";
}

std::optional<std::string> decode_base64(std::string_view text) {
  std::string out(text.size(), '\0');
  for (int variant : {sodium_base64_VARIANT_ORIGINAL, sodium_base64_VARIANT_ORIGINAL_NO_PADDING}) {
    std::size_t length = 0;
    const char* end = nullptr;
    if (sodium_base642bin(reinterpret_cast<unsigned char*>(out.data()), out.size(), text.data(), text.size(), " \t\r\n",
                          &length, &end, variant) == 0 &&
        end == text.data() + text.size()) {
      out.resize(length);
      return out;
    }
  }
  return std::nullopt;
}

connector::Error invalid(std::string description) {
  return make_error(ErrorCode::invalid_argument, "the transformer function is not valid",
                    {{"transformer:function", std::move(description)}});
}

connector::Error failure_error(const JsFailure& failure) {
  return make_error(ErrorCode::invalid_argument, failure.timed_out ? failure.text : "threw " + failure.text);
}

// A SyntaxError from parsing the record's data: it is not JSON after all.
bool is_syntax_error(JSContext* ctx, JSValueConst exception) {
  if (!JS_IsError(ctx, exception)) return false;
  JSValue name = JS_GetPropertyStr(ctx, exception, "name");
  const auto text = JS_IsString(name) ? to_string(ctx, name) : std::nullopt;
  JS_FreeValue(ctx, name);
  return text == "SyntaxError";
}

// A runtime with the limits, and a context with the standard built-ins.
std::unique_ptr<TransformEngine> make_engine(std::chrono::milliseconds time_limit) {
  auto engine = std::make_unique<TransformEngine>();
  engine->time_limit = time_limit;
  engine->rt = JS_NewRuntime();
  if (engine->rt == nullptr) return nullptr;
  JS_SetMemoryLimit(engine->rt, kMemoryLimitBytes);
  JS_SetMaxStackSize(engine->rt, kMaxStackBytes);
  // Atomics.wait would block the worker where no interrupt reaches it.
  JS_SetCanBlock(engine->rt, 0);
  JS_SetInterruptHandler(engine->rt, &interrupt_when_late, engine.get());
  engine->ctx = JS_NewContext(engine->rt);
  if (engine->ctx == nullptr || !detail::make_record_atoms(*engine)) return nullptr;
  return engine;
}

// Evaluates `transform` as a global script would, so that `const transform = (record) => ...`
// is found as well as a function declaration. Nullopt (and an exception pending) on failure.
std::optional<JSValue> find_transform(TransformEngine& engine) {
  static constexpr char kLookup[] = "transform";
  JSValue found = JS_Eval(engine.ctx, kLookup, sizeof(kLookup) - 1, "<lookup>", JS_EVAL_TYPE_GLOBAL);
  if (JS_IsException(found)) return std::nullopt;
  return found;
}

}  // namespace

namespace detail {

TransformEngine::~TransformEngine() {
  if (ctx != nullptr) {
    if (has_function) JS_FreeValue(ctx, function);
    free_record_atoms(*this);
    JS_FreeContext(ctx);
  }
  if (rt != nullptr) JS_FreeRuntime(rt);
}

JsFailure describe_exception(TransformEngine& engine, JSValue exception, bool with_column) {
  JSContext* ctx = engine.ctx;
  // Read first: reading the message may run script code (a getter), late and interrupted.
  const bool timed_out = engine.timed_out;
  if (timed_out) {
    JS_FreeValue(ctx, exception);
    return {true, "ran past its time limit of " + std::to_string(engine.time_limit.count()) + " ms"};
  }
  JsFailure failure{false, to_string(ctx, exception).value_or("(a thrown value that cannot be shown)")};
  if (JS_IsError(ctx, exception)) {
    JSValue stack = JS_GetPropertyStr(ctx, exception, "stack");
    if (JS_IsString(stack)) failure.text += location(to_string(ctx, stack).value_or(""), with_column);
    JS_FreeValue(ctx, stack);
  }
  JS_FreeValue(ctx, exception);
  return failure;
}

}  // namespace detail

RecordTransform::RecordTransform(std::unique_ptr<TransformEngine> engine) : engine_(std::move(engine)) {}
RecordTransform::~RecordTransform() = default;

Result<std::unique_ptr<RecordTransform>> RecordTransform::compile(std::string_view source,
                                                                  std::chrono::milliseconds time_limit) {
  auto engine = make_engine(time_limit);
  if (!engine) return make_error(ErrorCode::internal, "cannot create a JavaScript runtime");
  JSContext* ctx = engine->ctx;
  const std::string text(source);  // JS_Eval reads up to a terminating NUL
  JSValue code =
      JS_Eval(ctx, text.c_str(), text.size(), detail::kFileName, JS_EVAL_TYPE_GLOBAL | JS_EVAL_FLAG_COMPILE_ONLY);
  if (JS_IsException(code)) {
    return invalid("the JavaScript does not compile: " + detail::take_exception(*engine, true).text);
  }
  ArmedDeadline armed(*engine);
  JSValue ran = JS_EvalFunction(ctx, code);  // takes `code`
  if (JS_IsException(ran)) {
    return invalid("the JavaScript's top-level code failed: " + detail::take_exception(*engine, false).text);
  }
  JS_FreeValue(ctx, ran);
  auto function = find_transform(*engine);
  if (!function && engine->timed_out) {
    return invalid("the JavaScript's top-level code failed: " + detail::take_exception(*engine, false).text);
  }
  if (!function) JS_FreeValue(ctx, JS_GetException(ctx));
  if (!function || !JS_IsFunction(ctx, *function)) {
    if (function) JS_FreeValue(ctx, *function);
    return invalid("the JavaScript defines no function named transform: write function transform(record) { ... }");
  }
  engine->function = *function;
  engine->has_function = true;
  return std::unique_ptr<RecordTransform>(new RecordTransform(std::move(engine)));
}

Result<std::unique_ptr<RecordTransform>> RecordTransform::compile_base64(std::string_view function_base64,
                                                                         std::chrono::milliseconds time_limit) {
  auto source = decode_base64(function_base64);
  if (!source) return invalid("not valid base64 (standard alphabet, RFC 4648)");
  return compile(*source, time_limit);
}

Result<RecordTransform::Verdict> RecordTransform::apply(connector::Record& record) {
  if (record.schema_type != connector::SchemaType::json) return Verdict::keep;
  TransformEngine& engine = *engine_;
  JSContext* ctx = engine.ctx;
  // The stack limit is measured from where the runtime was last told the stack starts: the
  // worker's thread is not the one that compiled the function.
  JS_UpdateStackTop(engine.rt);
  ArmedDeadline armed(engine);
  // std::string keeps a NUL after its bytes, which JS_ParseJSON needs.
  JSValue value = JS_ParseJSON(ctx, record.data.c_str(), record.data.size(), detail::kFileName);
  if (JS_IsException(value)) {
    JSValue exception = JS_GetException(ctx);
    // Not JSON after all: passed on untouched, as KurrentDB does. Anything else (out of
    // memory, nesting too deep for the stack) fails the record.
    if (is_syntax_error(ctx, exception)) {
      JS_FreeValue(ctx, exception);
      return Verdict::keep;
    }
    return make_error(ErrorCode::invalid_argument,
                      "failed before running: " + detail::describe_exception(engine, exception, false).text);
  }
  JSValue object = detail::make_record_object(engine, record, value);  // takes `value`
  if (JS_IsException(object)) {
    return make_error(ErrorCode::invalid_argument,
                      "failed before running: " + detail::take_exception(engine, false).text);
  }
  JSValue result = JS_Call(ctx, engine.function, detail::js_undefined(), 1, &object);
  if (JS_IsException(result)) {
    JS_FreeValue(ctx, object);
    return failure_error(detail::take_exception(engine, false));
  }
  const bool drop = JS_IsBool(result) && JS_ToBool(ctx, result) == 0;
  JS_FreeValue(ctx, result);
  auto failure = drop ? std::nullopt : detail::read_back(engine, object, record);
  JS_FreeValue(ctx, object);
  if (failure) return failure_error(*failure);
  return drop ? Verdict::drop : Verdict::keep;
}

std::vector<connector::FieldViolation> check_transform(const TransformSettings& settings) {
  if (settings.function.empty()) {
    if (!settings.enabled) return {};
    return {
        {"transformer:function",
         "required when transformer:enabled is true: the base64 of JavaScript defining function transform(record)"}};
  }
  auto compiled = RecordTransform::compile_base64(settings.function, settings.timeout);
  if (!compiled.ok()) return compiled.error().field_violations;
  return {};
}

std::vector<connector::FieldViolation> check_transform_settings(const connector::Settings& settings) {
  return check_transform(CommonSettings::from(settings).transformer);
}

Result<std::unique_ptr<RecordTransform>> transform_from(const TransformSettings& settings) {
  if (!settings.enabled) return std::unique_ptr<RecordTransform>();
  return RecordTransform::compile_base64(settings.function, settings.timeout);
}

Result<std::unique_ptr<RecordTransform>> transform_from_settings(const connector::Settings& settings) {
  return transform_from(CommonSettings::from(settings).transformer);
}

}  // namespace sinkhost::runtime
