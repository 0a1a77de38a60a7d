#include "grpc/read_workers.hpp"

#include <system_error>

#include <spdlog/spdlog.h>

namespace sinkhost::management_api::grpc_face {

WorkerThreads::WorkerThreads(const runtime::EventLog& log, std::size_t max_threads, bool with_readers)
    : reads_(with_readers ? &log : nullptr), max_threads_(max_threads) {}

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
    if (idle_ < tasks_.size() && threads_.size() < max_threads_) {
      try {
        threads_.emplace_back([this] { run(); });
      } catch (const std::system_error& error) {
        // The task waits for a thread that is already running, if there is one.
        spdlog::error("gRPC: cannot start a worker thread ({}); {} running", error.what(), threads_.size());
      }
    }
  }
  wake_.notify_one();
}

std::size_t WorkerThreads::started() const {
  std::lock_guard lock(mutex_);
  return threads_.size();
}

void WorkerThreads::run() {
  std::unique_ptr<runtime::EventLogReader> reader;
  if (reads_) {
    auto opened = reads_->open_reader();
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
      ++idle_;
      wake_.wait(lock, [this] { return stopping_ || !tasks_.empty(); });
      --idle_;
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
