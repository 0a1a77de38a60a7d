#include "grpc/read_call.hpp"

#include <cstdio>

#include <algorithm>
#include <chrono>
#include <deque>

#include <utility>
#include <vector>

namespace sinkhost::management_api::grpc_face {
// The state of one Read call. The reactor forwards gRPC's reactions here; chunks of events are
// read on the worker threads, one chunk at a time, and only when the previous one has been
// written. Whoever sets writing_ (or finished_) under the mutex is the only one to call
// StartWrite (or Finish) on the reactor, so the reactor is never used after it is done.
class ReadState : public std::enable_shared_from_this<ReadState> {
 public:
  ReadState(ReadContext& context, ReadPlan plan)
      : context_(context), subscription_(plan.subscription), cursor_(std::move(plan)) {}

  void attach(grpc::ServerWriteReactor<streams::ReadResp>* reactor) {
    std::unique_lock lock(mutex_);
    reactor_ = reactor;
    if (subscription_) {
      streams::ReadResp confirmation;
      confirmation.mutable_confirmation()->set_subscription_id(subscription_id());
      queue_.push_back(std::move(confirmation));
    }
    pump(lock);
  }

  void on_write_done(bool ok) {
    std::unique_lock lock(mutex_);
    writing_ = false;
    if (!ok) cancelled_ = true;
    pump(lock);
  }

  void on_cancel() {
    std::unique_lock lock(mutex_);
    cancelled_ = true;
    stop_waiting(lock);
    pump(lock);
  }

  void on_done() {
    {
      std::unique_lock lock(mutex_);
      reactor_ = nullptr;
      stop_waiting(lock);
    }
    context_.remove(this);
  }

  // The server is going away: a subscription ends with UNAVAILABLE, a bounded read goes on.
  void shut_down() {
    std::unique_lock lock(mutex_);
    if (!subscription_ || ended_) return;
    ended_ = true;
    queue_.clear();
    final_status_ = grpc::Status(grpc::StatusCode::UNAVAILABLE, "the server is shutting down");
    stop_waiting(lock);
    pump(lock);
  }

 private:
  // Starts the next step: a write, the finish, or a read of the next chunk. Releases the lock.
  void pump(std::unique_lock<std::mutex>& lock) {
    if (writing_ || finished_ || reactor_ == nullptr) return;
    auto* reactor = reactor_;
    if (cancelled_) {
      finished_ = true;
      lock.unlock();
      reactor->Finish(grpc::Status::CANCELLED);
      return;
    }
    if (!queue_.empty()) {
      in_flight_ = std::move(queue_.front());
      queue_.pop_front();
      writing_ = true;
      // More of the chunk follows: gRPC may coalesce it with the next write; the chunk's last
      // message goes out without the hint, which flushes.
      grpc::WriteOptions options;
      if (!queue_.empty()) options.set_buffer_hint();
      lock.unlock();
      reactor->StartWrite(&in_flight_, options);
      return;
    }
    if (ended_) {
      finished_ = true;
      auto status = final_status_;
      lock.unlock();
      reactor->Finish(status);
      return;
    }
    if (fill_scheduled_ || waiting_live_) return;
    fill_scheduled_ = true;
    lock.unlock();
    context_.workers.post([self = shared_from_this()](runtime::EventLogReader* reader) { self->fill(reader); });
  }

  void fill(runtime::EventLogReader* reader) {
    {
      std::unique_lock lock(mutex_);
      fill_scheduled_ = false;
      if (finished_ || cancelled_ || ended_) return pump(lock);
    }
    const std::uint64_t seen_head = context_.log.head().value();
    ReadChunk chunk =
        reader ? cursor_.next(*reader, seen_head)
               : ReadChunk{.end = true, .status = {grpc::StatusCode::UNAVAILABLE, "the event log cannot be read"}};
    std::unique_lock lock(mutex_);
    if (ended_) return pump(lock);  // shut down meanwhile
    for (auto& message : chunk.messages) queue_.push_back(std::move(message));
    if (chunk.end) {
      ended_ = true;
      final_status_ = chunk.status;
    } else if (chunk.wait && queue_.empty()) {
      waiting_live_ = true;
      lock.unlock();
      std::weak_ptr<ReadState> weak = weak_from_this();
      auto id = context_.waiters.wait(seen_head, [weak] {
        if (auto self = weak.lock()) self->wake();
      });
      lock.lock();
      if (waiting_live_) waiter_ = id;
    }
    pump(lock);
  }

  void wake() {
    std::unique_lock lock(mutex_);
    waiting_live_ = false;
    waiter_ = 0;
    pump(lock);
  }

  void stop_waiting(std::unique_lock<std::mutex>& lock) {
    if (!waiting_live_) return;
    waiting_live_ = false;
    auto id = std::exchange(waiter_, 0);
    lock.unlock();
    if (id != 0) context_.waiters.forget(id);
    lock.lock();
  }

  std::string subscription_id() const {
    char buffer[32];
    std::snprintf(buffer, sizeof buffer, "sub-%p", static_cast<const void*>(this));
    return buffer;
  }

  ReadContext& context_;
  const bool subscription_;
  ReadCursor cursor_;  // used by the one scheduled fill only

  std::mutex mutex_;
  grpc::ServerWriteReactor<streams::ReadResp>* reactor_ = nullptr;
  std::deque<streams::ReadResp> queue_;
  streams::ReadResp in_flight_;
  bool writing_ = false;
  bool finished_ = false;
  bool ended_ = false;
  bool cancelled_ = false;
  bool fill_scheduled_ = false;
  bool waiting_live_ = false;
  LiveWaiters::Id waiter_ = 0;
  grpc::Status final_status_;
};

namespace {

class ReadReactor final : public grpc::ServerWriteReactor<streams::ReadResp> {
 public:
  explicit ReadReactor(std::shared_ptr<ReadState> state) : state_(std::move(state)) {}

  void OnWriteDone(bool ok) override { state_->on_write_done(ok); }
  void OnCancel() override { state_->on_cancel(); }
  void OnDone() override {
    state_->on_done();
    delete this;
  }

 private:
  std::shared_ptr<ReadState> state_;
};

}  // namespace

ReadContext::ReadContext(runtime::EventLog& event_log, std::size_t worker_threads)
    : log(event_log), workers(event_log, worker_threads, /*with_readers=*/true), waiters(event_log) {}

ReadContext::~ReadContext() = default;

void ReadContext::shut_down() {
  std::vector<std::shared_ptr<ReadState>> reads;
  {
    std::lock_guard lock(mutex_);
    shut_down_ = true;
    for (const auto& [key, read] : active_) reads.push_back(read);
  }
  for (const auto& read : reads) read->shut_down();
}

void ReadContext::add(const std::shared_ptr<ReadState>& read) {
  bool down = false;
  {
    std::lock_guard lock(mutex_);
    active_.emplace(read.get(), read);
    down = shut_down_;
  }
  if (down) read->shut_down();
}

void ReadContext::remove(ReadState* read) {
  std::shared_ptr<ReadState> last;  // released outside the lock
  std::lock_guard lock(mutex_);
  auto found = active_.find(read);
  if (found == active_.end()) return;
  last = std::move(found->second);
  active_.erase(found);
}

grpc::ServerWriteReactor<streams::ReadResp>* start_read(ReadContext& context, ReadPlan plan) {
  auto state = std::make_shared<ReadState>(context, std::move(plan));
  auto* reactor = new ReadReactor(state);
  context.add(state);
  state->attach(reactor);
  return reactor;
}

}  // namespace sinkhost::management_api::grpc_face
