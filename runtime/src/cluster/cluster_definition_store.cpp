#include "sinkhost/runtime/cluster/cluster_definition_store.hpp"

#include <spdlog/spdlog.h>

namespace sinkhost::runtime::cluster {

using connector::ErrorCode;
using connector::make_error;

ClusterDefinitionStore::ClusterDefinitionStore(Tables tables) : tables_(std::move(tables)) {}

Result<std::vector<ConnectorDefinition>> ClusterDefinitionStore::load_all() {
  std::lock_guard lock(mutex_);
  std::vector<ConnectorDefinition> all;
  for (const auto& [id, record] : definitions_) all.push_back(record.definition);
  return all;
}

Result<void> ClusterDefinitionStore::write_locked(const ConnectorDefinition& definition) {
  DefinitionRecord record{definition, 1};
  record.definition.checkpoint.reset();
  record.definition.error.reset();
  if (auto held = definitions_.find(definition.id); held != definitions_.end()) {
    record.revision = held->second.revision + 1;
  }
  if (auto written = tables_.put_definition(definition.id, encode_definition(record)); !written.ok()) return written;
  definitions_.insert_or_assign(definition.id, std::move(record));
  return {};
}

Result<void> ClusterDefinitionStore::save_definition(const ConnectorDefinition& definition) {
  std::lock_guard lock(mutex_);
  return write_locked(definition);
}

Result<void> ClusterDefinitionStore::replace(const ConnectorDefinition& definition) {
  std::lock_guard lock(mutex_);
  // The checkpoint first: once the definition is in the table, its owner may start it.
  auto checkpoint = definition.checkpoint ? tables_.save_checkpoint(definition.id, *definition.checkpoint)
                                          : tables_.reset_checkpoint(definition.id);
  if (!checkpoint.ok()) return checkpoint;
  return write_locked(definition);
}

Result<void> ClusterDefinitionStore::save_run_requested(const std::string& id, bool run_requested) {
  std::lock_guard lock(mutex_);
  auto held = definitions_.find(id);
  if (held == definitions_.end()) {
    return make_error(ErrorCode::not_found, "the connectors table holds no connector '" + id + "'");
  }
  auto definition = held->second.definition;
  definition.run_requested = run_requested;
  return write_locked(definition);
}

Result<void> ClusterDefinitionStore::save_checkpoint(const std::string& id, SourcePosition position) {
  return tables_.save_checkpoint(id, position);
}

std::optional<ConnectorDefinition> ClusterDefinitionStore::accept(const std::string& id,
                                                                  const std::optional<std::string>& value) {
  std::lock_guard lock(mutex_);
  if (!value) {
    definitions_.erase(id);
    return std::nullopt;
  }
  auto record = decode_definition(id, *value);
  if (!record.ok()) {
    spdlog::warn("[cluster] ignoring a record of the connectors table: {}", record.error().message);
    return std::nullopt;
  }
  auto held = definitions_.find(id);
  if (held != definitions_.end() && record->revision < held->second.revision) return std::nullopt;
  definitions_.insert_or_assign(id, *record);
  return record->definition;
}

std::optional<ConnectorDefinition> ClusterDefinitionStore::find(const std::string& id) const {
  std::lock_guard lock(mutex_);
  auto held = definitions_.find(id);
  if (held == definitions_.end()) return std::nullopt;
  return held->second.definition;
}

}  // namespace sinkhost::runtime::cluster
