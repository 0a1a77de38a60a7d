#pragma once

#include <atomic>
#include <chrono>
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
#include "sinkhost/runtime/state_store.hpp"

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

const char* to_string(ConnectorState state);  // "CONNECTOR_STATE_RUNNING", ...

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
  ConnectorService(EventSource& source, StateStore& store, const PluginRegistry& plugins,
                   std::shared_ptr<const SecretBox> secrets = nullptr);
  // The same on the embedded log (an EmbeddedLogSource the service owns).
  ConnectorService(EventLog& log, StateStore& store, const PluginRegistry& plugins,
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

  std::unique_ptr<EventSource> owned_source_;
  EventSource& source_;
  StateStore& store_;
  const PluginRegistry& plugins_;
  // Checking, sealing and unsealing settings (runtime/src/connector_settings.hpp).
  std::unique_ptr<const ConnectorSettings> settings_;

  std::unique_ptr<RestartScheduler> restarts_;

  std::mutex commands_mutex_;
  mutable std::mutex map_mutex_;
  std::map<std::string, std::shared_ptr<Entry>> entries_;
  std::atomic<bool> shutting_down_{false};
  std::atomic<bool> restored_{false};
};

}  // namespace sinkhost::runtime
