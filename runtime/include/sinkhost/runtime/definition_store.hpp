#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "sinkhost/connector/position.hpp"
#include "sinkhost/connector/result.hpp"
#include "sinkhost/connector/settings.hpp"
#include "sinkhost/runtime/checkpoint_store.hpp"

namespace sinkhost::runtime {

using connector::LogPosition;
using connector::Result;
using connector::Settings;

// What went wrong the last time a connector ran (shown as `errorDetails`).
struct ErrorDetails {
  std::string code;
  std::string message;

  bool operator==(const ErrorDetails&) const = default;
};

// Secret setting name -> its value encrypted by SecretBox ("sinkhost:enc:v1:...").
using SealedSettings = std::map<std::string, std::string>;

// A connector as the user defined it, plus what must survive a restart.
struct ConnectorDefinition {
  std::string id;
  std::string name;
  std::string instance_type_name;
  // What every route shows: secret settings hold the mask (kSecretMask), never their value.
  Settings settings;
  // The values of the secret settings, encrypted; decrypted only to start the connector.
  SealedSettings sealed_settings;
  bool run_requested = false;                // the state the user asked for: started or stopped
  std::optional<SourcePosition> checkpoint;  // last committed position
  std::optional<ErrorDetails> error;
  std::int64_t create_time_ms = 0;
  std::int64_t update_time_ms = 0;
  std::int64_t settings_update_time_ms = 0;
  std::optional<std::int64_t> delete_time_ms;  // set: soft-deleted

  bool operator==(const ConnectorDefinition&) const = default;
};

// Where the connector service keeps its connectors' definitions and checkpoints: the state
// store (state.db) on a single host, Kafka's compacted topics in a cluster. Thread-safe: a
// connector's delivery thread saves checkpoints while commands save definitions.
class DefinitionStore : public CheckpointStore {
 public:
  // Every stored connector, deleted ones included, oldest first.
  virtual Result<std::vector<ConnectorDefinition>> load_all() = 0;
  // Inserts or replaces the definition (name, type, settings, run-requested, times, deletion);
  // leaves the checkpoint and error alone.
  virtual Result<void> save_definition(const ConnectorDefinition& definition) = 0;
  // Replaces everything stored for the connector, checkpoint and error included (create on a
  // deleted id, delete).
  virtual Result<void> replace(const ConnectorDefinition& definition) = 0;
  virtual Result<void> save_run_requested(const std::string& id, bool run_requested) = 0;
  virtual Result<void> save_error(const std::string& id, const std::optional<ErrorDetails>& error) = 0;
  // Rewrites the storage so that values replaced since (old ciphertexts, clear-text secrets of
  // an older version) are gone from every file; nothing to do where nothing is kept in files.
  virtual Result<void> compact() { return {}; }
};

}  // namespace sinkhost::runtime
