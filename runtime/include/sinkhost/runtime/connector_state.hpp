#pragma once

#include <optional>
#include <string_view>

namespace sinkhost::runtime {

// KurrentDB's connector states.
enum class ConnectorState { activating, running, deactivating, stopped };

const char* to_string(ConnectorState state);  // "CONNECTOR_STATE_RUNNING", ...
// The state a to_string name stands for; nullopt for any other text.
std::optional<ConnectorState> parse_connector_state(std::string_view name);

}  // namespace sinkhost::runtime
