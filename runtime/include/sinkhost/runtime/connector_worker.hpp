#pragma once

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "sinkhost/connector/plugin.hpp"
#include "sinkhost/runtime/connector_metrics.hpp"
#include "sinkhost/runtime/checkpoint_store.hpp"
#include "sinkhost/runtime/common_settings.hpp"
#include "sinkhost/runtime/connector_state.hpp"
#include "sinkhost/runtime/record_filter.hpp"
#include "sinkhost/runtime/source.hpp"

namespace sinkhost::runtime {

using connector::Error;
using connector::LogPosition;
using connector::Result;

// The nice value connector workers give their threads (and so every thread their sink starts):
// delivery yields the CPU to the management API when both want it. 0..19; default 10. Set once,
// before connectors start (the daemon's --delivery-nice).
void set_delivery_niceness(int niceness);

class ReaderStage;
struct PreparedBatch;
class CheckpointTracker;
class CommitPolicy;

// Runs one connector: a reading thread (ReaderStage: source → filter → build → key → transform)
// feeds a bounded queue of prepared batches; this worker's delivery thread hands them to the
// sink, tracks delivery outcomes and saves checkpoints through the checkpoint store
// (docs/architecture.md, "The delivery path").
class ConnectorWorker final : public connector::DeliveryListener {
 public:
  struct Hooks {
    // Called from the delivery thread. Must not call back into the worker.
    std::function<void(ConnectorState)> on_state;
    // The last call the worker makes: its run ended, with the error that ended it, if any.
    std::function<void(std::optional<Error>)> on_stopped;
  };

  struct Options {
    std::string connector_id;
    connector::Settings settings;  // validated, defaults applied
    const connector::SinkDescriptor* descriptor = nullptr;
    std::optional<SourcePosition> after;         // deliver events after this position; nullopt: see after_head
    bool after_head = false;                     // SubscribeRequest::after_head
    SourcePosition committed;                    // position already checkpointed
    std::shared_ptr<const RecordFilter> filter;  // which events to deliver
    std::shared_ptr<ConnectorMetrics> metrics;
    // When set and false, nothing new is handed to the sink until it is true again (a host of a
    // cluster that may have lost its connectors); acknowledgements and checkpoints go on.
    std::function<bool()> may_deliver;
  };

  ConnectorWorker(EventSource& source, CheckpointStore& checkpoints, Options options, Hooks hooks);
  ~ConnectorWorker() override;  // requests a stop and joins

  void start();
  void request_stop();
  void join();

  // connector::DeliveryListener: called from the sink's threads.
  void delivered(LogPosition position) noexcept override;
  void failed(LogPosition position, Error error) noexcept override;
  void dead_lettered(LogPosition position) noexcept override;
  void retried(std::uint64_t records) noexcept override;
  void sink_failed(Error error) noexcept override;
  void restart_from_checkpoint(Error reason) noexcept override;
  void degraded(std::optional<Error> condition) noexcept override;

 private:
  struct Outcome {
    LogPosition position;
    std::optional<Error> error;
    bool dead_lettered = false;
  };
  // What one run's delivery loop works with.
  struct Run;

  void run();
  Result<std::unique_ptr<connector::Sink>> open_sink();
  std::unique_ptr<ReaderStage> start_reader(const connector::Sink& sink, std::optional<SourcePosition> after,
                                            bool after_head);
  std::optional<Error> stream(std::unique_ptr<connector::Sink>& sink);
  std::optional<Error> apply(Run& run, std::vector<Outcome>& outcomes);
  std::optional<Error> send(Run& run, connector::Sink& sink);
  std::optional<Error> restart(Run& run, std::unique_ptr<connector::Sink>& sink, const Error& reason);
  void wake();
  void log(connector::LogLevel level, std::string_view message) const;

  EventSource& source_;
  CheckpointStore& checkpoints_;
  Options options_;
  const CommonSettings common_;  // options_.settings parsed once with the common table
  Hooks hooks_;

  std::mutex mutex_;
  std::condition_variable wake_;
  bool stop_requested_ = false;
  bool batch_ready_ = false;       // the reader queued a batch
  std::vector<Outcome> outcomes_;  // filled by the sink's threads, drained by the worker
  std::optional<Error> sink_failure_;
  std::optional<Error> restart_reason_;

  std::thread thread_;
};

}  // namespace sinkhost::runtime
