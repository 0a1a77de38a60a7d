#include "grpc/read_call.hpp"

#include <algorithm>
#include <chrono>
#include <deque>

#include <google/protobuf/util/time_util.h>

namespace sinkhost::management_api::grpc_face {
namespace {

constexpr std::size_t kChunkEvents = 128;         // events of one read of the log
constexpr std::size_t kChunkBytes = 1024 * 1024;  // ... or this much data, whichever comes first
constexpr std::size_t kScanBudget = 4096;         // events a filtered read looks at per chunk

void set_now(google::protobuf::Timestamp* out) {
  *out = google::protobuf::util::TimeUtil::GetCurrentTime();
}

}  // namespace

// The state of one Read call. The reactor forwards gRPC's reactions here; chunks of events are
// read on the worker threads, one chunk at a time, and only when the previous one has been
// written. Whoever sets writing_ (or finished_) under the mutex is the only one to call
// StartWrite (or Finish) on the reactor, so the reactor is never used after it is done.
class ReadState : public std::enable_shared_from_this<ReadState> {
 public:
  ReadState(ReadContext& context, ReadPlan plan)
      : context_(context), plan_(std::move(plan)), remaining_(plan_.count) {}

  void attach(grpc::ServerWriteReactor<streams::ReadResp>* reactor) {
    std::unique_lock lock(mutex_);
    reactor_ = reactor;
    if (plan_.subscription) {
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
    if (!plan_.subscription || ended_) return;
    ended_ = true;
    queue_.clear();
    final_status_ = grpc::Status(grpc::StatusCode::UNAVAILABLE, "the server is shutting down");
    stop_waiting(lock);
    pump(lock);
  }

 private:
  struct Chunk {
    std::vector<streams::ReadResp> messages;
    bool end = false;   // nothing more will come: finish with `status`
    bool wait = false;  // a subscription at the head: wait for the head to move
    grpc::Status status;
  };

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
      lock.unlock();
      reactor->StartWrite(&in_flight_);
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
    Chunk chunk = reader ? read_chunk(*reader, seen_head)
                         : Chunk{.end = true, .status = {grpc::StatusCode::UNAVAILABLE, "the event log cannot be read"}};
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

  // --- reading: only the one scheduled fill at a time runs these ---

  Chunk read_chunk(runtime::EventLogReader& reader, std::uint64_t seen_head) {
    Chunk chunk;
    if (!positioned_) {
      if (!position(reader, seen_head, chunk)) return chunk;
      positioned_ = true;
    }
    if (exhausted_ || remaining_ == 0) {
      return finish_or_wait(chunk, /*at_end=*/true);
    }
    if (plan_.stream) return read_stream_chunk(reader, chunk);
    if (plan_.forward) return scan_all_chunk(reader, chunk);
    return read_all_backward_chunk(reader, chunk);
  }

  // Resolves start / end / a revision or position into the first one to read. False when the
  // read ends here (a stream that does not exist, a read error).
  bool position(runtime::EventLogReader& reader, std::uint64_t seen_head, Chunk& chunk) {
    const bool sub = plan_.subscription;
    if (plan_.stream) {
      auto last = reader.last_revision(*plan_.stream);
      if (!last.ok()) return fail(chunk, last.error().message);
      if (!sub && !last.value()) {
        streams::ReadResp not_found;
        not_found.mutable_stream_not_found()->mutable_stream_identifier()->set_stream_name(*plan_.stream);
        chunk.messages.push_back(std::move(not_found));
        chunk.end = true;
        return false;
      }
      const std::uint64_t after_last = last.value() ? *last.value() + 1 : 0;
      if (plan_.forward) {
        switch (plan_.from) {
          case ReadPlan::From::start: next_ = 0; break;
          case ReadPlan::From::end: next_ = after_last; break;
          case ReadPlan::From::at: next_ = sub ? plan_.at + 1 : plan_.at; exhausted_ = sub && plan_.at == UINT64_MAX; break;
        }
      } else {
        switch (plan_.from) {
          case ReadPlan::From::start: next_ = 0; break;
          case ReadPlan::From::end: next_ = after_last - 1; break;
          case ReadPlan::From::at: next_ = std::min(plan_.at, after_last - 1); break;
        }
      }
      return true;
    }
    if (plan_.forward) {
      switch (plan_.from) {
        case ReadPlan::From::start: next_ = 1; break;
        case ReadPlan::From::end: next_ = seen_head + 1; break;
        case ReadPlan::From::at:
          next_ = sub ? plan_.at + 1 : std::max<std::uint64_t>(plan_.at, 1);
          exhausted_ = sub && plan_.at == UINT64_MAX;
          break;
      }
    } else {
      switch (plan_.from) {
        case ReadPlan::From::start: exhausted_ = true; break;
        case ReadPlan::From::end: next_ = seen_head; break;
        case ReadPlan::From::at: next_ = std::min(plan_.at - (plan_.at > 0 ? 1 : 0), seen_head); break;
      }
      if (next_ == 0) exhausted_ = true;
    }
    return true;
  }

  bool fail(Chunk& chunk, const std::string& message) {
    chunk.end = true;
    chunk.status = grpc::Status(grpc::StatusCode::UNAVAILABLE, message);
    return false;
  }

  // The end of what there is: a bounded read finishes, a subscription says it caught up (once)
  // and waits when it has nothing else to send.
  Chunk& finish_or_wait(Chunk& chunk, bool at_end) {
    if (!at_end) return chunk;
    if (!plan_.subscription) {
      chunk.end = true;
      return chunk;
    }
    if (!caught_up_sent_) {
      caught_up_sent_ = true;
      if (plan_.filter && last_scanned_ > 0) add_checkpoint(chunk, last_scanned_);
      streams::ReadResp caught_up;
      set_now(caught_up.mutable_caught_up()->mutable_timestamp());
      if (plan_.stream) {
        if (next_ > 0) caught_up.mutable_caught_up()->set_stream_revision(static_cast<std::int64_t>(next_ - 1));
      } else if (next_ > 1) {
        caught_up.mutable_caught_up()->mutable_position()->set_commit_position(next_ - 1);
        caught_up.mutable_caught_up()->mutable_position()->set_prepare_position(next_ - 1);
      }
      chunk.messages.push_back(std::move(caught_up));
    }
    chunk.wait = chunk.messages.empty();
    return chunk;
  }

  void add_event(Chunk& chunk, const EventView& event, std::size_t& bytes) {
    streams::ReadResp message;
    fill_read_event(event, plan_.structured_uuids, &message);
    bytes += event.data.size() + event.metadata.size();
    chunk.messages.push_back(std::move(message));
    if (remaining_ != UINT64_MAX) --remaining_;
  }

  void add_checkpoint(Chunk& chunk, std::uint64_t position) {
    streams::ReadResp checkpoint;
    checkpoint.mutable_checkpoint()->set_commit_position(position);
    checkpoint.mutable_checkpoint()->set_prepare_position(position);
    set_now(checkpoint.mutable_checkpoint()->mutable_timestamp());
    chunk.messages.push_back(std::move(checkpoint));
    scanned_since_checkpoint_ = 0;
  }

  std::size_t chunk_limit() const { return static_cast<std::size_t>(std::min<std::uint64_t>(remaining_, kChunkEvents)); }

  Chunk read_stream_chunk(runtime::EventLogReader& reader, Chunk& chunk) {
    const std::size_t limit = std::min<std::size_t>(chunk_limit(), 32);
    auto events = reader.read_stream(*plan_.stream, next_, limit,
                                     plan_.forward ? runtime::Direction::forward : runtime::Direction::backward);
    if (!events.ok()) {
      fail(chunk, events.error().message);
      return chunk;
    }
    std::size_t bytes = 0;
    for (const auto& event : events.value()) add_event(chunk, view_of(event), bytes);
    if (!events.value().empty()) {
      const auto last = events.value().back().revision;
      if (plan_.forward) {
        next_ = last + 1;
      } else if (last == 0) {
        exhausted_ = true;
      } else {
        next_ = last - 1;
      }
    }
    const bool at_end = events.value().size() < limit || exhausted_ || remaining_ == 0;
    return finish_or_wait(chunk, at_end);
  }

  // $all forwards: one scan, stopping at the chunk's limits; filtered events are looked at
  // (stream and type only) and skipped, with a checkpoint every checkpoint_interval of them.
  Chunk scan_all_chunk(runtime::EventLogReader& reader, Chunk& chunk) {
    const std::size_t limit = chunk_limit();
    std::size_t taken = 0;
    std::size_t bytes = 0;
    std::size_t visited = 0;
    bool stopped = false;
    auto scanned = reader.scan(runtime::LogPosition(next_), plan_.filter ? kScanBudget : limit,
                               [&](const runtime::EventRow& row) {
                                 ++visited;
                                 last_scanned_ = row.position().value();
                                 if (!plan_.filter || plan_.filter->matches(row.stream(), row.event_type())) {
                                   add_event(chunk, view_of(row), bytes);
                                   ++taken;
                                 }
                                 if (plan_.filter && plan_.subscription &&
                                     ++scanned_since_checkpoint_ >= plan_.filter->checkpoint_interval()) {
                                   add_checkpoint(chunk, last_scanned_);
                                 }
                                 stopped = taken >= limit || bytes >= kChunkBytes;
                                 return !stopped;
                               });
    if (!scanned.ok()) {
      fail(chunk, scanned.error().message);
      return chunk;
    }
    if (scanned.value().value() != 0) next_ = scanned.value().value() + 1;
    const std::size_t asked = plan_.filter ? kScanBudget : limit;
    const bool at_end = (!stopped && visited < asked) || remaining_ == 0;
    return finish_or_wait(chunk, at_end);
  }

  Chunk read_all_backward_chunk(runtime::EventLogReader& reader, Chunk& chunk) {
    const std::size_t limit = chunk_limit();
    auto events = reader.read_all(runtime::LogPosition(next_), limit, runtime::Direction::backward);
    if (!events.ok()) {
      fail(chunk, events.error().message);
      return chunk;
    }
    std::size_t bytes = 0;
    for (const auto& event : events.value()) {
      if (remaining_ == 0) break;
      if (!plan_.filter || plan_.filter->matches(event.stream, event.event_type)) add_event(chunk, view_of(event), bytes);
    }
    if (!events.value().empty()) next_ = events.value().back().position.value() - 1;
    if (events.value().empty() || next_ == 0) exhausted_ = true;
    return finish_or_wait(chunk, exhausted_ || remaining_ == 0);
  }

  ReadContext& context_;
  const ReadPlan plan_;

  // The cursor: used by the one scheduled fill only.
  bool positioned_ = false;
  bool exhausted_ = false;       // nothing before the cursor (backwards) or after it (forwards)
  std::uint64_t next_ = 0;       // the next revision or position to read
  std::uint64_t remaining_;      // events still to send (the read's count)
  std::uint64_t last_scanned_ = 0;
  std::uint64_t scanned_since_checkpoint_ = 0;
  bool caught_up_sent_ = false;

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
  std::set<std::shared_ptr<ReadState>> reads;
  {
    std::lock_guard lock(mutex_);
    shut_down_ = true;
    reads = active_;
  }
  for (const auto& read : reads) read->shut_down();
}

void ReadContext::add(const std::shared_ptr<ReadState>& read) {
  bool down = false;
  {
    std::lock_guard lock(mutex_);
    active_.insert(read);
    down = shut_down_;
  }
  if (down) read->shut_down();
}

void ReadContext::remove(ReadState* read) {
  std::shared_ptr<ReadState> last;  // released outside the lock
  std::lock_guard lock(mutex_);
  for (auto it = active_.begin(); it != active_.end(); ++it) {
    if (it->get() == read) {
      last = *it;
      active_.erase(it);
      break;
    }
  }
}

grpc::ServerWriteReactor<streams::ReadResp>* start_read(ReadContext& context, ReadPlan plan) {
  auto state = std::make_shared<ReadState>(context, std::move(plan));
  auto* reactor = new ReadReactor(state);
  context.add(state);
  state->attach(reactor);
  return reactor;
}

}  // namespace sinkhost::management_api::grpc_face
