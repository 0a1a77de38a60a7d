#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "sinkhost/connector/result.hpp"
#include "sinkhost/runtime/connector_state.hpp"
#include "sinkhost/runtime/definition_store.hpp"

// The records of a cluster's connectors and status tables as pure values (docs/architecture.md,
// "Cluster mode"): what a host writes for a connector's definition and for the state of a run.
namespace sinkhost::runtime::cluster {

// A connector's definition as the value of its connectors-table record (compact JSON, the key is
// the id). Everything the user defined and the run they asked for; never the checkpoint (the
// checkpoints table holds it) nor the error of a run (the status table does). Secret settings
// stay sealed: `settings` holds the mask, `sealedSettings` the encrypted values. `revision`
// grows by one with every write of the connector, so that a host ignores a record older than
// the one it wrote or applied last.
struct DefinitionRecord {
  ConnectorDefinition definition;  // checkpoint and error unset
  std::int64_t revision = 0;

  bool operator==(const DefinitionRecord&) const = default;
};
std::string encode_definition(const DefinitionRecord& record);
// invalid_argument when `value` is not such a record of connector `id`.
Result<DefinitionRecord> decode_definition(std::string_view id, std::string_view value);

// The state of a connector as the host that runs it reports it (status table, key: the id).
struct StatusRecord {
  std::string host;  // the host that owns the connector
  ConnectorState state = ConnectorState::stopped;
  std::int64_t state_update_time_ms = 0;
  std::optional<ErrorDetails> error;

  bool operator==(const StatusRecord&) const = default;
};
std::string encode_status(const StatusRecord& record);
Result<StatusRecord> decode_status(std::string_view value);

}  // namespace sinkhost::runtime::cluster
