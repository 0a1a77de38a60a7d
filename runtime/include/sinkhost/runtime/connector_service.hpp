#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "sinkhost/runtime/connector_worker.hpp"
#include "sinkhost/runtime/event_log.hpp"
#include "sinkhost/runtime/plugin_registry.hpp"
#include "sinkhost/runtime/state_store.hpp"

namespace sinkhost::runtime {

// What the management API shows of a connector.
struct ConnectorView {
  ConnectorDefinition definition;
  ConnectorState state = ConnectorState::stopped;
  std::int64_t state_update_time_ms = 0;
};

const char* to_string(ConnectorState state);  // "CONNECTOR_STATE_RUNNING", ...

// The connectors of this host: commands (create, start, stop) and queries (list, get).
//
// Locking: commands are serialized by one mutex, which may be held while a worker is joined;
// workers never take it (their hooks lock only their own entry), so a join cannot deadlock.
// Queries take only the map lock and the entries' locks, so they answer while a stop waits.
class ConnectorService {
 public:
  ConnectorService(EventLog& log, StateStore& store, const PluginRegistry& plugins);
  ~ConnectorService();

  // Loads the stored connectors and starts those the user left running.
  Result<void> restore();

  // Checks settings without storing anything: the sink type must be known and every setting
  // valid for it. Returns the canonical settings.
  Result<connector::Settings> validate(const connector::Settings& settings) const;

  Result<void> create(const std::string& id, const std::optional<std::string>& name,
                      const connector::Settings& settings);
  Result<void> start(const std::string& id);
  Result<void> stop(const std::string& id);

  std::vector<ConnectorView> list() const;
  Result<ConnectorView> get(const std::string& id) const;

  // Stops every worker, keeping the state the user asked for, so that connectors left
  // running run again at the next start of the host.
  void shutdown();

 private:
  struct Entry;
  std::shared_ptr<Entry> find(const std::string& id) const;
  Result<void> start_locked(const std::shared_ptr<Entry>& entry);

  EventLog& log_;
  StateStore& store_;
  const PluginRegistry& plugins_;

  std::mutex commands_mutex_;
  mutable std::mutex map_mutex_;
  std::map<std::string, std::shared_ptr<Entry>> entries_;
  std::atomic<bool> shutting_down_{false};
};

}  // namespace sinkhost::runtime
