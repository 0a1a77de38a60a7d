#include "sinkhost/runtime/event_log.hpp"

#include <chrono>
#include <optional>

#include "sinkhost/runtime/sqlite.hpp"

namespace sinkhost::runtime {

using connector::ErrorCode;
using connector::make_error;

namespace {

constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS events (
  position   INTEGER PRIMARY KEY,  -- global log position: 1, 2, 3, ...
  event_id   TEXT    NOT NULL,
  stream     TEXT    NOT NULL,
  revision   INTEGER NOT NULL,     -- 0, 1, 2, ... within the stream
  event_type TEXT    NOT NULL,
  is_json    INTEGER NOT NULL,
  data       BLOB    NOT NULL,
  metadata   TEXT    NOT NULL,
  created_ms INTEGER NOT NULL,
  UNIQUE (stream, revision)
);
)sql";

constexpr const char* kSelectColumns =
    "SELECT position, event_id, stream, revision, event_type, is_json, data, metadata, created_ms "
    "FROM events ";

std::int64_t now_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

StoredEvent read_row(const sqlite::Statement& row) {
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

class SqliteReader final : public EventLogReader {
 public:
  explicit SqliteReader(const std::string& path)
      : db_(sqlite::Database::open(path, sqlite::Sync::normal, /*read_only=*/true)),
        read_all_(db_, (std::string(kSelectColumns) + "WHERE position >= ?1 ORDER BY position LIMIT ?2").c_str()) {}

  Result<std::vector<StoredEvent>> read_all(LogPosition from, std::size_t max_count) override {
    try {
      std::vector<StoredEvent> events;
      read_all_.reset();
      read_all_.bind(1, static_cast<std::int64_t>(from.value()))
          .bind(2, static_cast<std::int64_t>(max_count));
      while (read_all_.step()) events.push_back(read_row(read_all_));
      read_all_.reset();
      return events;
    } catch (const sqlite::Error& e) {
      return make_error(ErrorCode::unavailable, std::string("reading the event log failed: ") + e.what());
    }
  }

 private:
  sqlite::Database db_;
  sqlite::Statement read_all_;
};

}  // namespace

struct EventLog::Writer {
  explicit Writer(const std::string& path)
      : db(sqlite::Database::open(path)),
        schema_ready((db.exec(kSchema), true)),
        last_revision(db, "SELECT max(revision) FROM events WHERE stream = ?1"),
        insert(db,
               "INSERT INTO events (position, event_id, stream, revision, event_type, is_json, data, "
               "metadata, created_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"),
        head(db, "SELECT coalesce(max(position), 0) FROM events") {}

  sqlite::Database db;
  bool schema_ready;
  sqlite::Statement last_revision;
  sqlite::Statement insert;
  sqlite::Statement head;
};

EventLog::EventLog(std::string path) : path_(std::move(path)) {}
EventLog::~EventLog() = default;

Result<std::unique_ptr<EventLog>> EventLog::open(const std::string& path) {
  try {
    std::unique_ptr<EventLog> log(new EventLog(path));
    log->writer_ = std::make_unique<Writer>(path);
    log->writer_->head.step();
    log->head_.store(static_cast<std::uint64_t>(log->writer_->head.column_int(0)));
    log->writer_->head.reset();
    return log;
  } catch (const sqlite::Error& e) {
    return make_error(ErrorCode::unavailable, std::string("cannot open the event log: ") + e.what());
  }
}

Result<AppendResult> EventLog::append(const std::string& stream, const std::vector<NewEvent>& events) {
  if (events.empty()) {
    return make_error(ErrorCode::invalid_argument, "an append needs at least one event");
  }
  AppendResult result;
  {
    std::lock_guard lock(write_mutex_);
    auto& w = *writer_;
    try {
      sqlite::Transaction tx(w.db);
      w.last_revision.reset();
      w.last_revision.bind(1, stream);
      w.last_revision.step();
      std::optional<std::uint64_t> last;
      if (!w.last_revision.column_is_null(0)) last = static_cast<std::uint64_t>(w.last_revision.column_int(0));
      w.last_revision.reset();

      std::uint64_t position = head_.load(std::memory_order_relaxed);
      std::uint64_t revision = last ? *last + 1 : 0;
      result.first_position = LogPosition(position + 1);
      result.first_revision = revision;
      const auto created = now_ms();
      for (const auto& event : events) {
        ++position;
        w.insert.reset();
        w.insert.bind(1, static_cast<std::int64_t>(position))
            .bind(2, event.event_id)
            .bind(3, stream)
            .bind(4, static_cast<std::int64_t>(revision++))
            .bind(5, event.event_type)
            .bind(6, std::int64_t{event.is_json ? 1 : 0})
            .bind_blob(7, event.data)
            .bind(8, event.metadata.empty() ? std::string_view("{}") : std::string_view(event.metadata))
            .bind(9, created);
        w.insert.step();
      }
      w.insert.reset();
      tx.commit();
      result.last_position = LogPosition(position);
      head_.store(position, std::memory_order_release);
    } catch (const sqlite::Error& e) {
      return make_error(ErrorCode::unavailable, std::string("the append was not stored: ") + e.what());
    }
  }
  std::lock_guard lock(watchers_mutex_);
  for (auto& [id, callback] : watchers_) callback();
  return result;
}

Result<std::unique_ptr<EventLogReader>> EventLog::open_reader() const {
  try {
    return std::unique_ptr<EventLogReader>(std::make_unique<SqliteReader>(path_));
  } catch (const sqlite::Error& e) {
    return make_error(ErrorCode::unavailable, std::string("cannot read the event log: ") + e.what());
  }
}

EventLog::WatchId EventLog::watch(std::function<void()> on_head_moved) {
  std::lock_guard lock(watchers_mutex_);
  auto id = next_watch_id_++;
  watchers_.emplace(id, std::move(on_head_moved));
  return id;
}

void EventLog::unwatch(WatchId id) {
  std::lock_guard lock(watchers_mutex_);
  watchers_.erase(id);
}

}  // namespace sinkhost::runtime
