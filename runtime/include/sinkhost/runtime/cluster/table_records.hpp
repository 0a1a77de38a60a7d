#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "sinkhost/connector/result.hpp"

// The records of a table kept in a compacted Kafka topic (KafkaTable), as pure values: what a
// record carries besides its key and value, and how a log of records folds into the table.
namespace sinkhost::runtime::cluster {

using connector::Result;

// Who wrote a record: the host, and the group generation it held when it wrote (-1: none, e.g.
// a host outside the group). Carried in the record's headers, so that a reader can later refuse
// the writes of a host that was fenced (its generation is older than the slot's owner's).
struct WriterStamp {
  std::string host_id;
  std::int32_t generation = -1;

  bool operator==(const WriterStamp&) const = default;
};

inline constexpr std::string_view kHostHeader = "sinkhost-host";
inline constexpr std::string_view kGenerationHeader = "sinkhost-generation";

// A record's headers, in order (name, value).
using RecordHeaders = std::vector<std::pair<std::string, std::string>>;

// The headers that carry a stamp: sinkhost-host, sinkhost-generation (decimal text, readable
// with kcat).
RecordHeaders stamp_headers(const WriterStamp& stamp);

// The stamp of a record: nullopt when it has no sinkhost-host header (written by another tool);
// an error when its generation is not a 32-bit decimal number.
Result<std::optional<WriterStamp>> read_stamp(const RecordHeaders& headers);

// One record of the table's topic. A null value (nullopt) is a tombstone: the key was erased.
struct TableRecord {
  std::string key;
  std::optional<std::string> value;
  std::optional<WriterStamp> stamp;
  std::int32_t partition = 0;
  std::int64_t offset = -1;

  bool operator==(const TableRecord&) const = default;
};

// A key's current value, with where it was read from.
struct TableValue {
  std::string value;
  std::optional<WriterStamp> stamp;
  std::int32_t partition = 0;
  std::int64_t offset = -1;

  bool operator==(const TableValue&) const = default;
};

using TableContents = std::map<std::string, TableValue, std::less<>>;

// Applies one record to the table: a value replaces the key's (last value wins), a tombstone
// removes the key. Records must be applied in their partition's order; a key lives in one
// partition (the producer partitions by key), so the order across partitions does not matter.
void apply_record(TableContents& table, TableRecord record);

// The table a sequence of records leaves, applied in the order given.
TableContents fold_records(std::vector<TableRecord> records);

}  // namespace sinkhost::runtime::cluster
