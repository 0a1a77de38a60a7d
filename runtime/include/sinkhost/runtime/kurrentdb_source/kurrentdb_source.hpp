#pragma once

#include <memory>

#include "sinkhost/connector/result.hpp"
#include "sinkhost/runtime/kurrentdb_source/connection_string.hpp"
#include "sinkhost/runtime/source.hpp"

namespace sinkhost::runtime {

// An external KurrentDB (or EventStoreDB) as the host's event source, over its gRPC client
// protocol (docs/kurrentdb-source.md). Each connector's subscription is a $all subscription with
// the connector's filter pushed to the server; positions are KurrentDB's (commit, prepare)
// positions. Fails only on a connection string whose files cannot be read: the store itself is
// reached lazily, and retried while it cannot be.
connector::Result<std::unique_ptr<EventSource>> open_kurrentdb_source(const KurrentDbConnection& connection);

}  // namespace sinkhost::runtime
