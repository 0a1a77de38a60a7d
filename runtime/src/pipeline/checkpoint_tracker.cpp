#include "pipeline/checkpoint_tracker.hpp"

#include <algorithm>
#include <string>

namespace sinkhost::runtime {

using connector::ErrorCode;
using connector::make_error;

namespace {
std::string describe(SourcePosition p) {
  return p.commit == p.prepare ? std::to_string(p.commit) : std::to_string(p.commit) + "/" + std::to_string(p.prepare);
}
}  // namespace

CheckpointTracker::CheckpointTracker(SourcePosition committed) : committable_(committed), last_position_(committed) {}

Result<void> CheckpointTracker::dispatched(LogPosition ordinal, SourcePosition position) {
  if (position <= last_position_ || (!outstanding_.empty() && ordinal <= last_ordinal_)) {
    return make_error(ErrorCode::internal, "record at position " + describe(position) +
                                               " dispatched out of order (last was " + describe(last_position_) + ")");
  }
  last_position_ = position;
  last_ordinal_ = ordinal;
  outstanding_.push_back({ordinal, position, false, Clock::now()});
  ++in_flight_;
  return {};
}

Result<void> CheckpointTracker::skipped(SourcePosition position) {
  if (position < last_position_) {
    return make_error(ErrorCode::internal, "skip to position " + describe(position) + " goes back (last was " +
                                               describe(last_position_) + ")");
  }
  last_position_ = position;
  if (outstanding_.empty()) {
    committable_ = position;
  } else {
    outstanding_.back().covers = position;
  }
  return {};
}

Result<CheckpointTracker::Clock::time_point> CheckpointTracker::acknowledged(LogPosition ordinal) {
  auto it = std::lower_bound(outstanding_.begin(), outstanding_.end(), ordinal,
                             [](const Entry& e, LogPosition o) { return e.ordinal < o; });
  if (it == outstanding_.end() || it->ordinal != ordinal || it->acknowledged) {
    return make_error(ErrorCode::internal,
                      "acknowledgement for the record " + std::to_string(ordinal.value()) + " that is not in flight");
  }
  it->acknowledged = true;
  const auto dispatched_at = it->dispatched_at;
  --in_flight_;
  advance();
  return dispatched_at;
}

void CheckpointTracker::advance() {
  while (!outstanding_.empty() && outstanding_.front().acknowledged) {
    committable_ = outstanding_.front().covers;
    outstanding_.pop_front();
  }
}

}  // namespace sinkhost::runtime
