#include "sinkhost/runtime/cluster/checkpoint_records.hpp"

#include <nlohmann/json.hpp>

namespace sinkhost::runtime::cluster {

using connector::ErrorCode;
using connector::make_error;

std::string encode_checkpoint(const SourcePosition& position) {
  return nlohmann::json{{"commit", position.commit}, {"prepare", position.prepare}}.dump();
}

Result<SourcePosition> decode_checkpoint(std::string_view value) {
  const auto refused = [&] {
    return make_error(ErrorCode::invalid_argument, "checkpoint '" + std::string(value) +
                                                       "' is not {\"commit\":N,\"prepare\":M} with unsigned "
                                                       "64-bit positions");
  };
  const auto json = nlohmann::json::parse(value, nullptr, /*allow_exceptions=*/false);
  if (!json.is_object()) return refused();
  const auto commit = json.find("commit");
  const auto prepare = json.find("prepare");
  if (commit == json.end() || prepare == json.end() || !commit->is_number_unsigned() ||
      !prepare->is_number_unsigned()) {
    return refused();
  }
  return SourcePosition{commit->get<std::uint64_t>(), prepare->get<std::uint64_t>()};
}

CheckpointFold fold_checkpoint(CheckpointTable& table, const TableRecord& record) {
  const std::int32_t generation = record.stamp ? record.stamp->generation : -1;
  std::optional<SourcePosition> position;
  if (record.value) {
    auto decoded = decode_checkpoint(*record.value);
    if (!decoded.ok()) return CheckpointFold::unreadable;
    position = *decoded;
  }
  auto found = table.find(record.key);
  if (found != table.end()) {
    if (record.offset >= 0 && record.offset <= found->second.offset) return CheckpointFold::already_folded;
    if (generation < found->second.generation) return CheckpointFold::stale;
  }
  CheckpointEntry entry{position, generation, record.stamp ? record.stamp->host_id : "", record.offset};
  table.insert_or_assign(record.key, std::move(entry));
  return CheckpointFold::applied;
}

Result<void> check_checkpoint_owner(const CheckpointTable& table, std::string_view connector_id,
                                    std::int32_t generation) {
  auto found = table.find(connector_id);
  if (found == table.end() || generation >= found->second.generation) return {};
  return make_error(ErrorCode::failed_precondition,
                    "this host no longer owns connector " + std::string(connector_id) + " (generation " +
                        std::to_string(generation) + " < " + std::to_string(found->second.generation) +
                        ", written by " +
                        (found->second.writer.empty() ? std::string("another host") : "host " + found->second.writer) +
                        "): its checkpoint is not saved");
}

}  // namespace sinkhost::runtime::cluster
