#pragma once
// The threads that read the log for gRPC reads and subscriptions, and the wake-ups of
// subscriptions that wait for new events. Internal to management_api.
//
// A read never holds a thread while it waits: it asks the workers for one chunk of events at a
// time, and only when the client took the previous chunk (gRPC flow control), so a slow client
// costs one chunk of memory, not a thread or an unbounded queue. A caught-up subscription waits
// in LiveWaiters until the log's head moves.

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

#include "sinkhost/runtime/embedded_log/event_log.hpp"

namespace sinkhost::management_api::grpc_face {

// A bounded pool that starts its threads on demand: a face nobody reads from keeps none, and a
// thread, once started, stays until the pool is destroyed.
class WorkerThreads {
 public:
  // Each task gets the worker's own reader; null when the workers were made without readers or
  // the log cannot be opened for reading.
  using Task = std::function<void(runtime::EventLogReader* reader)>;

  WorkerThreads(const runtime::EventLog& log, std::size_t max_threads, bool with_readers);
  ~WorkerThreads();  // runs the tasks already posted, then joins
  WorkerThreads(const WorkerThreads&) = delete;
  WorkerThreads& operator=(const WorkerThreads&) = delete;

  // Queues the task, and starts a thread for it when none is idle and fewer than max_threads run.
  void post(Task task);
  std::size_t started() const;  // threads started so far

 private:
  void run();

  const runtime::EventLog* reads_;  // null: tasks get no reader
  const std::size_t max_threads_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Task> tasks_;
  std::size_t idle_ = 0;  // threads waiting for a task
  bool stopping_ = false;
  std::vector<std::thread> threads_;
};

class LiveWaiters {
 public:
  explicit LiveWaiters(runtime::EventLog& log);
  ~LiveWaiters();
  LiveWaiters(const LiveWaiters&) = delete;
  LiveWaiters& operator=(const LiveWaiters&) = delete;

  using Id = std::uint64_t;
  // Calls `wake` once, on the log's writer thread, when the head moves past `seen_head`; when it
  // already has, calls it now on this thread and returns 0. `wake` must be quick.
  Id wait(std::uint64_t seen_head, std::function<void()> wake);
  // The wake-up of `id` will not come (it may be running now or have run already).
  void forget(Id id);

 private:
  void head_moved();

  runtime::EventLog& log_;
  runtime::EventLog::WatchId watch_ = 0;
  std::mutex mutex_;
  std::map<Id, std::function<void()>> waiting_;
  Id next_id_ = 1;
};

}  // namespace sinkhost::management_api::grpc_face
