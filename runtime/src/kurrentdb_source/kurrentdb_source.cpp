#include "sinkhost/runtime/kurrentdb_source/kurrentdb_source.hpp"

#include <condition_variable>
#include <mutex>
#include <thread>

#include <pthread.h>

#include "store_connection.hpp"
#include "store_reads.hpp"
#include "store_subscription.hpp"

namespace sinkhost::runtime {

namespace {

using connector::ErrorCode;
using connector::make_error;

constexpr std::chrono::milliseconds kHeadInterval{1000};
constexpr std::chrono::milliseconds kHeadTimeout{2000};

// The source. head() answers from what a thread of its own last read (once a second) or a
// subscription last saw, so that views and metrics never wait on the store.
class KurrentDbSource final : public EventSource {
 public:
  explicit KurrentDbSource(std::shared_ptr<StoreConnection> connection) : connection_(std::move(connection)) {
    poller_ = std::thread([this] { poll_head(); });
  }
  ~KurrentDbSource() override {
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
    }
    changed_.notify_all();
    poller_.join();
  }

  connector::Result<SourcePosition> head() const override {
    std::lock_guard lock(mutex_);
    if (head_) return *head_;
    return make_error(ErrorCode::unavailable, "the head of " + connection_->describe() + " is not known yet: " +
                                                  (head_error_.empty() ? "not read yet" : head_error_));
  }
  std::string describe() const override { return connection_->describe(); }
  bool external() const override { return true; }

  connector::Result<std::unique_ptr<SourceSubscription>> subscribe(SubscribeRequest request) override {
    auto subscription = std::make_unique<kurrentdb::StoreSubscription>(
        connection_, std::move(request), [this](SourcePosition position) { observe(position); });
    subscription->start();
    return std::unique_ptr<SourceSubscription>(std::move(subscription));
  }

 private:
  void observe(SourcePosition position) {
    std::lock_guard lock(mutex_);
    if (!head_ || *head_ < position) head_ = position;
  }

  void poll_head() {
    ::pthread_setname_np(::pthread_self(), "sh-kdb-head");
    std::unique_lock lock(mutex_);
    while (!stopping_) {
      lock.unlock();
      auto head = kurrentdb::read_head(*connection_, kHeadTimeout);
      lock.lock();
      if (head.ok()) {
        if (!head_ || *head_ < *head) head_ = *head;
        head_error_.clear();
      } else {
        head_error_ = head.error().message;
      }
      changed_.wait_for(lock, kHeadInterval, [&] { return stopping_; });
    }
  }

  const std::shared_ptr<StoreConnection> connection_;
  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::optional<SourcePosition> head_;
  std::string head_error_;
  bool stopping_ = false;
  std::thread poller_;
};

}  // namespace

connector::Result<std::unique_ptr<EventSource>> open_kurrentdb_source(const KurrentDbConnection& connection) {
  auto store = StoreConnection::create(connection);
  if (!store.ok()) return store.error();
  return std::unique_ptr<EventSource>(std::make_unique<KurrentDbSource>(std::move(store).value()));
}

}  // namespace sinkhost::runtime
