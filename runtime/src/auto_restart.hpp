#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <utility>

#include "sinkhost/connector/result.hpp"
#include "sinkhost/runtime/common_settings.hpp"

// Automatic restarts of connectors that an error which may clear has stopped (autoRestart:*):
// which errors qualify, how long to wait, and the one thread that wakes the service when a
// restart is due. The service (connector_runs.cpp) decides and checks; this file only counts time.
namespace sinkhost::runtime {

// Errors a restart may get past: the destination refused who we are or what we may do (a
// password being rotated, an ACL being granted), a topic or broker not there (yet), a limit hit.
// Not: a record or a setting that is wrong, a bug.
bool may_clear(const connector::Error& error);

// The wait before restart number `attempt` (1-based): firstDelay, doubling, capped at maxDelay
// (a maxDelay below firstDelay counts as firstDelay).
std::chrono::milliseconds restart_delay(const AutoRestartSettings& settings, std::int64_t attempt);

// Calls `due(id, ticket)` on its own thread once the time given to schedule() has come. The
// thread starts at the first schedule(), so a host whose connectors never restart has none.
// The callee checks that the ticket is still the one it wants: a schedule is never cancelled
// here, a newer ticket or none makes it stale.
class RestartScheduler {
 public:
  using Clock = std::chrono::steady_clock;
  using Due = std::function<void(const std::string& id, std::uint64_t ticket)>;

  explicit RestartScheduler(Due due) : due_(std::move(due)) {}
  ~RestartScheduler() { stop(); }
  RestartScheduler(const RestartScheduler&) = delete;
  RestartScheduler& operator=(const RestartScheduler&) = delete;

  void schedule(const std::string& id, std::uint64_t ticket, Clock::time_point at);
  // Joins the thread; due() is not called after it returns. Call it before taking a lock that
  // due() takes.
  void stop();

 private:
  void run();

  Due due_;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::multimap<Clock::time_point, std::pair<std::string, std::uint64_t>> queue_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace sinkhost::runtime
