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
#include "sinkhost/runtime/event_log.hpp"
#include "sinkhost/runtime/record_filter.hpp"

namespace sinkhost::runtime {

using connector::Error;

enum class ConnectorState { activating, running, deactivating, stopped };

// The nice value connector workers give their threads (and so every thread their sink starts):
// delivery yields the CPU to the management API when both want it. 0..19; default 10. Set once,
// before connectors start (the daemon's --delivery-nice).
void set_delivery_niceness(int niceness);

// Runs one connector on its own thread: reads the log from a start position (catch-up, then
// live, woken by the log's head notification), hands records to the sink, tracks delivery
// outcomes and commits checkpoints.
class ConnectorWorker final : public connector::DeliveryListener {
 public:
  struct Hooks {
    // Called from the worker thread. Must not call back into the worker.
    std::function<void(ConnectorState)> on_state;
    std::function<Result<void>(LogPosition)> on_commit;  // persist a checkpoint
    // The last call the worker makes: its run ended, with the error that ended it, if any.
    std::function<void(std::optional<Error>)> on_stopped;
  };

  struct Options {
    std::string connector_id;
    connector::Settings settings;  // validated, defaults applied
    const connector::SinkDescriptor* descriptor = nullptr;
    LogPosition start_from;        // first position to read (inclusive)
    LogPosition committed;         // position already checkpointed
    std::shared_ptr<const RecordFilter> filter;  // which events to deliver
    std::shared_ptr<ConnectorMetrics> metrics;
  };

  ConnectorWorker(EventLog& log, Options options, Hooks hooks);
  ~ConnectorWorker() override;  // requests a stop and joins

  void start();
  void request_stop();
  void join();

  // connector::DeliveryListener: called from the sink's threads.
  void delivered(LogPosition position) noexcept override;
  void failed(LogPosition position, Error error) noexcept override;
  void sink_failed(Error error) noexcept override;
  void restart_from_checkpoint(Error reason) noexcept override;
  void degraded(std::optional<Error> condition) noexcept override;

 private:
  struct Outcome {
    LogPosition position;
    std::optional<Error> error;
  };

  void run();
  Result<std::unique_ptr<connector::Sink>> open_sink();
  std::optional<Error> stream(std::unique_ptr<connector::Sink>& sink);
  void log(connector::LogLevel level, std::string_view message) const;

  EventLog& log_;
  Options options_;
  Hooks hooks_;

  std::mutex mutex_;
  std::condition_variable wake_;
  bool stop_requested_ = false;
  std::vector<Outcome> outcomes_;  // filled by the sink's threads, drained by the worker
  std::optional<Error> sink_failure_;
  std::optional<Error> restart_reason_;

  std::thread thread_;
};

}  // namespace sinkhost::runtime
