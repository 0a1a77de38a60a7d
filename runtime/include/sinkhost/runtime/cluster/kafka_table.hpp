#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "sinkhost/connector/result.hpp"
#include "sinkhost/runtime/cluster/kafka_client.hpp"
#include "sinkhost/runtime/cluster/table_records.hpp"

namespace sinkhost::runtime::cluster {

struct KafkaTableOptions {
  KafkaClientConfig client;
  std::string topic;
  // Used only when the topic is created. The partition count of a table topic must not grow
  // later: keys would move to other partitions and an old value could win over a newer one.
  int partitions = 1;
  int replication_factor = -1;  // -1: the broker's default (default.replication.factor)
  // Stamped on every record this table writes (see set_generation).
  WriterStamp writer;
  // How long open, put, erase and load wait for the brokers before they fail (unavailable).
  std::chrono::milliseconds timeout{15000};
};

// Where an acknowledged record was written.
struct TablePosition {
  std::int32_t partition = 0;
  std::int64_t offset = -1;
};

// A key -> value table kept in a compacted Kafka topic, as Kafka Connect keeps its config,
// offset and status topics: every host of a cluster writes to the same topic and reads every
// other host's writes. Each record's key is the table key, its value the value (null: erased),
// and its headers the writer's stamp. Compaction keeps at least the last record of each key, so
// reading the topic from the beginning rebuilds the table.
//
// Threads: put, erase and set_generation may be called from any thread; load and poll read with
// one consumer and must be called from one thread at a time.
class KafkaTable {
 public:
  // Creates the topic when it is missing (cleanup.policy=compact), refuses an existing topic
  // that is not compacted (failed_precondition: its old records would be deleted by age), and
  // starts the producer. Fails with unavailable when the brokers do not answer in time.
  static Result<std::unique_ptr<KafkaTable>> open(KafkaTableOptions options);
  ~KafkaTable();
  KafkaTable(const KafkaTable&) = delete;
  KafkaTable& operator=(const KafkaTable&) = delete;

  // Writes `value` for `key` and returns once every in-sync replica acknowledged it (acks=all,
  // idempotent producer): a later load on any host sees it, or a newer write of the key. After
  // a fatal error of the idempotent producer (reported as internal, "Local: Fatal error"), every
  // later write fails the same way: open the table again.
  Result<TablePosition> put(std::string_view key, std::string_view value);
  // Writes a tombstone for `key` (a null value), acknowledged like put.
  Result<TablePosition> erase(std::string_view key);
  // The generation stamped on the records written from now on.
  void set_generation(std::int32_t generation);

  // Reads every partition from its beginning up to its high watermark at the time of the call
  // and returns the last value of each key (tombstones remove keys). Afterwards poll delivers
  // the records written after what load read.
  Result<TableContents> load();
  // As load, but hands every record read to `visit` in its partition's order instead of keeping
  // the last value of each key, for readers that fold records by rules of their own.
  using RecordVisitor = std::function<void(TableRecord)>;
  Result<void> load(const RecordVisitor& visit);
  // The records written since the last load or poll (this table's own writes included), in
  // each partition's order; waits up to `timeout` for the first. Call load first: before it,
  // nothing is read. Apply them with apply_record to keep a loaded table current.
  Result<std::vector<TableRecord>> poll(std::chrono::milliseconds timeout);
  // Hands `visit` the records written since the last load, poll or read_to_end, up to each
  // partition's high watermark at the time of the call: afterwards, every write that was
  // acknowledged before the call was seen (one request to the brokers for the watermarks).
  // Fails with unavailable when the end is not reached within the table's timeout.
  Result<void> read_to_end(const RecordVisitor& visit);

  const std::string& topic() const;
  // The stamp the table was opened with (its generation may have changed since).
  const WriterStamp& writer() const;

 private:
  struct Clients;
  KafkaTable(KafkaTableOptions options, std::unique_ptr<Clients> clients);
  Result<TablePosition> write(std::string_view key, const std::string_view* value);
  // Reads until every partition's next offset reached `end`, handing records to `visit`.
  Result<void> read_until(const std::vector<std::int64_t>& end, const RecordVisitor& visit);

  KafkaTableOptions options_;
  std::atomic<std::int32_t> generation_;
  std::unique_ptr<Clients> clients_;
  // The offset of the next record to read in each partition (load, poll and read_to_end move it).
  std::vector<std::int64_t> next_;
};

}  // namespace sinkhost::runtime::cluster
