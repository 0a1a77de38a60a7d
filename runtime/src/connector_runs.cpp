// The runs of the connector service's connectors: start (the position to start from, the
// decrypted settings handed to a worker, the hooks through which the worker reports), stop and
// shutdown. The rest of the service (commands on definitions, queries) is connector_service.cpp.
#include <chrono>

#include <spdlog/spdlog.h>

#include "auto_restart.hpp"
#include "connector_entry.hpp"
#include "connector_settings.hpp"
#include "sinkhost/runtime/connector_service.hpp"

namespace sinkhost::runtime {

using connector::ErrorCode;
using connector::make_error;

namespace {

// How long a start command waits for the connector to leave ACTIVATING.
constexpr std::chrono::seconds kStartWait{10};

}  // namespace

Result<void> ConnectorService::start(const std::string& id, std::optional<LogPosition> from) {
  std::lock_guard commands(commands_mutex_);
  auto entry = find_live(id);
  if (!entry.ok()) return entry.error();
  (*entry)->forget_restarts();
  return start_locked(*entry, from);
}

// The hooks hold the entry alive and touch only it and the (thread-safe) store.
ConnectorWorker::Hooks ConnectorService::worker_hooks(const std::shared_ptr<Entry>& entry, const std::string& id) {
  return {
      .on_state =
          [entry, this](ConnectorState state) {
            {
              std::lock_guard lock(entry->mutex);
              entry->view.state = state;
              entry->view.state_update_time_ms = now_ms();
              entry->state_changed.notify_all();
            }
            report_state(*entry);
          },
      .on_stopped = [entry, this, id](std::optional<Error> error) { run_ended(*entry, id, std::move(error)); },
  };
}

// A run's end, from its worker's thread: the error (redacted) is stored and shown, a failure
// clears the run the user asked for (a host shutdown does not), unless the connector restarts by
// itself (autoRestart:*), which keeps it.
void ConnectorService::run_ended(Entry& entry, const std::string& id, std::optional<Error> error) {
  std::optional<ErrorDetails> details;
  auto& redactor = SecretRedactor::global();
  if (error) details = ErrorDetails{connector::code_name(error->code), redactor.redact(error->message)};
  redactor.remove(id);
  const bool progressed = entry.metrics->saved_checkpoint().has_value();
  std::optional<std::chrono::milliseconds> restart_in;
  std::uint64_t ticket = 0;
  {
    std::lock_guard lock(entry.mutex);
    if (error && !shutting_down_) restart_in = plan_restart(entry, *error, progressed);
    ticket = entry.restart_ticket;
  }
  const bool run_cleared = error && !shutting_down_ && !restart_in;
  if (run_cleared) (void)store_.save_run_requested(id, false);
  (void)store_.save_error(id, details);
  {
    std::lock_guard lock(entry.mutex);
    entry.overlay_checkpoint(entry.view.definition);  // the run's last save, now the definition's
    entry.metrics->forget_checkpoint();
    if (run_cleared) entry.view.definition.run_requested = false;
    entry.view.definition.error = details;
    entry.view.state = ConnectorState::stopped;
    entry.view.state_update_time_ms = now_ms();
    entry.state_changed.notify_all();
  }
  report_state(entry);
  if (restart_in) {
    spdlog::warn("[{}] restarting by itself in {} ms (autoRestart)", id, restart_in->count());
    restarts_->schedule(id, ticket, std::chrono::steady_clock::now() + *restart_in);
  }
}

std::optional<std::chrono::milliseconds> ConnectorService::plan_restart(Entry& entry, const Error& error,
                                                                        bool progressed) {
  entry.view.restart.reset();
  if (progressed) entry.failures_in_a_row = 0;
  ++entry.failures_in_a_row;
  const auto& settings = entry.auto_restart;
  if (!entry.view.definition.run_requested || !may_clear(error) || entry.failures_in_a_row > settings.max_attempts) {
    return std::nullopt;
  }
  const auto delay = restart_delay(settings, entry.failures_in_a_row);
  entry.view.restart = PendingRestart{
      .attempt = entry.failures_in_a_row, .max_attempts = settings.max_attempts, .at_ms = now_ms() + delay.count()};
  ++entry.restart_ticket;
  return delay;
}

void ConnectorService::restart_due(const std::string& id, std::uint64_t ticket) {
  std::lock_guard commands(commands_mutex_);
  if (shutting_down_) return;
  auto entry = find(id);
  if (!entry) return;
  {
    std::lock_guard lock(entry->mutex);
    if (!entry->view.restart || entry->restart_ticket != ticket || entry->view.definition.delete_time_ms ||
        entry->view.state != ConnectorState::stopped) {
      return;
    }
  }
  spdlog::info("[{}] restarting by itself (autoRestart)", id);
  if (auto started = start_locked(entry, std::nullopt); !started.ok()) {
    spdlog::error("[{}] could not be restarted: {}", id, started.error().message);
    (void)store_.save_run_requested(id, false);
    std::lock_guard lock(entry->mutex);
    entry->view.restart.reset();
    entry->view.definition.run_requested = false;
  }
}

Result<void> ConnectorService::start_locked(const std::shared_ptr<Entry>& entry, std::optional<LogPosition> from) {
  ConnectorDefinition definition;
  {
    std::lock_guard lock(entry->mutex);
    if (entry->view.state == ConnectorState::activating || entry->view.state == ConnectorState::running) {
      return make_error(ErrorCode::failed_precondition,
                        "connector '" + entry->view.definition.id + "' is already " + to_string(entry->view.state));
    }
    if (entry->view.state == ConnectorState::deactivating) {
      return make_error(ErrorCode::failed_precondition,
                        "connector '" + entry->view.definition.id + "' is stopping; start it once it is stopped");
    }
    definition = entry->view.definition;
  }
  bool placed_here = false;
  {
    std::lock_guard lock(entry->mutex);
    placed_here = entry->placed_here;
  }
  // A previous run ended on its own (it failed): its thread has finished or is finishing.
  if (entry->worker) entry->worker.reset();
  if (!placed_here) {
    if (from) {
      const auto checkpoint = checkpoint_before(*from);
      if (auto saved = store_.save_checkpoint(definition.id, checkpoint); !saved.ok()) return saved;
    }
    return request_run_elsewhere(entry);
  }

  // Decrypted as late as possible, and only into the settings the worker takes over.
  auto run = settings_->for_run(definition);
  if (!run.ok()) return run.error();
  auto& settings = run->settings;

  std::optional<SourcePosition> checkpoint = definition.checkpoint;
  entry->metrics->forget_checkpoint();  // from here on the definition holds it, until the new run saves one
  if (from) {
    checkpoint = checkpoint_before(*from);
    if (auto saved = store_.save_checkpoint(definition.id, *checkpoint); !saved.ok()) return saved;
  }
  // Without a checkpoint: from the first event, or after the newest one the source knows now;
  // an external store not reached yet tells it when the subscription first reaches it (and pins
  // that start with a checkpoint).
  std::optional<SourcePosition> after = checkpoint;
  bool after_head = false;
  if (!checkpoint && run->common.initial_position != InitialPosition::earliest) {
    auto head = source_.head();
    if (head.ok()) {
      after = *head;
    } else {
      after_head = true;
    }
  }

  if (auto saved = store_.save_run_requested(definition.id, true); !saved.ok()) return saved;
  if (auto saved = store_.save_error(definition.id, std::nullopt); !saved.ok()) return saved;
  // From here on nothing fails before the worker owns the settings. While it runs, its secret
  // values are masked in every log line and in the error that ends the run.
  auto& redactor = SecretRedactor::global();
  redactor.remove(definition.id);
  for (const auto& key : run->secret_keys) redactor.add(definition.id, settings.at(key));
  {
    std::lock_guard lock(entry->mutex);
    entry->auto_restart = run->common.auto_restart;
    entry->view.restart.reset();
    entry->view.definition.run_requested = true;
    entry->view.definition.checkpoint = checkpoint;
    entry->view.definition.error.reset();
    entry->view.state = ConnectorState::activating;
    entry->view.state_update_time_ms = now_ms();
  }
  report_state(*entry);

  auto hooks = worker_hooks(entry, definition.id);
  ConnectorWorker::Options options{
      .connector_id = definition.id,
      .settings = std::move(settings),
      .descriptor = run->descriptor,
      .after = after,
      .after_head = after_head,
      .committed = checkpoint.value_or(SourcePosition{}),
      .filter = std::move(run->filter),
      .metrics = entry->metrics,
      .may_deliver = cluster_ ? cluster_->may_deliver : nullptr,
  };
  entry->worker = std::make_unique<ConnectorWorker>(source_, store_, std::move(options), std::move(hooks));
  entry->worker->start();
  if (after) {
    spdlog::info("[{}] starting after position {}", definition.id, after->commit);
  } else {
    spdlog::info("[{}] starting {} {}", definition.id,
                 after_head ? "after the newest event of" : "from the first event of", source_.describe());
  }
  // Answer once the sink is open (RUNNING) or failed (STOPPED with errorDetails), so that a
  // script's next step sees a connector that is ready; a sink slow to open does not hold the
  // command longer than this.
  std::unique_lock lock(entry->mutex);
  entry->state_changed.wait_for(lock, kStartWait, [&] { return entry->view.state != ConnectorState::activating; });
  return {};
}

Result<void> ConnectorService::stop(const std::string& id) {
  std::lock_guard commands(commands_mutex_);
  auto found = find_live(id);
  if (!found.ok()) return found.error();
  auto& entry = *found;
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
  entry->forget_restarts();
  // A stop that ended without error clears the errorDetails of an earlier failure.
  std::lock_guard lock(entry->mutex);
  if (entry->view.definition.error) {
    if (auto saved = store_.save_error(id, std::nullopt); !saved.ok()) return saved;
    entry->view.definition.error.reset();
  }
  return {};
}

void ConnectorService::shutdown() {
  // First the restarts: a due one takes the commands mutex.
  shutting_down_ = true;
  restarts_->stop();
  std::lock_guard commands(commands_mutex_);
  // Ask every worker first, so that they flush in parallel, then wait for each.
  for (auto& [id, entry] : entries_) {
    if (entry->worker) entry->worker->request_stop();
  }
  for (auto& [id, entry] : entries_) {
    if (entry->worker) entry->worker.reset();
  }
}

}  // namespace sinkhost::runtime
