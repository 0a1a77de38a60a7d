#include "sinkhost/runtime/record_builder.hpp"

#include <chrono>
#include <ctime>
#include <random>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

namespace sinkhost::runtime {

namespace {

std::string random_uuid() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  std::uint64_t hi = rng(), lo = rng();
  hi = (hi & 0xffffffffffff0fffULL) | 0x0000000000004000ULL;  // version 4
  lo = (lo & 0x3fffffffffffffffULL) | 0x8000000000000000ULL;  // RFC 4122 variant
  return fmt::format("{:08x}-{:04x}-{:04x}-{:04x}-{:012x}", hi >> 32, (hi >> 16) & 0xffff, hi & 0xffff,
                     lo >> 48, lo & 0xffffffffffffULL);
}

std::int64_t now_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

}  // namespace

std::string format_rfc3339(std::int64_t epoch_ms) {
  std::time_t seconds = static_cast<std::time_t>(epoch_ms / 1000);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", utc.tm_year + 1900, utc.tm_mon + 1,
                     utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec, epoch_ms % 1000);
}

connector::Record make_record(const StoredEvent& event, const std::string& connector_id,
                              bool ignore_system_headers) {
  connector::Record r;
  r.record_id = event.event_id;
  r.stream_id = event.stream;
  r.stream_revision = event.revision;
  r.position = event.position;
  r.schema_subject = event.event_type;
  r.schema_type = event.is_json ? connector::SchemaType::json : connector::SchemaType::bytes;
  r.data = event.data;
  r.metadata = event.metadata;
  r.timestamp_ms = event.created_ms;

  r.headers = {
      {"esdb-connector-id", connector_id},
      {"esdb-request-id", random_uuid()},
      {"esdb-request-date", format_rfc3339(now_ms())},
      {"esdb-record-id", event.event_id},
      {"esdb-record-timestamp", format_rfc3339(event.created_ms)},
      {"esdb-record-redacted", "false"},
      {"esdb-record-stream-id", event.stream},
      {"esdb-record-stream-revision", std::to_string(event.revision)},
      {"esdb-record-log-position", std::to_string(event.position.value())},
      {"esdb-record-schema-subject", event.event_type},
      {"esdb-record-schema-type", connector::to_string(r.schema_type)},
  };

  // Metadata was checked to be a JSON object at append time; anything else is skipped.
  auto metadata = nlohmann::json::parse(event.metadata, nullptr, /*allow_exceptions=*/false);
  if (metadata.is_object()) {
    for (const auto& [name, value] : metadata.items()) {
      if (ignore_system_headers && !name.empty() && name.front() == '$') continue;
      r.headers.push_back({"esdb-record-headers-" + name, value.is_string() ? value.get<std::string>() : value.dump()});
    }
  }
  return r;
}

}  // namespace sinkhost::runtime
