#include "sinkhost/runtime/connector_service.hpp"

#include <algorithm>
#include <chrono>
#include <condition_variable>

#include <spdlog/spdlog.h>

#include "auto_restart.hpp"
#include "connector_entry.hpp"
#include "connector_settings.hpp"
#include "sinkhost/runtime/embedded_log/log_source.hpp"

namespace sinkhost::runtime {

using connector::ErrorCode;
using connector::make_error;

namespace {

bool valid_connector_id(const std::string& id) {
  if (id.size() < 5 || id.size() > 50) return false;
  return std::all_of(id.begin(), id.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
  });
}

std::optional<connector::FieldViolation> check_name(const std::string& name) {
  if (name.size() < 3 || name.size() > 50) return connector::FieldViolation{"name", "must be 3 to 50 characters long"};
  return std::nullopt;
}

}  // namespace

ConnectorService::ConnectorService(EventSource& source, DefinitionStore& store, const PluginRegistry& plugins,
                                   std::shared_ptr<const SecretBox> secrets)
    : source_(source),
      store_(store),
      plugins_(plugins),
      settings_(std::make_unique<ConnectorSettings>(plugins, std::move(secrets))),
      restarts_(std::make_unique<RestartScheduler>(
          [this](const std::string& id, std::uint64_t ticket) { restart_due(id, ticket); })) {}

ConnectorService::ConnectorService(EventLog& log, DefinitionStore& store, const PluginRegistry& plugins,
                                   std::shared_ptr<const SecretBox> secrets)
    : owned_source_(std::make_unique<EmbeddedLogSource>(log)),
      source_(*owned_source_),
      store_(store),
      plugins_(plugins),
      settings_(std::make_unique<ConnectorSettings>(plugins, std::move(secrets))),
      restarts_(std::make_unique<RestartScheduler>(
          [this](const std::string& id, std::uint64_t ticket) { restart_due(id, ticket); })) {}

ConnectorService::~ConnectorService() { shutdown(); }

std::shared_ptr<ConnectorService::Entry> ConnectorService::find(const std::string& id) const {
  std::lock_guard lock(map_mutex_);
  auto it = entries_.find(id);
  return it == entries_.end() ? nullptr : it->second;
}

Result<std::shared_ptr<ConnectorService::Entry>> ConnectorService::find_live(const std::string& id) const {
  auto entry = find(id);
  if (!entry || entry->deleted()) return make_error(ErrorCode::not_found, "no connector with id '" + id + "'");
  return entry;
}

Result<void> ConnectorService::require_stopped(const std::shared_ptr<Entry>& entry, const char* command) const {
  std::lock_guard lock(entry->mutex);
  if (entry->view.state != ConnectorState::stopped) {
    return make_error(ErrorCode::failed_precondition, std::string(command) + " needs a stopped connector; '" +
                                                          entry->view.definition.id + "' is " +
                                                          to_string(entry->view.state) + ": stop it first");
  }
  return {};
}

Result<void> ConnectorService::restore() {
  auto definitions = store_.load_all();
  if (!definitions.ok()) return definitions.error();
  std::lock_guard commands(commands_mutex_);
  std::size_t protected_now = 0;
  for (auto& definition : *definitions) {
    auto count = settings_->seal_clear_secrets(definition);
    if (!count.ok()) return count.error();
    if (*count > 0) {
      if (auto saved = store_.save_definition(definition); !saved.ok()) return saved;
    }
    protected_now += *count;
  }
  if (protected_now > 0) {
    // The clear-text values must not survive in the WAL or in free pages either.
    if (auto compacted = store_.compact(); !compacted.ok()) return compacted;
    spdlog::warn(
        "encrypted {} secret settings that an older sinkhost had stored in clear text; backups of state.db "
        "taken before this start still hold them",
        protected_now);
  }
  for (auto& definition : *definitions) {
    auto entry = std::make_shared<Entry>();
    entry->placed_here = !cluster_;
    entry->view.definition = std::move(definition);
    entry->view.state_update_time_ms = now_ms();
    std::lock_guard lock(map_mutex_);
    entries_.emplace(entry->view.definition.id, entry);
  }
  for (auto& [id, entry] : entries_) {
    if (!entry->view.definition.run_requested || entry->view.definition.delete_time_ms) continue;
    if (!entry->placed_here) continue;  // a cluster's: its host runs it
    if (auto started = start_locked(entry, std::nullopt); !started.ok()) {
      spdlog::error("[{}] could not be started again: {}", id, started.error().message);
    }
  }
  restored_.store(true, std::memory_order_release);
  return {};
}

std::vector<connector::FieldViolation> ConnectorService::setting_warnings(const connector::Settings& settings) const {
  return settings_->warnings(settings);
}

Result<connector::Settings> ConnectorService::validate(const connector::Settings& settings) const {
  auto checked = settings_->check(settings, "", nullptr);
  if (!checked.ok()) return checked.error();
  connector::Settings shown;
  for (const auto& [key, value] : checked->settings) {
    shown.emplace(key, checked->secret_keys.contains(key) ? std::string(kSecretMask) : value);
  }
  return shown;
}

Result<connector::ConnectionCheck> ConnectorService::check_connection(const connector::Settings& settings,
                                                                      std::chrono::milliseconds timeout) const {
  auto checked = settings_->check(settings, "", nullptr);
  if (!checked.ok()) return checked.error();
  const auto* descriptor = plugins_.find(checked->type_name);
  if (descriptor == nullptr || descriptor->check_connection == nullptr) {
    return make_error(ErrorCode::invalid_argument, "the " + checked->type_name + " plugin has no connection check");
  }
  return descriptor->check_connection(checked->settings, timeout);
}

Result<void> ConnectorService::create(const std::string& id, const std::optional<std::string>& name,
                                      const connector::Settings& settings) {
  std::vector<connector::FieldViolation> violations;
  if (!valid_connector_id(id)) {
    violations.push_back({"connectorId", "must be 5 to 50 characters of A-Z, a-z, 0-9, '-' and '_'"});
  }
  if (name) {
    if (auto bad = check_name(*name)) violations.push_back(*bad);
  }
  if (!violations.empty()) {
    return make_error(ErrorCode::invalid_argument, "the connector cannot be created", std::move(violations));
  }
  auto checked = settings_->check(settings, id, nullptr);
  if (!checked.ok()) return checked.error();

  std::lock_guard commands(commands_mutex_);
  auto existing = find(id);
  if (existing && !existing->deleted()) {
    return make_error(ErrorCode::already_exists, "a connector with id '" + id + "' already exists");
  }

  // A deleted id may be used again: the new connector starts from scratch.
  auto entry = std::make_shared<Entry>();
  entry->placed_here = !cluster_;  // in a cluster, the host of its slot adopts it
  auto& d = entry->view.definition;
  d.id = id;
  d.name = name.value_or(id);
  d.instance_type_name = checked->type_name;
  settings_->protect(*checked, id, {}, d);
  d.create_time_ms = d.update_time_ms = d.settings_update_time_ms = now_ms();
  entry->view.state_update_time_ms = d.create_time_ms;
  if (auto saved = store_.replace(d); !saved.ok()) return saved;

  std::lock_guard lock(map_mutex_);
  entries_[id] = std::move(entry);
  spdlog::info("[{}] created ({})", id, d.instance_type_name);
  return {};
}

Result<void> ConnectorService::reconfigure(const std::string& id, const connector::Settings& settings) {
  // The connector first: a mask in `settings` keeps a value only this connector has stored.
  std::lock_guard commands(commands_mutex_);
  auto entry = find_live(id);
  if (!entry.ok()) return entry.error();
  ConnectorDefinition d = (*entry)->definition();
  const SealedSettings stored = d.sealed_settings;
  auto checked = settings_->check(settings, id, &stored);
  if (!checked.ok()) return checked.error();
  d.instance_type_name = checked->type_name;
  settings_->protect(*checked, id, stored, d);
  d.update_time_ms = d.settings_update_time_ms = now_ms();
  if (auto saved = store_.save_definition(d); !saved.ok()) return saved;
  std::lock_guard lock((*entry)->mutex);
  auto& v = (*entry)->view.definition;
  v.instance_type_name = d.instance_type_name;
  v.settings = d.settings;
  v.sealed_settings = d.sealed_settings;
  v.update_time_ms = v.settings_update_time_ms = d.settings_update_time_ms;
  spdlog::info("[{}] reconfigured; the new settings apply from the next start", id);
  return {};
}

Result<void> ConnectorService::rename(const std::string& id, const std::string& name) {
  if (auto bad = check_name(name)) return make_error(ErrorCode::invalid_argument, "the name is not valid", {*bad});
  std::lock_guard commands(commands_mutex_);
  auto entry = find_live(id);
  if (!entry.ok()) return entry.error();
  ConnectorDefinition d = (*entry)->definition();
  d.name = name;
  d.update_time_ms = now_ms();
  if (auto saved = store_.save_definition(d); !saved.ok()) return saved;
  std::lock_guard lock((*entry)->mutex);
  (*entry)->view.definition.name = name;
  (*entry)->view.definition.update_time_ms = d.update_time_ms;
  return {};
}

Result<void> ConnectorService::reset(const std::string& id, std::optional<LogPosition> to) {
  std::lock_guard commands(commands_mutex_);
  auto entry = find_live(id);
  if (!entry.ok()) return entry.error();
  if (auto stopped = require_stopped(*entry, "reset"); !stopped.ok()) return stopped;
  (*entry)->forget_restarts();
  const auto checkpoint = checkpoint_before(to.value_or(LogPosition(1)));
  if (auto saved = store_.save_checkpoint(id, checkpoint); !saved.ok()) return saved;
  {
    std::lock_guard lock((*entry)->mutex);
    (*entry)->view.definition.checkpoint = checkpoint;
  }
  spdlog::info("[{}] reset: delivering again after position {}", id, checkpoint.commit);
  // As KurrentDB's reset does: the connector starts from there.
  return start_locked(*entry, std::nullopt);
}

Result<void> ConnectorService::remove(const std::string& id) {
  std::lock_guard commands(commands_mutex_);
  auto entry = find_live(id);
  if (!entry.ok()) return entry.error();
  if (auto stopped = require_stopped(*entry, "delete"); !stopped.ok()) return stopped;
  (*entry)->worker.reset();  // a run that ended on its own: its thread has finished
  (*entry)->forget_restarts();
  ConnectorDefinition d = (*entry)->definition();
  d.run_requested = false;
  d.checkpoint.reset();  // deleting drops the checkpoint
  // A deleted connector never runs again: its secrets have no use left, so they go.
  for (const auto& [key, sealed] : d.sealed_settings) d.settings.erase(key);
  d.sealed_settings.clear();
  d.delete_time_ms = d.update_time_ms = now_ms();
  if (auto saved = store_.replace(d); !saved.ok()) return saved;
  std::lock_guard lock((*entry)->mutex);
  (*entry)->view.definition = d;
  spdlog::info("[{}] deleted", id);
  return {};
}

ListResult ConnectorService::list(const ListQuery& query) const {
  std::vector<std::shared_ptr<Entry>> entries;
  {
    std::lock_guard lock(map_mutex_);
    for (const auto& [id, entry] : entries_) entries.push_back(entry);
  }
  auto wanted = [](const auto& filter, const auto& value) {
    return filter.empty() || std::find(filter.begin(), filter.end(), value) != filter.end();
  };
  std::vector<ConnectorView> matches;
  for (const auto& entry : entries) {
    auto view = entry->snapshot();
    const auto& d = view.definition;
    if (d.delete_time_ms && !query.show_deleted) continue;
    if (!wanted(query.states, view.state) || !wanted(query.instance_type_names, d.instance_type_name) ||
        !wanted(query.connector_ids, d.id)) {
      continue;
    }
    matches.push_back(std::move(view));
  }
  std::sort(matches.begin(), matches.end(), [](const ConnectorView& a, const ConnectorView& b) {
    return std::tie(a.definition.create_time_ms, a.definition.id) <
           std::tie(b.definition.create_time_ms, b.definition.id);
  });
  ListResult result;
  result.total_size = matches.size();
  const auto first = (query.page - 1) * query.page_size;
  for (std::size_t i = first; i < matches.size() && i < first + query.page_size; ++i) {
    result.items.push_back(std::move(matches[i]));
  }
  return result;
}

Result<ConnectorView> ConnectorService::get(const std::string& id) const {
  auto entry = find_live(id);
  if (!entry.ok()) return entry.error();
  return (*entry)->snapshot();
}

}  // namespace sinkhost::runtime
