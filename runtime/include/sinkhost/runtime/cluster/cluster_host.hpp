#pragma once

#include <atomic>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "sinkhost/connector/result.hpp"
#include "sinkhost/runtime/cluster/cluster_coordinator.hpp"
#include "sinkhost/runtime/cluster/cluster_definition_store.hpp"
#include "sinkhost/runtime/cluster/definition_records.hpp"
#include "sinkhost/runtime/cluster/kafka_checkpoint_store.hpp"
#include "sinkhost/runtime/cluster/kafka_client.hpp"
#include "sinkhost/runtime/connector_service.hpp"
#include "sinkhost/runtime/secrets/secret_box.hpp"
#include "sinkhost/runtime/secrets/token.hpp"

namespace sinkhost::runtime::cluster {

// A host's place in a cluster (the daemon's --cluster and --cluster-group).
struct ClusterHostOptions {
  KafkaClientConfig client;
  std::string group;            // the cluster's name: the consumer group, and the prefix of its topics
  std::string host_id;          // this host's name in the group and in GET /connectors (its owner)
  int slots = 64;               // partitions of the assignment topic, fixed when it is created
  int replication_factor = -1;  // of the topics it creates; -1: the broker's default
  std::chrono::milliseconds session_timeout{6000};
  std::chrono::milliseconds timeout{15000};  // for the brokers to answer a write or a read
};

// The topics of a cluster named `group`: "sinkhost-<group>-" followed by "assignment",
// "connectors", "checkpoints" and "status".
std::string cluster_topic(const std::string& group, const char* table);

// One host of a cluster (docs/architecture.md, "Cluster mode"): the cluster's tables, the
// connector service's store over them, the group membership that decides which connectors run
// here, and a thread (sh-cluster-status) that publishes the state of this host's connectors and
// shows other hosts' in this one's service.
class ClusterHost {
 public:
  // Opens the checkpoints and status tables (creating their topics when missing).
  static Result<std::unique_ptr<ClusterHost>> open(ClusterHostOptions options);
  ~ClusterHost();
  ClusterHost(const ClusterHost&) = delete;
  ClusterHost& operator=(const ClusterHost&) = delete;

  // The cluster's data protection key for `token`: the first host to start sets it up (the
  // record is kept in the status table); a host whose token is not the cluster's is refused
  // (failed_precondition). nullptr without a token.
  Result<std::shared_ptr<const SecretBox>> open_data_protection(const SecretBytes* token);

  // Where the connector service keeps definitions and checkpoints.
  DefinitionStore& store() { return *store_; }

  // What the connector service is given (join_cluster) before its restore(): this host's id and
  // where it reports the state of the connectors placed here.
  ConnectorService::ClusterMembership membership();

  // Joins the cluster with `service` running this host's connectors: reads every definition
  // into the service, then takes part in the group's assignment. `service` (which was given
  // membership()) must outlive close().
  Result<void> join(ConnectorService& service);

  // Leaves the group (this host's connectors stop; other hosts take them over) and stops the
  // status thread. Idempotent.
  void close();

  const ClusterHostOptions& options() const { return options_; }

 private:
  explicit ClusterHost(ClusterHostOptions options);
  KafkaTableOptions table_options(const char* table) const;
  void connector_placed(const std::string& id);
  void definition_changed(const std::string& id, const std::optional<std::string>& value);
  void state_changed(const ConnectorView& view);
  void follow_statuses();
  // Shows another host's report of connector `id` in the service.
  void show_status(const std::string& id, const StatusRecord& status);
  void publish_statuses();
  // The pause fence: see may_deliver() in cluster_host.cpp.
  bool may_deliver() const;
  void watch_for_pauses();
  std::chrono::steady_clock::duration pause_threshold() const;

  ClusterHostOptions options_;
  std::unique_ptr<KafkaCheckpointStore> checkpoints_;
  std::unique_ptr<KafkaTable> statuses_;
  std::unique_ptr<ClusterDefinitionStore> store_;
  std::unique_ptr<ClusterCoordinator> coordinator_;
  ConnectorService* service_ = nullptr;

  // The status table as open() read it (and open_data_protection read on), until the status
  // thread shows it.
  std::map<std::string, std::optional<std::string>> initial_statuses_;
  // The last status each other host reported per connector, for a definition that comes later.
  std::mutex seen_mutex_;
  std::map<std::string, StatusRecord> seen_statuses_;
  std::mutex pending_mutex_;
  std::map<std::string, StatusRecord> pending_;  // statuses to publish, newest per connector
  std::atomic<bool> stopping_{false};
  std::thread status_thread_;
  // Steady-clock nanoseconds: the pause watch's last tick, and the end of the fence it raised
  // after a pause (0: none).
  std::atomic<std::int64_t> last_tick_ns_{0};
  std::atomic<std::int64_t> fenced_until_ns_{0};
  std::thread pause_thread_;
};

}  // namespace sinkhost::runtime::cluster
