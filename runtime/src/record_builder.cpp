#include "sinkhost/runtime/record_builder.hpp"

#include <charconv>
#include <chrono>
#include <random>

#include <nlohmann/json.hpp>

#include "sinkhost/connector/encoding.hpp"

namespace sinkhost::runtime {

namespace {

// Formatting by hand: these run for every record, and fmt's general machinery showed in profiles.
constexpr char kHex[] = "0123456789abcdef";

void hex(std::uint64_t value, int digits, char* out) {
  for (int i = digits - 1; i >= 0; --i, value >>= 4) out[i] = kHex[value & 0xf];
}

void random_uuid(std::string& out) {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  std::uint64_t hi = rng(), lo = rng();
  hi = (hi & 0xffffffffffff0fffULL) | 0x0000000000004000ULL;  // version 4
  lo = (lo & 0x3fffffffffffffffULL) | 0x8000000000000000ULL;  // RFC 4122 variant
  char text[36];
  hex(hi >> 32, 8, text);
  text[8] = '-';
  hex((hi >> 16) & 0xffff, 4, text + 9);
  text[13] = '-';
  hex(hi & 0xffff, 4, text + 14);
  text[18] = '-';
  hex(lo >> 48, 4, text + 19);
  text[23] = '-';
  hex(lo & 0xffffffffffffULL, 12, text + 24);
  out.assign(text, sizeof text);
}

std::int64_t now_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

void decimal(std::uint64_t value, std::string& out) {
  char text[24];
  auto end = std::to_chars(text, text + sizeof text, value).ptr;
  out.assign(text, static_cast<std::size_t>(end - text));
}

// Metadata with no entries needs no JSON parser.
bool has_entries(std::string_view metadata) {
  for (char c : metadata) {
    if (c != '{' && c != '}' && c != ' ' && c != '\n' && c != '\r' && c != '\t') return true;
  }
  return false;
}

connector::Header& slot(connector::Record& r, std::size_t index, std::string_view name) {
  if (index == r.headers.size()) r.headers.emplace_back();
  auto& h = r.headers[index];
  h.name.assign(name.data(), name.size());
  return h;
}

void set(connector::Record& r, std::size_t index, std::string_view name, std::string_view value) {
  slot(r, index, name).value.assign(value.data(), value.size());
}

}  // namespace

void build_record(const SourceEvent& event, std::string_view connector_id, bool ignore_system_headers,
                  connector::Record& r) {
  r.record_id = event.event_id;
  r.stream_id = event.stream;
  r.stream_revision = event.revision;
  r.position = event.ordinal;
  r.schema_subject = event.event_type;
  r.schema_type = event.is_json ? connector::SchemaType::json : connector::SchemaType::bytes;
  r.data = event.data;
  r.metadata = event.metadata;
  r.timestamp_ms = event.created_ms;
  r.key.reset();
  r.key_from_transform = false;
  r.topic.reset();  // routing is a transform's, per record
  r.partition.reset();

  std::size_t n = 0;
  set(r, n++, "esdb-connector-id", connector_id);
  random_uuid(slot(r, n++, "esdb-request-id").value);
  connector::format_rfc3339(now_ms(), slot(r, n++, "esdb-request-date").value);
  set(r, n++, "esdb-record-id", event.event_id);
  connector::format_rfc3339(event.created_ms, slot(r, n++, "esdb-record-timestamp").value);
  set(r, n++, "esdb-record-redacted", "false");
  set(r, n++, "esdb-record-stream-id", event.stream);
  decimal(event.revision, slot(r, n++, "esdb-record-stream-revision").value);
  decimal(event.position.commit, slot(r, n++, "esdb-record-log-position").value);
  set(r, n++, "esdb-record-schema-subject", event.event_type);
  set(r, n++, "esdb-record-schema-type", connector::to_string(r.schema_type));

  // Metadata was checked to be a JSON object at append time; anything else is skipped.
  if (has_entries(event.metadata)) {
    auto metadata = nlohmann::json::parse(event.metadata, nullptr, /*allow_exceptions=*/false);
    if (metadata.is_object()) {
      for (const auto& [name, value] : metadata.items()) {
        if (ignore_system_headers && !name.empty() && name.front() == '$') continue;
        auto& h = slot(r, n++, "esdb-record-headers-");
        h.name += name;
        if (value.is_string()) {
          h.value = value.get_ref<const std::string&>();
        } else {
          h.value = value.dump();
        }
      }
    }
  }
  r.headers.resize(n);
}

connector::Record make_record(const StoredEvent& event, const std::string& connector_id, bool ignore_system_headers) {
  SourceEvent source{.position = SourcePosition::of_log(event.position),
                     .ordinal = event.position,
                     .event_id = event.event_id,
                     .stream = event.stream,
                     .revision = event.revision,
                     .event_type = event.event_type,
                     .is_json = event.is_json,
                     .data = event.data,
                     .metadata = event.metadata,
                     .created_ms = event.created_ms};
  connector::Record record;
  build_record(source, connector_id, ignore_system_headers, record);
  return record;
}

}  // namespace sinkhost::runtime
