#pragma once

#include <string>

#include "sinkhost/connector/record.hpp"
#include "sinkhost/runtime/event_log.hpp"

namespace sinkhost::runtime {

// Builds the record a sink receives from a stored event, with KurrentDB's esdb-* headers and
// one esdb-record-headers-<name> header per top-level metadata entry.
connector::Record make_record(const StoredEvent& event, const std::string& connector_id,
                              bool ignore_system_headers);

// Milliseconds since the Unix epoch as RFC 3339 UTC with millisecond precision.
std::string format_rfc3339(std::int64_t epoch_ms);

}  // namespace sinkhost::runtime
