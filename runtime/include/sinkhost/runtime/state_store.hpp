#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "sinkhost/connector/result.hpp"
#include "sinkhost/runtime/definition_store.hpp"

namespace sinkhost::runtime {

// How the data protection key of a data directory is derived from its token, and the proof
// that a token is the right one (see secrets/secret_box.hpp). One per state.db.
struct DataProtectionRecord {
  int format = 1;
  std::string kdf;            // "argon2id13" (passphrases) or "blake2b" (generated tokens)
  std::string salt;           // random bytes
  std::int64_t opslimit = 0;  // Argon2id only
  std::int64_t memlimit = 0;  // Argon2id only
  std::string verifier;       // a known text sealed with the key
};

// Persists connector definitions and checkpoints in SQLite (state.db in the data directory).
// Thread-safe: every call takes the store's mutex.
class StateStore final : public DefinitionStore {
 public:
  static Result<std::unique_ptr<StateStore>> open(const std::string& path);
  ~StateStore() override;

  // DefinitionStore
  Result<std::vector<ConnectorDefinition>> load_all() override;
  Result<void> save_definition(const ConnectorDefinition& definition) override;
  Result<void> replace(const ConnectorDefinition& definition) override;
  Result<void> save_run_requested(const std::string& id, bool run_requested) override;
  Result<void> save_error(const std::string& id, const std::optional<ErrorDetails>& error) override;
  // nullopt clears the checkpoint.
  Result<void> save_checkpoint(const std::string& id, std::optional<SourcePosition> position);
  // CheckpointStore: a connector's delivery thread commits here. Stores the commit position.
  Result<void> save_checkpoint(const std::string& id, SourcePosition position) override {
    return save_checkpoint(id, std::optional<SourcePosition>(position));
  }

  // The data protection record; nullopt before a token was first given.
  Result<std::optional<DataProtectionRecord>> load_data_protection();
  // Stores the first record; refused when one exists (the key of a data directory changes only
  // through reseal_all).
  Result<void> create_data_protection(const DataProtectionRecord& record);
  // How many connectors, deleted ones included, have encrypted settings.
  Result<std::size_t> count_sealed();

  // Token rotation, all-or-nothing: in one transaction, `reseal` turns every stored encrypted
  // value (connector id, setting name, old value) into its new value, and `record` replaces the
  // data protection record. The first error rolls everything back. Returns how many values
  // were re-encrypted.
  using Resealer =
      std::function<Result<std::string>(const std::string& id, const std::string& setting, const std::string& sealed)>;
  Result<std::size_t> reseal_all(const DataProtectionRecord& record, const Resealer& reseal);

  // Rewrites state.db without free pages and empties its WAL, so that values replaced since
  // (old ciphertexts, clear-text secrets of an older version) are gone from every file.
  Result<void> compact() override;

 private:
  struct Impl;
  explicit StateStore(std::unique_ptr<Impl> impl);
  std::mutex mutex_;
  std::unique_ptr<Impl> impl_;
};

}  // namespace sinkhost::runtime
