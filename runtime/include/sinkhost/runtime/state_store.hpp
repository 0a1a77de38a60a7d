#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "sinkhost/connector/position.hpp"
#include "sinkhost/connector/result.hpp"
#include "sinkhost/connector/settings.hpp"

namespace sinkhost::runtime {

using connector::LogPosition;
using connector::Result;
using connector::Settings;

// What went wrong the last time a connector ran (shown as `errorDetails`).
struct ErrorDetails {
  std::string code;
  std::string message;
};

// A connector as the user defined it, plus what must survive a restart.
struct ConnectorDefinition {
  std::string id;
  std::string name;
  std::string instance_type_name;
  Settings settings;
  bool run_requested = false;            // the state the user asked for: started or stopped
  std::optional<LogPosition> checkpoint; // last committed position
  std::optional<ErrorDetails> error;
  std::int64_t create_time_ms = 0;
  std::int64_t update_time_ms = 0;
  std::int64_t settings_update_time_ms = 0;
  std::optional<std::int64_t> delete_time_ms;  // set: soft-deleted
};

// Persists connector definitions and checkpoints in SQLite (state.db in the data directory).
// Thread-safe: every call takes the store's mutex.
class StateStore {
 public:
  static Result<std::unique_ptr<StateStore>> open(const std::string& path);
  ~StateStore();

  Result<std::vector<ConnectorDefinition>> load_all();
  // Inserts or replaces the definition columns (name, type, settings, run-requested, times,
  // deletion); leaves the checkpoint and error alone.
  Result<void> save_definition(const ConnectorDefinition& definition);
  // Replaces everything stored for the connector, checkpoint and error included (create on a
  // deleted id).
  Result<void> replace(const ConnectorDefinition& definition);
  // nullopt clears the checkpoint.
  Result<void> save_checkpoint(const std::string& id, std::optional<LogPosition> position);
  Result<void> save_run_requested(const std::string& id, bool run_requested);
  Result<void> save_error(const std::string& id, const std::optional<ErrorDetails>& error);

 private:
  struct Impl;
  explicit StateStore(std::unique_ptr<Impl> impl);
  std::mutex mutex_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace sinkhost::runtime
