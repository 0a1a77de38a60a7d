#include "sinkhost/runtime/cluster/cluster_host.hpp"

#include <pthread.h>
#include <sodium.h>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

namespace sinkhost::runtime::cluster {

using connector::ErrorCode;
using connector::make_error;

namespace {

// The status table's key of the cluster's data protection record (no connector id holds '$').
constexpr const char* kDataProtectionKey = "$data-protection";
// How long the first hosts of a new cluster wait before they read which data protection record
// won (the last written), so that hosts started together agree on one.
constexpr std::chrono::seconds kDataProtectionSettle{2};
// How long the status thread waits for another host's status in one poll.
constexpr std::chrono::milliseconds kStatusPoll{100};
// How often the pause watch ticks.
constexpr std::chrono::milliseconds kPauseTick{100};

std::int64_t steady_ns(std::chrono::steady_clock::time_point at) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(at.time_since_epoch()).count();
}

// How often the host of a connector that failed to start retries reading its checkpoint.
constexpr int kCheckpointAttempts = 3;

std::string to_hex(const std::string& bytes) {
  std::string hex(bytes.size() * 2 + 1, '\0');
  sodium_bin2hex(hex.data(), hex.size(), reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size());
  hex.pop_back();
  return hex;
}

std::optional<std::string> from_hex(const std::string& hex) {
  std::string bytes(hex.size() / 2, '\0');
  std::size_t length = 0;
  if (sodium_hex2bin(reinterpret_cast<unsigned char*>(bytes.data()), bytes.size(), hex.data(), hex.size(), nullptr,
                     &length, nullptr) != 0 ||
      length * 2 != hex.size()) {
    return std::nullopt;
  }
  bytes.resize(length);
  return bytes;
}

std::string encode_data_protection(const DataProtectionRecord& record) {
  return nlohmann::json{{"format", record.format},     {"kdf", record.kdf},           {"salt", to_hex(record.salt)},
                        {"opslimit", record.opslimit}, {"memlimit", record.memlimit}, {"verifier", record.verifier}}
      .dump();
}

Result<DataProtectionRecord> decode_data_protection(const std::string& value) {
  const auto json = nlohmann::json::parse(value, nullptr, /*allow_exceptions=*/false);
  try {
    DataProtectionRecord record{json.at("format").get<int>(),
                                json.at("kdf").get<std::string>(),
                                "",
                                json.at("opslimit").get<std::int64_t>(),
                                json.at("memlimit").get<std::int64_t>(),
                                json.at("verifier").get<std::string>()};
    auto salt = from_hex(json.at("salt").get<std::string>());
    if (!salt) throw std::invalid_argument("salt");
    record.salt = std::move(*salt);
    return record;
  } catch (const std::exception&) {
    return make_error(ErrorCode::internal, "the cluster's data protection record (key " +
                                               std::string(kDataProtectionKey) + " of its status table) is unreadable");
  }
}

}  // namespace

std::string cluster_topic(const std::string& group, const char* table) { return "sinkhost-" + group + "-" + table; }

ClusterHost::ClusterHost(ClusterHostOptions options) : options_(std::move(options)) {}

ClusterHost::~ClusterHost() { close(); }

KafkaTableOptions ClusterHost::table_options(const char* table) const {
  return KafkaTableOptions{.client = options_.client,
                           .topic = cluster_topic(options_.group, table),
                           .partitions = table == std::string("checkpoints") ? options_.slots : 1,
                           .replication_factor = options_.replication_factor,
                           .writer = WriterStamp{options_.host_id, -1},
                           .timeout = options_.timeout};
}

Result<std::unique_ptr<ClusterHost>> ClusterHost::open(ClusterHostOptions options) {
  std::unique_ptr<ClusterHost> host(new ClusterHost(std::move(options)));
  auto checkpoints = KafkaCheckpointStore::open(host->table_options("checkpoints"));
  if (!checkpoints.ok()) return checkpoints.error();
  host->checkpoints_ = std::move(*checkpoints);
  auto statuses = KafkaTable::open(host->table_options("status"));
  if (!statuses.ok()) return statuses.error();
  host->statuses_ = std::move(*statuses);
  auto* initial = &host->initial_statuses_;
  auto loaded = host->statuses_->load([initial](TableRecord record) { (*initial)[record.key] = record.value; });
  if (!loaded.ok()) return loaded.error();
  auto* self = host.get();
  host->store_ = std::make_unique<ClusterDefinitionStore>(ClusterDefinitionStore::Tables{
      .put_definition = [self](const std::string& id, const std::string& value) -> Result<void> {
        if (!self->coordinator_) {
          return make_error(ErrorCode::unavailable, "this host has not joined its cluster yet; try again");
        }
        return self->coordinator_->put_config(id, value);
      },
      .save_checkpoint = [self](const std::string& id,
                                SourcePosition position) { return self->checkpoints_->save_checkpoint(id, position); },
      .reset_checkpoint = [self](const std::string& id) -> Result<void> {
        // Nothing to reset for a new connector: no write, whose generation (this host's) could
        // be newer than the one its owner holds in the middle of a rebalance.
        auto held = self->checkpoints_->load_checkpoint(id);
        if (held.ok() && !*held) return {};
        return self->checkpoints_->reset_checkpoint(id);
      },
  });
  return host;
}

Result<std::shared_ptr<const SecretBox>> ClusterHost::open_data_protection(const SecretBytes* token) {
  const auto keep_last = [this](TableRecord record) { initial_statuses_[record.key] = record.value; };
  const auto stored_record = [this]() -> std::optional<std::string> {
    auto found = initial_statuses_.find(kDataProtectionKey);
    return found == initial_statuses_.end() ? std::nullopt : found->second;
  };
  auto stored = stored_record();
  if (token == nullptr) {
    if (stored) {
      return make_error(ErrorCode::failed_precondition,
                        "cluster '" + options_.group +
                            "' encrypts secret settings with a data protection token and this host was given none: "
                            "start every host of a cluster with the same token (--data-protection-token-file)");
    }
    return std::shared_ptr<const SecretBox>();
  }
  if (!stored) {
    DataProtectionRecord created;
    auto box = SecretBox::create(token->view(), created);
    if (!box.ok()) return box.error();
    if (auto written = statuses_->put(kDataProtectionKey, encode_data_protection(created)); !written.ok()) {
      return written.error();
    }
    spdlog::info("[cluster] data protection set up for cluster '{}'", options_.group);
    // Hosts started together each wrote one: the last written is the cluster's.
    std::this_thread::sleep_for(kDataProtectionSettle);
    if (auto read = statuses_->read_to_end(keep_last); !read.ok()) return read.error();
    stored = stored_record();
  }
  auto record = decode_data_protection(*stored);
  if (!record.ok()) return record.error();
  auto box = SecretBox::open(token->view(), *record);
  if (!box.ok()) {
    return make_error(ErrorCode::failed_precondition,
                      "this host's data protection token is not the one of cluster '" + options_.group +
                          "': every host of a cluster needs the same token, or it could not read the secret "
                          "settings the others stored (" +
                          box.error().message + ")");
  }
  return std::shared_ptr<const SecretBox>(std::move(box).value());
}

ConnectorService::ClusterMembership ClusterHost::membership() {
  return {.host_id = options_.host_id,
          .state_changed = [this](const ConnectorView& view) { state_changed(view); },
          .may_deliver = [this] { return may_deliver(); }};
}

// The pause fence. A host whose process was paused (SIGSTOP, a frozen VM) for about its session
// timeout may have lost its connectors to other hosts without knowing it yet: when it runs
// again, its delivery threads, its subscriptions and its group membership all resume at once,
// and the membership may hear that its slots were lost only after a delivery thread sent records
// the new owner sends too. A thread of its own (sh-cluster-lease) ticks every 100 ms; a gap of
// more than half the session timeout between two ticks is a pause. From the moment a pause
// shows (to the delivery threads, which compare the clock with the last tick before each
// send) until the group has assigned slots again, or, when it does not take any away, until a
// full session timeout and two heartbeats have passed after it (time enough for the group to
// have refused a stale member), no connector of this host hands a record to its sink.
std::chrono::steady_clock::duration ClusterHost::pause_threshold() const { return options_.session_timeout / 2; }

bool ClusterHost::may_deliver() const {
  const auto now = steady_ns(std::chrono::steady_clock::now());
  const auto threshold = std::chrono::duration_cast<std::chrono::nanoseconds>(pause_threshold()).count();
  const auto last_tick = last_tick_ns_.load(std::memory_order_acquire);
  if (last_tick != 0 && now - last_tick > threshold) return false;  // paused; the watch has not run since
  return now >= fenced_until_ns_.load(std::memory_order_acquire);
}

void ClusterHost::watch_for_pauses() {
  ::pthread_setname_np(::pthread_self(), "sh-cluster-lease");
  const auto threshold = pause_threshold();
  auto last = std::chrono::steady_clock::now();
  while (!stopping_.load(std::memory_order_acquire)) {
    std::this_thread::sleep_for(kPauseTick);
    const auto now = std::chrono::steady_clock::now();
    if (now - last > threshold) {
      const auto fence = now + options_.session_timeout + 2 * std::chrono::milliseconds(1500);
      fenced_until_ns_.store(steady_ns(fence), std::memory_order_release);
      spdlog::warn(
          "[cluster] host {} did not run for {:.1f} s: its connectors send nothing until the group has said "
          "which it still owns",
          options_.host_id, std::chrono::duration<double>(now - last).count());
    }
    last = now;
    last_tick_ns_.store(steady_ns(now), std::memory_order_release);
  }
}

Result<void> ClusterHost::join(ConnectorService& service) {
  service_ = &service;
  ClusterCoordinatorOptions coordinator_options{
      .membership = GroupMembershipOptions{.client = options_.client,
                                           .group_id = options_.group,
                                           .topic = cluster_topic(options_.group, "assignment"),
                                           .slots = options_.slots,
                                           .replication_factor = options_.replication_factor,
                                           .host_id = options_.host_id,
                                           .session_timeout = options_.session_timeout,
                                           .timeout = options_.timeout},
      .connectors = table_options("connectors"),
  };
  ConnectorListener listener{
      .start =
          [this](const std::string& id, const std::string& config) {
            store_->accept(id, config);
            connector_placed(id);
          },
      .stop = [this](const std::string& id) { service_->release({id}); },
      .stop_all = [this](const std::vector<std::string>& ids) { service_->release(ids); },
      .generation =
          [this](std::int32_t generation) {
            checkpoints_->set_generation(generation);
            // The group has said where this host stands: a fence raised by a pause ends.
            fenced_until_ns_.store(0, std::memory_order_release);
          },
      .changed = [this](const std::string& id,
                        const std::optional<std::string>& value) { definition_changed(id, value); },
  };
  auto coordinator = ClusterCoordinator::start(std::move(coordinator_options), std::move(listener));
  if (!coordinator.ok()) return coordinator.error();
  coordinator_ = std::move(*coordinator);
  for (const auto& [id, config] : coordinator_->configs()) {
    if (auto definition = store_->accept(id, config)) service.replicate(*definition);
  }
  last_tick_ns_.store(steady_ns(std::chrono::steady_clock::now()), std::memory_order_release);
  pause_thread_ = std::thread([this] { watch_for_pauses(); });
  status_thread_ = std::thread([this] { follow_statuses(); });
  spdlog::info("[cluster] host {} joined cluster '{}' ({} slots)", options_.host_id, options_.group, options_.slots);
  return {};
}

void ClusterHost::connector_placed(const std::string& id) {
  auto definition = store_->find(id);
  if (!definition) return;
  for (int attempt = 1;; ++attempt) {
    auto checkpoint = checkpoints_->load_checkpoint(id);
    if (checkpoint.ok()) {
      definition->checkpoint = *checkpoint;
      break;
    }
    if (attempt == kCheckpointAttempts) {
      spdlog::error("[cluster] connector {} is not started here: its checkpoint cannot be read ({})", id,
                    checkpoint.error().message);
      return;
    }
  }
  service_->adopt(*definition);
}

void ClusterHost::definition_changed(const std::string& id, const std::optional<std::string>& value) {
  auto definition = store_->accept(id, value);
  if (!definition) return;
  auto placed = service_->get(id);
  const bool starts_here = placed.ok() && placed->owner == options_.host_id && definition->run_requested &&
                           placed->state == ConnectorState::stopped && !placed->restart;
  if (starts_here) {
    // It starts now (replicate): from the checkpoint the table holds (a reset on another host
    // wrote one). A connector that runs already needs no read of the table.
    auto checkpoint = checkpoints_->load_checkpoint(id);
    if (!checkpoint.ok()) {
      spdlog::error("[cluster] connector {}: its checkpoint cannot be read ({})", id, checkpoint.error().message);
      return;
    }
    definition->checkpoint = *checkpoint;
  }
  service_->replicate(*definition);
  // A status that came before the definition (another topic, no order between them).
  std::optional<StatusRecord> seen;
  {
    std::lock_guard lock(seen_mutex_);
    if (auto found = seen_statuses_.find(id); found != seen_statuses_.end()) seen = found->second;
  }
  if (seen) show_status(id, *seen);
}

void ClusterHost::show_status(const std::string& id, const StatusRecord& status) {
  service_->show_status(id, ConnectorService::ReplicaStatus{.owner = status.host,
                                                            .state = status.state,
                                                            .state_update_time_ms = status.state_update_time_ms,
                                                            .error = status.error});
}

void ClusterHost::state_changed(const ConnectorView& view) {
  StatusRecord status{options_.host_id, view.state, view.state_update_time_ms, view.definition.error};
  std::lock_guard lock(pending_mutex_);
  pending_.insert_or_assign(view.definition.id, std::move(status));
}

void ClusterHost::publish_statuses() {
  std::map<std::string, StatusRecord> pending;
  {
    std::lock_guard lock(pending_mutex_);
    pending.swap(pending_);
  }
  for (const auto& [id, status] : pending) {
    if (auto written = statuses_->put(id, encode_status(status)); !written.ok()) {
      spdlog::warn("[cluster] the state of connector {} was not published: {}", id, written.error().message);
    }
  }
}

void ClusterHost::follow_statuses() {
  ::pthread_setname_np(::pthread_self(), "sh-cluster-stat");
  const auto show = [this](TableRecord record) {
    if (!record.value || record.key.starts_with('$')) return;
    auto status = decode_status(*record.value);
    if (!status.ok() || status->host == options_.host_id) return;
    {
      std::lock_guard lock(seen_mutex_);
      seen_statuses_.insert_or_assign(record.key, *status);
    }
    show_status(record.key, *status);
  };
  for (auto& [key, value] : initial_statuses_) show(TableRecord{key, value, std::nullopt, 0, -1});
  initial_statuses_.clear();
  while (!stopping_.load(std::memory_order_acquire)) {
    publish_statuses();
    auto records = statuses_->poll(kStatusPoll);
    if (!records.ok()) {
      spdlog::warn("[cluster] following the status table: {}", records.error().message);
      continue;
    }
    for (auto& record : *records) show(std::move(record));
  }
  publish_statuses();
}

void ClusterHost::close() {
  // Leaving the group stops this host's connectors (their last states are published below).
  if (coordinator_) coordinator_->close();
  stopping_.store(true, std::memory_order_release);
  if (status_thread_.joinable()) status_thread_.join();
  if (pause_thread_.joinable()) pause_thread_.join();
}

}  // namespace sinkhost::runtime::cluster
