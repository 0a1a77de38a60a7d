#include "pipeline/reader_stage.hpp"

#include <pthread.h>

#include "pipeline/record_pipeline.hpp"
#include "sinkhost/runtime/record_filter.hpp"
#include "sinkhost/runtime/transform.hpp"

namespace sinkhost::runtime {

connector::Record& PreparedBatch::next_slot(SourcePosition position) {
  if (size == records.size()) {
    records.emplace_back();
    positions.emplace_back();
    dead_letter.emplace_back();
  }
  positions[size] = position;
  dead_letter[size].reset();
  return records[size++];
}

void PreparedBatch::clear() {
  size = 0;
  scanned_to.reset();
  failure.reset();
}

ReaderStage::ReaderStage(Options options, std::function<void()> on_ready)
    : options_(std::move(options)), on_ready_(std::move(on_ready)) {}

ReaderStage::~ReaderStage() { stop(); }

void ReaderStage::start() {
  stopping_ = false;
  thread_ = std::thread([this] { run(); });
}

void ReaderStage::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  changed_.notify_all();
  if (thread_.joinable()) thread_.join();
  std::lock_guard lock(mutex_);
  while (!ready_.empty()) {
    free_.push_back(std::move(ready_.front()));
    ready_.pop_front();
  }
}

bool ReaderStage::ready() const {
  std::lock_guard lock(mutex_);
  return !ready_.empty();
}

std::unique_ptr<PreparedBatch> ReaderStage::take() {
  std::unique_ptr<PreparedBatch> batch;
  {
    std::lock_guard lock(mutex_);
    if (ready_.empty()) return nullptr;
    batch = std::move(ready_.front());
    ready_.pop_front();
  }
  changed_.notify_all();  // room for another batch
  return batch;
}

void ReaderStage::recycle(std::unique_ptr<PreparedBatch> batch) {
  batch->clear();
  std::lock_guard lock(mutex_);
  free_.push_back(std::move(batch));
}

std::unique_ptr<PreparedBatch> ReaderStage::blank_batch() {
  std::lock_guard lock(mutex_);
  if (free_.empty()) return std::make_unique<PreparedBatch>();
  auto batch = std::move(free_.back());
  free_.pop_back();
  return batch;
}

void ReaderStage::queue(std::unique_ptr<PreparedBatch> batch) {
  {
    std::lock_guard lock(mutex_);
    ready_.push_back(std::move(batch));
  }
  on_ready_();
}

void ReaderStage::run() {
  ::pthread_setname_np(::pthread_self(), "sh-reader");  // as top -H and perf show it
  auto fail = [this](connector::Error error) {
    auto batch = blank_batch();
    batch->failure = std::move(error);
    queue(std::move(batch));
  };
  // One JavaScript heap for the run, on this thread; the function was checked when the settings were saved.
  auto transform = transform_from(options_.transform);
  if (!transform.ok()) return fail(transform.error());
  RecordPipeline pipeline({
      .connector_id = options_.connector_id,
      .ignore_system_headers = options_.ignore_system_headers,
      .sink = options_.sink,
      .transform = std::move(transform).value(),
      .metrics = options_.metrics,
  });

  // A new subscription starts healthy; what an earlier run's subscription reported is history.
  if (options_.metrics) options_.metrics->set_source_health(SourceHealth{});
  auto subscribed = options_.source->subscribe({
      .after = options_.after,
      .after_head = options_.after_head,
      .filter = options_.filter,
      .on_new_events =
          [this] {
            {
              std::lock_guard lock(mutex_);
              news_ = true;
            }
            changed_.notify_all();
          },
      .on_health =
          [metrics = options_.metrics](const SourceHealth& health) {
            if (metrics) metrics->set_source_health(health);
          },
  });
  if (!subscribed.ok()) return fail(subscribed.error());
  const std::unique_ptr<SourceSubscription> subscription = std::move(subscribed).value();

  SourceBatch events;
  for (;;) {
    {
      std::unique_lock lock(mutex_);
      changed_.wait(lock, [&] {
        return stopping_ || (ready_.size() < options_.max_batches && (news_ || subscription->has_new()));
      });
      if (stopping_) return;
      news_ = false;
    }
    if (auto read = subscription->read(options_.batch_events, options_.batch_bytes, events); !read.ok()) {
      return fail(read.error());
    }
    if (options_.metrics) {
      options_.metrics->records_filtered.fetch_add(events.examined - events.size, std::memory_order_relaxed);
    }
    if (!events.scanned_to) continue;  // nothing new after all

    auto batch = blank_batch();
    const bool dead_letters = options_.sink != nullptr && options_.sink->dead_letters();
    std::optional<SourcePosition> handled;  // the last event dispatched or dropped
    for (std::size_t i = 0; i < events.size && !batch->failure; ++i) {
      const auto& event = events.events[i];
      auto& record = batch->next_slot(event.position);
      auto verdict = pipeline.prepare(event, record);
      if (!verdict.ok() && dead_letters) {
        batch->dead_letter[batch->size - 1] = verdict.error();  // goes on; the sink dead-letters it
        handled = event.position;
        continue;
      }
      if (!verdict.ok()) {
        --batch->size;  // never delivered: the checkpoint stays before it
        batch->failure = verdict.error();
        break;
      }
      if (*verdict == RecordPipeline::Verdict::skip) --batch->size;
      handled = event.position;
    }
    // Past the records, the checkpoint may cover what was filtered out or dropped, but never
    // the record a transform failed on: then only up to the last event handled before it.
    batch->scanned_to = batch->failure ? handled : events.scanned_to;
    const bool failed = batch->failure.has_value();
    queue(std::move(batch));
    if (failed) return;
  }
}

}  // namespace sinkhost::runtime
