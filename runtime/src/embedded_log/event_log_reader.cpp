#include <cstdint>
#include <memory>
#include <string>

#include "embedded_log/event_rows.hpp"
#include "sinkhost/runtime/embedded_log/event_log.hpp"
#include "sqlite.hpp"

// EventLogReader and EventRow: reading the embedded log on a connection of one's own (the
// writer is event_log.cpp).
namespace sinkhost::runtime {

using connector::ErrorCode;
using connector::make_error;
using namespace event_rows;

namespace {
const sqlite::Statement& row_of(const void* statement) { return *static_cast<const sqlite::Statement*>(statement); }
}  // namespace

LogPosition EventRow::position() const {
  return LogPosition(static_cast<std::uint64_t>(row_of(statement_).column_int(0)));
}
std::string_view EventRow::event_id() const { return row_of(statement_).column_view(1); }
std::string_view EventRow::stream() const { return row_of(statement_).column_view(2); }
std::uint64_t EventRow::revision() const { return static_cast<std::uint64_t>(row_of(statement_).column_int(3)); }
std::string_view EventRow::event_type() const { return row_of(statement_).column_view(4); }
bool EventRow::is_json() const { return row_of(statement_).column_int(5) != 0; }
std::string_view EventRow::data() const { return row_of(statement_).column_view(6); }
std::string_view EventRow::metadata() const { return row_of(statement_).column_view(7); }
std::int64_t EventRow::created_ms() const { return row_of(statement_).column_int(8); }

struct EventLogReader::Statements {
  explicit Statements(const std::string& path)
      : db(sqlite::Database::open(path, sqlite::Sync::normal, /*read_only=*/true)),
        all_forward(db, SELECT_EVENT "WHERE position >= ?1 ORDER BY position LIMIT ?2"),
        all_backward(db, SELECT_EVENT "WHERE position <= ?1 ORDER BY position DESC LIMIT ?2"),
        stream_forward(db, SELECT_EVENT "WHERE stream = ?1 AND revision >= ?2 ORDER BY revision LIMIT ?3"),
        stream_backward(db, SELECT_EVENT "WHERE stream = ?1 AND revision <= ?2 ORDER BY revision DESC LIMIT ?3"),
        last_revision(db, "SELECT max(revision) FROM events WHERE stream = ?1") {}
  sqlite::Database db;
  sqlite::Statement all_forward;
  sqlite::Statement all_backward;
  sqlite::Statement stream_forward;
  sqlite::Statement stream_backward;
  sqlite::Statement last_revision;
};

EventLogReader::EventLogReader(const std::string& path) : s_(std::make_unique<Statements>(path)) {}
EventLogReader::~EventLogReader() = default;

Result<std::vector<StoredEvent>> EventLogReader::read_all(LogPosition from, std::size_t max_count,
                                                          Direction direction) {
  auto& statement = direction == Direction::forward ? s_->all_forward : s_->all_backward;
  statement.reset();
  statement.bind(1, as_int(from.value())).bind(2, as_int(max_count));
  return collect(statement);
}

Result<std::vector<StoredEvent>> EventLogReader::read_stream(const std::string& stream, std::uint64_t from,
                                                             std::size_t max_count, Direction direction) {
  auto& statement = direction == Direction::forward ? s_->stream_forward : s_->stream_backward;
  statement.reset();
  statement.bind(1, stream).bind(2, as_int(from)).bind(3, as_int(max_count));
  return collect(statement);
}

Result<LogPosition> EventLogReader::scan(LogPosition from, std::size_t max_count,
                                         const std::function<bool(const EventRow&)>& visit) {
  auto& statement = s_->all_forward;
  statement.reset();
  statement.bind(1, as_int(from.value())).bind(2, as_int(max_count));
  try {
    LogPosition last;
    const EventRow row(&statement);
    while (statement.step()) {
      last = row.position();
      if (!visit(row)) break;
    }
    statement.reset();
    return last;
  } catch (const sqlite::Error& e) {
    statement.reset();
    return make_error(ErrorCode::unavailable, std::string("reading the event log failed: ") + e.what());
  }
}

Result<std::optional<std::uint64_t>> EventLogReader::last_revision(const std::string& stream) {
  try {
    return query_last_revision(s_->last_revision, stream);
  } catch (const sqlite::Error& e) {
    return make_error(ErrorCode::unavailable, std::string("reading the event log failed: ") + e.what());
  }
}

}  // namespace sinkhost::runtime
