#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>

namespace sinkhost::runtime {

// Counters of one connector since the host started, written by its worker thread and read by
// GET /metrics. Relaxed atomics: each value is exact, a scrape is not a consistent snapshot.
struct ConnectorMetrics {
  // Upper bounds (seconds) of the delivery latency histogram's buckets: from handing a record
  // to the sink until its acknowledgement.
  static constexpr std::array<double, 12> kLatencyBuckets = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                             0.1,   0.25,   0.5,   1.0,  2.5,   10.0};

  std::atomic<std::uint64_t> records_delivered{0};  // acknowledged by the sink
  std::atomic<std::uint64_t> records_filtered{0};   // read but not matching the filter
  std::atomic<std::uint64_t> errors{0};             // records whose delivery failed
  std::atomic<std::uint64_t> runs_failed{0};        // runs that ended in a failure
  std::atomic<std::uint64_t> records_dropped{0};    // dropped by the transform (it returned false)
  std::atomic<std::uint64_t> transform_errors{0};   // records the transform threw on or ran too long on
  std::array<std::atomic<std::uint64_t>, kLatencyBuckets.size() + 1> latency_buckets{};  // last: +Inf
  std::atomic<std::uint64_t> latency_count{0};
  std::atomic<std::uint64_t> latency_sum_us{0};

  std::atomic<std::uint64_t> restarts{0};  // sink rebuilt after a fatal error, resent from the checkpoint

  // The checkpoint the connector's delivery thread last saved in this run (its commit position),
  // so that views show it without the control plane being involved in every save.
  void publish_checkpoint(std::uint64_t commit_position) {
    saved_checkpoint_.store(commit_position + 1, std::memory_order_release);
  }
  void forget_checkpoint() { saved_checkpoint_.store(0, std::memory_order_release); }
  std::optional<std::uint64_t> saved_checkpoint() const {
    auto v = saved_checkpoint_.load(std::memory_order_acquire);
    return v == 0 ? std::nullopt : std::optional<std::uint64_t>(v - 1);
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
  std::atomic<std::uint64_t> saved_checkpoint_{0};  // commit position + 1; 0: none this run
  mutable std::mutex condition_mutex_;
  std::optional<Condition> degraded_;
};

}  // namespace sinkhost::runtime
