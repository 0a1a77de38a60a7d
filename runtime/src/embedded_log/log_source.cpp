#include "sinkhost/runtime/embedded_log/log_source.hpp"

#include "sinkhost/runtime/record_filter.hpp"

namespace sinkhost::runtime {

namespace {

void assign(std::string& to, std::string_view from) { to.assign(from.data(), from.size()); }

// Catch-up, then live: reads from `next_` until the head, then waits for the log to move.
class LogSubscription final : public SourceSubscription {
 public:
  LogSubscription(EventLog& log, LogPosition from, std::shared_ptr<const RecordFilter> filter,
                  std::unique_ptr<EventLogReader> reader)
      : log_(log), next_(from), filter_(std::move(filter)), reader_(std::move(reader)) {}
  ~LogSubscription() override { log_.unwatch(watch_); }

  void watch(std::function<void()> on_new_events) { watch_ = log_.watch(std::move(on_new_events)); }

  // The start to report once (SubscribeRequest::after_head).
  void pin_start(LogPosition head) {
    if (head.value() != 0) pinned_ = head;
  }

  bool has_new() const override { return pinned_ || log_.head() >= next_; }

  connector::Result<void> read(std::size_t max_events, std::size_t max_bytes, SourceBatch& into) override {
    into.clear();
    if (pinned_) {
      into.scanned_to = SourcePosition::of_log(*pinned_);
      pinned_.reset();
      return {};
    }
    if (!has_new()) return {};
    auto last = reader_->scan(next_, max_events, [&](const EventRow& row) {
      ++into.examined;
      if (filter_ && !filter_->matches(row.stream(), row.event_type())) return true;
      auto& event = into.next_slot();
      event.position = SourcePosition::of_log(row.position());
      event.ordinal = row.position();
      assign(event.event_id, row.event_id());
      assign(event.stream, row.stream());
      event.revision = row.revision();
      assign(event.event_type, row.event_type());
      event.is_json = row.is_json();
      assign(event.data, row.data());
      assign(event.metadata, row.metadata());
      event.created_ms = row.created_ms();
      into.bytes += event.data.size() + event.metadata.size();
      return into.bytes < max_bytes;
    });
    if (!last.ok()) return last.error();
    if (last->value() != 0) {
      into.scanned_to = SourcePosition::of_log(*last);
      next_ = last->next();
    }
    return {};
  }

 private:
  EventLog& log_;
  LogPosition next_;
  std::shared_ptr<const RecordFilter> filter_;
  std::unique_ptr<EventLogReader> reader_;
  EventLog::WatchId watch_ = 0;
  std::optional<LogPosition> pinned_;
};

}  // namespace

connector::Result<std::unique_ptr<SourceSubscription>> EmbeddedLogSource::subscribe(SubscribeRequest request) {
  auto reader = log_.open_reader();
  if (!reader.ok()) return reader.error();
  LogPosition from(1);
  if (request.after) {
    from = LogPosition(request.after->commit).next();
  } else if (request.after_head) {
    from = log_.head().next();
  }
  auto subscription =
      std::make_unique<LogSubscription>(log_, from, std::move(request.filter), std::move(reader).value());
  if (!request.after && request.after_head) subscription->pin_start(LogPosition(from.value() - 1));
  subscription->watch(std::move(request.on_new_events));
  return std::unique_ptr<SourceSubscription>(std::move(subscription));
}

}  // namespace sinkhost::runtime
