#include "grpc/read_workers.hpp"

#include <spdlog/spdlog.h>

namespace sinkhost::management_api::grpc_face {

WorkerThreads::WorkerThreads(const runtime::EventLog& log, std::size_t threads, bool with_readers) {
  const runtime::EventLog* reads = with_readers ? &log : nullptr;
  for (std::size_t i = 0; i < threads; ++i) {
    threads_.emplace_back([this, reads] { run(reads); });
  }
}

WorkerThreads::~WorkerThreads() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  for (auto& thread : threads_) thread.join();
}

void WorkerThreads::post(Task task) {
  {
    std::lock_guard lock(mutex_);
    tasks_.push_back(std::move(task));
  }
  wake_.notify_one();
}

void WorkerThreads::run(const runtime::EventLog* log) {
  std::unique_ptr<runtime::EventLogReader> reader;
  if (log) {
    auto opened = log->open_reader();
    if (opened.ok()) {
      reader = std::move(opened).value();
    } else {
      spdlog::error("gRPC reads: {}", opened.error().message);
    }
  }
  for (;;) {
    Task task;
    {
      std::unique_lock lock(mutex_);
      wake_.wait(lock, [this] { return stopping_ || !tasks_.empty(); });
      if (tasks_.empty()) return;
      task = std::move(tasks_.front());
      tasks_.pop_front();
    }
    task(reader.get());
  }
}

LiveWaiters::LiveWaiters(runtime::EventLog& log) : log_(log) {
  watch_ = log_.watch([this] { head_moved(); });
}

LiveWaiters::~LiveWaiters() { log_.unwatch(watch_); }

LiveWaiters::Id LiveWaiters::wait(std::uint64_t seen_head, std::function<void()> wake) {
  {
    // The head is read under the lock that head_moved() takes after the head moved: either this
    // sees the new head, or head_moved() sees this waiter.
    std::lock_guard lock(mutex_);
    if (log_.head().value() == seen_head) {
      Id id = next_id_++;
      waiting_.emplace(id, std::move(wake));
      return id;
    }
  }
  wake();
  return 0;
}

void LiveWaiters::forget(Id id) {
  std::lock_guard lock(mutex_);
  waiting_.erase(id);
}

void LiveWaiters::head_moved() {
  std::map<Id, std::function<void()>> woken;
  {
    std::lock_guard lock(mutex_);
    woken.swap(waiting_);
  }
  for (auto& [id, wake] : woken) wake();
}

}  // namespace sinkhost::management_api::grpc_face
