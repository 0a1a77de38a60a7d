#pragma once

#include <chrono>
#include <optional>

#include "kurrentdb/protocols/v1/streams.grpc.pb.h"
#include "sinkhost/runtime/record_filter.hpp"
#include "sinkhost/runtime/source.hpp"
#include "store_connection.hpp"

namespace sinkhost::runtime::kurrentdb {

namespace streams = event_store::client::streams;

// The position of the newest event in $all ({0, 0} when the store has none): one backwards read
// of one event, within `timeout`. Errors name the store.
connector::Result<SourcePosition> read_head(StoreConnection& connection, std::chrono::milliseconds timeout);

// A subscription to $all after `after` (from the start when unset), filtered on the server by
// `filter` when set, with string event ids.
streams::ReadReq subscription_request(std::optional<SourcePosition> after,
                                      const std::optional<RecordFilter::ServerFilter>& filter);

// The event of a read response into `out` (its strings reused); false when the response holds
// no event it can take (a link whose event was deleted).
bool to_source_event(const streams::ReadResp::ReadEvent& read, SourceEvent& out);

}  // namespace sinkhost::runtime::kurrentdb
