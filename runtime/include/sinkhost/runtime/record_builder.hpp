#pragma once

#include <string>
#include <string_view>

#include "sinkhost/connector/record.hpp"
#include "sinkhost/runtime/embedded_log/event_log.hpp"
#include "sinkhost/runtime/source.hpp"

namespace sinkhost::runtime {

// Builds the record a sink receives from a source event into `into`, with KurrentDB's esdb-*
// headers and one esdb-record-headers-<name> header per top-level metadata entry. Reuses the
// storage `into` already has (its strings and header list), so that a record built again in the
// same place allocates nothing new unless it is larger than before.
void build_record(const SourceEvent& event, std::string_view connector_id, bool ignore_system_headers,
                  connector::Record& into);

// The same for a stored event of the embedded log, into a new record.
connector::Record make_record(const StoredEvent& event, const std::string& connector_id, bool ignore_system_headers);

}  // namespace sinkhost::runtime
