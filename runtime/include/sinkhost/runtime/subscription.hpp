#pragma once

#include <functional>
#include <memory>
#include <vector>

#include "sinkhost/runtime/event_log.hpp"

namespace sinkhost::runtime {

// Reads the log in order from a start position: first the events already there (catch-up),
// then each event as it is appended (live). It never skips or repeats an event.
//
// "From position P" is inclusive: the first event delivered is the one at P (or the first one
// after P, when P lies past the head). A connector with checkpoint C subscribes from C + 1.
//
// Not thread-safe: one thread reads. `on_new_events` runs on the log's writer thread after
// each commit, until the subscription is destroyed; use it to wake the reading thread.
class Subscription {
 public:
  static Result<std::unique_ptr<Subscription>> open(EventLog& log, LogPosition from,
                                                    std::function<void()> on_new_events);
  ~Subscription();
  Subscription(const Subscription&) = delete;
  Subscription& operator=(const Subscription&) = delete;

  // True when events are waiting to be read.
  bool has_new() const { return log_.head() >= next_; }

  // Up to `max_count` of the waiting events (none when there are none); moves past them.
  Result<std::vector<StoredEvent>> read(std::size_t max_count);

  // The position of the next event to read.
  LogPosition next() const { return next_; }

 private:
  Subscription(EventLog& log, LogPosition from, std::unique_ptr<EventLogReader> reader);

  EventLog& log_;
  LogPosition next_;
  std::unique_ptr<EventLogReader> reader_;
  EventLog::WatchId watch_ = 0;
};

}  // namespace sinkhost::runtime
