#include "sinkhost/runtime/connector_worker.hpp"

#include <algorithm>
#include <atomic>
#include <iterator>

#include <spdlog/spdlog.h>
#include <pthread.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "pipeline/checkpoint_tracker.hpp"
#include "pipeline/commit_policy.hpp"
#include "pipeline/reader_stage.hpp"

namespace sinkhost::runtime {

using connector::ErrorCode;
using connector::make_error;
using Clock = std::chrono::steady_clock;

namespace {
// How many records may await their delivery outcome before the delivery thread stops taking
// prepared batches (backpressure without sleeping; librdkafka's own queue bound comes first).
// 5,000 covers the broker's acknowledgement time at full speed (about 25 ms at 200,000 records/s)
// while bounding what the producer holds: each record costs librdkafka about 1.5 KB with its
// headers, so 10,000 kept about 15 MiB more resident than needed (docs/performance.md).
constexpr std::size_t kMaxInFlight = 5000;
// How long close() may take to deliver what is outstanding when a connector stops.
constexpr std::chrono::milliseconds kCloseDeadline{10000};
// A sink that keeps asking for a restart while the checkpoint does not move is not helped by
// more: after this many in a row the connector stops with the sink's reason.
constexpr int kMaxRestartsInARow = 2;
// The wait before a restart that follows another at the same checkpoint.
constexpr std::chrono::milliseconds kRestartPause{500};
// How often a delivery thread whose gate (Options::may_deliver) is closed asks it again.
constexpr std::chrono::milliseconds kGatePoll{100};
// The nice value of delivery threads (see run()). At 10, CFS gives a management API thread about
// ten times the CPU share of a delivery thread when both want to run.
std::atomic<int> delivery_niceness{10};
}  // namespace

void set_delivery_niceness(int niceness) { delivery_niceness.store(std::clamp(niceness, 0, 19)); }

ConnectorWorker::ConnectorWorker(EventSource& source, CheckpointStore& checkpoints, Options options, Hooks hooks)
    : source_(source),
      checkpoints_(checkpoints),
      options_(std::move(options)),
      common_(CommonSettings::from(options_.settings)),
      hooks_(std::move(hooks)) {}

ConnectorWorker::~ConnectorWorker() {
  request_stop();
  join();
}

void ConnectorWorker::start() {
  thread_ = std::thread([this] { run(); });
}

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

void ConnectorWorker::dead_lettered(LogPosition position) noexcept {
  std::lock_guard lock(mutex_);
  outcomes_.push_back({position, std::nullopt, true});
  wake_.notify_one();
}

void ConnectorWorker::retried(std::uint64_t records) noexcept {
  options_.metrics->records_retried.fetch_add(records, std::memory_order_relaxed);
}

void ConnectorWorker::log(connector::LogLevel level, std::string_view message) const {
  if (!common_.logging_enabled) return;
  const auto& id = options_.connector_id;
  switch (level) {
    case connector::LogLevel::debug: spdlog::debug("[{}] {}", id, message); break;
    case connector::LogLevel::info: spdlog::info("[{}] {}", id, message); break;
    case connector::LogLevel::warn: spdlog::warn("[{}] {}", id, message); break;
    case connector::LogLevel::error: spdlog::error("[{}] {}", id, message); break;
  }
}

void ConnectorWorker::wake() {
  std::lock_guard lock(mutex_);
  batch_ready_ = true;
  wake_.notify_one();
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
    options_.metrics->set_degraded(
        ConnectorMetrics::Condition{connector::code_name(condition->code), condition->message});
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
  ::pthread_setname_np(::pthread_self(), "sh-delivery");  // as top -H and perf show it
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

struct ConnectorWorker::Run {
  Run(const Options& options, const CommonSettings& common, CheckpointStore& store, ConnectorWorker& worker)
      : tracker(options.committed),
        commits(
            CommitPolicy::Options::from(common.autocommit), options.connector_id, store, options.committed,
            [&worker](std::optional<Error> condition) {
              if (condition) worker.log(connector::LogLevel::warn, condition->message + "; will retry");
              worker.degraded(std::move(condition));
            },
            [metrics = options.metrics](SourcePosition saved) { metrics->publish_checkpoint(saved); }) {}

  CheckpointTracker tracker;
  CommitPolicy commits;
  std::unique_ptr<ReaderStage> reader;
  std::unique_ptr<PreparedBatch> batch;  // taken from the reader, being handed to the sink
  std::size_t next = 0;                  // batch->records[next] is the next to write
  bool sink_full = false;                // the sink said "full": write again only after an outcome
  int restarts_in_a_row = 0;             // restarts with the checkpoint at restarted_at
  std::optional<SourcePosition> restarted_at;
};

std::unique_ptr<ReaderStage> ConnectorWorker::start_reader(const connector::Sink& sink,
                                                           std::optional<SourcePosition> after, bool after_head) {
  auto reader = std::make_unique<ReaderStage>(
      ReaderStage::Options{
          .source = &source_,
          .after = after,
          .after_head = after_head && !after,
          .filter = options_.filter,
          .connector_id = options_.connector_id,
          .ignore_system_headers = common_.ignore_system_headers,
          .sink = &sink,
          .transform = common_.transformer,
          .metrics = options_.metrics,
      },
      [this] { wake(); });
  reader->start();
  return reader;
}

// Applies every outcome, so that acknowledgements after a failure still count; a failed record
// is never acknowledged, so the checkpoint stays before it. Returns the first failure.
std::optional<Error> ConnectorWorker::apply(Run& run, std::vector<Outcome>& outcomes) {
  auto& metrics = *options_.metrics;
  std::optional<Error> first_failure;
  std::size_t acknowledged = 0;
  std::size_t dead_lettered = 0;
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
    auto acked = run.tracker.acknowledged(outcome.position);
    if (!acked.ok()) {
      if (!first_failure) first_failure = acked.error();
      continue;
    }
    metrics.observe_latency(Clock::now() - *acked);
    ++acknowledged;
    if (outcome.dead_lettered) ++dead_lettered;
  }
  metrics.records_delivered.fetch_add(acknowledged - dead_lettered, std::memory_order_relaxed);
  if (dead_lettered > 0) metrics.records_dead_lettered.fetch_add(dead_lettered, std::memory_order_relaxed);
  run.commits.acknowledged(acknowledged);
  outcomes.clear();
  return first_failure;
}

// Hands prepared records to the sink until it is full, too many are in flight, or nothing is
// prepared.
std::optional<Error> ConnectorWorker::send(Run& run, connector::Sink& sink) {
  while (!run.sink_full && run.tracker.in_flight() < kMaxInFlight) {
    if (!run.batch) {
      run.batch = run.reader->take();
      run.next = 0;
      if (!run.batch) return std::nullopt;
    }
    auto& batch = *run.batch;
    while (run.next < batch.size && run.tracker.in_flight() < kMaxInFlight) {
      const auto& why = batch.dead_letter[run.next];
      auto written = why ? sink.write_dead_letter(batch.records[run.next], *why) : sink.write(batch.records[run.next]);
      if (!written.ok()) {
        if (written.error().code == ErrorCode::resource_exhausted && run.tracker.in_flight() > 0) {
          run.sink_full = true;  // wait for an outcome
          return std::nullopt;
        }
        return written.error();
      }
      if (auto tracked = run.tracker.dispatched(batch.records[run.next].position, batch.positions[run.next]);
          !tracked.ok()) {
        return tracked.error();
      }
      ++run.next;
    }
    if (run.next < batch.size) return std::nullopt;
    if (batch.scanned_to) {
      if (auto skipped = run.tracker.skipped(*batch.scanned_to); !skipped.ok()) return skipped.error();
      run.commits.acknowledged(1);
    }
    if (batch.failure) return batch.failure;
    run.reader->recycle(std::move(run.batch));
  }
  return std::nullopt;
}

// The sink lost track of what it sent: keep what was acknowledged, then start over from the
// checkpoint with a new sink and a new reader.
std::optional<Error> ConnectorWorker::restart(Run& run, std::unique_ptr<connector::Sink>& sink, const Error& reason) {
  const SourcePosition at = run.tracker.committable();
  if (auto error = run.commits.save(at)) return error;
  run.restarts_in_a_row = run.restarted_at == at ? run.restarts_in_a_row + 1 : 1;
  run.restarted_at = at;
  if (run.restarts_in_a_row > kMaxRestartsInARow) {
    return make_error(reason.code, reason.message + " (still after " + std::to_string(kMaxRestartsInARow) +
                                       " restarts of the sink that did not move the checkpoint)");
  }
  log(connector::LogLevel::warn, "restarting the sink and resending from the checkpoint: " + reason.message);
  if (run.restarts_in_a_row > 1) {
    std::unique_lock lock(mutex_);
    if (wake_.wait_for(lock, kRestartPause, [this] { return stop_requested_; })) return std::nullopt;
  }
  run.reader->stop();
  run.batch.reset();
  sink->close(std::chrono::milliseconds(0));
  {
    std::lock_guard lock(mutex_);
    outcomes_.clear();  // outcomes of the old sink: nothing after the checkpoint counts
    batch_ready_ = false;
    restart_reason_.reset();  // asked by the old sink while it closed: this is its restart
  }
  options_.metrics->set_degraded(std::nullopt);  // the old sink's condition: the new one reports its own
  auto fresh = open_sink();
  if (!fresh.ok()) return fresh.error();
  sink = std::move(fresh).value();
  // Resend after what was saved; when nothing was saved in this run, from where the run began. A
  // run that began "after the head" resends after what it saved even when that is nothing yet
  // (the start it pinned, or the beginning): the head has moved since, and what came after the
  // pinned start may not have been acknowledged.
  const SourcePosition committed = run.commits.committed();
  run.tracker = CheckpointTracker(committed);
  run.sink_full = false;
  const bool moved = committed != options_.committed || options_.after_head;
  run.reader = start_reader(*sink, moved ? std::optional(committed) : options_.after, false);
  options_.metrics->restarts.fetch_add(1, std::memory_order_relaxed);
  return std::nullopt;
}

std::optional<Error> ConnectorWorker::stream(std::unique_ptr<connector::Sink>& sink) {
  Run run(options_, common_, checkpoints_, *this);
  run.reader = start_reader(*sink, options_.after, options_.after_head);
  hooks_.on_state(ConnectorState::running);
  log(connector::LogLevel::info, options_.after ? "running after position " + std::to_string(options_.after->commit)
                                 : options_.after_head ? "running after the newest event of " + source_.describe()
                                                       : "running from the first event of " + source_.describe());

  std::vector<Outcome> outcomes;
  std::optional<Error> failure;
  while (!failure) {
    std::optional<Error> restart_reason;
    const bool gated = options_.may_deliver && !options_.may_deliver();
    {
      std::unique_lock lock(mutex_);
      auto has_work = [&] {
        const bool can_send = !gated && run.tracker.in_flight() < kMaxInFlight && !run.sink_full;
        return stop_requested_ || sink_failure_ || restart_reason_ || !outcomes_.empty() ||
               (can_send && (batch_ready_ || (run.batch && run.next < run.batch->size)));
      };
      auto deadline = run.commits.deadline(run.tracker.committable());
      // While gated, the gate is asked again at this pace.
      if (gated && (!deadline || *deadline > Clock::now() + kGatePoll)) deadline = Clock::now() + kGatePoll;
      if (deadline) {
        wake_.wait_until(lock, *deadline, has_work);
      } else {
        wake_.wait(lock, has_work);
      }
      outcomes.swap(outcomes_);
      batch_ready_ = false;
      if (sink_failure_) failure = sink_failure_;
      restart_reason.swap(restart_reason_);
      if (stop_requested_ || failure) break;
    }
    if (!outcomes.empty()) run.sink_full = false;
    if (auto error = apply(run, outcomes); error && !restart_reason) {
      failure = error;
      break;
    }
    if (restart_reason) {
      failure = restart(run, sink, *restart_reason);
      continue;
    }
    // Asked again: the wait may have begun before a pause of the process that closed the gate.
    const bool open = !options_.may_deliver || options_.may_deliver();
    if (open && (failure = send(run, *sink))) break;
    failure = run.commits.maybe_save(run.tracker.committable());
  }

  run.reader->stop();  // no more reads
  hooks_.on_state(ConnectorState::deactivating);
  // close() reports every outstanding record, so after it the tracker knows all outcomes.
  sink->close(kCloseDeadline);
  {
    // Outcomes taken at the last wake-up (a stop ends the loop before they are applied) and
    // those close() reported: all of them count.
    std::lock_guard lock(mutex_);
    outcomes.insert(outcomes.end(), std::make_move_iterator(outcomes_.begin()),
                    std::make_move_iterator(outcomes_.end()));
    outcomes_.clear();
  }
  // Records the sink could not deliver before close() returned are not covered by the
  // checkpoint and will be sent again at the next start. After a requested stop that is the
  // expected end, not a failure; after a failure, the first failure is the one to report.
  if (auto error = apply(run, outcomes); error && !failure) {
    log(connector::LogLevel::warn, "stopping before every record was acknowledged: " + error->message);
  }
  if (auto error = run.commits.save(run.tracker.committable()); error && !failure) failure = error;
  return failure;
}

}  // namespace sinkhost::runtime
