#pragma once

// In-memory stand-ins for the runtime's edges, for unit tests of the delivery path: a source
// whose events a test appends, a sink that records what it was given and acknowledges when
// told to, and a checkpoint store that remembers every save.

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <fstream>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "sinkhost/connector/plugin.hpp"
#include "sinkhost/runtime/checkpoint_store.hpp"
#include "sinkhost/runtime/record_filter.hpp"
#include "sinkhost/runtime/source.hpp"

namespace sinkhost::runtime::test {

class FakeSource final : public EventSource {
 public:
  // Appends an event at the next position (1, 2, ...) and wakes the subscriptions.
  void append(const std::string& stream, const std::string& type, const std::string& data = R"({"n":1})") {
    {
      std::lock_guard lock(mutex_);
      SourceEvent e;
      e.position = SourcePosition{events_.size() + 1, events_.size() + 1};
      e.ordinal = LogPosition(events_.size() + 1);
      e.event_id = "00000000-0000-4000-8000-" + std::to_string(100000000000 + events_.size());
      e.stream = stream;
      e.event_type = type;
      e.data = data;
      e.metadata = "{}";
      e.created_ms = 1700000000000;
      events_.push_back(std::move(e));
    }
    // As the event log does: under a lock of their own, which unsubscribing takes too, so no
    // wake-up reaches a subscription that is gone, and apart from the events' lock, which a
    // reader may hold while it is woken.
    std::lock_guard lock(wakes_mutex_);
    for (auto& [id, wake] : wakes_) wake();
  }
  connector::Result<SourcePosition> head() const override {
    std::lock_guard lock(mutex_);
    return events_.empty() ? SourcePosition{} : events_.back().position;
  }
  std::string describe() const override { return "the fake source"; }
  connector::Result<std::unique_ptr<SourceSubscription>> subscribe(SubscribeRequest request) override {
    int id = 0;
    {
      std::lock_guard lock(mutex_);
      id = ++subscriptions_;
    }
    {
      std::lock_guard lock(wakes_mutex_);
      wakes_.emplace(id, request.on_new_events);
    }
    const bool pin = !request.after && request.after_head;
    if (pin) request.after = *head();
    return std::unique_ptr<SourceSubscription>(new Subscription(*this, id, std::move(request), pin));
  }
  int subscriptions() const {
    std::lock_guard lock(mutex_);
    return subscriptions_;
  }

 private:
  class Subscription final : public SourceSubscription {
   public:
    Subscription(FakeSource& source, int id, SubscribeRequest request, bool pin)
        : source_(source),
          id_(id),
          next_(request.after ? request.after->commit : 0),
          filter_(std::move(request.filter)) {
      if (pin && request.after->commit != 0) pinned_ = request.after;
    }
    ~Subscription() override {
      std::lock_guard lock(source_.wakes_mutex_);
      source_.wakes_.erase(id_);
    }
    bool has_new() const override {
      std::lock_guard lock(source_.mutex_);
      return pinned_ || next_ < source_.events_.size();
    }
    connector::Result<void> read(std::size_t max_events, std::size_t max_bytes, SourceBatch& into) override {
      into.clear();
      std::lock_guard lock(source_.mutex_);
      if (pinned_) {  // SubscribeRequest::after_head: the start, once
        into.scanned_to = pinned_;
        pinned_.reset();
        return {};
      }
      while (next_ < source_.events_.size() && into.examined < max_events && into.bytes < max_bytes) {
        const auto& e = source_.events_[next_++];
        ++into.examined;
        into.scanned_to = e.position;
        if (filter_ && !filter_->matches(e.stream, e.event_type)) continue;
        into.next_slot() = e;
        into.bytes += e.data.size();
      }
      return {};
    }

   private:
    FakeSource& source_;
    int id_;
    std::size_t next_;  // index of the next event
    std::shared_ptr<const RecordFilter> filter_;
    std::optional<SourcePosition> pinned_;
  };

  mutable std::mutex mutex_;  // events_, subscriptions_
  std::vector<SourceEvent> events_;
  int subscriptions_ = 0;
  std::mutex wakes_mutex_;
  std::map<int, std::function<void()>> wakes_;  // by subscription
};

// Records every write; acknowledges on ack_all()/fail(), or at once when auto_ack is set.
class FakeSink final : public connector::Sink {
 public:
  struct Shared {
    std::mutex mutex;
    std::condition_variable changed;
    std::vector<connector::Record> written;
    std::vector<LogPosition> unacked;
    bool auto_ack = false;
    std::size_t capacity = 1000000;  // writes beyond this many unacknowledged are "full"
    int opened = 0;
  };

  FakeSink(std::shared_ptr<Shared> shared, connector::DeliveryListener* listener)
      : shared_(std::move(shared)), listener_(listener) {}

  connector::Result<void> open() override {
    std::lock_guard lock(shared_->mutex);
    ++shared_->opened;
    return {};
  }
  connector::Result<void> write(const connector::Record& record) override {
    {
      std::lock_guard lock(shared_->mutex);
      if (shared_->unacked.size() >= shared_->capacity) {
        return connector::make_error(connector::ErrorCode::resource_exhausted, "full");
      }
      shared_->written.push_back(record);
      if (!shared_->auto_ack) shared_->unacked.push_back(record.position);
      shared_->changed.notify_all();
    }
    if (shared_->auto_ack) listener_->delivered(record.position);
    return {};
  }
  std::optional<std::string> partition_key(const connector::Record& record) const override {
    return "key-of-" + record.stream_id;
  }
  void close(std::chrono::milliseconds) noexcept override {
    std::vector<LogPosition> left;
    {
      std::lock_guard lock(shared_->mutex);
      left.swap(shared_->unacked);
    }
    for (auto p : left) listener_->failed(p, connector::make_error(connector::ErrorCode::unavailable, "closed"));
  }

  // Acknowledges every record written and not yet acknowledged.
  static void ack_all(Shared& shared, connector::DeliveryListener& listener) {
    std::vector<LogPosition> positions;
    {
      std::lock_guard lock(shared.mutex);
      positions.swap(shared.unacked);
    }
    for (auto p : positions) listener.delivered(p);
  }

 private:
  std::shared_ptr<Shared> shared_;
  connector::DeliveryListener* listener_;
};

class FakeCheckpointStore final : public CheckpointStore {
 public:
  connector::Result<void> save_checkpoint(const std::string&, SourcePosition position) override {
    std::lock_guard lock(mutex_);
    if (fail_with_) return *fail_with_;
    saved_.push_back(position);
    changed_.notify_all();
    return {};
  }
  void fail_with(std::optional<connector::Error> error) {
    std::lock_guard lock(mutex_);
    fail_with_ = std::move(error);
  }
  std::optional<SourcePosition> last() const {
    std::lock_guard lock(mutex_);
    return saved_.empty() ? std::nullopt : std::optional(saved_.back());
  }
  std::vector<SourcePosition> saved() const {
    std::lock_guard lock(mutex_);
    return saved_;
  }
  // Waits until a save reached `position`; false after `timeout`.
  bool wait_for(SourcePosition position, std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, timeout, [&] { return !saved_.empty() && saved_.back() >= position; });
  }

 private:
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<SourcePosition> saved_;
  std::optional<connector::Error> fail_with_;
};

// A logger-sink connector writing JSON lines to DIRECTORY/FILE, from the first event, with a
// quick autocommit; and how many lines such a file holds.
inline connector::Settings logger_settings(const std::string& directory, const std::string& file) {
  return {{"instanceTypeName", "serilog-sink"},
          {"output", "file"},
          {"path", directory + "/" + file},
          {"subscription:initialPosition", "earliest"},
          {"autocommit:interval", "10"}};
}
inline std::size_t count_lines(const std::string& path) {
  std::ifstream in(path);
  std::size_t n = 0;
  for (std::string line; std::getline(in, line);) ++n;
  return n;
}

}  // namespace sinkhost::runtime::test
