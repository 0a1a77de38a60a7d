#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "sinkhost/connector/position.hpp"
#include "sinkhost/connector/result.hpp"

namespace sinkhost::runtime {

using connector::LogPosition;
using connector::Result;

// An event as a client submits it.
struct NewEvent {
  std::string event_id;    // a UUID chosen by the client
  std::string event_type;
  bool is_json = true;
  std::string data;        // JSON text or raw bytes
  std::string metadata;    // JSON object text; "{}" when none
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

struct AppendResult {
  LogPosition first_position;
  LogPosition last_position;
  std::uint64_t first_revision = 0;
};

class EventLogReader;

// The embedded event log: one SQLite database in WAL mode. Every event gets a global position
// (1, 2, 3, ...: strictly increasing, no gaps) and a per-stream revision (0, 1, 2, ...).
//
// Thread-safety: append() may be called from any thread (appends are serialized); head() is
// lock-free; each reader thread opens its own EventLogReader.
class EventLog {
 public:
  static Result<std::unique_ptr<EventLog>> open(const std::string& path);
  ~EventLog();

  // Appends all events to `stream` in one transaction, or none of them.
  Result<AppendResult> append(const std::string& stream, const std::vector<NewEvent>& events);

  // The position of the newest event; 0 when the log is empty.
  LogPosition head() const { return LogPosition(head_.load(std::memory_order_acquire)); }

  // A connection for reading; use it from one thread at a time.
  Result<std::unique_ptr<EventLogReader>> open_reader() const;

  // `on_head_moved` runs (on the appending thread) after every commit that moved the head.
  // It must be quick and must not call back into the log. After unwatch() returns it is never
  // called again.
  using WatchId = std::uint64_t;
  WatchId watch(std::function<void()> on_head_moved);
  void unwatch(WatchId id);

 private:
  struct Writer;
  explicit EventLog(std::string path);

  std::string path_;
  std::mutex write_mutex_;
  std::unique_ptr<Writer> writer_;
  std::atomic<std::uint64_t> head_{0};

  std::mutex watchers_mutex_;
  std::map<WatchId, std::function<void()>> watchers_;
  WatchId next_watch_id_ = 1;
};

class EventLogReader {
 public:
  virtual ~EventLogReader() = default;
  // Events whose position is >= `from` (inclusive), in log order, at most `max_count`.
  virtual Result<std::vector<StoredEvent>> read_all(LogPosition from, std::size_t max_count) = 0;
};

}  // namespace sinkhost::runtime
