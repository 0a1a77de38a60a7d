#pragma once

#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

// Which connectors a host of a cluster must start and stop, as pure functions of what it owns,
// what the connectors table holds and what it runs (ClusterCoordinator; docs/architecture.md,
// "Cluster mode").
namespace sinkhost::runtime::cluster {

// Connector id -> its configuration (the connectors table's value, JSON text).
using ConnectorConfigs = std::map<std::string, std::string, std::less<>>;

// What to change, stops first: a restart (changed configuration) is a stop and a start.
struct ConnectorPlan {
  std::vector<std::string> stop;                           // ascending ids
  std::vector<std::pair<std::string, std::string>> start;  // (id, configuration), ascending ids

  bool empty() const { return stop.empty() && start.empty(); }
  bool operator==(const ConnectorPlan&) const = default;
};

// Whether this host runs `connector_id`: its slot (slot_of over `slot_count`) is in `slots`.
bool owns(const std::set<int>& slots, int slot_count, const std::string& connector_id);

// From what runs (`running`: id -> the configuration it was started with) to what must run:
// every connector of `configs` whose slot is in `slots`, with its configuration. A running
// connector that is no longer owned or no longer in the table stops; one whose configuration
// changed restarts; an owned one that does not run starts.
ConnectorPlan plan_connectors(const std::set<int>& slots, int slot_count, const ConnectorConfigs& configs,
                              const ConnectorConfigs& running);

// The running connectors whose slot is one of `slots` (ascending ids): what a revocation stops.
std::vector<std::string> connectors_in_slots(const std::vector<int>& slots, int slot_count,
                                             const ConnectorConfigs& running);

}  // namespace sinkhost::runtime::cluster
