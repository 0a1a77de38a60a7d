#include "sinkhost/runtime/transform.hpp"

#include <duktape.h>
#include <sodium.h>
#include <spdlog/spdlog.h>

#include <cstdlib>
#include <cstring>
#include <limits>

namespace sinkhost::runtime {

using connector::ErrorCode;
using connector::make_error;
using Clock = std::chrono::steady_clock;

namespace {
// The name errors and stack traces give the transform's source ("transform.js:3").
constexpr const char* kFileName = "transform.js";
// Where the compiled function is kept, in the heap's global stash (out of the script's reach).
constexpr const char* kStashKey = "transform";
// A transform that builds ever larger values fails with an out-of-memory error instead of
// taking the host's memory.
constexpr std::size_t kHeapLimitBytes = 64 * 1024 * 1024;
}  // namespace

namespace detail {

// One Duktape heap with the bookkeeping its callbacks need (they get it as the heap's udata).
struct TransformHeap {
  duk_context* ctx = nullptr;
  std::chrono::milliseconds time_limit{0};
  Clock::time_point deadline = Clock::time_point::max();
  bool timed_out = false;
  std::size_t allocated = 0;

  ~TransformHeap() {
    if (ctx != nullptr) duk_destroy_heap(ctx);
  }

  // Starts the clock for one run of JavaScript code.
  void arm() {
    deadline = Clock::now() + time_limit;
    timed_out = false;
  }
  void disarm() { deadline = Clock::time_point::max(); }
};

}  // namespace detail

using detail::TransformHeap;

}  // namespace sinkhost::runtime

// Duktape's executor calls this every 256K bytecode instructions (DUK_USE_EXEC_TIMEOUT_CHECK,
// set in runtime/CMakeLists.txt). Returning true makes it throw a RangeError, and keep throwing
// at every catch until the code has unwound to our protected call, so a script cannot catch it.
extern "C" int sinkhost_duktape_timed_out(void* udata) {
  auto* heap = static_cast<sinkhost::runtime::TransformHeap*>(udata);
  if (heap == nullptr) return 0;
  if (std::chrono::steady_clock::now() < heap->deadline) return 0;
  heap->timed_out = true;
  return 1;
}

namespace sinkhost::runtime {
namespace {

// Allocation functions that count the heap's bytes (a size header before each block, 16 bytes
// to keep malloc's alignment) and refuse to go past kHeapLimitBytes; Duktape then collects
// garbage and, failing that, throws an out-of-memory error into the script.
struct alignas(16) BlockHeader {
  std::size_t size;
};

void* heap_alloc(void* udata, duk_size_t size) {
  auto* heap = static_cast<TransformHeap*>(udata);
  if (size == 0 || size > kHeapLimitBytes - heap->allocated) return nullptr;
  auto* block = static_cast<BlockHeader*>(std::malloc(sizeof(BlockHeader) + size));
  if (block == nullptr) return nullptr;
  block->size = size;
  heap->allocated += size;
  return block + 1;
}

void heap_free(void* udata, void* pointer) {
  if (pointer == nullptr) return;
  auto* heap = static_cast<TransformHeap*>(udata);
  auto* block = static_cast<BlockHeader*>(pointer) - 1;
  heap->allocated -= block->size;
  std::free(block);
}

void* heap_realloc(void* udata, void* pointer, duk_size_t size) {
  if (pointer == nullptr) return heap_alloc(udata, size);
  if (size == 0) {
    heap_free(udata, pointer);
    return nullptr;
  }
  auto* heap = static_cast<TransformHeap*>(udata);
  auto* block = static_cast<BlockHeader*>(pointer) - 1;
  const std::size_t old_size = block->size;
  if (size > old_size && size - old_size > kHeapLimitBytes - heap->allocated) return nullptr;
  auto* moved = static_cast<BlockHeader*>(std::realloc(block, sizeof(BlockHeader) + size));
  if (moved == nullptr) return nullptr;
  moved->size = size;
  heap->allocated = heap->allocated - old_size + size;
  return moved + 1;
}

// Reached only for an error outside any protected call, which this file never makes: a bug.
void heap_fatal(void*, const char* message) {
  spdlog::critical("JavaScript engine fatal error: {}", message != nullptr ? message : "(none)");
  std::abort();
}

// The error at the top of the stack as "TypeError: message (line N)", or the time limit.
std::string error_text(TransformHeap& heap) {
  duk_context* ctx = heap.ctx;
  if (heap.timed_out) {
    return "ran past its time limit of " + std::to_string(heap.time_limit.count()) + " ms";
  }
  duk_dup(ctx, -1);
  std::string text = duk_safe_to_string(ctx, -1);
  duk_pop(ctx);
  // Syntax errors carry "(line N)" in their message; errors thrown while running say where in
  // their stack trace ("at transform (transform.js:3)").
  if (text.find("(line ") == std::string::npos) {
    duk_dup(ctx, -1);
    const std::string trace = duk_safe_to_stacktrace(ctx, -1);
    duk_pop(ctx);
    const std::string marker = std::string(kFileName) + ":";
    if (auto at = trace.find(marker); at != std::string::npos) {
      auto digits = at + marker.size();
      auto end = digits;
      while (end < trace.size() && trace[end] >= '0' && trace[end] <= '9') ++end;
      if (end > digits) text += " (line " + trace.substr(digits, end - digits) + ")";
    }
  }
  return text;
}

// Pushes the record's data parsed as JSON. Inside duk_safe_call because pushing allocates, and a
// heap at its limit must fail the record, not abort the host.
duk_ret_t decode_json(duk_context* ctx, void* udata) {
  const auto& record = *static_cast<const connector::Record*>(udata);
  duk_push_lstring(ctx, record.data.data(), record.data.size());
  duk_json_decode(ctx, -1);
  return 1;
}

void put_string(duk_context* ctx, const char* name, const std::string& value) {
  duk_push_lstring(ctx, value.data(), value.size());
  duk_put_prop_string(ctx, -2, name);
}

// Runs inside duk_safe_call, so Duktape errors unwind through it with longjmp: no C++ object
// with a destructor may live here; it only reads the record. Stack in: [value]. Stack out:
// [value, function, record, result, out] where out = [drop, value JSON, [name, value, ...], key],
// all plain strings (or null), so that reading them afterwards cannot run script code.
duk_ret_t call_transform(duk_context* ctx, void* udata) {
  const auto& record = *static_cast<const connector::Record*>(udata);
  duk_push_global_stash(ctx);
  duk_get_prop_string(ctx, -1, kStashKey);
  duk_remove(ctx, -2);  // [value, function]

  duk_push_object(ctx);  // the record, index 2
  put_string(ctx, "recordId", record.record_id);
  duk_push_object(ctx);
  put_string(ctx, "streamId", record.stream_id);
  duk_push_number(ctx, static_cast<double>(record.stream_revision));
  duk_put_prop_string(ctx, -2, "streamRevision");
  duk_push_number(ctx, static_cast<double>(record.position.value()));
  duk_put_prop_string(ctx, -2, "logPosition");
  duk_put_prop_string(ctx, -2, "position");
  duk_push_object(ctx);
  put_string(ctx, "subject", record.schema_subject);
  duk_push_string(ctx, connector::to_string(record.schema_type));
  duk_put_prop_string(ctx, -2, "type");
  duk_put_prop_string(ctx, -2, "schemaInfo");
  duk_push_object(ctx);
  for (const auto& header : record.headers) {
    duk_push_lstring(ctx, header.value.data(), header.value.size());
    duk_put_prop_lstring(ctx, -2, header.name.data(), header.name.size());
  }
  duk_put_prop_string(ctx, -2, "headers");
  duk_dup(ctx, 0);
  duk_put_prop_string(ctx, -2, "value");
  if (record.key) {
    duk_push_lstring(ctx, record.key->data(), record.key->size());
  } else {
    duk_push_null(ctx);
  }
  duk_put_prop_string(ctx, -2, "key");

  duk_dup(ctx, 1);
  duk_dup(ctx, 2);
  duk_call(ctx, 1);  // result, index 3

  const bool drop = duk_is_boolean(ctx, 3) && !duk_get_boolean(ctx, 3);
  duk_push_array(ctx);  // out, index 4
  duk_push_boolean(ctx, drop);
  duk_put_prop_index(ctx, 4, 0);
  if (drop) return 1;

  duk_get_prop_string(ctx, 2, "value");
  if (duk_is_undefined(ctx, -1)) {
    (void)duk_error(ctx, DUK_ERR_TYPE_ERROR, "record.value is undefined (return false to drop a record)");
  }
  duk_json_encode(ctx, -1);
  if (!duk_is_string(ctx, -1)) (void)duk_error(ctx, DUK_ERR_TYPE_ERROR, "record.value cannot be written as JSON");
  duk_put_prop_index(ctx, 4, 1);

  duk_get_prop_string(ctx, 2, "headers");  // index 5
  duk_push_array(ctx);                     // index 6
  if (duk_is_object(ctx, 5)) {
    duk_uarridx_t next = 0;
    duk_enum(ctx, 5, DUK_ENUM_OWN_PROPERTIES_ONLY);
    while (duk_next(ctx, -1, 1)) {  // [..., enum, name, value]
      if (duk_is_null_or_undefined(ctx, -1)) {
        duk_pop_2(ctx);  // a header set to null or undefined is removed
        continue;
      }
      duk_to_string(ctx, -1);
      duk_to_string(ctx, -2);
      duk_put_prop_index(ctx, 6, next + 1);
      duk_put_prop_index(ctx, 6, next);
      next += 2;
    }
    duk_pop(ctx);  // the enumerator
  } else if (!duk_is_null_or_undefined(ctx, 5)) {
    (void)duk_error(ctx, DUK_ERR_TYPE_ERROR, "record.headers must be an object of header names to values");
  }
  duk_put_prop_index(ctx, 4, 2);
  duk_pop(ctx);  // the headers object

  duk_get_prop_string(ctx, 2, "key");
  if (duk_is_null_or_undefined(ctx, -1)) {
    duk_pop(ctx);
    duk_push_null(ctx);
  } else {
    duk_to_string(ctx, -1);
  }
  duk_put_prop_index(ctx, 4, 3);
  return 1;
}

std::string read_string(duk_context* ctx, duk_idx_t index) {
  duk_size_t size = 0;
  const char* text = duk_get_lstring(ctx, index, &size);
  return text == nullptr ? std::string() : std::string(text, size);
}

std::optional<std::string> decode_base64(std::string_view text) {
  std::string out(text.size(), '\0');
  for (int variant : {sodium_base64_VARIANT_ORIGINAL, sodium_base64_VARIANT_ORIGINAL_NO_PADDING}) {
    std::size_t length = 0;
    const char* end = nullptr;
    if (sodium_base642bin(reinterpret_cast<unsigned char*>(out.data()), out.size(), text.data(), text.size(),
                          " \t\r\n", &length, &end, variant) == 0 &&
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

}  // namespace

RecordTransform::RecordTransform(std::unique_ptr<TransformHeap> heap) : heap_(std::move(heap)) {}
RecordTransform::~RecordTransform() = default;

Result<std::unique_ptr<RecordTransform>> RecordTransform::compile(std::string_view source,
                                                                  std::chrono::milliseconds time_limit) {
  auto heap = std::make_unique<TransformHeap>();
  heap->time_limit = time_limit;
  heap->ctx = duk_create_heap(&heap_alloc, &heap_realloc, &heap_free, heap.get(), &heap_fatal);
  if (heap->ctx == nullptr) return make_error(ErrorCode::internal, "cannot create a JavaScript heap");
  duk_context* ctx = heap->ctx;

  duk_push_string(ctx, kFileName);
  if (duk_pcompile_lstring_filename(ctx, 0, source.data(), source.size()) != 0) {
    return invalid("the JavaScript does not compile: " + error_text(*heap));
  }
  heap->arm();
  const bool loaded = duk_pcall(ctx, 0) == DUK_EXEC_SUCCESS;
  heap->disarm();
  if (!loaded) return invalid("the JavaScript's top-level code failed: " + error_text(*heap));
  duk_pop(ctx);

  duk_get_global_string(ctx, "transform");
  if (!duk_is_function(ctx, -1)) {
    return invalid("the JavaScript defines no function named transform: write function transform(record) { ... }");
  }
  duk_push_global_stash(ctx);
  duk_swap_top(ctx, -2);
  duk_put_prop_string(ctx, -2, kStashKey);
  duk_pop(ctx);
  return std::unique_ptr<RecordTransform>(new RecordTransform(std::move(heap)));
}

Result<std::unique_ptr<RecordTransform>> RecordTransform::compile_base64(std::string_view function_base64,
                                                                         std::chrono::milliseconds time_limit) {
  auto source = decode_base64(function_base64);
  if (!source) return invalid("not valid base64 (standard alphabet, RFC 4648)");
  return compile(*source, time_limit);
}

Result<RecordTransform::Verdict> RecordTransform::apply(connector::Record& record) {
  if (record.schema_type != connector::SchemaType::json) return Verdict::keep;
  duk_context* ctx = heap_->ctx;
  if (duk_safe_call(ctx, &decode_json, &record, 0, 1) != DUK_EXEC_SUCCESS) {
    // A SyntaxError: not JSON after all, passed on untouched as KurrentDB does. Anything else
    // (out of memory) fails the record.
    const bool not_json = duk_get_error_code(ctx, -1) == DUK_ERR_SYNTAX_ERROR;
    auto text = not_json ? std::string() : "failed before running: " + error_text(*heap_);
    duk_pop(ctx);
    if (not_json) return Verdict::keep;
    return make_error(ErrorCode::invalid_argument, std::move(text));
  }
  heap_->arm();
  const bool ran = duk_safe_call(ctx, &call_transform, &record, 1, 1) == DUK_EXEC_SUCCESS;
  heap_->disarm();
  if (!ran) {
    auto text = heap_->timed_out ? error_text(*heap_) : "threw " + error_text(*heap_);
    duk_pop(ctx);
    return make_error(ErrorCode::invalid_argument, std::move(text));
  }

  // out = [drop, value JSON, [name, value, ...], key]: every entry was set by call_transform.
  duk_get_prop_index(ctx, -1, 0);
  const bool drop = duk_get_boolean(ctx, -1) != 0;
  duk_pop(ctx);
  if (drop) {
    duk_pop(ctx);
    return Verdict::drop;
  }
  duk_get_prop_index(ctx, -1, 1);
  record.data = read_string(ctx, -1);
  duk_pop(ctx);
  duk_get_prop_index(ctx, -1, 2);
  const auto count = duk_get_length(ctx, -1);
  record.headers.clear();
  record.headers.reserve(count / 2);
  for (duk_uarridx_t i = 0; i + 1 < count; i += 2) {
    duk_get_prop_index(ctx, -1, i);
    duk_get_prop_index(ctx, -2, i + 1);
    record.headers.push_back({read_string(ctx, -2), read_string(ctx, -1)});
    duk_pop_2(ctx);
  }
  duk_pop(ctx);
  duk_get_prop_index(ctx, -1, 3);
  record.key = duk_is_string(ctx, -1) ? std::optional<std::string>(read_string(ctx, -1)) : std::nullopt;
  duk_pop_2(ctx);
  return Verdict::keep;
}

std::vector<connector::FieldViolation> check_transform_settings(const connector::Settings& settings) {
  const bool enabled = connector::get_bool(settings, "transformer:enabled", false);
  const auto function = connector::get_or(settings, "transformer:function", "");
  if (function.empty()) {
    if (!enabled) return {};
    return {{"transformer:function",
             "required when transformer:enabled is true: the base64 of JavaScript defining function transform(record)"}};
  }
  const auto limit = std::chrono::milliseconds(connector::get_int(settings, "transformer:timeout", 1000));
  auto compiled = RecordTransform::compile_base64(function, limit);
  if (!compiled.ok()) return compiled.error().field_violations;
  return {};
}

Result<std::unique_ptr<RecordTransform>> transform_from_settings(const connector::Settings& settings) {
  if (!connector::get_bool(settings, "transformer:enabled", false)) return std::unique_ptr<RecordTransform>();
  const auto limit = std::chrono::milliseconds(connector::get_int(settings, "transformer:timeout", 1000));
  return RecordTransform::compile_base64(connector::get_or(settings, "transformer:function", ""), limit);
}

}  // namespace sinkhost::runtime
