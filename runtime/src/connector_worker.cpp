#include "sinkhost/runtime/connector_worker.hpp"

#include <algorithm>
#include <atomic>

#include <spdlog/spdlog.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "sinkhost/runtime/checkpoint_tracker.hpp"
#include "sinkhost/runtime/record_builder.hpp"
#include "sinkhost/runtime/subscription.hpp"
#include "sinkhost/runtime/transform.hpp"

namespace sinkhost::runtime {

using connector::ErrorCode;
using connector::make_error;
using Clock = std::chrono::steady_clock;

namespace {
// How many events one read takes from the log, and how many records may await their
// delivery outcome before the worker stops reading (backpressure without sleeping).
constexpr std::size_t kReadBatch = 1000;
constexpr std::size_t kMaxInFlight = 10000;
// How long close() may take to deliver what is outstanding when a connector stops.
constexpr std::chrono::milliseconds kCloseDeadline{10000};
// The nice value of delivery threads (see run()). At 10, CFS gives a management API thread about
// ten times the CPU share of a delivery thread when both want to run.
std::atomic<int> delivery_niceness{10};
}  // namespace

void set_delivery_niceness(int niceness) { delivery_niceness.store(std::clamp(niceness, 0, 19)); }

ConnectorWorker::ConnectorWorker(EventLog& log, Options options, Hooks hooks)
    : log_(log), options_(std::move(options)), hooks_(std::move(hooks)) {}

ConnectorWorker::~ConnectorWorker() {
  request_stop();
  join();
}

void ConnectorWorker::start() { thread_ = std::thread([this] { run(); }); }

void ConnectorWorker::request_stop() {
  std::lock_guard lock(mutex_);
  stop_requested_ = true;
  wake_.notify_one();
}

void ConnectorWorker::join() {
  if (thread_.joinable()) thread_.join();
}

void ConnectorWorker::delivered(LogPosition position) noexcept {
  std::lock_guard lock(mutex_);
  outcomes_.push_back({position, std::nullopt});
  wake_.notify_one();
}

void ConnectorWorker::failed(LogPosition position, Error error) noexcept {
  std::lock_guard lock(mutex_);
  outcomes_.push_back({position, std::move(error)});
  wake_.notify_one();
}

void ConnectorWorker::log(connector::LogLevel level, std::string_view message) const {
  if (!connector::get_bool(options_.settings, "logging:enabled", true)) return;
  const auto& id = options_.connector_id;
  switch (level) {
    case connector::LogLevel::debug: spdlog::debug("[{}] {}", id, message); break;
    case connector::LogLevel::info: spdlog::info("[{}] {}", id, message); break;
    case connector::LogLevel::warn: spdlog::warn("[{}] {}", id, message); break;
    case connector::LogLevel::error: spdlog::error("[{}] {}", id, message); break;
  }
}

void ConnectorWorker::sink_failed(Error error) noexcept {
  std::lock_guard lock(mutex_);
  if (!sink_failure_) sink_failure_ = std::move(error);
  wake_.notify_one();
}

void ConnectorWorker::restart_from_checkpoint(Error reason) noexcept {
  std::lock_guard lock(mutex_);
  if (!restart_reason_) restart_reason_ = std::move(reason);
  wake_.notify_one();
}

void ConnectorWorker::degraded(std::optional<Error> condition) noexcept {
  if (condition) {
    options_.metrics->set_degraded(ConnectorMetrics::Condition{connector::code_name(condition->code), condition->message});
  } else {
    options_.metrics->set_degraded(std::nullopt);
  }
}

Result<std::unique_ptr<connector::Sink>> ConnectorWorker::open_sink() {
  connector::SinkContext context{
      .connector_id = options_.connector_id,
      .settings = options_.settings,
      .listener = this,
      .log = [this](connector::LogLevel level, std::string_view message) { log(level, message); },
  };
  auto sink = options_.descriptor->create(std::move(context));
  if (!sink.ok()) return sink.error();
  if (auto opened = (*sink)->open(); !opened.ok()) return opened.error();
  return std::move(sink).value();
}

void ConnectorWorker::run() {
  // Delivery is bulk work; the management API is interactive. This thread, and every thread
  // the sink starts from it (librdkafka's, its poller), run at a lower CPU priority, so that
  // when connectors saturate the CPU the API still answers promptly. It only matters when the
  // CPU is contended; an idle core runs a nice thread as fast as any other.
  if (int nice = delivery_niceness.load(std::memory_order_relaxed); nice > 0) {
    (void)::setpriority(PRIO_PROCESS, static_cast<id_t>(::syscall(SYS_gettid)), nice);
  }
  hooks_.on_state(ConnectorState::activating);
  std::optional<Error> failure;
  auto sink = open_sink();
  if (!sink.ok()) {
    failure = sink.error();
  } else {
    failure = stream(*sink);
  }
  options_.metrics->set_degraded(std::nullopt);
  if (failure) {
    options_.metrics->runs_failed.fetch_add(1, std::memory_order_relaxed);
    log(connector::LogLevel::error, "stopped: " + failure->message);
  }
  hooks_.on_stopped(std::move(failure));
}

std::optional<Error> ConnectorWorker::stream(std::unique_ptr<connector::Sink>& sink) {
  const auto& settings = options_.settings;
  const bool autocommit = connector::get_bool(settings, "autocommit:enabled", true);
  const auto commit_interval = std::chrono::milliseconds(connector::get_int(settings, "autocommit:interval", 5000));
  const auto commit_threshold = static_cast<std::size_t>(connector::get_int(settings, "autocommit:recordsThreshold", 1000));
  const bool ignore_system_headers = connector::get_bool(settings, "headers:ignoreSystem", true);

  auto& metrics = *options_.metrics;
  const auto& filter = *options_.filter;
  // One JavaScript heap for the whole run; the function was checked when the settings were saved.
  auto compiled = transform_from_settings(settings);
  if (!compiled.ok()) return compiled.error();
  const std::unique_ptr<RecordTransform> transform = std::move(compiled).value();
  CheckpointTracker tracker(options_.committed);
  LogPosition committed = options_.committed;
  std::vector<StoredEvent> pending;  // read from the log, not yet handed to the sink
  std::size_t pending_index = 0;
  // pending[pending_index] built (and transformed) but refused by a full sink: written as it is
  // when the sink has room, so the transform runs once per record.
  std::optional<connector::Record> ready;
  std::size_t acked_since_commit = 0;
  bool sink_full = false;  // the sink said "full": write again only after an outcome arrived
  auto last_commit = Clock::now();
  std::optional<Error> failure;

  bool commit_failing = false;
  auto commit = [&]() -> std::optional<Error> {
    if (tracker.committable() == committed) return std::nullopt;
    if (auto saved = hooks_.on_commit(tracker.committable()); !saved.ok()) {
      if (saved.error().code != ErrorCode::unavailable) return saved.error();
      // The checkpoint cannot be saved now (a full disk): keep delivering and try again at the
      // next commit. The stored checkpoint only lags, so a crash meanwhile means records sent
      // twice, never records lost.
      if (!commit_failing) {
        log(connector::LogLevel::warn, "cannot save the checkpoint, will retry: " + saved.error().message);
        degraded(make_error(ErrorCode::unavailable, "cannot save the checkpoint: " + saved.error().message));
      }
      commit_failing = true;
      acked_since_commit = 0;
      last_commit = Clock::now();
      return std::nullopt;
    }
    if (commit_failing) degraded(std::nullopt);
    commit_failing = false;
    committed = tracker.committable();
    acked_since_commit = 0;
    last_commit = Clock::now();
    return std::nullopt;
  };

  // Applies every outcome, so that acknowledgements after a failure still count; a failed
  // record is never acknowledged, so the checkpoint stays before it. Returns the first failure.
  auto apply = [&](std::vector<Outcome>& outcomes) -> std::optional<Error> {
    std::optional<Error> first_failure;
    for (auto& outcome : outcomes) {
      if (outcome.error) {
        metrics.errors.fetch_add(1, std::memory_order_relaxed);
        if (!first_failure) {
          first_failure = make_error(outcome.error->code, "delivery of the record at log position " +
                                                              std::to_string(outcome.position.value()) +
                                                              " failed: " + outcome.error->message);
        }
        continue;
      }
      auto acked = tracker.acknowledged(outcome.position);
      if (!acked.ok()) {
        if (!first_failure) first_failure = acked.error();
        continue;
      }
      metrics.observe_latency(Clock::now() - *acked);
      metrics.records_delivered.fetch_add(1, std::memory_order_relaxed);
      ++acked_since_commit;
    }
    outcomes.clear();
    return first_failure;
  };

  // Wake on every append; the callback only takes our mutex, so it cannot block appends long.
  auto wake = [this] {
    std::lock_guard lock(mutex_);
    wake_.notify_one();
  };
  auto subscription = Subscription::open(log_, options_.start_from, wake);
  if (!subscription.ok()) return subscription.error();
  std::unique_ptr<Subscription> source = std::move(subscription).value();
  hooks_.on_state(ConnectorState::running);
  log(connector::LogLevel::info, "running from log position " + std::to_string(source->next().value()));

  std::vector<Outcome> outcomes;
  std::optional<Error> restart;
  while (!failure) {
    {
      std::unique_lock lock(mutex_);
      auto has_work = [&] {
        bool can_send = tracker.in_flight() < kMaxInFlight && !sink_full;
        bool have_pending = pending_index < pending.size();
        return stop_requested_ || sink_failure_ || restart_reason_ || !outcomes_.empty() ||
               (can_send && have_pending) || (can_send && !have_pending && source->has_new());
      };
      if (autocommit && tracker.committable() != committed) {
        wake_.wait_until(lock, last_commit + commit_interval, has_work);
      } else {
        wake_.wait(lock, has_work);
      }
      outcomes.swap(outcomes_);
      if (sink_failure_) failure = sink_failure_;
      restart.swap(restart_reason_);
      if (stop_requested_ || failure) break;
    }
    if (!outcomes.empty()) sink_full = false;
    if (auto error = apply(outcomes); error && !restart) {
      failure = error;
      break;
    }

    if (restart) {
      // The sink lost track of what it sent: keep what was acknowledged, then start over from
      // the checkpoint with a new sink.
      log(connector::LogLevel::warn, "restarting the sink and resending from the checkpoint: " + restart->message);
      if ((failure = commit())) break;
      sink->close(std::chrono::milliseconds(0));
      {
        std::lock_guard lock(mutex_);
        outcomes_.clear();  // outcomes of the old sink: nothing after the checkpoint counts
      }
      source.reset();
      auto reopened = Subscription::open(log_, committed.next(), wake);
      if (!reopened.ok()) {
        failure = reopened.error();
        break;
      }
      source = std::move(reopened).value();
      auto fresh = open_sink();
      if (!fresh.ok()) {
        failure = fresh.error();
        break;
      }
      sink = std::move(fresh).value();
      tracker = CheckpointTracker(committed);
      pending.clear();
      pending_index = 0;
      ready.reset();
      sink_full = false;
      restart.reset();
      metrics.restarts.fetch_add(1, std::memory_order_relaxed);
      continue;
    }

    if (pending_index >= pending.size() && tracker.in_flight() < kMaxInFlight && source->has_new()) {
      auto batch = source->read(kReadBatch);
      if (!batch.ok()) {
        failure = batch.error();
        break;
      }
      pending = std::move(batch).value();
      pending_index = 0;
    }
    while (!sink_full && pending_index < pending.size() && tracker.in_flight() < kMaxInFlight) {
      const auto& event = pending[pending_index];
      if (!filter.matches(event)) {
        // Not for this connector: it needs no delivery, but the checkpoint moves past it.
        if (auto tracked = tracker.skipped(event.position); !tracked.ok()) {
          failure = tracked.error();
          break;
        }
        metrics.records_filtered.fetch_add(1, std::memory_order_relaxed);
        ++acked_since_commit;
        ++pending_index;
        continue;
      }
      if (!ready) {
        auto record = make_record(event, options_.connector_id, ignore_system_headers);
        if (transform && record.schema_type == connector::SchemaType::json) {
          // The transform sees the key the sink would extract, and decides the key it gets.
          record.key = sink->partition_key(record);
          record.key_from_transform = true;
          auto verdict = transform->apply(record);
          if (!verdict.ok()) {
            // Never dispatched, so the checkpoint stays before this record.
            metrics.transform_errors.fetch_add(1, std::memory_order_relaxed);
            failure = make_error(verdict.error().code, "the transform failed on the record at log position " +
                                                           std::to_string(event.position.value()) + " (stream '" +
                                                           event.stream + "', revision " +
                                                           std::to_string(event.revision) + "): it " +
                                                           verdict.error().message);
            break;
          }
          if (*verdict == RecordTransform::Verdict::drop) {
            // Dropped on purpose: like a filtered event, the checkpoint moves past it.
            if (auto tracked = tracker.skipped(event.position); !tracked.ok()) {
              failure = tracked.error();
              break;
            }
            metrics.records_dropped.fetch_add(1, std::memory_order_relaxed);
            ++acked_since_commit;
            ++pending_index;
            continue;
          }
        }
        ready = std::move(record);
      }
      auto written = sink->write(*ready);
      if (!written.ok()) {
        if (written.error().code == ErrorCode::resource_exhausted && tracker.in_flight() > 0) {
          sink_full = true;  // wait for an outcome
          break;
        }
        failure = written.error();
        break;
      }
      ready.reset();
      if (auto tracked = tracker.dispatched(event.position); !tracked.ok()) {
        failure = tracked.error();
        break;
      }
      ++pending_index;
    }

    if (autocommit && (acked_since_commit >= commit_threshold || Clock::now() - last_commit >= commit_interval)) {
      if (auto error = commit()) failure = error;
    }
  }

  source.reset();  // no more wake-ups
  hooks_.on_state(ConnectorState::deactivating);
  // close() reports every outstanding record, so after it the tracker knows all outcomes.
  sink->close(kCloseDeadline);
  {
    std::lock_guard lock(mutex_);
    outcomes.swap(outcomes_);
  }
  // Records the sink could not deliver before close() returned are not covered by the
  // checkpoint and will be sent again at the next start. After a requested stop that is the
  // expected end, not a failure; after a failure, the first failure is the one to report.
  if (auto error = apply(outcomes); error && !failure) {
    log(connector::LogLevel::warn, "stopping before every record was acknowledged: " + error->message);
  }
  if (auto error = commit(); error && !failure) failure = error;
  return failure;
}

}  // namespace sinkhost::runtime
