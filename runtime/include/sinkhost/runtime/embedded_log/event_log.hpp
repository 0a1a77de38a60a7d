#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "sinkhost/connector/position.hpp"
#include "sinkhost/connector/result.hpp"

namespace sinkhost::runtime {

using connector::LogPosition;
using connector::Result;

// An event as a client submits it.
struct NewEvent {
  std::string event_id;  // a UUID chosen by the client; re-sending it makes an append idempotent
  std::string event_type;
  bool is_json = true;
  std::string data;      // JSON text or raw bytes
  std::string metadata;  // JSON object text; "{}" when none
};

// An event as the log stores it.
struct StoredEvent {
  LogPosition position;
  std::string event_id;
  std::string stream;
  std::uint64_t revision = 0;
  std::string event_type;
  bool is_json = true;
  std::string data;
  std::string metadata;
  std::int64_t created_ms = 0;
};

// EventStoreDB's expected-version values. N >= 0: the stream's last revision must be N.
namespace expected_version {
inline constexpr std::int64_t any = -2;
inline constexpr std::int64_t no_stream = -1;
inline constexpr std::int64_t stream_exists = -4;
}  // namespace expected_version

struct AppendRequest {
  std::string stream;
  std::vector<NewEvent> events;
  std::int64_t expected_version = expected_version::any;
};

struct AppendResult {
  enum class Status {
    appended,                // the events were written
    already_appended,        // the same events were appended before: nothing written (idempotence)
    wrong_expected_version,  // nothing written; see current_version
  };
  Status status = Status::appended;
  LogPosition first_position;  // appended / already_appended
  LogPosition last_position;
  std::uint64_t first_revision = 0;
  // The stream's last revision (after the append when it succeeded); -1 when the stream has no events.
  std::int64_t current_version = -1;
};

enum class Durability {
  process_crash,  // an acknowledged append survives a crash of sinkhost (WAL, synchronous=NORMAL)
  power_loss,     // ... and a power loss or OS crash (fsync at every commit, synchronous=FULL)
};

class EventLogReader;

// The embedded event log: one SQLite database in WAL mode. Every event gets a global position
// (1, 2, 3, ...: strictly increasing, no gaps) and a per-stream revision (0, 1, 2, ...).
//
// Appends go through one writer thread that commits every append waiting in its queue in one
// transaction (group commit); append() returns only after that transaction committed.
//
// Thread-safety: append() may be called from any thread; head() is lock-free; each reader
// thread opens its own EventLogReader.
class EventLog {
 public:
  static Result<std::unique_ptr<EventLog>> open(const std::string& path,
                                                Durability durability = Durability::process_crash);
  ~EventLog();

  // Appends all events of the request, or none of them. Storage failures are errors; a wrong
  // expected version is a result (with the stream's current version).
  Result<AppendResult> append(AppendRequest request);

  // The position of the newest committed event; 0 when the log is empty.
  LogPosition head() const { return LogPosition(head_.load(std::memory_order_acquire)); }

  // A connection for reading; use it from one thread at a time.
  Result<std::unique_ptr<EventLogReader>> open_reader() const;

  // `on_head_moved` runs on the writer thread after every commit that moved the head. It must
  // be quick and must not call back into the log. After unwatch() returns it is never called
  // again.
  using WatchId = std::uint64_t;
  WatchId watch(std::function<void()> on_head_moved);
  void unwatch(WatchId id);

 private:
  struct Pending;
  struct Writer;
  EventLog(std::string path, Durability durability);
  void write_loop();
  void notify_watchers();

  std::string path_;
  Durability durability_;
  std::unique_ptr<Writer> writer_;  // used by the writer thread only
  std::atomic<std::uint64_t> head_{0};

  std::mutex queue_mutex_;
  std::condition_variable queue_changed_;
  std::deque<Pending*> queue_;
  bool stopping_ = false;
  std::thread writer_thread_;

  std::mutex watchers_mutex_;
  std::map<WatchId, std::function<void()>> watchers_;
  WatchId next_watch_id_ = 1;
};

enum class Direction { forward, backward };

// One event of EventLogReader::scan, read column by column on demand, so that a reader can look
// at the stream and type and skip the event without copying its data. Valid during the visit only.
class EventRow {
 public:
  LogPosition position() const;
  std::string_view event_id() const;
  std::string_view stream() const;
  std::uint64_t revision() const;
  std::string_view event_type() const;
  bool is_json() const;
  std::string_view data() const;
  std::string_view metadata() const;
  std::int64_t created_ms() const;

 private:
  friend class EventLogReader;
  explicit EventRow(const void* statement) : statement_(statement) {}
  const void* statement_;  // the reader's statement, positioned on the row
};

class EventLogReader {
 public:
  explicit EventLogReader(const std::string& path);
  ~EventLogReader();

  // Events of the whole log from position `from` (inclusive), at most `max_count`; forward:
  // positions >= from ascending; backward: positions <= from descending.
  Result<std::vector<StoredEvent>> read_all(LogPosition from, std::size_t max_count,
                                            Direction direction = Direction::forward);

  // Events of one stream from revision `from` (inclusive), in the same way.
  Result<std::vector<StoredEvent>> read_stream(const std::string& stream, std::uint64_t from, std::size_t max_count,
                                               Direction direction);

  // Visits the events from position `from` (inclusive) in ascending order, at most `max_count`,
  // until `visit` returns false; returns the position of the last one visited (0: none).
  Result<LogPosition> scan(LogPosition from, std::size_t max_count, const std::function<bool(const EventRow&)>& visit);

  // The stream's last revision; nullopt when the stream has no events.
  Result<std::optional<std::uint64_t>> last_revision(const std::string& stream);

 private:
  struct Statements;  // the connection and its prepared statements (SQLite stays private)
  std::unique_ptr<Statements> s_;
};

}  // namespace sinkhost::runtime
