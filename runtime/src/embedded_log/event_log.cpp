#include "sinkhost/runtime/embedded_log/event_log.hpp"

#include "embedded_log/event_rows.hpp"
#include "sqlite.hpp"

#include <chrono>
#include <future>

namespace sinkhost::runtime {

using connector::ErrorCode;
using connector::make_error;
using namespace event_rows;

namespace {

// Bumped when the schema changes; a database of another version is refused with a clear error
// rather than misread.
constexpr int kSchemaVersion = 1;

constexpr const char* kSchema = R"sql(
CREATE TABLE IF NOT EXISTS events (
  position   INTEGER PRIMARY KEY,  -- global log position: 1, 2, 3, ...
  event_id   TEXT    NOT NULL,
  id_hash    INTEGER NOT NULL,     -- 64-bit hash of event_id, indexed for idempotent appends
  stream     TEXT    NOT NULL,
  revision   INTEGER NOT NULL,     -- 0, 1, 2, ... within the stream
  event_type TEXT    NOT NULL,
  is_json    INTEGER NOT NULL,
  data       BLOB    NOT NULL,
  metadata   TEXT    NOT NULL,
  created_ms INTEGER NOT NULL,
  UNIQUE (stream, revision)
);
CREATE INDEX IF NOT EXISTS events_by_id_hash ON events (id_hash);
)sql";

// A group commits at most this many events, so one transaction stays short even when many
// large batches wait.
constexpr std::size_t kMaxGroupEvents = 20000;

std::int64_t now_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

// FNV-1a: the index needs a uniform 64-bit key, not a cryptographic one; equal hashes are
// confirmed by comparing the ids themselves.
std::int64_t hash_id(std::string_view id) {
  std::uint64_t h = 1469598103934665603ULL;
  for (unsigned char c : id) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  return static_cast<std::int64_t>(h);
}

}  // namespace

// One append waiting for the writer thread.
struct EventLog::Pending {
  AppendRequest request;
  std::promise<Result<AppendResult>> done;
};

// The writer thread's connection and statements.
struct EventLog::Writer {
  Writer(const std::string& path, Durability durability)
      : db(open_db(path, durability)),
        last_revision(db, "SELECT max(revision) FROM events WHERE stream = ?1"),
        find_by_id(db,
                   "SELECT position, revision FROM events WHERE id_hash = ?1 AND stream = ?2 AND event_id = ?3 "
                   "ORDER BY position LIMIT 1"),
        ids_from(db,
                 "SELECT event_id, position FROM events WHERE stream = ?1 AND revision >= ?2 "
                 "ORDER BY revision LIMIT ?3"),
        insert(db,
               "INSERT INTO events (position, event_id, id_hash, stream, revision, event_type, is_json, data, "
               "metadata, created_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"),
        head(db, "SELECT coalesce(max(position), 0) FROM events") {}

  static sqlite::Database open_db(const std::string& path, Durability durability) {
    auto db =
        sqlite::Database::open(path, durability == Durability::power_loss ? sqlite::Sync::full : sqlite::Sync::normal);
    sqlite::Statement version(db, "PRAGMA user_version");
    version.step();
    auto found = version.column_int(0);
    sqlite::Statement tables(db, "SELECT count(*) FROM sqlite_master WHERE name = 'events'");
    tables.step();
    bool empty = tables.column_int(0) == 0;
    if (!empty && found != kSchemaVersion) {
      throw sqlite::Error(path + " holds an event log of schema version " + std::to_string(found) +
                          ", this sinkhost reads version " + std::to_string(kSchemaVersion));
    }
    db.exec(kSchema);
    db.exec(("PRAGMA user_version = " + std::to_string(kSchemaVersion)).c_str());
    return db;
  }

  std::optional<std::uint64_t> stream_last_revision(const std::string& stream) {
    return query_last_revision(last_revision, stream);
  }

  // Applies one request inside the group's transaction. `next_position` is the position the
  // next inserted event gets. Nothing is inserted unless every check passed.
  Result<AppendResult> apply(const AppendRequest& request, std::uint64_t& next_position, std::int64_t created) {
    using Status = AppendResult::Status;
    const auto current = stream_last_revision(request.stream);
    const std::int64_t current_version = current ? static_cast<std::int64_t>(*current) : -1;
    const auto& events = request.events;

    // Idempotence: the batch's first event is already in the stream. If the whole batch is
    // there, in order, and the expected version fits where it was written, the append already
    // happened: succeed without writing.
    find_by_id.reset();
    find_by_id.bind(1, hash_id(events.front().event_id)).bind(2, request.stream).bind(3, events.front().event_id);
    if (find_by_id.step()) {
      const auto first_position = static_cast<std::uint64_t>(find_by_id.column_int(0));
      const auto first_revision = static_cast<std::uint64_t>(find_by_id.column_int(1));
      find_by_id.reset();
      ids_from.reset();
      ids_from.bind(1, request.stream).bind(2, as_int(first_revision)).bind(3, as_int(events.size()));
      std::size_t matched = 0;
      std::uint64_t last_position = first_position;
      while (ids_from.step() && matched < events.size() && ids_from.column_text(0) == events[matched].event_id) {
        last_position = static_cast<std::uint64_t>(ids_from.column_int(1));
        ++matched;
      }
      ids_from.reset();
      const auto ev = request.expected_version;
      const bool version_fits = ev == expected_version::any || ev == expected_version::stream_exists ||
                                (ev == expected_version::no_stream && first_revision == 0) ||
                                (ev >= 0 && first_revision == static_cast<std::uint64_t>(ev) + 1);
      if (matched == events.size() && version_fits) {
        AppendResult result;
        result.status = Status::already_appended;
        result.first_position = LogPosition(first_position);
        result.last_position = LogPosition(last_position);
        result.first_revision = first_revision;
        result.current_version = current_version;
        return result;
      }
      if (matched != events.size()) {
        return make_error(ErrorCode::failed_precondition,
                          "event " + events.front().event_id + " is already in stream '" + request.stream +
                              "' but the rest of this batch differs from what was appended with it; send new "
                              "event ids for new events");
      }
    } else {
      find_by_id.reset();
    }

    const auto ev = request.expected_version;
    const bool ok = ev == expected_version::any || (ev == expected_version::no_stream && !current) ||
                    (ev == expected_version::stream_exists && current) || (ev >= 0 && current_version == ev);
    if (!ok) {
      AppendResult result;
      result.status = Status::wrong_expected_version;
      result.current_version = current_version;
      return result;
    }

    AppendResult result;
    result.first_position = LogPosition(next_position);
    result.first_revision = current ? *current + 1 : 0;
    std::uint64_t revision = result.first_revision;
    for (const auto& event : events) {
      insert.reset();
      insert.bind(1, as_int(next_position))
          .bind(2, event.event_id)
          .bind(3, hash_id(event.event_id))
          .bind(4, request.stream)
          .bind(5, as_int(revision))
          .bind(6, event.event_type)
          .bind(7, std::int64_t{event.is_json ? 1 : 0})
          .bind_blob(8, event.data)
          .bind(9, event.metadata.empty() ? std::string_view("{}") : std::string_view(event.metadata))
          .bind(10, created);
      insert.step();
      ++next_position;
      ++revision;
    }
    insert.reset();
    result.last_position = LogPosition(next_position - 1);
    result.current_version = static_cast<std::int64_t>(revision - 1);
    return result;
  }

  sqlite::Database db;
  sqlite::Statement last_revision;
  sqlite::Statement find_by_id;
  sqlite::Statement ids_from;
  sqlite::Statement insert;
  sqlite::Statement head;
};

EventLog::EventLog(std::string path, Durability durability) : path_(std::move(path)), durability_(durability) {}

EventLog::~EventLog() {
  {
    std::lock_guard lock(queue_mutex_);
    stopping_ = true;
  }
  queue_changed_.notify_all();
  if (writer_thread_.joinable()) writer_thread_.join();
}

Result<std::unique_ptr<EventLog>> EventLog::open(const std::string& path, Durability durability) {
  try {
    std::unique_ptr<EventLog> log(new EventLog(path, durability));
    log->writer_ = std::make_unique<Writer>(path, durability);
    log->writer_->head.step();
    log->head_.store(static_cast<std::uint64_t>(log->writer_->head.column_int(0)));
    log->writer_->head.reset();
    log->writer_thread_ = std::thread([raw = log.get()] { raw->write_loop(); });
    return log;
  } catch (const sqlite::Error& e) {
    return make_error(ErrorCode::unavailable, std::string("cannot open the event log: ") + e.what());
  }
}

Result<AppendResult> EventLog::append(AppendRequest request) {
  if (request.events.empty()) {
    return make_error(ErrorCode::invalid_argument, "an append needs at least one event");
  }
  Pending pending{std::move(request), {}};
  auto done = pending.done.get_future();
  {
    std::lock_guard lock(queue_mutex_);
    if (stopping_) return make_error(ErrorCode::unavailable, "the event log is closing");
    queue_.push_back(&pending);
  }
  queue_changed_.notify_one();
  return done.get();
}

void EventLog::write_loop() {
  std::vector<Pending*> group;
  std::vector<Result<AppendResult>> results;
  for (;;) {
    group.clear();
    {
      std::unique_lock lock(queue_mutex_);
      queue_changed_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping, and nothing left to write
      std::size_t events = 0;
      while (!queue_.empty() && (group.empty() || events + queue_.front()->request.events.size() <= kMaxGroupEvents)) {
        events += queue_.front()->request.events.size();
        group.push_back(queue_.front());
        queue_.pop_front();
      }
    }

    auto& w = *writer_;
    const std::uint64_t head_before = head_.load(std::memory_order_relaxed);
    std::uint64_t next_position = head_before + 1;
    results.clear();
    try {
      sqlite::Transaction tx(w.db);
      const auto created = now_ms();
      for (auto* pending : group) results.push_back(w.apply(pending->request, next_position, created));
      tx.commit();
    } catch (const sqlite::Error& e) {
      // The whole group rolled back: every append in it fails, and the head stays where it was.
      const auto reason = e.disk_full()
                              ? std::string("the disk holding the event log is full; free space and send it again")
                              : std::string(e.what());
      results.assign(group.size(), make_error(ErrorCode::unavailable, "the append was not stored: " + reason));
      next_position = head_before + 1;
    }
    if (next_position - 1 != head_before) {
      head_.store(next_position - 1, std::memory_order_release);
      notify_watchers();
    }
    for (std::size_t i = 0; i < group.size(); ++i) group[i]->done.set_value(std::move(results[i]));
  }
}

void EventLog::notify_watchers() {
  std::lock_guard lock(watchers_mutex_);
  for (auto& [id, callback] : watchers_) callback();
}

Result<std::unique_ptr<EventLogReader>> EventLog::open_reader() const {
  try {
    return std::make_unique<EventLogReader>(path_);
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
