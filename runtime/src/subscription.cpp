#include "sinkhost/runtime/subscription.hpp"

namespace sinkhost::runtime {

Subscription::Subscription(EventLog& log, LogPosition from, std::unique_ptr<EventLogReader> reader)
    : log_(log), next_(from < LogPosition(1) ? LogPosition(1) : from), reader_(std::move(reader)) {}

Result<std::unique_ptr<Subscription>> Subscription::open(EventLog& log, LogPosition from,
                                                         std::function<void()> on_new_events) {
  auto reader = log.open_reader();
  if (!reader.ok()) return reader.error();
  std::unique_ptr<Subscription> subscription(new Subscription(log, from, std::move(reader).value()));
  subscription->watch_ = log.watch(std::move(on_new_events));
  return subscription;
}

Subscription::~Subscription() { log_.unwatch(watch_); }

Result<std::vector<StoredEvent>> Subscription::read(std::size_t max_count) {
  if (!has_new()) return std::vector<StoredEvent>{};
  auto events = reader_->read_all(next_, max_count);
  if (events.ok() && !events->empty()) next_ = events->back().position.next();
  return events;
}

}  // namespace sinkhost::runtime
