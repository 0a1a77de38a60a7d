#pragma once

#include <chrono>
#include <cstddef>
#include <deque>

#include "sinkhost/connector/position.hpp"
#include "sinkhost/connector/result.hpp"

namespace sinkhost::runtime {

using connector::LogPosition;
using connector::Result;

// Decides how far a connector's checkpoint may move. Records are dispatched to the sink in
// log order and acknowledged in any order; the committable position is the end of the
// contiguous prefix of acknowledged records, so a checkpoint never covers a record whose
// delivery was not confirmed.
//
// Not thread-safe: owned by one connector's worker thread.
class CheckpointTracker {
 public:
  // `committed`: the position already checkpointed (0 when none).
  explicit CheckpointTracker(LogPosition committed = LogPosition());

  // A record was handed to the sink. Positions must strictly increase.
  Result<void> dispatched(LogPosition position);

  // A record needs no delivery (filtered out): it counts as acknowledged at once.
  Result<void> skipped(LogPosition position);

  using Clock = std::chrono::steady_clock;

  // The sink confirmed delivery; returns when the record was dispatched. An unknown or
  // repeated acknowledgement is an error: it means a sink reported an outcome twice, or for a
  // record it never received.
  Result<Clock::time_point> acknowledged(LogPosition position);

  // The highest position p such that every record dispatched at or before p was acknowledged.
  LogPosition committable() const { return committable_; }

  // Records dispatched and not yet acknowledged.
  std::size_t in_flight() const { return in_flight_; }

 private:
  struct Entry {
    LogPosition position;
    bool acknowledged;
    Clock::time_point dispatched_at;
  };
  Result<void> track(LogPosition position, bool acknowledged);
  void advance();

  std::deque<Entry> outstanding_;  // in dispatch order; the front is never acknowledged
  LogPosition committable_;
  LogPosition last_seen_;
  std::size_t in_flight_ = 0;
};

}  // namespace sinkhost::runtime
