#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "sinkhost/connector/result.hpp"
#include "sinkhost/runtime/checkpoint_store.hpp"
#include "sinkhost/runtime/cluster/checkpoint_records.hpp"
#include "sinkhost/runtime/cluster/kafka_table.hpp"

namespace sinkhost::runtime::cluster {

// The checkpoints of a cluster's connectors in a compacted Kafka topic (a KafkaTable keyed by
// connector id, values as encode_checkpoint writes them), so that whichever host takes a
// connector over resumes where the last owner's sink acknowledged.
//
// Fencing: every record carries the writer's group generation (the table's writer stamp). The
// table's fold (fold_checkpoint) ignores a record of a connector written with an older
// generation than one already seen for it, and a save or reset from a host whose generation is
// older than the newest one seen for the connector is refused (failed_precondition, which stops
// the connector). Before checking, a save reads the topic to its end, so it sees every write
// acknowledged before it began. What it cannot see is a newer owner's write that is not yet
// acknowledged: such a stale save is stored, and ignored by every later fold once the newer
// owner's record follows it (docs/architecture.md, "Cluster mode").
//
// Threads: every call may come from any thread; the table is read under one mutex.
class KafkaCheckpointStore final : public CheckpointStore {
 public:
  // Opens the table (creating its topic when missing) and reads it to its end. The generation
  // stamped on this host's writes is options.writer.generation until set_generation.
  static Result<std::unique_ptr<KafkaCheckpointStore>> open(KafkaTableOptions options);
  ~KafkaCheckpointStore() override;
  KafkaCheckpointStore(const KafkaCheckpointStore&) = delete;
  KafkaCheckpointStore& operator=(const KafkaCheckpointStore&) = delete;

  // The group generation this host holds now; set it from each assignment before the assigned
  // slots' connectors start. Generations only grow: an older one is ignored.
  void set_generation(std::int32_t generation);
  std::int32_t generation() const;

  // CheckpointStore: stores `position` as the connector's checkpoint, after the brokers
  // acknowledged it. failed_precondition: a host of a newer generation owns the connector now;
  // unavailable: the brokers did not answer in time (try again later).
  Result<void> save_checkpoint(const std::string& connector_id, SourcePosition position) override;
  // Removes the connector's checkpoint (a reset, or the connector deleted), fenced as a save.
  Result<void> reset_checkpoint(const std::string& connector_id);

  // The connector's checkpoint as the table holds it after reading the topic to its end
  // (nullopt: none, or reset).
  Result<std::optional<SourcePosition>> load_checkpoint(const std::string& connector_id);
  // Every connector's checkpoint, read to the end likewise.
  Result<std::map<std::string, SourcePosition>> load_checkpoints();

 private:
  explicit KafkaCheckpointStore(std::unique_ptr<KafkaTable> table);
  // Folds what was written since the last read; the mutex is held.
  Result<void> read_to_end();
  Result<void> write(const std::string& connector_id, const std::optional<SourcePosition>& position);

  std::unique_ptr<KafkaTable> table_;
  std::atomic<std::int32_t> generation_;
  std::string host_id_;
  std::mutex mutex_;  // the table's reads and checkpoints_
  CheckpointTable checkpoints_;
};

}  // namespace sinkhost::runtime::cluster
