#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>

#include "sinkhost/runtime/source.hpp"

namespace sinkhost::runtime {

// Counters of one connector since the host started, written by its worker thread and read by
// GET /metrics. Relaxed atomics: each value is exact, a scrape is not a consistent snapshot.
struct ConnectorMetrics {
  // Upper bounds (seconds) of the delivery latency histogram's buckets: from handing a record
  // to the sink until its acknowledgement.
  static constexpr std::array<double, 12> kLatencyBuckets = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                             0.1,   0.25,   0.5,   1.0,  2.5,   10.0};

  std::atomic<std::uint64_t> records_delivered{0};      // acknowledged by the sink
  std::atomic<std::uint64_t> records_filtered{0};       // read but not matching the filter
  std::atomic<std::uint64_t> errors{0};                 // records whose delivery failed
  std::atomic<std::uint64_t> runs_failed{0};            // runs that ended in a failure
  std::atomic<std::uint64_t> records_dropped{0};        // dropped by the transform (it returned false)
  std::atomic<std::uint64_t> transform_errors{0};       // records the transform threw on or ran too long on
  std::atomic<std::uint64_t> records_dead_lettered{0};  // went to the sink's dead-letter destination
  std::atomic<std::uint64_t> records_retried{0};        // sent again by the sink after a transient failure
  std::array<std::atomic<std::uint64_t>, kLatencyBuckets.size() + 1> latency_buckets{};  // last: +Inf
  std::atomic<std::uint64_t> latency_count{0};
  std::atomic<std::uint64_t> latency_sum_us{0};

  std::atomic<std::uint64_t> restarts{0};  // sink rebuilt after a fatal error, resent from the checkpoint

  // The checkpoint the connector's delivery thread last saved in this run, so that views show it
  // without the control plane being involved in every save.
  void publish_checkpoint(SourcePosition position) {
    std::lock_guard lock(condition_mutex_);
    saved_checkpoint_ = position;
  }
  void forget_checkpoint() {
    std::lock_guard lock(condition_mutex_);
    saved_checkpoint_.reset();
  }
  std::optional<SourcePosition> saved_checkpoint() const {
    std::lock_guard lock(condition_mutex_);
    return saved_checkpoint_;
  }

  // How the connector's source connection is doing (an external store's), as last reported.
  void set_source_health(const SourceHealth& health) {
    std::lock_guard lock(condition_mutex_);
    source_health_ = health;
  }
  SourceHealth source_health() const {
    std::lock_guard lock(condition_mutex_);
    return source_health_;
  }

  // A transient condition the sink reported (a broker down), while it lasts.
  struct Condition {
    std::string code;
    std::string message;
  };
  void set_degraded(std::optional<Condition> condition) {
    std::lock_guard lock(condition_mutex_);
    degraded_ = std::move(condition);
  }
  std::optional<Condition> degraded() const {
    std::lock_guard lock(condition_mutex_);
    return degraded_;
  }

  void observe_latency(std::chrono::steady_clock::duration latency) {
    const double seconds = std::chrono::duration<double>(latency).count();
    std::size_t bucket = 0;
    while (bucket < kLatencyBuckets.size() && seconds > kLatencyBuckets[bucket]) ++bucket;
    latency_buckets[bucket].fetch_add(1, std::memory_order_relaxed);
    latency_count.fetch_add(1, std::memory_order_relaxed);
    latency_sum_us.fetch_add(
        static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(latency).count()),
        std::memory_order_relaxed);
  }

 private:
  mutable std::mutex condition_mutex_;              // guards the members below
  std::optional<SourcePosition> saved_checkpoint_;  // none this run
  std::optional<Condition> degraded_;
  SourceHealth source_health_;
};

}  // namespace sinkhost::runtime
