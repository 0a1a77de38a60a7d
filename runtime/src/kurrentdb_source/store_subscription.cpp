#include "store_subscription.hpp"

#include <pthread.h>

#include <spdlog/spdlog.h>

#include "store_reads.hpp"

namespace sinkhost::runtime::kurrentdb {

using connector::ErrorCode;
using connector::make_error;

namespace {
// The queue between the call and the reader: enough to keep a reader busy while the next
// messages arrive, small enough that a connector's memory stays bounded.
constexpr std::size_t kMaxQueuedItems = 8192;
constexpr std::size_t kMaxQueuedBytes = 16u << 20;
constexpr std::chrono::milliseconds kFirstBackoff{250};
constexpr std::chrono::milliseconds kMaxBackoff{5000};
constexpr std::chrono::milliseconds kHeadTimeout{5000};
}  // namespace

StoreSubscription::StoreSubscription(std::shared_ptr<StoreConnection> connection, SubscribeRequest request,
                                     std::function<void(SourcePosition)> on_head)
    : connection_(std::move(connection)),
      filter_(std::move(request.filter)),
      server_filter_(filter_ ? filter_->server_filter() : std::nullopt),
      on_new_events_(std::move(request.on_new_events)),
      on_health_(std::move(request.on_health)),
      on_head_(std::move(on_head)),
      after_head_(!request.after && request.after_head),
      after_(request.after) {}

StoreSubscription::~StoreSubscription() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    if (call_) call_->TryCancel();
  }
  changed_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void StoreSubscription::start() {
  thread_ = std::thread([this] { run(); });
}

bool StoreSubscription::has_new() const {
  std::lock_guard lock(mutex_);
  return !queue_.empty() || failure_.has_value();
}

connector::Result<void> StoreSubscription::read(std::size_t max_events, std::size_t max_bytes, SourceBatch& into) {
  into.clear();
  std::unique_lock lock(mutex_);
  if (queue_.empty()) {
    if (failure_) return *failure_;
    return {};
  }
  while (!queue_.empty() && into.examined < max_events && into.bytes < max_bytes) {
    auto& item = queue_.front();
    into.scanned_to = item.position;
    if (item.event) {
      ++into.examined;
      queued_bytes_ -= item.event->data.size() + item.event->metadata.size();
      if (!filter_ || filter_->matches(item.event->stream, item.event->event_type)) {
        auto& slot = into.next_slot();
        slot = std::move(*item.event);
        into.bytes += slot.data.size() + slot.metadata.size();
      }
    }
    queue_.pop_front();
  }
  lock.unlock();
  changed_.notify_all();  // room for more
  return {};
}

void StoreSubscription::push(Item item) {
  const std::size_t bytes = item.event ? item.event->data.size() + item.event->metadata.size() : 0;
  {
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [&] {
      return stopping_ || queue_.empty() ||
             (queue_.size() < kMaxQueuedItems && queued_bytes_ + bytes <= kMaxQueuedBytes);
    });
    if (stopping_) return;
    queued_bytes_ += bytes;
    queue_.push_back(std::move(item));
  }
  if (on_new_events_) on_new_events_();
}

void StoreSubscription::report(SourceHealth::State state, std::optional<connector::Error> error) {
  if (error) health_.last_error = std::move(error);
  if (health_.state == state && !error) return;
  health_.state = state;
  if (on_health_) on_health_(health_);
}

bool StoreSubscription::sleep(std::chrono::milliseconds delay) {
  std::unique_lock lock(mutex_);
  changed_.wait_for(lock, delay, [&] { return stopping_; });
  return !stopping_;
}

grpc::Status StoreSubscription::subscribe_once(grpc::ClientContext& context, bool& confirmed) {
  auto channel = connection_->channel();
  if (!channel.ok()) return grpc::Status(grpc::StatusCode::UNAVAILABLE, channel.error().message);
  if (after_head_) {
    // "Only new events": the newest event now is where this subscription starts, for good.
    auto head = read_head(*connection_, kHeadTimeout);
    if (!head.ok()) return grpc::Status(grpc::StatusCode::UNAVAILABLE, head.error().message);
    after_head_ = false;
    after_ = *head;
    if (*head != SourcePosition{}) push({*head, std::nullopt});
  }
  auto stub = streams::Streams::NewStub(*channel);
  connection_->prepare(context);
  auto call = stub->Read(&context, subscription_request(after_, server_filter_));
  streams::ReadResp response;
  SourceEvent event;
  while (call->Read(&response)) {
    switch (response.content_case()) {
      case streams::ReadResp::kConfirmation:
        confirmed = true;
        report(SourceHealth::State::healthy, std::nullopt);
        break;
      case streams::ReadResp::kEvent: {
        if (!to_source_event(response.event(), event)) break;
        if (after_ && event.position <= *after_) break;  // already queued (never expected)
        last_ordinal_ = std::max(event.position.prepare, last_ordinal_ + 1);
        event.ordinal = connector::LogPosition(last_ordinal_);
        after_ = event.position;
        if (on_head_) on_head_(event.position);
        push({event.position, std::move(event)});
        event = SourceEvent{};
        break;
      }
      case streams::ReadResp::kCheckpoint: {
        const SourcePosition position{response.checkpoint().commit_position(),
                                      response.checkpoint().prepare_position()};
        if (after_ && position <= *after_) break;
        after_ = position;
        push({position, std::nullopt});
        break;
      }
      default: break;  // caught up, fell behind
    }
  }
  return call->Finish();
}

void StoreSubscription::run() {
  ::pthread_setname_np(::pthread_self(), "sh-kdb-sub");
  auto backoff = kFirstBackoff;
  for (;;) {
    grpc::ClientContext context;
    {
      std::lock_guard lock(mutex_);
      if (stopping_) return;
      call_ = &context;
    }
    bool confirmed = false;
    auto status = subscribe_once(context, confirmed);
    {
      std::lock_guard lock(mutex_);
      call_ = nullptr;
      if (stopping_) return;
    }
    connection_->failed(status, context);
    if (status.error_code() == grpc::StatusCode::INVALID_ARGUMENT && server_filter_) {
      // The store could not take the filter (a regular expression in a syntax it does not
      // read): filter here instead.
      spdlog::warn("{} refused the subscription filter ({}); filtering in sinkhost instead", connection_->describe(),
                   status.error_message());
      server_filter_.reset();
      continue;
    }
    bool permanent = false;
    auto error = connection_->describe_failure(
        status.ok() ? grpc::Status(grpc::StatusCode::UNAVAILABLE, "the store ended the subscription") : status,
        "subscribing to $all", permanent);
    if (permanent) {
      report(SourceHealth::State::failed, error);
      {
        std::lock_guard lock(mutex_);
        failure_ = error;
      }
      if (on_new_events_) on_new_events_();
      return;
    }
    if (confirmed) backoff = kFirstBackoff;
    spdlog::warn("{}; subscribing again in {} ms", error.message, backoff.count());
    report(SourceHealth::State::reconnecting, error);
    if (!sleep(backoff)) return;
    backoff = std::min(backoff * 2, kMaxBackoff);
  }
}

}  // namespace sinkhost::runtime::kurrentdb
