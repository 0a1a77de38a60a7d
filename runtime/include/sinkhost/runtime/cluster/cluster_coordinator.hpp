#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "sinkhost/connector/result.hpp"
#include "sinkhost/runtime/cluster/connector_plan.hpp"
#include "sinkhost/runtime/cluster/group_membership.hpp"
#include "sinkhost/runtime/cluster/kafka_table.hpp"

namespace sinkhost::runtime::cluster {

struct ClusterCoordinatorOptions {
  GroupMembershipOptions membership;  // its slots count is the cluster's slot count
  KafkaTableOptions connectors;       // the connectors table: connector id -> configuration
  // How long the coordinator's thread waits for a change of the connectors table in one poll.
  std::chrono::milliseconds poll_interval{200};
};

// What the owner does when this host must start or stop a connector. Calls are made one at a
// time (from the membership's thread or the coordinator's), never two at once.
struct ConnectorListener {
  std::function<void(const std::string& id, const std::string& config)> start;
  std::function<void(const std::string& id)> stop;
  // Optional: stops several connectors at once (their runs stop in parallel); without it, `stop`
  // is called for each in turn.
  std::function<void(const std::vector<std::string>& ids)> stop_all;
  // Optional: the group generation this host holds from now on (every assignment it took part
  // in, with or without new slots; before the connectors of new slots start): the generation
  // its writes must carry.
  std::function<void(std::int32_t generation)> generation;
  // Optional: a record of the connectors table, any connector's and any host's (nullopt:
  // erased), after the starts and stops it caused. With it, a changed configuration of a
  // running connector is only reported here: the owner applies it (no stop and start).
  std::function<void(const std::string& id, const std::optional<std::string>& config)> changed;
};

// Decides which connectors this host runs in a cluster: those of the connectors table whose
// slot (slot_of) the group assigned to this host. Keys that begin with '$' are not connectors
// (no connector id can hold one) and are skipped.
//  - slots assigned: their connectors start;
//  - slots revoked: their connectors stop before the revocation returns, so the next owner,
//    which gets the slots only afterwards, never runs one at the same time;
//  - the table followed: a connector put in an owned slot starts, one whose configuration
//    changed restarts (stop, then start), one erased stops; a change for a slot of another host
//    reaches that host through the same table.
class ClusterCoordinator {
 public:
  // Opens the connectors table and reads it, joins the group, and starts the thread that
  // follows the table. Connectors start once the group assigned slots.
  static Result<std::unique_ptr<ClusterCoordinator>> start(ClusterCoordinatorOptions options,
                                                           ConnectorListener listener);
  ~ClusterCoordinator();
  ClusterCoordinator(const ClusterCoordinator&) = delete;
  ClusterCoordinator& operator=(const ClusterCoordinator&) = delete;

  // Writes a connector's configuration to the table (whichever host owns it starts or restarts
  // it), or erases it (its owner stops it). Return after the brokers acknowledged the write.
  Result<void> put_config(std::string_view id, std::string_view config);
  Result<void> erase_config(std::string_view id);

  // Every connector of the table, with its configuration.
  ConnectorConfigs configs() const;
  // The connectors this host runs now, with their configurations.
  ConnectorConfigs running() const;
  // The slots whose connectors this host runs.
  std::set<int> slots() const;
  // The group generation of the last rebalance this host took part in.
  std::int32_t generation() const;

  // Stops following the table and leaves the group: every running connector stops. Idempotent.
  // Not from inside a listener call.
  void close();

 private:
  ClusterCoordinator(ClusterCoordinatorOptions options, ConnectorListener listener);
  void follow_table();
  void slots_assigned(const SlotChange& change);
  void slots_revoked(const SlotChange& change);
  void generation_changed(std::int32_t generation);
  // Runs the plan for what is owned and known now; the mutex is held.
  void reconcile();
  void stop_connectors(const std::vector<std::string>& ids);

  ClusterCoordinatorOptions options_;
  ConnectorListener listener_;
  std::unique_ptr<KafkaTable> table_;
  std::unique_ptr<GroupMembership> membership_;
  std::atomic<bool> stopping_{false};
  std::thread thread_;
  mutable std::mutex mutex_;  // held across every listener call
  std::set<int> slots_;
  ConnectorConfigs configs_;
  ConnectorConfigs running_;
};

}  // namespace sinkhost::runtime::cluster
