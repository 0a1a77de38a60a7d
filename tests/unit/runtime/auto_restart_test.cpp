// Which errors restart a connector, the backoff, and the scheduler's thread.
#include "auto_restart.hpp"

#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

namespace sinkhost::runtime {
namespace {

using namespace std::chrono_literals;
using connector::ErrorCode;

TEST(AutoRestart, OnlyErrorsThatMayClearRestart) {
  for (auto code :
       {ErrorCode::permission_denied, ErrorCode::not_found, ErrorCode::unavailable, ErrorCode::resource_exhausted}) {
    EXPECT_TRUE(may_clear({code, "x"})) << connector::code_name(code);
  }
  for (auto code :
       {ErrorCode::invalid_argument, ErrorCode::internal, ErrorCode::failed_precondition, ErrorCode::already_exists}) {
    EXPECT_FALSE(may_clear({code, "x"})) << connector::code_name(code) << ": a wrong record or a bug stays stopped";
  }
}

TEST(AutoRestart, TheDelayDoublesUpToTheCap) {
  AutoRestartSettings s{.max_attempts = 10, .first_delay = 1000ms, .max_delay = 5000ms};
  EXPECT_EQ(restart_delay(s, 1), 1000ms);
  EXPECT_EQ(restart_delay(s, 2), 2000ms);
  EXPECT_EQ(restart_delay(s, 3), 4000ms);
  EXPECT_EQ(restart_delay(s, 4), 5000ms);
  EXPECT_EQ(restart_delay(s, 1000000), 5000ms) << "no overflow after many attempts";
  s.max_delay = 10ms;
  EXPECT_EQ(restart_delay(s, 3), 1000ms) << "a cap below the first delay counts as the first delay";
}

TEST(RestartScheduler, CallsEachDueRestartInTimeOrderOnce) {
  std::mutex mutex;
  std::vector<std::pair<std::string, std::uint64_t>> calls;
  RestartScheduler scheduler([&](const std::string& id, std::uint64_t ticket) {
    std::lock_guard lock(mutex);
    calls.emplace_back(id, ticket);
  });
  const auto now = RestartScheduler::Clock::now();
  scheduler.schedule("late", 2, now + 150ms);
  scheduler.schedule("early", 1, now + 20ms);
  for (int i = 0; i < 200; ++i) {
    {
      std::lock_guard lock(mutex);
      if (calls.size() == 2) break;
    }
    std::this_thread::sleep_for(10ms);
  }
  std::lock_guard lock(mutex);
  ASSERT_EQ(calls.size(), 2u);
  EXPECT_EQ(calls[0], (std::pair<std::string, std::uint64_t>{"early", 1}));
  EXPECT_EQ(calls[1], (std::pair<std::string, std::uint64_t>{"late", 2}));
}

TEST(RestartScheduler, NothingIsCalledAfterStop) {
  std::atomic<int> calls{0};
  RestartScheduler scheduler([&](const std::string&, std::uint64_t) { ++calls; });
  scheduler.schedule("c", 1, RestartScheduler::Clock::now() + 100ms);
  scheduler.stop();
  scheduler.schedule("d", 2, RestartScheduler::Clock::now());
  std::this_thread::sleep_for(200ms);
  EXPECT_EQ(calls.load(), 0);
}

}  // namespace
}  // namespace sinkhost::runtime
