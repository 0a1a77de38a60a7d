#pragma once

#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>

#include <grpcpp/client_context.h>

#include "sinkhost/runtime/record_filter.hpp"
#include "sinkhost/runtime/source.hpp"
#include "store_connection.hpp"

namespace sinkhost::runtime::kurrentdb {

// One connector's subscription to $all on a KurrentDB store. A thread of its own holds the gRPC
// call and fills a bounded queue (the store's flow control holds the rest back); read() drains
// it. When the call fails for a reason retrying can fix (the store down, restarting, paused past
// the keep-alive), the thread subscribes again after the last position it queued, with a capped
// exponential backoff, and reports the health on the way; a permanent failure (credentials,
// certificate) ends it, and read() returns that error once the queue is drained.
class StoreSubscription final : public SourceSubscription {
 public:
  StoreSubscription(std::shared_ptr<StoreConnection> connection, SubscribeRequest request,
                    std::function<void(SourcePosition)> on_head);
  ~StoreSubscription() override;

  void start();
  bool has_new() const override;
  connector::Result<void> read(std::size_t max_events, std::size_t max_bytes, SourceBatch& into) override;

 private:
  struct Item {
    SourcePosition position;
    std::optional<SourceEvent> event;  // none: a position the store scanned up to
  };

  void run();
  // One call, from subscribe to its end; returns its status.
  grpc::Status subscribe_once(grpc::ClientContext& context, bool& confirmed);
  void push(Item item);  // waits for room
  void report(SourceHealth::State state, std::optional<connector::Error> error);
  bool sleep(std::chrono::milliseconds delay);  // false when stopping

  const std::shared_ptr<StoreConnection> connection_;
  const std::shared_ptr<const RecordFilter> filter_;
  std::optional<RecordFilter::ServerFilter> server_filter_;
  const std::function<void()> on_new_events_;
  const std::function<void(const SourceHealth&)> on_health_;
  const std::function<void(SourcePosition)> on_head_;
  bool after_head_;

  // The subscription thread's own state.
  std::optional<SourcePosition> after_;  // the last position queued
  std::uint64_t last_ordinal_ = 0;
  SourceHealth health_;

  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<Item> queue_;
  std::size_t queued_bytes_ = 0;
  std::optional<connector::Error> failure_;
  bool stopping_ = false;
  grpc::ClientContext* call_ = nullptr;  // the call in progress, to cancel it
  std::thread thread_;
};

}  // namespace sinkhost::runtime::kurrentdb
