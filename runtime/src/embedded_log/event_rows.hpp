#pragma once
// What the embedded log's writer (event_log.cpp) and readers (event_log_reader.cpp) share: the
// row layout of a SELECT of events and its conversions. Private to the runtime.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "sinkhost/runtime/embedded_log/event_log.hpp"
#include "sqlite.hpp"

#define SELECT_EVENT \
  "SELECT position, event_id, stream, revision, event_type, is_json, data, metadata, created_ms FROM events "

namespace sinkhost::runtime::event_rows {

inline StoredEvent read_row(const sqlite::Statement& row) {
  StoredEvent event;
  event.position = LogPosition(static_cast<std::uint64_t>(row.column_int(0)));
  event.event_id = row.column_text(1);
  event.stream = row.column_text(2);
  event.revision = static_cast<std::uint64_t>(row.column_int(3));
  event.event_type = row.column_text(4);
  event.is_json = row.column_int(5) != 0;
  event.data = row.column_text(6);
  event.metadata = row.column_text(7);
  event.created_ms = row.column_int(8);
  return event;
}

inline Result<std::vector<StoredEvent>> collect(sqlite::Statement& statement) {
  try {
    std::vector<StoredEvent> events;
    while (statement.step()) events.push_back(read_row(statement));
    statement.reset();
    return events;
  } catch (const sqlite::Error& e) {
    statement.reset();
    return connector::make_error(connector::ErrorCode::unavailable,
                                 std::string("reading the event log failed: ") + e.what());
  }
}

// The stream's last revision from a prepared "SELECT max(revision) ... WHERE stream = ?1";
// nullopt when the stream has no events.
inline std::optional<std::uint64_t> query_last_revision(sqlite::Statement& statement, const std::string& stream) {
  statement.reset();
  statement.bind(1, stream);
  statement.step();
  std::optional<std::uint64_t> out;
  if (!statement.column_is_null(0)) out = static_cast<std::uint64_t>(statement.column_int(0));
  statement.reset();
  return out;
}

inline std::int64_t as_int(std::uint64_t value) {
  // SQLite integers are signed; positions, revisions and counts stay far below 2^63.
  return value > static_cast<std::uint64_t>(INT64_MAX) ? INT64_MAX : static_cast<std::int64_t>(value);
}

}  // namespace sinkhost::runtime::event_rows
