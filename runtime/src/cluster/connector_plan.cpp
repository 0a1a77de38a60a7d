#include "sinkhost/runtime/cluster/connector_plan.hpp"

#include <algorithm>

#include "sinkhost/runtime/cluster/slots.hpp"

namespace sinkhost::runtime::cluster {

bool owns(const std::set<int>& slots, int slot_count, const std::string& connector_id) {
  return slots.count(slot_of(connector_id, slot_count)) != 0;
}

ConnectorPlan plan_connectors(const std::set<int>& slots, int slot_count, const ConnectorConfigs& configs,
                              const ConnectorConfigs& running) {
  ConnectorPlan plan;
  for (const auto& [id, config] : running) {
    auto wanted = configs.find(id);
    const bool keep = wanted != configs.end() && wanted->second == config && owns(slots, slot_count, id);
    if (!keep) plan.stop.push_back(id);
  }
  for (const auto& [id, config] : configs) {
    if (!owns(slots, slot_count, id)) continue;
    auto runs = running.find(id);
    if (runs == running.end() || runs->second != config) plan.start.emplace_back(id, config);
  }
  return plan;
}

std::vector<std::string> connectors_in_slots(const std::vector<int>& slots, int slot_count,
                                             const ConnectorConfigs& running) {
  std::vector<std::string> ids;
  for (const auto& [id, config] : running) {
    if (std::find(slots.begin(), slots.end(), slot_of(id, slot_count)) != slots.end()) ids.push_back(id);
  }
  return ids;
}

}  // namespace sinkhost::runtime::cluster
