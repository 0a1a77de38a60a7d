#pragma once

#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <string>

#include "sinkhost/connector/result.hpp"
#include "sinkhost/runtime/cluster/definition_records.hpp"
#include "sinkhost/runtime/definition_store.hpp"

namespace sinkhost::runtime::cluster {

// The connector service's store in a cluster (docs/architecture.md, "Cluster mode"): definitions
// go to the connectors table, checkpoints to the checkpoints table, and the error of a run to
// nowhere (the owner reports it in the status table). It keeps the newest definition of every
// connector it wrote or accepted, with its revision: a write is that definition's revision plus
// one, and a record of the table older than what it holds (this host's own write, seen again
// after a newer one) is not accepted.
class ClusterDefinitionStore final : public DefinitionStore {
 public:
  struct Tables {
    // Writes a connectors-table record; returns once the brokers acknowledged it.
    std::function<Result<void>(const std::string& id, const std::string& value)> put_definition;
    std::function<Result<void>(const std::string& id, SourcePosition position)> save_checkpoint;
    std::function<Result<void>(const std::string& id)> reset_checkpoint;
  };
  explicit ClusterDefinitionStore(Tables tables);

  // DefinitionStore. load_all: what was accepted so far, without checkpoints.
  Result<std::vector<ConnectorDefinition>> load_all() override;
  Result<void> save_definition(const ConnectorDefinition& definition) override;
  // The definition, then its checkpoint (saved, or reset when it has none).
  Result<void> replace(const ConnectorDefinition& definition) override;
  Result<void> save_run_requested(const std::string& id, bool run_requested) override;
  // The owner reports a run's error in the status table: nothing to store here.
  Result<void> save_error(const std::string&, const std::optional<ErrorDetails>&) override { return {}; }
  Result<void> save_checkpoint(const std::string& id, SourcePosition position) override;

  // A record of the connectors table, any host's (this one's too): the definition it holds, or
  // nullopt when it is older than the one held (stale), unreadable or erased.
  std::optional<ConnectorDefinition> accept(const std::string& id, const std::optional<std::string>& value);
  // The newest definition held of `id`.
  std::optional<ConnectorDefinition> find(const std::string& id) const;

 private:
  // Writes `definition` as the next revision; the mutex is held.
  Result<void> write_locked(const ConnectorDefinition& definition);

  Tables tables_;
  mutable std::mutex mutex_;  // held across a write, so that this host's writes of one connector are in order
  std::map<std::string, DefinitionRecord> definitions_;
};

}  // namespace sinkhost::runtime::cluster
