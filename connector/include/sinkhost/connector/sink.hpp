#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "sinkhost/connector/record.hpp"
#include "sinkhost/connector/result.hpp"
#include "sinkhost/connector/settings.hpp"

namespace sinkhost::connector {

// Receives the outcome of every record a sink accepted, exactly once per record.
// Thread-safety: a sink may call these from any thread (librdkafka's delivery thread, say);
// the runtime's implementation only queues the outcome and wakes the connector.
class DeliveryListener {
 public:
  virtual ~DeliveryListener() = default;
  // The destination confirmed the record (for Kafka: the broker acknowledged it).
  virtual void delivered(LogPosition position) noexcept = 0;
  // The record was not delivered and will not be retried by the sink.
  virtual void failed(LogPosition position, Error error) noexcept = 0;
  // The record could not be delivered and went to the sink's dead-letter destination instead,
  // which confirmed it: the checkpoint may move past it, and the runtime counts it.
  virtual void dead_lettered(LogPosition position) noexcept { delivered(position); }
  // The sink cannot go on (authentication or TLS refused, say): the connector stops with this
  // error. Records not yet acknowledged are sent again at the next start.
  virtual void sink_failed(Error error) noexcept = 0;
  // The sink lost track of what it sent (a fatal producer error): the runtime closes it, opens
  // a new one and sends again everything after the last checkpoint. Nothing is lost; records
  // sent but not checkpointed may arrive twice.
  virtual void restart_from_checkpoint(Error reason) noexcept = 0;
  // A transient condition (a broker down): the sink keeps retrying and the connector keeps
  // running, but users should see it. nullopt: the condition is over.
  virtual void degraded(std::optional<Error> condition) noexcept = 0;
  // Last in the class, so that a plugin built before it calls the same slots as before.
  // The sink sends `records` records again after a transient failure (http-sink: a 503, a
  // timeout, a refused connection). Only counted, for users to see; their outcome comes later.
  virtual void retried(std::uint64_t records) noexcept { (void)records; }
};

enum class LogLevel { debug, info, warn, error };

struct SinkContext {
  std::string connector_id;
  Settings settings;  // validated, defaults applied
  DeliveryListener* listener = nullptr;
  std::function<void(LogLevel, std::string_view)> log;
};

// A destination. The runtime calls open() once, then write() from one thread at a time,
// then close() once.
class Sink {
 public:
  virtual ~Sink() = default;

  // Prepares delivery (creates clients, checks what can be checked). An error stops the
  // connector with that error.
  virtual Result<void> open() = 0;

  // Hands one record over. On success its outcome will be reported exactly once through the
  // listener. A resource_exhausted error means "full": call again after an outcome arrived.
  // Any other error stops the connector.
  virtual Result<void> write(const Record& record) = 0;

  // The partition key this sink gives `record` on its own (kafka-sink: partitionKeyExtraction),
  // or nullopt. When a connector has a transform, the runtime calls this before the transform,
  // shows the key to the transform as record.key, and writes the record with the transform's
  // key in Record::key and key_from_transform set. Called on the connector's reading thread,
  // which prepares records while the delivery thread calls write(): it must be safe to call
  // concurrently with write() (a const function of settings only, as kafka-sink's is).
  virtual std::optional<std::string> partition_key(const Record& record) const {
    (void)record;
    return std::nullopt;
  }

  // True when the sink has a dead-letter destination (kafka-sink: deadLetter:enabled): the runtime
  // then hands it the records it cannot prepare (a transform that throws on one) with
  // write_dead_letter() instead of stopping the connector. Called after open(), on the
  // connector's reading thread.
  virtual bool dead_letters() const { return false; }
  // Writes `record` (as it was before the failed step) to the dead-letter destination with `why`;
  // its outcome is reported like write()'s, through DeliveryListener::dead_lettered. Errors as
  // write()'s.
  virtual Result<void> write_dead_letter(const Record& record, const Error& why) {
    (void)record;
    return why;
  }

  // Delivers what it can within `deadline`, then reports every record still outstanding as
  // failed, so that no outcome is left unreported when close() returns.
  virtual void close(std::chrono::milliseconds deadline) noexcept = 0;
};

}  // namespace sinkhost::connector
