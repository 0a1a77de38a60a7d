#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "sinkhost/connector/result.hpp"
#include "sinkhost/runtime/cluster/table_records.hpp"
#include "sinkhost/runtime/source.hpp"

// The records of the checkpoints table (KafkaCheckpointStore) as pure values: how a checkpoint is
// written, and how the records of the table fold with the fencing rule (docs/architecture.md,
// "Cluster mode").
namespace sinkhost::runtime::cluster {

// A checkpoint as the value of its record: compact JSON, {"commit":N,"prepare":M}, readable with
// kcat. The key is the connector id.
std::string encode_checkpoint(const SourcePosition& position);
// invalid_argument when `value` is not such an object of two unsigned 64-bit numbers.
Result<SourcePosition> decode_checkpoint(std::string_view value);

// What the table holds for one connector: its checkpoint (nullopt: reset), and the newest
// generation and the record it was folded from.
struct CheckpointEntry {
  std::optional<SourcePosition> position;
  std::int32_t generation = -1;
  std::string writer;  // the host that wrote the record folded last
  std::int64_t offset = -1;

  bool operator==(const CheckpointEntry&) const = default;
};

using CheckpointTable = std::map<std::string, CheckpointEntry, std::less<>>;

enum class CheckpointFold {
  applied,         // the record is the connector's checkpoint now (or its reset)
  stale,           // written with an older generation than one already folded: ignored
  already_folded,  // at or before the offset folded last for the connector: ignored
  unreadable,      // its value is not a checkpoint: ignored
};

// Folds one record of the checkpoints table: the last record of a connector wins unless an
// earlier record of the connector carried a newer generation (the writer was fenced). A record
// without a stamp counts as generation -1. A connector's records live in one partition, so
// their offsets order them; a record at or before the one folded last (seen twice) is ignored.
CheckpointFold fold_checkpoint(CheckpointTable& table, const TableRecord& record);

// Whether a host holding `generation` may write the checkpoint of `connector_id`: refused
// (failed_precondition) when the table already holds a newer generation for it.
Result<void> check_checkpoint_owner(const CheckpointTable& table, std::string_view connector_id,
                                    std::int32_t generation);

}  // namespace sinkhost::runtime::cluster
