#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "sinkhost/runtime/connector_metrics.hpp"
#include "sinkhost/runtime/connector_worker.hpp"
#include "sinkhost/runtime/embedded_log/event_log.hpp"
#include "sinkhost/runtime/source.hpp"
#include "sinkhost/runtime/plugin_registry.hpp"
#include "sinkhost/runtime/secrets/redaction.hpp"
#include "sinkhost/runtime/secrets/secret_box.hpp"
#include "sinkhost/runtime/definition_store.hpp"

namespace sinkhost::runtime {

class ConnectorSettings;
class RestartScheduler;

// A stopped connector that restarts by itself (autoRestart:*): the how-manyth consecutive
// restart it waits for, of how many, and when (milliseconds since the epoch).
struct PendingRestart {
  std::int64_t attempt = 0;
  std::int64_t max_attempts = 0;
  std::int64_t at_ms = 0;
};

// What the management API shows of a connector. Secret settings hold kSecretMask: their values
// are never part of a view, so no route can show them.
struct ConnectorView {
  ConnectorDefinition definition;
  ConnectorState state = ConnectorState::stopped;
  std::int64_t state_update_time_ms = 0;
  std::shared_ptr<const ConnectorMetrics> metrics;
  // A STOPPED connector whose run failed (errorDetails says why) and that restarts by itself.
  std::optional<PendingRestart> restart;
  // In a cluster: the host that runs the connector (empty until one reported it); on a single
  // host: empty.
  std::string owner;

  // The transient problem the sink keeps retrying through (a broker down), while it lasts. Only
  // a RUNNING connector has one: a condition a sink reports while it is still being opened
  // (ACTIVATING) shows from the moment the connector runs, never on a connector not running yet.
  // The sink wrote its message while running: a secret it quotes is masked, as in the log.
  std::optional<ConnectorMetrics::Condition> warning() const {
    if (state != ConnectorState::running || !metrics) return std::nullopt;
    auto condition = metrics->degraded();
    if (!condition) condition = source_warning();
    if (condition) condition->message = SecretRedactor::global().redact(condition->message);
    return condition;
  }

  // How far the committed checkpoint is behind the source's head (commit positions: events on the
  // embedded log, bytes of the transaction log on KurrentDB).
  std::uint64_t lag(std::uint64_t head) const {
    const std::uint64_t committed = definition.checkpoint ? definition.checkpoint->commit : 0;
    return head > committed ? head - committed : 0;
  }

 private:
  // While the source reconnects to its store: its last error.
  std::optional<ConnectorMetrics::Condition> source_warning() const {
    auto health = metrics->source_health();
    if (health.state != SourceHealth::State::reconnecting || !health.last_error) return std::nullopt;
    return ConnectorMetrics::Condition{connector::code_name(health.last_error->code), health.last_error->message};
  }
};

struct ListQuery {
  std::vector<ConnectorState> states;            // empty: any
  std::vector<std::string> instance_type_names;  // canonical type names; empty: any
  std::vector<std::string> connector_ids;        // empty: any
  bool show_deleted = false;
  std::size_t page = 1;  // 1-based
  std::size_t page_size = 100;
};

struct ListResult {
  std::vector<ConnectorView> items;  // the page
  std::size_t total_size = 0;        // every match
};

// The connectors of this host: commands and queries, with KurrentDB's state machine:
// create -> STOPPED; start (refused while ACTIVATING or RUNNING) -> ACTIVATING -> RUNNING;
// stop (idempotent) -> DEACTIVATING -> STOPPED; a failure -> STOPPED with errorDetails (and,
// with autoRestart:maxAttempts and an error that may clear, a restart after a backoff, which a
// start, stop, reset or delete cancels);
// reset, delete: only when STOPPED; reconfigure, rename: in any state (settings take effect
// at the next start). Deleted connectors are kept (soft delete) and answer 404 to commands.
//
// Locking: commands are serialized by one mutex, which may be held while a worker is joined;
// workers never take it (their hooks lock only their own entry), so a join cannot deadlock.
// Queries take only the map lock and the entries' locks, so they answer while a stop waits.
//
// Secrets: the values of settings the tables mark secret are encrypted with `secrets` before
// anything is stored, kept encrypted in memory, and decrypted only to start the connector.
// Without `secrets` (no data protection token), a secret setting is refused with a 400 that
// says how to give a token. A reconfigure that sends kSecretMask for a secret setting keeps
// its stored value.
class ConnectorService {
 public:
  // Connectors read `source` and save their checkpoints in `store`.
  ConnectorService(EventSource& source, DefinitionStore& store, const PluginRegistry& plugins,
                   std::shared_ptr<const SecretBox> secrets = nullptr);
  // The same on the embedded log (an EmbeddedLogSource the service owns).
  ConnectorService(EventLog& log, DefinitionStore& store, const PluginRegistry& plugins,
                   std::shared_ptr<const SecretBox> secrets = nullptr);
  ~ConnectorService();

  // Loads the stored connectors and starts those the user left running. Secret settings an
  // older sinkhost stored in clear are encrypted now (refused without a token).
  Result<void> restore();

  // Checks settings without storing anything: the sink type must be known and every setting
  // valid for it. Returns the canonical settings, secret values masked.
  Result<connector::Settings> validate(const connector::Settings& settings) const;
  // One warning per KurrentDB setting in `settings` that is accepted without effect here
  // (SettingSpec::no_effect); none when the type is unknown (validation reports that).
  std::vector<connector::FieldViolation> setting_warnings(const connector::Settings& settings) const;
  // Validates, then tries the settings against the real destination (the plugin's connection
  // check) within `timeout`. Refused for a plugin that has no connection check.
  Result<connector::ConnectionCheck> check_connection(const connector::Settings& settings,
                                                      std::chrono::milliseconds timeout) const;

  Result<void> create(const std::string& id, const std::optional<std::string>& name,
                      const connector::Settings& settings);
  Result<void> reconfigure(const std::string& id, const connector::Settings& settings);
  // `from`: deliver from this log position (inclusive) instead of after the checkpoint.
  Result<void> start(const std::string& id, std::optional<LogPosition> from = std::nullopt);
  Result<void> stop(const std::string& id);
  // Needs a stopped connector: moves its checkpoint so that it delivers from `to` (inclusive),
  // or from the first event when absent, and starts it (KurrentDB's reset).
  Result<void> reset(const std::string& id, std::optional<LogPosition> to = std::nullopt);
  Result<void> rename(const std::string& id, const std::string& name);
  Result<void> remove(const std::string& id);

  ListResult list(const ListQuery& query = {}) const;
  Result<ConnectorView> get(const std::string& id) const;

  const PluginRegistry& plugins() const { return plugins_; }
  // Where the host's connectors read their events.
  const EventSource& source() const { return source_; }
  // True once restore() has run: the host is ready to serve (GET /ready).
  bool restored() const { return restored_.load(std::memory_order_acquire); }

  // Stops every worker, keeping the state the user asked for, so that connectors left
  // running run again at the next start of the host.
  void shutdown();

  // ---- Cluster mode (docs/architecture.md, "Cluster mode") ----
  // Every host keeps a copy of every connector's definition and runs those placed on it.
  // Commands work on any host: they change the definition in the store (the cluster's tables),
  // and the host the connector is placed on runs it as the definition says.
  struct ClusterMembership {
    std::string host_id;
    // A connector placed here changed state (from a worker's or a command's thread): the
    // view to publish.
    std::function<void(const ConnectorView& view)> state_changed;
    // Whether this host's connectors may hand new records to their sinks (false while it may
    // have lost them to another host: ConnectorWorker::Options::may_deliver).
    std::function<bool()> may_deliver;
  };
  // Before restore(): from here on a connector runs here only once adopted.
  void join_cluster(ClusterMembership membership);
  // A definition the store holds now (any host's write): updates this host's copy. When the
  // connector is placed here, it starts when the user asked it to run and stopped (from
  // definition.checkpoint), and stops when they asked it to stop.
  void replicate(const ConnectorDefinition& definition);
  // The connector is placed on this host now (its slot was assigned here): as replicate, from
  // definition.checkpoint, and its state is published from now on.
  void adopt(const ConnectorDefinition& definition);
  // The connectors are no longer placed here: their runs stop, all at once (the run the user
  // asked for stays).
  void release(const std::vector<std::string>& ids);
  // What the host a connector is placed on reports of its run (ignored when it is placed here).
  struct ReplicaStatus {
    std::string owner;
    ConnectorState state = ConnectorState::stopped;
    std::int64_t state_update_time_ms = 0;
    std::optional<ErrorDetails> error;
    std::optional<SourcePosition> checkpoint;
  };
  void show_status(const std::string& id, const ReplicaStatus& status);

 private:
  struct Entry;
  std::shared_ptr<Entry> find(const std::string& id) const;  // deleted ones included
  Result<std::shared_ptr<Entry>> find_live(const std::string& id) const;
  Result<void> start_locked(const std::shared_ptr<Entry>& entry, std::optional<LogPosition> from);
  ConnectorWorker::Hooks worker_hooks(const std::shared_ptr<Entry>& entry, const std::string& id);
  void run_ended(Entry& entry, const std::string& id, std::optional<Error> error);
  // Under the entry's lock: the restart a failed run gets, if any (counted, ticket drawn).
  std::optional<std::chrono::milliseconds> plan_restart(Entry& entry, const Error& error, bool progressed);
  // From the restart scheduler's thread.
  void restart_due(const std::string& id, std::uint64_t ticket);
  Result<void> require_stopped(const std::shared_ptr<Entry>& entry, const char* command) const;
  // Cluster mode (connector_replicas.cpp); the commands mutex is held.
  std::shared_ptr<Entry> replica_entry(const ConnectorDefinition& definition);
  void follow_run_requested(const std::shared_ptr<Entry>& entry, std::optional<SourcePosition> checkpoint);
  // Hands a connector's view to the cluster when it is placed here (no lock of it held).
  void report_state(const Entry& entry);
  // A start of a connector placed on another host: only the run the user asked for is stored.
  Result<void> request_run_elsewhere(const std::shared_ptr<Entry>& entry);

  std::unique_ptr<EventSource> owned_source_;
  EventSource& source_;
  DefinitionStore& store_;
  const PluginRegistry& plugins_;
  // Checking, sealing and unsealing settings (runtime/src/connector_settings.hpp).
  std::unique_ptr<const ConnectorSettings> settings_;

  std::unique_ptr<RestartScheduler> restarts_;

  std::mutex commands_mutex_;
  mutable std::mutex map_mutex_;
  std::map<std::string, std::shared_ptr<Entry>> entries_;
  std::atomic<bool> shutting_down_{false};
  std::atomic<bool> restored_{false};
  std::unique_ptr<const ClusterMembership> cluster_;  // set once, before restore()
};

}  // namespace sinkhost::runtime
