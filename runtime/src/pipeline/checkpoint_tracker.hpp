#pragma once

#include <chrono>
#include <cstddef>
#include <deque>

#include "sinkhost/connector/position.hpp"
#include "sinkhost/connector/result.hpp"
#include "sinkhost/runtime/source.hpp"

namespace sinkhost::runtime {

using connector::LogPosition;
using connector::Result;

// Decides how far a connector's checkpoint may move. Records are dispatched to the sink in
// source order and acknowledged in any order; the committable position is the end of the
// contiguous prefix of acknowledged records (and of the events skipped after them), so a
// checkpoint never covers a record whose delivery was not confirmed.
//
// A record is known to the sink by its ordinal (connector::Record::position); the tracker maps
// it back to its source position.
//
// Not thread-safe: owned by one connector's delivery thread.
class CheckpointTracker {
 public:
  // `committed`: the position already checkpointed (all zero when none).
  explicit CheckpointTracker(SourcePosition committed = {});

  // A record was handed to the sink. Ordinals and positions must strictly increase.
  Result<void> dispatched(LogPosition ordinal, SourcePosition position);

  // Every event up to `position` that was not dispatched needs no delivery (filtered out,
  // dropped by a transform): once the records before it are acknowledged, the checkpoint may
  // move here. Must not go backwards.
  Result<void> skipped(SourcePosition position);

  using Clock = std::chrono::steady_clock;

  // The sink confirmed delivery; returns when the record was dispatched. An unknown or
  // repeated acknowledgement is an error: it means a sink reported an outcome twice, or for a
  // record it never received.
  Result<Clock::time_point> acknowledged(LogPosition ordinal);

  // The highest position p such that every record dispatched at or before p was acknowledged.
  SourcePosition committable() const { return committable_; }

  // Records dispatched and not yet acknowledged.
  std::size_t in_flight() const { return in_flight_; }

 private:
  struct Entry {
    LogPosition ordinal;
    SourcePosition covers;  // its own position, or the last skipped position after it
    bool acknowledged;
    Clock::time_point dispatched_at;
  };
  void advance();

  std::deque<Entry> outstanding_;  // in dispatch order; the front is never acknowledged
  SourcePosition committable_;
  SourcePosition last_position_;
  LogPosition last_ordinal_;
  std::size_t in_flight_ = 0;
};

}  // namespace sinkhost::runtime
