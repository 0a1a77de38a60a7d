#include "connector_settings.hpp"

#include <algorithm>

#include "sinkhost/runtime/common_settings.hpp"
#include "sinkhost/runtime/transform.hpp"

namespace sinkhost::runtime {

using connector::ErrorCode;
using connector::make_error;

namespace {

using Tables = ConnectorSettings::Tables;

// Which settings are secret comes from the tables, never from the values.
bool is_secret(const Tables& tables, std::string_view key) {
  for (auto table : tables) {
    if (const auto* spec = connector::find_spec(table, key)) return spec->secret;
  }
  return false;
}

void wipe_secret_values(connector::Settings& settings, const Tables& tables) {
  for (auto& [key, value] : settings) {
    if (is_secret(tables, key)) wipe(value);
  }
}

}  // namespace

ConnectorSettings::Tables ConnectorSettings::tables_of(const connector::SinkDescriptor& descriptor) {
  return settings_tables(descriptor);
}

Result<std::size_t> ConnectorSettings::seal_clear_secrets(ConnectorDefinition& definition) const {
  const auto* descriptor = plugins_.find(definition.instance_type_name);
  if (descriptor == nullptr) return std::size_t{0};  // its start will say the type is missing
  const auto tables = tables_of(*descriptor);
  std::size_t count = 0;
  for (auto& [key, value] : definition.settings) {
    if (!is_secret(tables, key) || definition.sealed_settings.contains(key) || value == kSecretMask) continue;
    if (!secrets_) {
      return make_error(ErrorCode::failed_precondition,
                        "state.db holds the secret setting '" + key + "' of connector '" + definition.id +
                            "' in clear text, as an older sinkhost stored it; to encrypt it at this start, " +
                            std::string(kTokenHelp));
    }
    definition.sealed_settings[key] = secrets_->seal(definition.id, key, value);
    wipe(value);
    value = kSecretMask;
    ++count;
  }
  return count;
}

namespace {

// The violations of one check, at most one per setting (the first found).
class Violations {
 public:
  explicit Violations(std::vector<connector::FieldViolation> first) : list_(std::move(first)) {}
  void add(std::vector<connector::FieldViolation> more) {
    for (auto& v : more) {
      bool known = std::any_of(list_.begin(), list_.end(), [&](const auto& x) { return x.field == v.field; });
      if (!known) list_.push_back(std::move(v));
    }
  }
  bool empty() const { return list_.empty(); }
  std::vector<connector::FieldViolation>& list() { return list_; }

 private:
  std::vector<connector::FieldViolation> list_;
};

}  // namespace

Result<const connector::SinkDescriptor*> ConnectorSettings::type_of(const connector::Settings& settings) const {
  const connector::SinkDescriptor* descriptor = nullptr;
  std::optional<std::string> given;
  for (const auto& [key, value] : settings) {
    if (connector::iequals(key, "instanceTypeName")) {
      given = value;
      descriptor = plugins_.find(value);
    }
  }
  if (descriptor != nullptr) return descriptor;
  std::string known;
  for (const auto* d : plugins_.all()) known += (known.empty() ? "" : ", ") + d->type_name;
  return make_error(ErrorCode::invalid_argument, "the connector settings are not valid",
                    {{"instanceTypeName", given ? "unknown connector type '" + *given + "'; known types: " + known
                                                : "required; known types: " + known}});
}

// Rules across settings see the real values: each secret of `accepted` sent as the mask is
// replaced in `effective` by its stored value, decrypted (and kept in `opened`, which wipes it).
std::vector<connector::FieldViolation> ConnectorSettings::reveal_kept_secrets(
    const connector::Settings& accepted, const Tables& tables, const std::string& connector_id,
    const SealedSettings* stored, connector::Settings& effective, std::vector<SecretBytes>& opened) const {
  std::vector<connector::FieldViolation> violations;
  for (const auto& [key, value] : accepted) {
    if (!is_secret(tables, key)) continue;
    if (!secrets_) {
      violations.push_back({key,
                            "a secret setting is stored encrypted, and this host has no data protection token "
                            "to encrypt it with: " +
                                std::string(kTokenHelp)});
      continue;
    }
    if (value != kSecretMask) continue;
    auto it = stored != nullptr ? stored->find(key) : SealedSettings::const_iterator();
    if (stored == nullptr || it == stored->end()) {
      violations.push_back({key, std::string(kSecretMask) + " stands for the stored value of a secret setting, and "
                                                            "this connector has none: send the value itself"});
      continue;
    }
    auto plain = secrets_->unseal(connector_id, key, it->second);
    if (!plain.ok()) {
      violations.push_back(
          {key, "the stored value cannot be kept (" + plain.error().message + "): send the value itself"});
      continue;
    }
    auto& slot = effective[key];
    wipe(slot);
    slot.assign(plain->view());
    opened.push_back(std::move(plain).value());
  }
  return violations;
}

Result<ConnectorSettings::Checked> ConnectorSettings::check(const connector::Settings& settings,
                                                            const std::string& connector_id,
                                                            const SealedSettings* stored) const {
  auto descriptor = type_of(settings);
  if (!descriptor.ok()) return descriptor.error();
  const auto tables = tables_of(**descriptor);
  connector::Settings accepted;
  auto canonical = connector::validate_settings(settings, tables, &accepted);
  Violations violations(canonical.ok() ? std::vector<connector::FieldViolation>() : canonical.error().field_violations);

  // Rules across settings, checked on what passed so that one answer lists every problem: the
  // subscription filter must compile, and the plugin's own rules must hold. They see the real
  // values: a kept secret is decrypted for them (a PEM key is checked for its form).
  auto effective = connector::with_defaults(accepted, tables);
  std::vector<SecretBytes> opened;
  violations.add(reveal_kept_secrets(accepted, tables, connector_id, stored, effective, opened));
  const auto common = CommonSettings::from(effective);
  if (auto filter = RecordFilter::from(common.filter); !filter.ok()) violations.add(filter.error().field_violations);
  violations.add(check_transform(common.transformer));
  if ((*descriptor)->check != nullptr) violations.add((*descriptor)->check(effective));
  wipe_secret_values(effective, tables);

  if (!violations.empty()) {
    // A plugin's message might quote the value it refused; a secret one must not come back.
    std::vector<std::string_view> secret_values;
    for (const auto& [key, value] : accepted) {
      if (is_secret(tables, key) && value != kSecretMask) secret_values.push_back(value);
    }
    for (const auto& plain : opened) secret_values.push_back(plain.view());
    for (auto& v : violations.list()) v.description = redact(v.description, secret_values);
    wipe_secret_values(accepted, tables);
    if (canonical.ok()) wipe_secret_values(*canonical, tables);
    return make_error(ErrorCode::invalid_argument, "the connector settings are not valid",
                      std::move(violations.list()));
  }
  wipe_secret_values(accepted, tables);
  Checked out;
  out.settings = std::move(canonical).value();
  // Stored under the type's own name, so that lists and filters see one spelling.
  out.type_name = (*descriptor)->type_name;
  out.settings.at("instanceTypeName") = out.type_name;
  for (const auto& [key, value] : out.settings) {
    if (!is_secret(tables, key)) continue;
    out.secret_keys.insert(key);
    if (value == kSecretMask) out.kept.insert(key);
  }
  return out;
}

void ConnectorSettings::protect(const Checked& checked, const std::string& connector_id, const SealedSettings& stored,
                                ConnectorDefinition& definition) const {
  definition.settings.clear();
  definition.sealed_settings.clear();
  for (const auto& [key, value] : checked.settings) {
    if (!checked.secret_keys.contains(key)) {
      definition.settings.emplace(key, value);
      continue;
    }
    definition.settings.emplace(key, std::string(kSecretMask));
    // check() let a secret through only with a key, and a mask only with a stored value.
    definition.sealed_settings.emplace(
        key, checked.kept.contains(key) ? stored.at(key) : secrets_->seal(connector_id, key, value));
  }
}

std::vector<connector::FieldViolation> ConnectorSettings::warnings(const connector::Settings& settings) const {
  for (const auto& [key, value] : settings) {
    if (!connector::iequals(key, "instanceTypeName")) continue;
    if (const auto* descriptor = plugins_.find(value))
      return connector::setting_warnings(settings, tables_of(*descriptor));
  }
  return {};
}

Result<ConnectorSettings::ForRun> ConnectorSettings::for_run(const ConnectorDefinition& definition) const {
  ForRun run;
  run.descriptor = plugins_.find(definition.instance_type_name);
  if (run.descriptor == nullptr) {
    return make_error(ErrorCode::failed_precondition,
                      "connector type '" + definition.instance_type_name + "' is not loaded on this host");
  }
  const auto tables = tables_of(*run.descriptor);
  run.settings = connector::with_defaults(definition.settings, tables);
  run.common = CommonSettings::from(run.settings);
  auto filter = RecordFilter::from(run.common.filter);
  if (!filter.ok()) return filter.error();
  run.filter = std::move(filter).value();
  if (!definition.sealed_settings.empty() && !secrets_) {
    return make_error(ErrorCode::failed_precondition, "connector '" + definition.id +
                                                          "' has encrypted secret settings and this host has no data "
                                                          "protection token to decrypt them: " +
                                                          std::string(kTokenHelp));
  }
  for (const auto& [key, value] : run.settings) {
    if (value == kSecretMask && is_secret(tables, key) && !definition.sealed_settings.contains(key)) {
      return make_error(ErrorCode::failed_precondition, "the secret setting '" + key + "' of connector '" +
                                                            definition.id +
                                                            "' has no stored value; set it again with "
                                                            "PUT /connectors/" +
                                                            definition.id + "/settings");
    }
  }
  for (const auto& [key, sealed] : definition.sealed_settings) {
    auto plain = secrets_->unseal(definition.id, key, sealed);
    if (!plain.ok()) {
      return make_error(ErrorCode::failed_precondition,
                        "the secret setting '" + key + "' of connector '" + definition.id +
                            "' cannot be decrypted: " + plain.error().message + "; set it again with PUT /connectors/" +
                            definition.id + "/settings");
    }
    auto& slot = run.settings[key];
    wipe(slot);
    slot.assign(plain->view());
    run.secret_keys.push_back(key);
  }
  return run;
}

}  // namespace sinkhost::runtime
