// The record's way into and out of JavaScript (transform_engine.hpp). The record object is built
// with the C API rather than by parsing a JSON envelope: only the value is JSON, and the fixed
// fields are defined by pre-interned atoms, which is most of what a record costs.
#include <cstring>
#include <optional>
#include <string_view>
#include <vector>

#include "transform_engine.hpp"

namespace sinkhost::runtime::detail {
namespace {

// More headers than this on one record are defined without the cache, so that a record with
// thousands of headers cannot grow it without bound.
constexpr std::size_t kMaxHeaderSlots = 64;

JSValue new_string(JSContext* ctx, const std::string& text) { return JS_NewStringLen(ctx, text.data(), text.size()); }

// Defines object[atom] = value, taking ownership of value (also of an exception marker, which
// owns nothing). False when value is an exception or the definition ran out of memory.
bool define(JSContext* ctx, JSValueConst object, JSAtom atom, JSValue value) {
  if (JS_IsException(value)) return false;
  return JS_DefinePropertyValue(ctx, object, atom, value, JS_PROP_C_W_E) >= 0;
}

// Makes `slot` hold this header's name and value, keeping what matches already.
bool fill_slot(JSContext* ctx, HeaderSlot& slot, const connector::Header& header) {
  if (slot.atom == JS_ATOM_NULL || slot.name != header.name) {
    const JSAtom atom = JS_NewAtomLen(ctx, header.name.data(), header.name.size());
    if (atom == JS_ATOM_NULL) return false;
    if (slot.atom != JS_ATOM_NULL) JS_FreeAtom(ctx, slot.atom);
    slot.atom = atom;
    slot.name = header.name;
  }
  if (!slot.has_js_value || slot.value != header.value) {
    JSValue value = new_string(ctx, header.value);
    if (JS_IsException(value)) return false;
    if (slot.has_js_value) JS_FreeValue(ctx, slot.js_value);
    slot.js_value = value;
    slot.has_js_value = true;
    slot.value = header.value;
  }
  return true;
}

bool define_header(TransformEngine& engine, JSValueConst object, std::size_t index, const connector::Header& header) {
  JSContext* ctx = engine.ctx;
  auto& slots = engine.header_slots;
  if (index >= kMaxHeaderSlots) {
    const JSAtom atom = JS_NewAtomLen(ctx, header.name.data(), header.name.size());
    if (atom == JS_ATOM_NULL) return false;
    const bool ok = define(ctx, object, atom, new_string(ctx, header.value));
    JS_FreeAtom(ctx, atom);
    return ok;
  }
  if (index == slots.size()) slots.emplace_back();
  auto& slot = slots[index];
  return fill_slot(ctx, slot, header) && define(ctx, object, slot.atom, JS_DupValue(ctx, slot.js_value));
}

constexpr std::string_view kMetadataPrefix = "esdb-record-headers-";

// The metadata entry a header carries (esdb-record-headers-<name>), if it is one and its own
// name is free: KurrentDB's transforms read metadata under its own name (headers.correlationId).
std::optional<std::string_view> metadata_alias(const connector::Header& header,
                                               const std::vector<connector::Header>& headers) {
  if (!header.name.starts_with(kMetadataPrefix) || header.name.size() == kMetadataPrefix.size()) return std::nullopt;
  const std::string_view alias = std::string_view(header.name).substr(kMetadataPrefix.size());
  for (const auto& other : headers) {
    if (other.name == alias) return std::nullopt;
  }
  return alias;
}

JSValue make_headers(TransformEngine& engine, const std::vector<connector::Header>& headers) {
  JSContext* ctx = engine.ctx;
  JSValue object = JS_NewObject(ctx);
  if (JS_IsException(object)) return object;
  bool ok = true;
  for (std::size_t i = 0; i < headers.size() && ok; ++i) ok = define_header(engine, object, i, headers[i]);
  for (const auto& header : headers) {
    if (!ok) break;
    if (auto alias = metadata_alias(header, headers)) {
      const JSAtom atom = JS_NewAtomLen(ctx, alias->data(), alias->size());
      ok = atom != JS_ATOM_NULL && define(ctx, object, atom, new_string(ctx, header.value));
      if (atom != JS_ATOM_NULL) JS_FreeAtom(ctx, atom);
    }
  }
  if (ok) return object;
  JS_FreeValue(ctx, object);
  return js_exception();
}

// After the transform: each metadata entry was shown twice, as esdb-record-headers-<name> and as
// <name>. A change through either form wins (the own name first); deleting either form deletes
// the entry; the entry leaves under its esdb-record-headers- name, and the alias is dropped.
void fold_metadata_aliases(const std::vector<connector::Header>& before, std::vector<connector::Header>& after) {
  auto find = [&](std::string_view name) -> connector::Header* {
    for (auto& h : after) {
      if (h.name == name) return &h;
    }
    return nullptr;
  };
  for (const auto& original : before) {
    const auto alias = metadata_alias(original, before);
    if (!alias) continue;
    connector::Header* own = find(*alias);
    connector::Header* prefixed = find(original.name);
    std::optional<std::string> value;
    if (own && own->value != original.value)
      value = own->value;
    else if (prefixed && prefixed->value != original.value)
      value = prefixed->value;
    else if (own && prefixed)
      value = original.value;
    if (prefixed) {
      if (value)
        prefixed->value = *value;
      else
        prefixed->name.clear();  // deleted through its own name
    } else if (own && value) {
      own->name = original.name;  // deleted under the prefixed name but changed under its own: keep
      own = nullptr;
    }
    if (own) own->name.clear();
  }
  std::erase_if(after, [](const connector::Header& h) { return h.name.empty(); });
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
  return js_exception();
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
  return js_exception();
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

// The slot this property still is: same name, and the very string we defined (strings are
// immutable, so its text is the slot's). Usually the one at the same position.
const HeaderSlot* unchanged_slot(const TransformEngine& engine, std::size_t index, JSAtom atom, JSValueConst value) {
  if (JS_VALUE_GET_TAG(value) != JS_TAG_STRING) return nullptr;
  const auto& slots = engine.header_slots;
  auto matches = [&](const HeaderSlot& slot) {
    return slot.atom == atom && slot.has_js_value && JS_VALUE_GET_PTR(slot.js_value) == JS_VALUE_GET_PTR(value);
  };
  if (index < slots.size() && matches(slots[index])) return &slots[index];
  for (const auto& slot : slots) {
    if (matches(slot)) return &slot;
  }
  return nullptr;
}

bool assign_atom(JSContext* ctx, JSAtom atom, std::string& out) {
  const char* text = JS_AtomToCString(ctx, atom);
  if (text == nullptr) return false;
  out.assign(text);
  JS_FreeCString(ctx, text);
  return true;
}

// One header read back into `out`, reusing its strings' capacity.
bool assign_header(TransformEngine& engine, std::size_t index, JSAtom atom, JSValueConst value,
                   connector::Header& out) {
  if (const auto* slot = unchanged_slot(engine, index, atom, value)) {
    out.name.assign(slot->name);
    out.value.assign(slot->value);
    return true;
  }
  return assign_atom(engine.ctx, atom, out.name) && assign_string(engine.ctx, value, out.value);
}

JsFailure type_error(const char* message) { return {false, std::string("TypeError: ") + message}; }

std::optional<JsFailure> read_value(TransformEngine& engine, JSValueConst object, std::string& out) {
  JSContext* ctx = engine.ctx;
  JSValue value = JS_GetProperty(ctx, object, engine.atoms.value);
  if (JS_IsException(value)) return take_exception(engine, false);
  if (JS_IsUndefined(value)) return type_error("record.value is undefined (return false to drop a record)");
  JSValue json = JS_JSONStringify(ctx, value, js_undefined(), js_undefined());
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
      ok = assign_header(engine, kept, names[i].atom, value, out[kept]);
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

std::optional<JsFailure> read_headers(TransformEngine& engine, JSValueConst object,
                                      std::vector<connector::Header>& out) {
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

// record.topic and record.partition: the function may set them to route the record (a topic and
// partition of its own); absent, null or undefined: the connector's.
std::optional<JsFailure> read_route(TransformEngine& engine, JSValueConst object, connector::Record& record) {
  JSContext* ctx = engine.ctx;
  JSValue topic = JS_GetProperty(ctx, object, engine.atoms.topic);
  if (JS_IsException(topic)) return take_exception(engine, false);
  std::optional<JsFailure> failure;
  if (JS_IsNull(topic) || JS_IsUndefined(topic)) {
    record.topic.reset();
  } else if (!JS_IsString(topic) || !assign_string(ctx, topic, record.topic.emplace()) || record.topic->empty()) {
    failure = type_error("record.topic must be a non-empty string (or null for the connector's topic)");
  }
  JS_FreeValue(ctx, topic);
  if (failure) return failure;
  JSValue partition = JS_GetProperty(ctx, object, engine.atoms.partition);
  if (JS_IsException(partition)) return take_exception(engine, false);
  double number = 0;
  if (JS_IsNull(partition) || JS_IsUndefined(partition)) {
    record.partition.reset();
  } else if (!JS_IsNumber(partition) || JS_ToFloat64(ctx, &number, partition) != 0 || number < 0 ||
             number > 2147483647.0 || number != static_cast<double>(static_cast<std::int32_t>(number))) {
    failure = type_error("record.partition must be an integer from 0 (or null for the connector's choice)");
  } else {
    record.partition = static_cast<std::int32_t>(number);
  }
  JS_FreeValue(ctx, partition);
  return failure;
}

}  // namespace

bool make_record_atoms(TransformEngine& engine) {
  auto& a = engine.atoms;
  JSContext* ctx = engine.ctx;
  const std::pair<JSAtom*, const char*> names[] = {{&a.record_id, "recordId"},
                                                   {&a.position, "position"},
                                                   {&a.stream_id, "streamId"},
                                                   {&a.stream_revision, "streamRevision"},
                                                   {&a.log_position, "logPosition"},
                                                   {&a.schema_info, "schemaInfo"},
                                                   {&a.subject, "subject"},
                                                   {&a.type, "type"},
                                                   {&a.headers, "headers"},
                                                   {&a.value, "value"},
                                                   {&a.key, "key"},
                                                   {&a.topic, "topic"},
                                                   {&a.partition, "partition"}};
  for (const auto& [atom, name] : names) {
    *atom = JS_NewAtomLen(ctx, name, std::strlen(name));
    if (*atom == JS_ATOM_NULL) return false;
  }
  return true;
}

void free_record_atoms(TransformEngine& engine) {
  auto& a = engine.atoms;
  for (JSAtom* atom : {&a.record_id, &a.position, &a.stream_id, &a.stream_revision, &a.log_position, &a.schema_info,
                       &a.subject, &a.type, &a.headers, &a.value, &a.key, &a.topic, &a.partition}) {
    if (*atom != JS_ATOM_NULL) JS_FreeAtom(engine.ctx, *atom);
    *atom = JS_ATOM_NULL;
  }
  for (const auto& slot : engine.header_slots) {
    if (slot.atom != JS_ATOM_NULL) JS_FreeAtom(engine.ctx, slot.atom);
    if (slot.has_js_value) JS_FreeValue(engine.ctx, slot.js_value);
  }
  engine.header_slots.clear();
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
       define(ctx, object, a.key, record.key ? new_string(ctx, *record.key) : js_null());
  if (ok) return object;
  JS_FreeValue(ctx, object);
  return js_exception();
}

std::optional<JsFailure> read_back(TransformEngine& engine, JSValueConst object, connector::Record& record) {
  if (auto failure = read_value(engine, object, engine.spare_data)) return failure;
  if (auto failure = read_headers(engine, object, engine.spare_headers)) return failure;
  std::optional<std::string> key;
  if (auto failure = read_key(engine, object, key)) return failure;
  if (auto failure = read_route(engine, object, record)) return failure;
  fold_metadata_aliases(record.headers, engine.spare_headers);
  record.data.swap(engine.spare_data);
  record.headers.swap(engine.spare_headers);
  record.key = std::move(key);
  return std::nullopt;
}

}  // namespace sinkhost::runtime::detail
