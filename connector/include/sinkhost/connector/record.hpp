#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "sinkhost/connector/position.hpp"

namespace sinkhost::connector {

// How a record's data is encoded (KurrentDB's `esdb-record-schema-type`).
enum class SchemaType { json, bytes };

inline const char* to_string(SchemaType type) { return type == SchemaType::json ? "Json" : "Bytes"; }

struct Header {
  std::string name;
  std::string value;
};

// One event as a sink receives it. A plain struct: the runtime fills every field.
struct Record {
  std::string record_id;  // the event id (a UUID)
  std::string stream_id;
  std::uint64_t stream_revision = 0;
  // Identifies the record in the DeliveryListener's calls: strictly increasing within one run of
  // the connector. With the embedded log it is the event's log position.
  LogPosition position;
  std::string schema_subject;  // the event type
  SchemaType schema_type = SchemaType::json;
  std::string data;               // the event's data bytes, unchanged
  std::string metadata;           // the event's metadata as JSON object text ("{}" when none)
  std::int64_t timestamp_ms = 0;  // when the event was appended, milliseconds since the Unix epoch
  std::vector<Header> headers;    // the esdb-* headers the runtime adds (see docs/api.md)
  // The partition key a transform left on the record (nullopt: no key), when key_from_transform
  // is set; a sink then uses it as it is instead of extracting its own (Sink::partition_key).
  std::optional<std::string> key;
  bool key_from_transform = false;
  // Where a transform routed the record (record.topic / record.partition); nullopt: the
  // connector's own choice. Sinks that have topics and partitions (kafka-sink) use them; others
  // ignore them.
  std::optional<std::string> topic;
  std::optional<std::int32_t> partition;
};

}  // namespace sinkhost::connector
