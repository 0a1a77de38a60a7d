#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "sinkhost/connector/record.hpp"
#include "sinkhost/connector/result.hpp"
#include "sinkhost/connector/settings.hpp"
#include "sinkhost/connector/sink.hpp"
#include "sinkhost/runtime/common_settings.hpp"
#include "sinkhost/runtime/connector_metrics.hpp"
#include "sinkhost/runtime/source.hpp"

namespace sinkhost::runtime {

class RecordFilter;

// Records ready for the sink, in source order, as the reader stage hands them over. Batches are
// recycled (ReaderStage::recycle), so that their records' storage is reused.
struct PreparedBatch {
  std::vector<connector::Record> records;  // the first `size` are this batch's
  std::vector<SourcePosition> positions;   // of each record
  // Per record: why it goes to the sink's dead-letter destination instead (Sink::dead_letters).
  std::vector<std::optional<connector::Error>> dead_letter;
  std::size_t size = 0;
  // Once the records are acknowledged the checkpoint may move here (past events that were
  // filtered out or dropped after the last record). nullopt: not past the last record.
  std::optional<SourcePosition> scanned_to;
  // The stage stopped after these records: deliver them, then stop the connector with this.
  std::optional<connector::Error> failure;

  connector::Record& next_slot(SourcePosition position);
  void clear();
};

// A connector's reading thread: reads its source in batches, prepares each event into a record
// (RecordPipeline: build, key, transform) and queues the batch for the delivery thread, so that
// reading and preparing overlap with producing. The queue holds at most `max_batches` batches
// (each at most `batch_events` events and about `batch_bytes` of data): a delivery thread that
// cannot keep up stops the reading.
class ReaderStage {
 public:
  struct Options {
    EventSource* source = nullptr;
    std::optional<SourcePosition> after;  // read events after this position; nullopt: see after_head
    bool after_head = false;              // SubscribeRequest::after_head
    std::shared_ptr<const RecordFilter> filter;
    std::string connector_id;
    bool ignore_system_headers = true;
    const connector::Sink* sink = nullptr;  // Sink::partition_key for a transform; called on this stage's thread
    TransformSettings transform = CommonSettings::defaults().transformer;  // compiled on this stage's thread
    std::shared_ptr<ConnectorMetrics> metrics;                             // also receives the source's health
    // Two batches of 500 keep the delivery thread fed at full speed; four of 1,000 held about 20
    // MiB more of prepared records for no gain in rate (docs/performance.md, "Memory").
    std::size_t max_batches = 2;
    std::size_t batch_events = 500;
    std::size_t batch_bytes = 4u << 20;
  };

  // `on_ready` runs on this stage's thread after a batch was queued; it must be quick.
  ReaderStage(Options options, std::function<void()> on_ready);
  ~ReaderStage();  // stops
  ReaderStage(const ReaderStage&) = delete;
  ReaderStage& operator=(const ReaderStage&) = delete;

  void start();
  // Stops the thread and joins it; queued batches are dropped.
  void stop();

  // For the delivery thread.
  bool ready() const;
  std::unique_ptr<PreparedBatch> take();  // nullptr when nothing is queued
  void recycle(std::unique_ptr<PreparedBatch> batch);

 private:
  void run();
  void queue(std::unique_ptr<PreparedBatch> batch);
  std::unique_ptr<PreparedBatch> blank_batch();

  Options options_;
  std::function<void()> on_ready_;

  mutable std::mutex mutex_;
  std::condition_variable changed_;
  bool stopping_ = false;
  bool news_ = false;  // the source said new events may be there
  std::deque<std::unique_ptr<PreparedBatch>> ready_;
  std::vector<std::unique_ptr<PreparedBatch>> free_;
  std::thread thread_;
};

}  // namespace sinkhost::runtime
