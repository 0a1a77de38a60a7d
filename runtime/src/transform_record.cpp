// The record's way into and out of JavaScript (transform_engine.hpp). The record object is built
// with the C API rather than by parsing a JSON envelope: only the value is JSON, and the fixed
// fields are defined by pre-interned atoms, which is most of what a record costs.
#include <cstring>

#include "transform_engine.hpp"

namespace sinkhost::runtime::detail {
namespace {

// More headers than this on one record are defined with throw-away atoms, so that a record
// with thousands of distinct names cannot grow the cache without bound.
constexpr std::size_t kMaxCachedHeaderAtoms = 64;

JSValue new_string(JSContext* ctx, const std::string& text) { return JS_NewStringLen(ctx, text.data(), text.size()); }

// Defines object[atom] = value, taking ownership of value (also of an exception marker, which
// owns nothing). False when value is an exception or the definition ran out of memory.
bool define(JSContext* ctx, JSValueConst object, JSAtom atom, JSValue value) {
  if (JS_IsException(value)) return false;
  return JS_DefinePropertyValue(ctx, object, atom, value, JS_PROP_C_W_E) >= 0;
}

// The atom for the index-th header named `name`, from the cache when the previous record had
// the same name there. `temporary` is set when the caller must free the atom.
JSAtom header_atom(TransformEngine& engine, std::size_t index, const std::string& name, bool& temporary) {
  auto& cache = engine.header_atoms;
  temporary = false;
  if (index < cache.size() && cache[index].name == name) return cache[index].atom;
  const JSAtom atom = JS_NewAtomLen(engine.ctx, name.data(), name.size());
  if (atom == JS_ATOM_NULL) return atom;
  if (index < cache.size()) {
    JS_FreeAtom(engine.ctx, cache[index].atom);
    cache[index] = {name, atom};
  } else if (index == cache.size() && index < kMaxCachedHeaderAtoms) {
    cache.push_back({name, atom});
  } else {
    temporary = true;
  }
  return atom;
}

JSValue make_headers(TransformEngine& engine, const std::vector<connector::Header>& headers) {
  JSContext* ctx = engine.ctx;
  JSValue object = JS_NewObject(ctx);
  if (JS_IsException(object)) return object;
  for (std::size_t i = 0; i < headers.size(); ++i) {
    bool temporary = false;
    const JSAtom atom = header_atom(engine, i, headers[i].name, temporary);
    const bool ok = atom != JS_ATOM_NULL && define(ctx, object, atom, new_string(ctx, headers[i].value));
    if (temporary) JS_FreeAtom(ctx, atom);
    if (!ok) {
      JS_FreeValue(ctx, object);
      return JS_EXCEPTION;
    }
  }
  return object;
}

JSValue make_position(TransformEngine& engine, const connector::Record& record) {
  JSContext* ctx = engine.ctx;
  const auto& a = engine.atoms;
  JSValue object = JS_NewObject(ctx);
  if (JS_IsException(object)) return object;
  if (define(ctx, object, a.stream_id, new_string(ctx, record.stream_id)) &&
      define(ctx, object, a.stream_revision, JS_NewFloat64(ctx, static_cast<double>(record.stream_revision))) &&
      define(ctx, object, a.log_position, JS_NewFloat64(ctx, static_cast<double>(record.position.value())))) {
    return object;
  }
  JS_FreeValue(ctx, object);
  return JS_EXCEPTION;
}

JSValue make_schema_info(TransformEngine& engine, const connector::Record& record) {
  JSContext* ctx = engine.ctx;
  JSValue object = JS_NewObject(ctx);
  if (JS_IsException(object)) return object;
  if (define(ctx, object, engine.atoms.subject, new_string(ctx, record.schema_subject)) &&
      define(ctx, object, engine.atoms.type, JS_NewString(ctx, connector::to_string(record.schema_type)))) {
    return object;
  }
  JS_FreeValue(ctx, object);
  return JS_EXCEPTION;
}

// ToString of `value` into `out`, reusing out's capacity. False when ToString threw (a Symbol,
// an object whose toString throws); the exception stays pending.
bool assign_string(JSContext* ctx, JSValueConst value, std::string& out) {
  std::size_t size = 0;
  const char* text = JS_ToCStringLen(ctx, &size, value);
  if (text == nullptr) return false;
  out.assign(text, size);
  JS_FreeCString(ctx, text);
  return true;
}

// The header's name: the cached copy when the atom is one of the cached ones (the usual case:
// headers the function did not touch).
bool assign_header_name(TransformEngine& engine, std::size_t index, JSAtom atom, std::string& out) {
  const auto& cache = engine.header_atoms;
  if (index < cache.size() && cache[index].atom == atom) {
    out.assign(cache[index].name);
    return true;
  }
  for (const auto& cached : cache) {
    if (cached.atom == atom) {
      out.assign(cached.name);
      return true;
    }
  }
  const char* text = JS_AtomToCString(engine.ctx, atom);
  if (text == nullptr) return false;
  out.assign(text);
  JS_FreeCString(engine.ctx, text);
  return true;
}

JsFailure type_error(const char* message) { return {false, std::string("TypeError: ") + message}; }

std::optional<JsFailure> read_value(TransformEngine& engine, JSValueConst object, std::string& out) {
  JSContext* ctx = engine.ctx;
  JSValue value = JS_GetProperty(ctx, object, engine.atoms.value);
  if (JS_IsException(value)) return take_exception(engine, false);
  if (JS_IsUndefined(value)) return type_error("record.value is undefined (return false to drop a record)");
  JSValue json = JS_JSONStringify(ctx, value, JS_UNDEFINED, JS_UNDEFINED);
  JS_FreeValue(ctx, value);
  if (JS_IsException(json)) return take_exception(engine, false);
  if (!JS_IsString(json)) {
    JS_FreeValue(ctx, json);
    return type_error("record.value cannot be written as JSON");
  }
  const bool ok = assign_string(ctx, json, out);
  JS_FreeValue(ctx, json);
  if (!ok) return take_exception(engine, false);
  return std::nullopt;
}

// The headers object's own enumerable string-named properties, in JavaScript's order (the
// record's headers first, then the added ones); null or undefined values are left out.
std::optional<JsFailure> read_header_entries(TransformEngine& engine, JSValueConst headers,
                                             std::vector<connector::Header>& out) {
  JSContext* ctx = engine.ctx;
  JSPropertyEnum* names = nullptr;
  std::uint32_t count = 0;
  if (JS_GetOwnPropertyNames(ctx, &names, &count, headers, JS_GPN_STRING_MASK | JS_GPN_ENUM_ONLY) < 0) {
    return take_exception(engine, false);
  }
  std::size_t kept = 0;
  bool ok = true;
  for (std::uint32_t i = 0; i < count && ok; ++i) {
    JSValue value = JS_GetProperty(ctx, headers, names[i].atom);
    ok = !JS_IsException(value);
    if (ok && !JS_IsNull(value) && !JS_IsUndefined(value)) {
      if (kept == out.size()) out.emplace_back();
      ok = assign_header_name(engine, kept, names[i].atom, out[kept].name) && assign_string(ctx, value, out[kept].value);
      ++kept;
    }
    JS_FreeValue(ctx, value);
  }
  for (std::uint32_t i = 0; i < count; ++i) JS_FreeAtom(ctx, names[i].atom);
  js_free(ctx, names);
  if (!ok) return take_exception(engine, false);
  out.resize(kept);
  return std::nullopt;
}

std::optional<JsFailure> read_headers(TransformEngine& engine, JSValueConst object, std::vector<connector::Header>& out) {
  JSContext* ctx = engine.ctx;
  JSValue headers = JS_GetProperty(ctx, object, engine.atoms.headers);
  if (JS_IsException(headers)) return take_exception(engine, false);
  std::optional<JsFailure> failure;
  if (JS_IsObject(headers)) {
    failure = read_header_entries(engine, headers, out);
  } else if (JS_IsNull(headers) || JS_IsUndefined(headers)) {
    out.clear();
  } else {
    failure = type_error("record.headers must be an object of header names to values");
  }
  JS_FreeValue(ctx, headers);
  return failure;
}

std::optional<JsFailure> read_key(TransformEngine& engine, JSValueConst object, std::optional<std::string>& out) {
  JSContext* ctx = engine.ctx;
  JSValue key = JS_GetProperty(ctx, object, engine.atoms.key);
  if (JS_IsException(key)) return take_exception(engine, false);
  bool ok = true;
  if (JS_IsNull(key) || JS_IsUndefined(key)) {
    out.reset();
  } else {
    ok = assign_string(ctx, key, out.emplace());
  }
  JS_FreeValue(ctx, key);
  if (!ok) return take_exception(engine, false);
  return std::nullopt;
}

}  // namespace

bool make_record_atoms(TransformEngine& engine) {
  auto& a = engine.atoms;
  JSContext* ctx = engine.ctx;
  const std::pair<JSAtom*, const char*> names[] = {
      {&a.record_id, "recordId"}, {&a.position, "position"},       {&a.stream_id, "streamId"},
      {&a.stream_revision, "streamRevision"}, {&a.log_position, "logPosition"}, {&a.schema_info, "schemaInfo"},
      {&a.subject, "subject"},    {&a.type, "type"},               {&a.headers, "headers"},
      {&a.value, "value"},        {&a.key, "key"}};
  for (const auto& [atom, name] : names) {
    *atom = JS_NewAtomLen(ctx, name, std::strlen(name));
    if (*atom == JS_ATOM_NULL) return false;
  }
  return true;
}

void free_record_atoms(TransformEngine& engine) {
  auto& a = engine.atoms;
  for (JSAtom* atom : {&a.record_id, &a.position, &a.stream_id, &a.stream_revision, &a.log_position, &a.schema_info,
                       &a.subject, &a.type, &a.headers, &a.value, &a.key}) {
    if (*atom != JS_ATOM_NULL) JS_FreeAtom(engine.ctx, *atom);
    *atom = JS_ATOM_NULL;
  }
  for (const auto& cached : engine.header_atoms) JS_FreeAtom(engine.ctx, cached.atom);
  engine.header_atoms.clear();
}

JSValue make_record_object(TransformEngine& engine, const connector::Record& record, JSValue value) {
  JSContext* ctx = engine.ctx;
  const auto& a = engine.atoms;
  JSValue object = JS_NewObject(ctx);
  if (JS_IsException(object)) {
    JS_FreeValue(ctx, value);
    return object;
  }
  // In the order KurrentDB documents them (what Object.keys(record) shows).
  bool ok = define(ctx, object, a.record_id, new_string(ctx, record.record_id)) &&
            define(ctx, object, a.position, make_position(engine, record)) &&
            define(ctx, object, a.schema_info, make_schema_info(engine, record)) &&
            define(ctx, object, a.headers, make_headers(engine, record.headers));
  if (!ok) JS_FreeValue(ctx, value);
  ok = ok && define(ctx, object, a.value, value) &&
       define(ctx, object, a.key, record.key ? new_string(ctx, *record.key) : JS_NULL);
  if (ok) return object;
  JS_FreeValue(ctx, object);
  return JS_EXCEPTION;
}

std::optional<JsFailure> read_back(TransformEngine& engine, JSValueConst object, connector::Record& record) {
  if (auto failure = read_value(engine, object, engine.spare_data)) return failure;
  if (auto failure = read_headers(engine, object, engine.spare_headers)) return failure;
  std::optional<std::string> key;
  if (auto failure = read_key(engine, object, key)) return failure;
  record.data.swap(engine.spare_data);
  record.headers.swap(engine.spare_headers);
  record.key = std::move(key);
  return std::nullopt;
}

}  // namespace sinkhost::runtime::detail
