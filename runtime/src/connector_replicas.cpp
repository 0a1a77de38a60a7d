// Cluster mode of the connector service (docs/architecture.md, "Cluster mode"): every host keeps
// a copy of every connector's definition, and runs those placed on it. What the other hosts
// write reaches this one through replicate(); adopt() and release() follow the slots the group
// assigns; show_status() shows what the owner of a connector reports of its run.
#include <spdlog/spdlog.h>

#include "connector_entry.hpp"
#include "sinkhost/runtime/connector_service.hpp"

namespace sinkhost::runtime {

namespace {

// The parts of a definition the user changes (and the run they asked for); the checkpoint and
// the error belong to the runs.
void copy_user_fields(const ConnectorDefinition& from, ConnectorDefinition& to) {
  to.name = from.name;
  to.instance_type_name = from.instance_type_name;
  to.settings = from.settings;
  to.sealed_settings = from.sealed_settings;
  to.run_requested = from.run_requested;
  to.create_time_ms = from.create_time_ms;
  to.update_time_ms = from.update_time_ms;
  to.settings_update_time_ms = from.settings_update_time_ms;
  to.delete_time_ms = from.delete_time_ms;
}

}  // namespace

void ConnectorService::join_cluster(ClusterMembership membership) {
  std::lock_guard commands(commands_mutex_);
  cluster_ = std::make_unique<const ClusterMembership>(std::move(membership));
}

std::shared_ptr<ConnectorService::Entry> ConnectorService::replica_entry(const ConnectorDefinition& definition) {
  auto entry = find(definition.id);
  if (entry) {
    std::lock_guard lock(entry->mutex);
    copy_user_fields(definition, entry->view.definition);
    return entry;
  }
  entry = std::make_shared<Entry>();
  entry->placed_here = false;
  entry->view.definition = definition;
  entry->view.definition.error.reset();
  entry->view.state_update_time_ms = now_ms();
  std::lock_guard lock(map_mutex_);
  entries_.insert_or_assign(definition.id, entry);
  return entry;
}

void ConnectorService::replicate(const ConnectorDefinition& definition) {
  std::lock_guard commands(commands_mutex_);
  if (shutting_down_) return;
  auto entry = replica_entry(definition);
  if (entry->placed_here) follow_run_requested(entry, definition.checkpoint);
}

void ConnectorService::adopt(const ConnectorDefinition& definition) {
  std::lock_guard commands(commands_mutex_);
  if (shutting_down_) return;
  auto entry = replica_entry(definition);
  {
    std::lock_guard lock(entry->mutex);
    entry->placed_here = true;
    entry->view.owner = cluster_ ? cluster_->host_id : std::string();
    entry->view.definition.checkpoint = definition.checkpoint;
    entry->view.definition.error.reset();
    entry->view.state = ConnectorState::stopped;
    entry->view.state_update_time_ms = now_ms();
  }
  spdlog::info("[{}] runs on this host now", definition.id);
  report_state(*entry);
  follow_run_requested(entry, definition.checkpoint);
}

void ConnectorService::release(const std::vector<std::string>& ids) {
  std::lock_guard commands(commands_mutex_);
  std::vector<std::pair<std::string, std::shared_ptr<Entry>>> stopping;
  for (const auto& id : ids) {
    auto entry = find(id);
    if (!entry) continue;
    {
      std::lock_guard lock(entry->mutex);
      if (!entry->placed_here) continue;
      // From here on the run's end is not reported: the connector's next owner reports its state.
      entry->placed_here = false;
    }
    entry->forget_restarts();
    // Asked all first, so that they flush in parallel.
    if (entry->worker) entry->worker->request_stop();
    stopping.emplace_back(id, std::move(entry));
  }
  for (auto& [id, entry] : stopping) {
    if (entry->worker) {
      entry->worker->join();
      entry->worker.reset();
    }
    spdlog::info("[{}] no longer runs on this host", id);
  }
}

void ConnectorService::show_status(const std::string& id, const ReplicaStatus& status) {
  auto entry = find(id);
  if (!entry) return;
  std::lock_guard lock(entry->mutex);
  if (entry->placed_here) return;  // this host's own run says
  entry->view.owner = status.owner;
  entry->view.state = status.state;
  entry->view.state_update_time_ms = status.state_update_time_ms;
  entry->view.definition.error = status.error;
  if (status.checkpoint) entry->view.definition.checkpoint = status.checkpoint;
}

void ConnectorService::follow_run_requested(const std::shared_ptr<Entry>& entry,
                                            std::optional<SourcePosition> checkpoint) {
  bool start = false;
  bool stop = false;
  std::string id;
  {
    std::lock_guard lock(entry->mutex);
    const auto& d = entry->view.definition;
    id = d.id;
    const bool idle = entry->view.state == ConnectorState::stopped && !entry->view.restart;
    start = d.run_requested && !d.delete_time_ms && idle;
    stop = !d.run_requested && entry->view.state != ConnectorState::stopped;
    if (start) entry->view.definition.checkpoint = checkpoint;
  }
  if (start) {
    if (auto started = start_locked(entry, std::nullopt); !started.ok()) {
      spdlog::error("[{}] could not be started: {}", id, started.error().message);
    }
  } else if (stop && entry->worker) {
    entry->worker->request_stop();
    entry->worker->join();
    entry->worker.reset();
  }
}

Result<void> ConnectorService::request_run_elsewhere(const std::shared_ptr<Entry>& entry) {
  const auto id = entry->view.definition.id;
  if (auto saved = store_.save_run_requested(id, true); !saved.ok()) return saved;
  std::lock_guard lock(entry->mutex);
  entry->view.definition.run_requested = true;
  entry->view.restart.reset();
  spdlog::info("[{}] start requested; {} runs it", id, entry->view.owner.empty() ? "its host" : entry->view.owner);
  return {};
}

void ConnectorService::report_state(const Entry& entry) {
  if (!cluster_ || !cluster_->state_changed) return;
  ConnectorView view;
  {
    std::lock_guard lock(entry.mutex);
    if (!entry.placed_here) return;
    view = entry.view;
  }
  cluster_->state_changed(view);
}

}  // namespace sinkhost::runtime
