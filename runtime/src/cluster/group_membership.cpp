#include "sinkhost/runtime/cluster/group_membership.hpp"

#include <pthread.h>

#include <algorithm>
#include <string_view>
#include <utility>

#include <spdlog/spdlog.h>

#include "rdkafka_support.hpp"

namespace sinkhost::runtime::cluster {

using connector::ErrorCode;
using connector::make_error;

namespace {

// How long the membership's thread waits in one poll: the longest close waits for it to notice.
constexpr int kPollMs = 200;

// The group member's properties. Nothing is consumed or committed: the partitions are slots.
// The classic group protocol, where the client-side cooperative-sticky assignor runs.
Properties member_properties(const GroupMembershipOptions& options) {
  return {{"group.id", options.group_id},
          {"client.id", options.host_id.empty() ? "sinkhost" : options.host_id},
          {"group.protocol", "classic"},
          {"partition.assignment.strategy", "cooperative-sticky"},
          {"session.timeout.ms", std::to_string(options.session_timeout.count())},
          {"heartbeat.interval.ms", std::to_string(options.heartbeat_interval.count())},
          {"enable.auto.commit", "false"},
          {"enable.auto.offset.store", "false"},
          {"auto.offset.reset", "latest"},
          {"allow.auto.create.topics", "false"}};
}

Result<void> check_options(const GroupMembershipOptions& options) {
  if (options.group_id.empty()) return make_error(ErrorCode::invalid_argument, "the cluster's group id is empty");
  if (options.topic.empty()) return make_error(ErrorCode::invalid_argument, "the assignment topic's name is empty");
  if (options.slots < 1) {
    return make_error(ErrorCode::invalid_argument,
                      "the slot count is " + std::to_string(options.slots) + "; it must be at least 1");
  }
  return {};
}

std::vector<int> slots_in(const rd_kafka_topic_partition_list_t* partitions) {
  std::vector<int> slots;
  if (partitions == nullptr) return slots;
  for (int i = 0; i < partitions->cnt; ++i) slots.push_back(partitions->elems[i].partition);
  std::sort(slots.begin(), slots.end());
  return slots;
}

// The generation and member id the coordinator gave this member in its last rebalance.
std::pair<std::int32_t, std::string> group_state(rd_kafka_t* client) {
  rd_kafka_consumer_group_metadata_t* metadata = rd_kafka_consumer_group_metadata(client);
  if (metadata == nullptr) return {-1, ""};
  const std::int32_t generation = rd_kafka_consumer_group_metadata_generation_id(metadata);
  const char* member = rd_kafka_consumer_group_metadata_member_id(metadata);
  std::string member_id = member != nullptr ? member : "";
  rd_kafka_consumer_group_metadata_destroy(metadata);
  return {generation, std::move(member_id)};
}

void log_failure(const char* what, rd_kafka_error_t* error) {
  if (error == nullptr) return;
  spdlog::error("[cluster] {}: {}", what, rd_kafka_error_string(error));
  rd_kafka_error_destroy(error);
}

void log_failure(const char* what, rd_kafka_resp_err_t code) {
  if (code != RD_KAFKA_RESP_ERR_NO_ERROR) spdlog::error("[cluster] {}: {}", what, rd_kafka_err2str(code));
}

}  // namespace

struct GroupMembership::Consumer {
  ClientPtr client;
};

// librdkafka's rebalance callback, on the membership's thread (served by its poll, or by
// rd_kafka_consumer_close when leaving). Assignments are taken before the listener hears of
// them; revocations are given up after it returned.
struct Rebalance {
  static void callback(rd_kafka_t* client, rd_kafka_resp_err_t event, rd_kafka_topic_partition_list_t* partitions,
                       void* opaque) {
    auto* membership = static_cast<GroupMembership*>(opaque);
    const bool cooperative = std::string_view(rd_kafka_rebalance_protocol(client)) == "COOPERATIVE";
    auto [generation, member_id] = group_state(client);
    if (event == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
      if (cooperative) {
        log_failure("taking the assigned slots", rd_kafka_incremental_assign(client, partitions));
      } else {
        log_failure("taking the assigned slots", rd_kafka_assign(client, partitions));
      }
      membership->slots_added(slots_in(partitions), generation, std::move(member_id));
      return;
    }
    if (event == RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS) {
      membership->slots_revoked(slots_in(partitions), generation, rd_kafka_assignment_lost(client) != 0);
      if (cooperative) {
        log_failure("giving up the revoked slots", rd_kafka_incremental_unassign(client, partitions));
      } else {
        log_failure("giving up the revoked slots", rd_kafka_assign(client, nullptr));
      }
      return;
    }
    // The rebalance failed: give up everything, as lost, and let the group assign again.
    spdlog::error("[cluster] the group's rebalance failed: {}", rd_kafka_err2str(event));
    std::vector<int> held;
    {
      std::lock_guard lock(membership->mutex_);
      held.assign(membership->slots_.begin(), membership->slots_.end());
    }
    membership->slots_revoked(std::move(held), generation, true);
    log_failure("giving up every slot", rd_kafka_assign(client, nullptr));
  }
};

Result<std::unique_ptr<GroupMembership>> GroupMembership::join(GroupMembershipOptions options,
                                                               MembershipListener listener) {
  if (auto valid = check_options(options); !valid.ok()) return valid.error();
  std::unique_ptr<GroupMembership> membership(new GroupMembership(std::move(options), std::move(listener)));
  const auto& o = membership->options_;

  auto conf = client_conf(o.client, member_properties(o));
  if (!conf.ok()) return conf.error();
  rd_kafka_conf_set_opaque(conf->get(), membership.get());
  rd_kafka_conf_set_rebalance_cb(conf->get(), Rebalance::callback);
  auto client = new_client(RD_KAFKA_CONSUMER, std::move(*conf));
  if (!client.ok()) return client.error();
  membership->consumer_ = std::make_unique<Consumer>(Consumer{std::move(*client)});
  rd_kafka_t* consumer = membership->consumer_->client.get();

  auto created = ensure_topic(consumer, TopicSpec{o.topic, o.slots, o.replication_factor, {}}, o.timeout);
  if (!created.ok()) return created.error();
  auto partitions = partition_count(consumer, o.topic, o.timeout);
  if (!partitions.ok()) return partitions.error();
  if (*partitions != o.slots) {
    return make_error(ErrorCode::failed_precondition,
                      "assignment topic '" + o.topic + "' has " + std::to_string(*partitions) + " partitions, but " +
                          std::to_string(o.slots) +
                          " slots were asked for: every host of a cluster must use the slot count the cluster was "
                          "created with");
  }

  PartitionListPtr subscription(rd_kafka_topic_partition_list_new(1));
  rd_kafka_topic_partition_list_add(subscription.get(), o.topic.c_str(), RD_KAFKA_PARTITION_UA);
  if (auto code = rd_kafka_subscribe(consumer, subscription.get())) {
    return kafka_error("joining group '" + o.group_id + "'", code);
  }
  membership->thread_ = std::thread([self = membership.get()] { self->run(); });
  return membership;
}

GroupMembership::GroupMembership(GroupMembershipOptions options, MembershipListener listener)
    : options_(std::move(options)), listener_(std::move(listener)) {}

GroupMembership::~GroupMembership() { close(); }

void GroupMembership::run() {
  ::pthread_setname_np(::pthread_self(), "sh-cluster");  // as top -H and perf show it
  rd_kafka_t* consumer = consumer_->client.get();
  rd_kafka_resp_err_t last_reported = RD_KAFKA_RESP_ERR_NO_ERROR;
  while (!stopping_.load(std::memory_order_acquire)) {
    MessagePtr message(rd_kafka_consumer_poll(consumer, kPollMs));
    // Nothing is written to the assignment topic; an error is reported once until another comes.
    if (!message || message->err == RD_KAFKA_RESP_ERR_NO_ERROR || message->err == last_reported) continue;
    last_reported = message->err;
    spdlog::warn("[cluster] {} in group '{}': {}", options_.host_id, options_.group_id, rd_kafka_err2str(message->err));
  }
  // Revokes every slot through the rebalance callback, then leaves the group.
  log_failure("leaving the group", rd_kafka_consumer_close(consumer));
}

void GroupMembership::close() {
  stopping_.store(true, std::memory_order_release);
  if (thread_.joinable()) thread_.join();
}

void GroupMembership::slots_added(std::vector<int> slots, std::int32_t generation, std::string member_id) {
  {
    std::lock_guard lock(mutex_);
    slots_.insert(slots.begin(), slots.end());
    generation_ = generation;
    member_id_ = std::move(member_id);
  }
  spdlog::info("[cluster] {} in group '{}', generation {}: {} slot(s) assigned", options_.host_id, options_.group_id,
               generation, slots.size());
  if (listener_.generation) listener_.generation(generation);
  if (!slots.empty() && listener_.assigned) listener_.assigned(SlotChange{std::move(slots), generation, false});
}

void GroupMembership::slots_revoked(std::vector<int> slots, std::int32_t generation, bool lost) {
  spdlog::info("[cluster] {} in group '{}', generation {}: {} slot(s) {}", options_.host_id, options_.group_id,
               generation, slots.size(), lost ? "lost" : "revoked");
  // The listener first: the slots stay this host's until their connectors stopped.
  if (!slots.empty() && listener_.revoked) listener_.revoked(SlotChange{slots, generation, lost});
  std::lock_guard lock(mutex_);
  for (int slot : slots) slots_.erase(slot);
}

std::set<int> GroupMembership::slots() const {
  std::lock_guard lock(mutex_);
  return slots_;
}

std::int32_t GroupMembership::generation() const {
  std::lock_guard lock(mutex_);
  return generation_;
}

std::string GroupMembership::member_id() const {
  std::lock_guard lock(mutex_);
  return member_id_;
}

}  // namespace sinkhost::runtime::cluster
