#pragma once

#include <array>
#include <memory>
#include <set>
#include <span>
#include <string>
#include <vector>

#include "sinkhost/connector/plugin.hpp"
#include "sinkhost/connector/result.hpp"
#include "sinkhost/runtime/common_settings.hpp"
#include "sinkhost/runtime/plugin_registry.hpp"
#include "sinkhost/runtime/record_filter.hpp"
#include "sinkhost/runtime/secrets/redaction.hpp"
#include "sinkhost/runtime/secrets/secret_box.hpp"
#include "sinkhost/runtime/secrets/token.hpp"
#include "sinkhost/runtime/state_store.hpp"

namespace sinkhost::runtime {

// The settings of connectors, apart from their lifecycle: which tables apply to a type (the
// common table and the plugin's), checking a whole settings map, and sealing and unsealing
// secret values with the data protection box. Without a box (no token), a secret setting is
// refused with a message that says how to give one.
// Thread-safety: immutable after construction; every function may run on any thread.
class ConnectorSettings {
 public:
  // Wipes the values of `keys` in `settings` (the secret ones a checked or running map holds).
  template <class Keys>
  static void wipe_values(connector::Settings& settings, const Keys& keys) {
    for (const auto& key : keys) {
      if (auto it = settings.find(key); it != settings.end()) wipe(it->second);
    }
  }

  using Tables = SettingsTables;

  ConnectorSettings(const PluginRegistry& plugins, std::shared_ptr<const SecretBox> secrets)
      : plugins_(plugins), secrets_(std::move(secrets)) {}

  static Tables tables_of(const connector::SinkDescriptor& descriptor);

  // Settings that passed validation. Secret values are in clear here (or the mask, for those a
  // reconfigure keeps): they are wiped when this goes away.
  struct Checked {
    connector::Settings settings;  // canonical
    std::string type_name;         // the plugin's own name for the type given
    std::set<std::string> secret_keys;
    std::set<std::string> kept;  // secret keys sent as the mask: the stored value stays

    Checked() = default;
    Checked(Checked&&) = default;
    Checked& operator=(Checked&&) = default;
    ~Checked() { wipe_values(settings, secret_keys); }
  };

  // Validates `settings` for a connector: the type must be known and every setting valid for
  // it, with the rules across settings. `stored`: the encrypted values a mask may keep
  // (reconfigure). The result holds secret values in clear and wipes them.
  Result<Checked> check(const connector::Settings& settings, const std::string& connector_id,
                        const SealedSettings* stored) const;
  // The settings to store and show (secrets masked) and the encrypted values, from `checked`.
  void protect(const Checked& checked, const std::string& connector_id, const SealedSettings& stored,
               ConnectorDefinition& definition) const;
  // Encrypts the secret settings an older sinkhost stored in clear; returns how many (the
  // caller stores the definition again when there were any).
  Result<std::size_t> seal_clear_secrets(ConnectorDefinition& definition) const;
  // One warning per KurrentDB setting accepted without effect here.
  std::vector<connector::FieldViolation> warnings(const connector::Settings& settings) const;

  // What one run of a connector gets: its settings with defaults and with the secret values
  // decrypted (wiped when this goes away unless moved to the worker), its filter, its plugin.
  struct ForRun {
    connector::Settings settings;
    CommonSettings common;                 // `settings` parsed with the common table
    std::vector<std::string> secret_keys;  // the settings that hold decrypted secret values
    std::shared_ptr<const RecordFilter> filter;
    const connector::SinkDescriptor* descriptor = nullptr;

    ForRun() = default;
    ForRun(ForRun&&) = default;
    ForRun& operator=(ForRun&&) = default;
    ~ForRun() { wipe_values(settings, secret_keys); }
  };
  // Fails (failed_precondition) when the type is not loaded or a secret cannot be decrypted.
  Result<ForRun> for_run(const ConnectorDefinition& definition) const;

 private:
  // The plugin `settings` name in instanceTypeName (case-insensitive), or the error that lists
  // the known types.
  Result<const connector::SinkDescriptor*> type_of(const connector::Settings& settings) const;
  std::vector<connector::FieldViolation> reveal_kept_secrets(const connector::Settings& accepted, const Tables& tables,
                                                             const std::string& connector_id,
                                                             const SealedSettings* stored,
                                                             connector::Settings& effective,
                                                             std::vector<SecretBytes>& opened) const;

  const PluginRegistry& plugins_;
  std::shared_ptr<const SecretBox> secrets_;
};

}  // namespace sinkhost::runtime
