#include "auto_restart.hpp"

#include <algorithm>

namespace sinkhost::runtime {

using connector::ErrorCode;

bool may_clear(const connector::Error& error) {
  switch (error.code) {
    case ErrorCode::permission_denied:
    case ErrorCode::not_found:
    case ErrorCode::unavailable:
    case ErrorCode::resource_exhausted: return true;
    default: return false;
  }
}

std::chrono::milliseconds restart_delay(const AutoRestartSettings& settings, std::int64_t attempt) {
  const auto first = std::max<std::int64_t>(settings.first_delay.count(), 1);
  const auto cap = std::max<std::int64_t>(settings.max_delay.count(), first);
  std::int64_t delay = first;
  for (std::int64_t i = 1; i < attempt && delay < cap; ++i) delay = std::min(delay * 2, cap);
  return std::chrono::milliseconds(std::min(delay, cap));
}

void RestartScheduler::schedule(const std::string& id, std::uint64_t ticket, Clock::time_point at) {
  std::lock_guard lock(mutex_);
  if (stopping_) return;
  queue_.emplace(at, std::make_pair(id, ticket));
  if (!thread_.joinable()) thread_ = std::thread([this] { run(); });
  changed_.notify_all();
}

void RestartScheduler::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    changed_.notify_all();
  }
  if (thread_.joinable()) thread_.join();
}

void RestartScheduler::run() {
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    if (queue_.empty()) {
      changed_.wait(lock);
      continue;
    }
    auto next = queue_.begin();
    if (Clock::now() < next->first) {
      changed_.wait_until(lock, next->first);
      continue;
    }
    auto [id, ticket] = next->second;
    queue_.erase(next);
    lock.unlock();
    due_(id, ticket);
    lock.lock();
  }
}

}  // namespace sinkhost::runtime
