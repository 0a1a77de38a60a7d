#include "sinkhost/runtime/cluster/table_records.hpp"

#include <charconv>

namespace sinkhost::runtime::cluster {

using connector::ErrorCode;
using connector::make_error;

RecordHeaders stamp_headers(const WriterStamp& stamp) {
  return {{std::string(kHostHeader), stamp.host_id},
          {std::string(kGenerationHeader), std::to_string(stamp.generation)}};
}

namespace {

const std::string* header_value(const RecordHeaders& headers, std::string_view name) {
  // The last header of a name wins, as a later writer's header would.
  const std::string* found = nullptr;
  for (const auto& [header, value] : headers) {
    if (header == name) found = &value;
  }
  return found;
}

Result<std::int32_t> parse_generation(const std::string& text) {
  std::int32_t generation = 0;
  const char* end = text.data() + text.size();
  auto [stop, error] = std::from_chars(text.data(), end, generation);
  if (text.empty() || error != std::errc() || stop != end) {
    return make_error(ErrorCode::invalid_argument, "header " + std::string(kGenerationHeader) + " is '" + text +
                                                       "', not a 32-bit decimal generation");
  }
  return generation;
}

}  // namespace

Result<std::optional<WriterStamp>> read_stamp(const RecordHeaders& headers) {
  const std::string* host = header_value(headers, kHostHeader);
  if (host == nullptr) return std::optional<WriterStamp>();
  WriterStamp stamp{*host, -1};
  if (const std::string* generation = header_value(headers, kGenerationHeader)) {
    auto parsed = parse_generation(*generation);
    if (!parsed.ok()) return parsed.error();
    stamp.generation = *parsed;
  }
  return std::optional<WriterStamp>(std::move(stamp));
}

void apply_record(TableContents& table, TableRecord record) {
  if (!record.value) {
    table.erase(record.key);
    return;
  }
  table.insert_or_assign(std::move(record.key), TableValue{std::move(*record.value), std::move(record.stamp),
                                                           record.partition, record.offset});
}

TableContents fold_records(std::vector<TableRecord> records) {
  TableContents table;
  for (auto& record : records) apply_record(table, std::move(record));
  return table;
}

}  // namespace sinkhost::runtime::cluster
