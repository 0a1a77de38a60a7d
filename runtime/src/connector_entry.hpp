#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>

#include "sinkhost/runtime/connector_service.hpp"

// One connector of the service (private to connector_service.cpp and connector_runs.cpp): its
// view, its metrics and, while it runs, its worker.
namespace sinkhost::runtime {

inline std::int64_t now_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}
// The checkpoint that makes the next run deliver the event at `from` first: a subscription
// delivers events after its start, and positions (the log's and KurrentDB's alike) start at 0
// or 1, so one before `from` is before it and after anything earlier.
inline SourcePosition checkpoint_before(LogPosition from) {
  const std::uint64_t before = from.value() <= 1 ? 0 : from.value() - 1;
  return {before, before};
}

struct ConnectorService::Entry {
  mutable std::mutex mutex;  // guards `view`; taken by the worker's hooks
  std::condition_variable state_changed;
  ConnectorView view;
  std::shared_ptr<ConnectorMetrics> metrics = std::make_shared<ConnectorMetrics>();
  std::unique_ptr<ConnectorWorker> worker;  // guarded by the service's commands mutex
  // Guarded by `mutex`: the current run's autoRestart settings, the failures since the last run
  // that committed a checkpoint (or the user's last command), the ticket of the pending restart.
  AutoRestartSettings auto_restart;
  std::int64_t failures_in_a_row = 0;
  std::uint64_t restart_ticket = 0;
  // Guarded by `mutex`: whether the connector runs on this host (always on a single host; in a
  // cluster, from adopt to release).
  bool placed_here = true;

  ConnectorView snapshot() const {
    std::lock_guard lock(mutex);
    auto copy = view;
    copy.metrics = metrics;
    overlay_checkpoint(copy.definition);
    return copy;
  }
  ConnectorDefinition definition() const {
    std::lock_guard lock(mutex);
    auto copy = view.definition;
    overlay_checkpoint(copy);
    return copy;
  }
  // The delivery thread saves checkpoints straight to the store and publishes them in the
  // metrics; what it saved in its current run is newer than the definition's.
  void overlay_checkpoint(ConnectorDefinition& d) const {
    if (auto saved = metrics->saved_checkpoint()) d.checkpoint = *saved;
  }
  // A user's command (start, stop, reset, delete) cancels a pending restart and the count.
  void forget_restarts() {
    std::lock_guard lock(mutex);
    view.restart.reset();
    failures_in_a_row = 0;
    ++restart_ticket;
  }
  bool deleted() const {
    std::lock_guard lock(mutex);
    return view.definition.delete_time_ms.has_value();
  }
};

}  // namespace sinkhost::runtime
