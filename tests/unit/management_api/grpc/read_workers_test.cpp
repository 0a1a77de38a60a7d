// The gRPC face's worker pool starts its threads on demand, up to its bound, and runs every task
// posted, each with a reader of its own.
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <set>
#include <thread>

#include <gtest/gtest.h>

#include "grpc/read_workers.hpp"
#include "process.hpp"

namespace sinkhost::management_api::grpc_face {
namespace {

// Tasks that hold their worker until released.
class Gate {
 public:
  void enter() {
    std::unique_lock lock(mutex_);
    ++inside_;
    changed_.notify_all();
    changed_.wait(lock, [this] { return open_; });
  }
  void wait_inside(int n) {
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [&] { return inside_ >= n; });
  }
  void open() {
    std::lock_guard lock(mutex_);
    open_ = true;
    changed_.notify_all();
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  int inside_ = 0;
  bool open_ = false;
};

class WorkerThreadsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto opened = runtime::EventLog::open(dir_.path() + "/events.db");
    ASSERT_TRUE(opened.ok()) << opened.error().message;
    log_ = std::move(opened).value();
  }

  test::TempDir dir_;
  std::unique_ptr<runtime::EventLog> log_;
};

TEST_F(WorkerThreadsTest, AnIdlePoolHasNoThreads) {
  WorkerThreads workers(*log_, 8, /*with_readers=*/true);
  EXPECT_EQ(workers.started(), 0u);
}

TEST_F(WorkerThreadsTest, ThreadsStartForWaitingTasksUpToTheBoundAndEveryTaskRuns) {
  Gate gate;
  std::mutex mutex;
  std::set<runtime::EventLogReader*> readers;
  int ran = 0;
  {
    WorkerThreads workers(*log_, 3, /*with_readers=*/true);
    auto task = [&](runtime::EventLogReader* reader) {
      gate.enter();
      std::lock_guard lock(mutex);
      readers.insert(reader);
      ++ran;
    };
    workers.post(task);
    gate.wait_inside(1);
    EXPECT_EQ(workers.started(), 1u);
    for (int i = 0; i < 5; ++i) workers.post(task);
    gate.wait_inside(3);
    EXPECT_EQ(workers.started(), 3u);  // the bound: three tasks wait in the queue
    gate.open();
  }  // the destructor runs what is queued, then joins
  EXPECT_EQ(ran, 6);
  EXPECT_EQ(readers.size(), 3u);  // one reader per thread
  EXPECT_EQ(readers.count(nullptr), 0u);
}

TEST_F(WorkerThreadsTest, AnIdleThreadTakesTheNextTaskInsteadOfANewOne) {
  WorkerThreads workers(*log_, 64, /*with_readers=*/false);
  for (int i = 0; i < 20; ++i) {
    std::mutex mutex;
    std::condition_variable done_cv;
    bool done = false, without_reader = false;
    workers.post([&](runtime::EventLogReader* reader) {
      std::lock_guard lock(mutex);
      without_reader = reader == nullptr;
      done = true;
      done_cv.notify_all();
    });
    {
      std::unique_lock lock(mutex);
      done_cv.wait(lock, [&] { return done; });
    }
    EXPECT_TRUE(without_reader);  // made without readers
    // Time for the worker to go back to waiting, so the next task finds it idle.
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
  EXPECT_LE(workers.started(), 2u);  // not one thread per task
}

}  // namespace
}  // namespace sinkhost::management_api::grpc_face
