#include "sinkhost/runtime/connector_service.hpp"

#include <array>
#include <chrono>
#include <condition_variable>

#include <spdlog/spdlog.h>

#include "sinkhost/runtime/common_settings.hpp"

namespace sinkhost::runtime {

using connector::ErrorCode;
using connector::make_error;
using connector::SettingSpec;

namespace {

// How long a start command waits for the connector to leave ACTIVATING.
constexpr std::chrono::seconds kStartWait{10};

std::int64_t now_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

const char* error_code_name(ErrorCode code) {
  switch (code) {
    case ErrorCode::invalid_argument: return "INVALID_ARGUMENT";
    case ErrorCode::not_found: return "NOT_FOUND";
    case ErrorCode::already_exists: return "ALREADY_EXISTS";
    case ErrorCode::failed_precondition: return "FAILED_PRECONDITION";
    case ErrorCode::permission_denied: return "PERMISSION_DENIED";
    case ErrorCode::resource_exhausted: return "RESOURCE_EXHAUSTED";
    case ErrorCode::unavailable: return "UNAVAILABLE";
    case ErrorCode::internal: return "INTERNAL";
  }
  return "UNKNOWN";
}

bool valid_connector_id(const std::string& id) {
  if (id.size() < 5 || id.size() > 50) return false;
  for (char c : id) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
    if (!ok) return false;
  }
  return true;
}

}  // namespace

const char* to_string(ConnectorState state) {
  switch (state) {
    case ConnectorState::activating: return "CONNECTOR_STATE_ACTIVATING";
    case ConnectorState::running: return "CONNECTOR_STATE_RUNNING";
    case ConnectorState::deactivating: return "CONNECTOR_STATE_DEACTIVATING";
    case ConnectorState::stopped: return "CONNECTOR_STATE_STOPPED";
  }
  return "CONNECTOR_STATE_UNKNOWN";
}

struct ConnectorService::Entry {
  mutable std::mutex mutex;  // guards `view`; taken by the worker's hooks
  std::condition_variable state_changed;
  ConnectorView view;
  std::unique_ptr<ConnectorWorker> worker;  // guarded by the service's commands mutex
};

ConnectorService::ConnectorService(EventLog& log, StateStore& store, const PluginRegistry& plugins)
    : log_(log), store_(store), plugins_(plugins) {}

ConnectorService::~ConnectorService() { shutdown(); }

std::shared_ptr<ConnectorService::Entry> ConnectorService::find(const std::string& id) const {
  std::lock_guard lock(map_mutex_);
  auto it = entries_.find(id);
  return it == entries_.end() ? nullptr : it->second;
}

Result<void> ConnectorService::restore() {
  auto definitions = store_.load_all();
  if (!definitions.ok()) return definitions.error();
  std::lock_guard commands(commands_mutex_);
  for (auto& definition : *definitions) {
    auto entry = std::make_shared<Entry>();
    entry->view.definition = std::move(definition);
    entry->view.state_update_time_ms = now_ms();
    std::lock_guard lock(map_mutex_);
    entries_.emplace(entry->view.definition.id, entry);
  }
  for (auto& [id, entry] : entries_) {
    if (!entry->view.definition.run_requested) continue;
    if (auto started = start_locked(entry); !started.ok()) {
      spdlog::error("[{}] could not be started again: {}", id, started.error().message);
    }
  }
  return {};
}

Result<connector::Settings> ConnectorService::validate(const connector::Settings& settings) const {
  const connector::SinkDescriptor* descriptor = nullptr;
  std::optional<std::string> given;
  for (const auto& [key, value] : settings) {
    if (connector::iequals(key, "instanceTypeName")) {
      given = value;
      descriptor = plugins_.find(value);
    }
  }
  if (descriptor == nullptr) {
    std::string known;
    for (const auto* d : plugins_.all()) known += (known.empty() ? "" : ", ") + d->type_name;
    return make_error(ErrorCode::invalid_argument, "the connector settings are not valid",
                      {{"instanceTypeName", given ? "unknown connector type '" + *given + "'; known types: " + known
                                                  : "required; known types: " + known}});
  }
  const std::array<std::span<const SettingSpec>, 2> tables{common_settings(), descriptor->settings};
  auto canonical = connector::validate_settings(settings, tables);
  if (!canonical.ok()) return canonical;
  // Stored under the type's own name, so that lists and filters see one spelling.
  canonical->at("instanceTypeName") = descriptor->type_name;
  return canonical;
}

Result<void> ConnectorService::create(const std::string& id, const std::optional<std::string>& name,
                                      const connector::Settings& settings) {
  std::vector<connector::FieldViolation> violations;
  if (!valid_connector_id(id)) {
    violations.push_back({"connectorId", "must be 5 to 50 characters of A-Z, a-z, 0-9, '-' and '_'"});
  }
  if (name && (name->size() < 3 || name->size() > 50)) {
    violations.push_back({"name", "must be 3 to 50 characters long"});
  }
  if (!violations.empty()) {
    return make_error(ErrorCode::invalid_argument, "the connector cannot be created", std::move(violations));
  }
  auto canonical = validate(settings);
  if (!canonical.ok()) return canonical.error();

  std::lock_guard commands(commands_mutex_);
  if (find(id)) return make_error(ErrorCode::already_exists, "a connector with id '" + id + "' already exists");

  auto entry = std::make_shared<Entry>();
  auto& d = entry->view.definition;
  d.id = id;
  d.name = name.value_or(id);
  d.instance_type_name = canonical->at("instanceTypeName");
  d.settings = std::move(canonical).value();
  d.create_time_ms = d.update_time_ms = d.settings_update_time_ms = now_ms();
  entry->view.state_update_time_ms = d.create_time_ms;
  if (auto saved = store_.save_definition(d); !saved.ok()) return saved;

  std::lock_guard lock(map_mutex_);
  entries_.emplace(id, std::move(entry));
  spdlog::info("[{}] created ({})", id, d.instance_type_name);
  return {};
}

Result<void> ConnectorService::start(const std::string& id) {
  std::lock_guard commands(commands_mutex_);
  auto entry = find(id);
  if (!entry) return make_error(ErrorCode::not_found, "no connector with id '" + id + "'");
  return start_locked(entry);
}

Result<void> ConnectorService::start_locked(const std::shared_ptr<Entry>& entry) {
  ConnectorDefinition definition;
  {
    std::lock_guard lock(entry->mutex);
    if (entry->view.state != ConnectorState::stopped) {
      return make_error(ErrorCode::failed_precondition,
                        "connector '" + entry->view.definition.id + "' cannot start: it is " +
                            to_string(entry->view.state) + "; stop it first");
    }
    definition = entry->view.definition;
  }
  // A previous run ended on its own (it failed): its thread has finished or is finishing.
  if (entry->worker) entry->worker.reset();

  const auto* descriptor = plugins_.find(definition.instance_type_name);
  if (descriptor == nullptr) {
    return make_error(ErrorCode::failed_precondition,
                      "connector type '" + definition.instance_type_name + "' is not loaded on this host");
  }
  const std::array<std::span<const SettingSpec>, 2> tables{common_settings(), descriptor->settings};
  auto settings = connector::with_defaults(definition.settings, tables);

  LogPosition committed = definition.checkpoint.value_or(LogPosition());
  LogPosition start_from;
  if (definition.checkpoint) {
    start_from = definition.checkpoint->next();
  } else if (settings.at("subscription:initialPosition") == "earliest") {
    start_from = LogPosition(1);
  } else {
    start_from = log_.head().next();
  }

  if (auto saved = store_.save_run_requested(definition.id, true); !saved.ok()) return saved;
  if (auto saved = store_.save_error(definition.id, std::nullopt); !saved.ok()) return saved;
  {
    std::lock_guard lock(entry->mutex);
    entry->view.definition.run_requested = true;
    entry->view.definition.error.reset();
    entry->view.state = ConnectorState::activating;
    entry->view.state_update_time_ms = now_ms();
  }

  // The hooks hold the entry alive and touch only it and the (thread-safe) store.
  ConnectorWorker::Hooks hooks{
      .on_state =
          [entry](ConnectorState state) {
            std::lock_guard lock(entry->mutex);
            entry->view.state = state;
            entry->view.state_update_time_ms = now_ms();
            entry->state_changed.notify_all();
          },
      .on_commit =
          [entry, this, id = definition.id](LogPosition position) -> Result<void> {
            if (auto saved = store_.save_checkpoint(id, position); !saved.ok()) return saved;
            std::lock_guard lock(entry->mutex);
            entry->view.definition.checkpoint = position;
            return {};
          },
      .on_stopped =
          [entry, this, id = definition.id](std::optional<Error> error) {
            std::optional<ErrorDetails> details;
            if (error) details = ErrorDetails{error_code_name(error->code), error->message};
            // A failure ends the run the user asked for; a host shutdown does not.
            if (error && !shutting_down_) (void)store_.save_run_requested(id, false);
            (void)store_.save_error(id, details);
            std::lock_guard lock(entry->mutex);
            if (error && !shutting_down_) entry->view.definition.run_requested = false;
            entry->view.definition.error = details;
            entry->view.state = ConnectorState::stopped;
            entry->view.state_update_time_ms = now_ms();
            entry->state_changed.notify_all();
          },
  };
  ConnectorWorker::Options options{
      .connector_id = definition.id,
      .settings = std::move(settings),
      .descriptor = descriptor,
      .start_from = start_from,
      .committed = committed,
  };
  entry->worker = std::make_unique<ConnectorWorker>(log_, std::move(options), std::move(hooks));
  entry->worker->start();
  spdlog::info("[{}] starting from log position {}", definition.id, start_from.value());
  // Answer once the sink is open (RUNNING) or failed (STOPPED with errorDetails), so that a
  // script's next step sees a connector that is ready; a sink slow to open does not hold the
  // command longer than this.
  std::unique_lock lock(entry->mutex);
  entry->state_changed.wait_for(lock, kStartWait, [&] { return entry->view.state != ConnectorState::activating; });
  return {};
}

Result<void> ConnectorService::stop(const std::string& id) {
  std::lock_guard commands(commands_mutex_);
  auto entry = find(id);
  if (!entry) return make_error(ErrorCode::not_found, "no connector with id '" + id + "'");
  if (auto saved = store_.save_run_requested(id, false); !saved.ok()) return saved;
  {
    std::lock_guard lock(entry->mutex);
    entry->view.definition.run_requested = false;
  }
  if (entry->worker) {
    entry->worker->request_stop();
    entry->worker->join();
    entry->worker.reset();
  }
  // A stop that ended without error clears the errorDetails of an earlier failure.
  std::lock_guard lock(entry->mutex);
  if (entry->view.definition.error) {
    if (auto saved = store_.save_error(id, std::nullopt); !saved.ok()) return saved;
    entry->view.definition.error.reset();
  }
  return {};
}

std::vector<ConnectorView> ConnectorService::list() const {
  std::vector<std::shared_ptr<Entry>> entries;
  {
    std::lock_guard lock(map_mutex_);
    for (const auto& [id, entry] : entries_) entries.push_back(entry);
  }
  std::vector<ConnectorView> views;
  views.reserve(entries.size());
  for (const auto& entry : entries) {
    std::lock_guard lock(entry->mutex);
    views.push_back(entry->view);
  }
  return views;
}

Result<ConnectorView> ConnectorService::get(const std::string& id) const {
  auto entry = find(id);
  if (!entry) return make_error(ErrorCode::not_found, "no connector with id '" + id + "'");
  std::lock_guard lock(entry->mutex);
  return entry->view;
}

void ConnectorService::shutdown() {
  std::lock_guard commands(commands_mutex_);
  shutting_down_ = true;
  // Ask every worker first, so that they flush in parallel, then wait for each.
  for (auto& [id, entry] : entries_) {
    if (entry->worker) entry->worker->request_stop();
  }
  for (auto& [id, entry] : entries_) {
    if (entry->worker) entry->worker.reset();
  }
}

}  // namespace sinkhost::runtime
