#include "sinkhost/runtime/connector_state.hpp"

namespace sinkhost::runtime {

namespace {
constexpr ConnectorState kStates[] = {ConnectorState::activating, ConnectorState::running, ConnectorState::deactivating,
                                      ConnectorState::stopped};
}  // namespace

const char* to_string(ConnectorState state) {
  switch (state) {
    case ConnectorState::activating: return "CONNECTOR_STATE_ACTIVATING";
    case ConnectorState::running: return "CONNECTOR_STATE_RUNNING";
    case ConnectorState::deactivating: return "CONNECTOR_STATE_DEACTIVATING";
    case ConnectorState::stopped: return "CONNECTOR_STATE_STOPPED";
  }
  return "CONNECTOR_STATE_UNKNOWN";
}

std::optional<ConnectorState> parse_connector_state(std::string_view name) {
  for (auto state : kStates) {
    if (name == to_string(state)) return state;
  }
  return std::nullopt;
}

}  // namespace sinkhost::runtime
