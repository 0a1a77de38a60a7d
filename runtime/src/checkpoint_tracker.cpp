#include "sinkhost/runtime/checkpoint_tracker.hpp"

#include <algorithm>
#include <string>

namespace sinkhost::runtime {

using connector::ErrorCode;
using connector::make_error;

CheckpointTracker::CheckpointTracker(LogPosition committed)
    : committable_(committed), last_seen_(committed) {}

Result<void> CheckpointTracker::track(LogPosition position, bool acknowledged) {
  if (position <= last_seen_) {
    return make_error(ErrorCode::internal,
                      "record at position " + std::to_string(position.value()) +
                          " dispatched out of order (last was " + std::to_string(last_seen_.value()) + ")");
  }
  last_seen_ = position;
  if (acknowledged && outstanding_.empty()) {
    committable_ = position;
    return {};
  }
  outstanding_.push_back({position, acknowledged, acknowledged ? Clock::time_point() : Clock::now()});
  if (!acknowledged) ++in_flight_;
  return {};
}

Result<void> CheckpointTracker::dispatched(LogPosition position) { return track(position, false); }

Result<void> CheckpointTracker::skipped(LogPosition position) { return track(position, true); }

Result<CheckpointTracker::Clock::time_point> CheckpointTracker::acknowledged(LogPosition position) {
  auto it = std::lower_bound(outstanding_.begin(), outstanding_.end(), position,
                             [](const Entry& e, LogPosition p) { return e.position < p; });
  if (it == outstanding_.end() || it->position != position || it->acknowledged) {
    return make_error(ErrorCode::internal, "acknowledgement for position " + std::to_string(position.value()) +
                                               " that is not in flight");
  }
  it->acknowledged = true;
  const auto dispatched_at = it->dispatched_at;
  --in_flight_;
  advance();
  return dispatched_at;
}

void CheckpointTracker::advance() {
  while (!outstanding_.empty() && outstanding_.front().acknowledged) {
    committable_ = outstanding_.front().position;
    outstanding_.pop_front();
  }
}

}  // namespace sinkhost::runtime
