#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "sinkhost/connector/result.hpp"
#include "sinkhost/runtime/cluster/kafka_client.hpp"

namespace sinkhost::runtime::cluster {

using connector::Result;

struct GroupMembershipOptions {
  KafkaClientConfig client;
  std::string group_id;  // the cluster's name: every host of a cluster uses the same
  std::string topic;     // the assignment topic: one partition per slot; nothing is written to it
  // Partitions of the assignment topic, the most connectors slots can tell apart (slot_of).
  // Fixed when the topic is created: joining with another count fails.
  int slots = 64;
  int replication_factor = -1;  // for creating the topic; -1: the broker's default
  std::string host_id;          // the member's client.id, shown in the group's description
  // A host that stops heartbeating loses its slots after the session timeout; one that leaves
  // (close) hands them over at once. The broker bounds it (group.min.session.timeout.ms, 6 s by
  // default).
  std::chrono::milliseconds session_timeout{6000};
  std::chrono::milliseconds heartbeat_interval{1500};
  std::chrono::milliseconds timeout{15000};  // for creating or checking the topic at join
};

// A change of this host's slots, with the group generation it belongs to.
struct SlotChange {
  std::vector<int> slots;  // ascending
  std::int32_t generation = -1;
  // For a revocation: the session was lost (expired or fenced); another host may already run
  // these slots, so nothing may be written for them any more.
  bool lost = false;
};

// What the owner does when slots come and go. Both run on the membership's thread, in order.
// `assigned` runs after the slots were added; `revoked` runs before they are given up, and the
// next owner gets them only after it returned (cooperative rebalancing), so stopping the slots'
// connectors inside it keeps two hosts from running one. It must return within
// max.poll.interval.ms (5 minutes), or the group drops this host.
struct MembershipListener {
  std::function<void(const SlotChange&)> assigned;  // slots added (never called with none)
  std::function<void(const SlotChange&)> revoked;   // slots given up (never called with none)
  // Optional: every assignment this host took part in, with or without new slots, before
  // `assigned`: the group generation this host holds from now on.
  std::function<void(std::int32_t generation)> generation;
};

// This host's membership in the cluster's Kafka consumer group. The group's members subscribe
// to the assignment topic with the cooperative-sticky assignor: the group coordinator spreads
// the partitions (slots) over the hosts within one of each other, and a host joining or leaving
// moves only the slots it must, in two rebalances, without stopping the others.
//
// A thread of its own polls the consumer, which serves the rebalances and the listener's calls;
// librdkafka's background thread heartbeats, so the session stays alive while a listener call
// is busy. No record is consumed or committed.
class GroupMembership {
 public:
  // Creates the assignment topic when missing (`slots` partitions), refuses one with another
  // partition count (failed_precondition), subscribes, and starts the thread. Slots arrive
  // through the listener once the group's first rebalance is done.
  static Result<std::unique_ptr<GroupMembership>> join(GroupMembershipOptions options, MembershipListener listener);
  // Leaves the group (close) if still in it.
  ~GroupMembership();
  GroupMembership(const GroupMembership&) = delete;
  GroupMembership& operator=(const GroupMembership&) = delete;

  // The slots assigned to this host now; a slot being revoked stays in it until the listener's
  // revoked returned.
  std::set<int> slots() const;
  // The group generation of the last rebalance this host took part in (-1 before the first).
  std::int32_t generation() const;
  // The member id the coordinator gave this host (empty before the first rebalance).
  std::string member_id() const;

  // Leaves the group: revokes every slot (the listener's revoked runs), sends LeaveGroup so the
  // coordinator rebalances at once instead of after the session timeout, and stops the thread.
  // Idempotent. Not from inside a listener call (it waits for the thread that makes them).
  void close();

 private:
  struct Consumer;
  friend struct Rebalance;
  GroupMembership(GroupMembershipOptions options, MembershipListener listener);
  void run();
  // A rebalance's outcome for this host: added slots are recorded, then the listener hears of
  // them; revoked ones are removed after the listener returned.
  void slots_added(std::vector<int> slots, std::int32_t generation, std::string member_id);
  void slots_revoked(std::vector<int> slots, std::int32_t generation, bool lost);

  GroupMembershipOptions options_;
  MembershipListener listener_;
  std::unique_ptr<Consumer> consumer_;
  std::atomic<bool> stopping_{false};
  mutable std::mutex mutex_;
  std::set<int> slots_;
  std::int32_t generation_ = -1;
  std::string member_id_;
  std::thread thread_;
};

}  // namespace sinkhost::runtime::cluster
