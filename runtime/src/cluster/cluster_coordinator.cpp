#include "sinkhost/runtime/cluster/cluster_coordinator.hpp"

#include <pthread.h>

#include <utility>

#include <spdlog/spdlog.h>

#include "sinkhost/runtime/cluster/slots.hpp"

namespace sinkhost::runtime::cluster {

namespace {

// After a failed read of the connectors table, the thread waits this long before the next.
constexpr std::chrono::milliseconds kRetryPause{1000};

bool is_connector(std::string_view key) { return !key.starts_with('$'); }

void apply_config(ConnectorConfigs& configs, const TableRecord& record) {
  if (!is_connector(record.key)) return;
  if (record.value) {
    configs.insert_or_assign(record.key, *record.value);
  } else {
    configs.erase(record.key);
  }
}

}  // namespace

Result<std::unique_ptr<ClusterCoordinator>> ClusterCoordinator::start(ClusterCoordinatorOptions options,
                                                                      ConnectorListener listener) {
  std::unique_ptr<ClusterCoordinator> coordinator(new ClusterCoordinator(std::move(options), std::move(listener)));
  auto table = KafkaTable::open(coordinator->options_.connectors);
  if (!table.ok()) return table.error();
  coordinator->table_ = std::move(*table);
  auto loaded = coordinator->table_->load();
  if (!loaded.ok()) return loaded.error();
  for (auto& [id, value] : *loaded) {
    if (is_connector(id)) coordinator->configs_.emplace(id, std::move(value.value));
  }

  ClusterCoordinator* self = coordinator.get();
  MembershipListener membership_listener{[self](const SlotChange& change) { self->slots_assigned(change); },
                                         [self](const SlotChange& change) { self->slots_revoked(change); },
                                         [self](std::int32_t generation) { self->generation_changed(generation); }};
  auto membership = GroupMembership::join(coordinator->options_.membership, std::move(membership_listener));
  if (!membership.ok()) return membership.error();
  coordinator->membership_ = std::move(*membership);
  coordinator->thread_ = std::thread([self] { self->follow_table(); });
  return coordinator;
}

ClusterCoordinator::ClusterCoordinator(ClusterCoordinatorOptions options, ConnectorListener listener)
    : options_(std::move(options)), listener_(std::move(listener)) {}

ClusterCoordinator::~ClusterCoordinator() { close(); }

void ClusterCoordinator::close() {
  stopping_.store(true, std::memory_order_release);
  if (thread_.joinable()) thread_.join();
  // Revokes every slot: their connectors stop inside slots_revoked.
  if (membership_) membership_->close();
}

Result<void> ClusterCoordinator::put_config(std::string_view id, std::string_view config) {
  auto written = table_->put(id, config);
  if (!written.ok()) return written.error();
  return {};
}

Result<void> ClusterCoordinator::erase_config(std::string_view id) {
  auto written = table_->erase(id);
  if (!written.ok()) return written.error();
  return {};
}

void ClusterCoordinator::follow_table() {
  ::pthread_setname_np(::pthread_self(), "sh-coordinator");
  while (!stopping_.load(std::memory_order_acquire)) {
    auto records = table_->poll(options_.poll_interval);
    if (!records.ok()) {
      spdlog::error("[cluster] {} following the connectors table: {}", options_.membership.host_id,
                    records.error().message);
      std::this_thread::sleep_for(kRetryPause);
      continue;
    }
    if (records->empty()) continue;
    std::lock_guard lock(mutex_);
    for (const auto& record : *records) apply_config(configs_, record);
    if (listener_.changed) {
      // The owner applies a changed configuration itself: what runs is marked current.
      for (auto& [id, config] : running_) {
        if (auto found = configs_.find(id); found != configs_.end()) config = found->second;
      }
    }
    reconcile();
    if (listener_.changed) {
      for (const auto& record : *records) {
        if (is_connector(record.key)) listener_.changed(record.key, record.value);
      }
    }
  }
}

void ClusterCoordinator::slots_assigned(const SlotChange& change) {
  std::lock_guard lock(mutex_);
  slots_.insert(change.slots.begin(), change.slots.end());
  reconcile();
}

void ClusterCoordinator::generation_changed(std::int32_t generation) {
  table_->set_generation(generation);
  std::lock_guard lock(mutex_);
  if (listener_.generation) listener_.generation(generation);
}

void ClusterCoordinator::slots_revoked(const SlotChange& change) {
  std::lock_guard lock(mutex_);
  for (int slot : change.slots) slots_.erase(slot);
  // Only the revoked slots' connectors: the next owner may start them once this returns.
  stop_connectors(connectors_in_slots(change.slots, options_.membership.slots, running_));
}

void ClusterCoordinator::reconcile() {
  const auto plan = plan_connectors(slots_, options_.membership.slots, configs_, running_);
  stop_connectors(plan.stop);
  for (const auto& [id, config] : plan.start) {
    spdlog::info("[cluster] {} starts connector {} (slot {})", options_.membership.host_id, id,
                 slot_of(id, options_.membership.slots));
    if (listener_.start) listener_.start(id, config);
    running_.insert_or_assign(id, config);
  }
}

void ClusterCoordinator::stop_connectors(const std::vector<std::string>& ids) {
  if (ids.empty()) return;
  for (const auto& id : ids) spdlog::info("[cluster] {} stops connector {}", options_.membership.host_id, id);
  if (listener_.stop_all) {
    listener_.stop_all(ids);
  } else if (listener_.stop) {
    for (const auto& id : ids) listener_.stop(id);
  }
  for (const auto& id : ids) running_.erase(id);
}

ConnectorConfigs ClusterCoordinator::configs() const {
  std::lock_guard lock(mutex_);
  return configs_;
}

ConnectorConfigs ClusterCoordinator::running() const {
  std::lock_guard lock(mutex_);
  return running_;
}

std::set<int> ClusterCoordinator::slots() const {
  std::lock_guard lock(mutex_);
  return slots_;
}

std::int32_t ClusterCoordinator::generation() const { return membership_ ? membership_->generation() : -1; }

}  // namespace sinkhost::runtime::cluster
