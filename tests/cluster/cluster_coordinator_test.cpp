// ClusterCoordinator against the real test broker: two hosts in one process share the
// connectors of one table, each connector on exactly one host at every moment the listeners
// observe, and a table change made on any host reaches the host that owns the connector.
#include <chrono>
#include <cstdio>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "kafka.hpp"
#include "sinkhost/runtime/cluster/cluster_coordinator.hpp"
#include "sinkhost/runtime/cluster/slots.hpp"

namespace sinkhost::runtime::cluster {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// As many slots as connectors, and the connectors chosen one per slot: each host's share of the
// slots (half, cooperative-sticky) is then exactly its share of the connectors.
constexpr int kSlots = 10;

// "connector-<k>" ids, the first found for each slot, in slot order.
std::vector<std::string> one_connector_per_slot() {
  std::vector<std::string> ids(kSlots);
  int found = 0;
  for (int k = 0; found < kSlots; ++k) {
    std::string id = "connector-" + std::to_string(k);
    auto& slot = ids[static_cast<std::size_t>(slot_of(id, kSlots))];
    if (slot.empty()) {
      slot = std::move(id);
      ++found;
    }
  }
  return ids;
}

bool wait_until(const std::function<bool()>& condition, std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  while (Clock::now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(20ms);
  }
  return condition();
}

// Where each connector runs, as the hosts' listeners report it, and every moment a connector
// was started on a host while another still ran it.
class Observed {
 public:
  struct Call {
    std::string host;
    bool start;
    std::string id;
    std::string config;
  };

  ConnectorListener listener(const std::string& host) {
    return {[this, host](const std::string& id, const std::string& config) { started(host, id, config); },
            [this, host](const std::string& id) { stopped(host, id); }};
  }

  std::set<std::string> on(const std::string& host) const {
    std::lock_guard lock(mutex_);
    std::set<std::string> ids;
    for (const auto& [id, runner] : runs_on_) {
      if (runner == host) ids.insert(id);
    }
    return ids;
  }
  std::vector<std::string> overlaps() const {
    std::lock_guard lock(mutex_);
    return overlaps_;
  }
  std::vector<Call> calls_for(const std::string& id) const {
    std::lock_guard lock(mutex_);
    std::vector<Call> calls;
    for (const auto& call : calls_) {
      if (call.id == id) calls.push_back(call);
    }
    return calls;
  }

 private:
  void started(const std::string& host, const std::string& id, const std::string& config) {
    std::lock_guard lock(mutex_);
    auto runs = runs_on_.find(id);
    if (runs != runs_on_.end()) overlaps_.push_back(id + " started on " + host + " while it ran on " + runs->second);
    runs_on_[id] = host;
    calls_.push_back({host, true, id, config});
  }
  void stopped(const std::string& host, const std::string& id) {
    std::lock_guard lock(mutex_);
    auto runs = runs_on_.find(id);
    if (runs != runs_on_.end() && runs->second == host) runs_on_.erase(runs);
    calls_.push_back({host, false, id, ""});
  }

  mutable std::mutex mutex_;
  std::map<std::string, std::string> runs_on_;
  std::vector<std::string> overlaps_;
  std::vector<Call> calls_;
};

class KafkaClusterCoordinator : public ::testing::Test {
 protected:
  std::unique_ptr<ClusterCoordinator> start(const std::string& host) {
    ClusterCoordinatorOptions options;
    options.membership.client.bootstrap_servers = test::kafka_bootstrap();
    options.membership.group_id = group_;
    options.membership.topic = slots_topic_;
    options.membership.slots = kSlots;
    options.membership.host_id = host;
    options.membership.session_timeout = 6000ms;
    options.membership.heartbeat_interval = 500ms;
    options.connectors.client.bootstrap_servers = test::kafka_bootstrap();
    options.connectors.topic = connectors_topic_;
    options.connectors.writer = WriterStamp{host, -1};
    auto coordinator = ClusterCoordinator::start(std::move(options), observed_.listener(host));
    EXPECT_TRUE(coordinator.ok()) << coordinator.error().message;
    return coordinator.ok() ? std::move(*coordinator) : nullptr;
  }

  void put_connectors(const std::vector<std::string>& ids) {
    KafkaTableOptions options;
    options.client.bootstrap_servers = test::kafka_bootstrap();
    options.topic = connectors_topic_;
    options.writer = WriterStamp{"operator", -1};
    auto table = KafkaTable::open(options);
    ASSERT_TRUE(table.ok()) << table.error().message;
    for (const auto& id : ids) ASSERT_TRUE((*table)->put(id, R"({"instanceTypeName":"logger-sink"})").ok());
  }

  std::string group_ = test::unique_topic("cluster-coordinator");
  std::string slots_topic_ = test::unique_topic("cluster-coordinator-slots");
  std::string connectors_topic_ = test::unique_topic("cluster-coordinator-connectors");
  Observed observed_;
};

TEST_F(KafkaClusterCoordinator, TwoHostsRunFiveConnectorsEachAndOneTakesAllWhenTheOtherLeaves) {
  const auto ids = one_connector_per_slot();
  put_connectors(ids);
  auto a = start("host-a");
  ASSERT_TRUE(a);
  ASSERT_TRUE(wait_until([&] { return observed_.on("host-a").size() == ids.size(); }, 20s))
      << "host-a runs " << observed_.on("host-a").size();
  auto b = start("host-b");
  ASSERT_TRUE(b);
  const auto split = [&] { return observed_.on("host-a").size() == 5 && observed_.on("host-b").size() == 5; };
  ASSERT_TRUE(wait_until(split, 30s)) << "host-a runs " << observed_.on("host-a").size() << ", host-b "
                                      << observed_.on("host-b").size();
  std::set<std::string> everywhere = observed_.on("host-a");
  for (const auto& id : observed_.on("host-b")) everywhere.insert(id);
  EXPECT_EQ(everywhere, std::set<std::string>(ids.begin(), ids.end()));
  EXPECT_EQ(a->running().size(), 5U);
  EXPECT_EQ(b->running().size(), 5U);

  const auto leaving = Clock::now();
  b->close();
  EXPECT_TRUE(observed_.on("host-b").empty());
  ASSERT_TRUE(wait_until([&] { return observed_.on("host-a").size() == ids.size(); }, 5s))
      << "host-a runs " << observed_.on("host-a").size() << " connectors 5 s after host-b left";
  std::printf("CLUSTER-RESULT connectors moved after a clean leave: %.2f s\n",
              std::chrono::duration<double>(Clock::now() - leaving).count());
  EXPECT_EQ(observed_.overlaps(), std::vector<std::string>());
}

TEST_F(KafkaClusterCoordinator, AConnectorPutOnOneHostStartsOnTheHostThatOwnsIt) {
  auto a = start("host-a");
  auto b = start("host-b");
  ASSERT_TRUE(a && b);
  ASSERT_TRUE(wait_until([&] { return a->slots().size() == kSlots / 2 && b->slots().size() == kSlots / 2; }, 30s))
      << "host-a holds " << a->slots().size() << " slots, host-b " << b->slots().size();
  const int slot_of_b = *b->slots().begin();
  std::string id;
  for (int k = 0; id.empty(); ++k) {
    if (slot_of("put-on-a-" + std::to_string(k), kSlots) == slot_of_b) id = "put-on-a-" + std::to_string(k);
  }

  ASSERT_TRUE(a->put_config(id, R"({"v":1})").ok());
  ASSERT_TRUE(wait_until([&] { return observed_.on("host-b").count(id) == 1; }, 5s)) << id << " did not start";
  // Changed on host-a: host-b restarts it with the new configuration.
  ASSERT_TRUE(a->put_config(id, R"({"v":2})").ok());
  const auto runs_v2 = [&] {
    const auto running = b->running();
    const auto found = running.find(id);
    return found != running.end() && found->second == R"({"v":2})";
  };
  ASSERT_TRUE(wait_until(runs_v2, 5s)) << id << " was not restarted";
  // Erased on host-a: host-b stops it.
  ASSERT_TRUE(a->erase_config(id).ok());
  ASSERT_TRUE(wait_until([&] { return observed_.on("host-b").count(id) == 0; }, 5s)) << id << " did not stop";

  const auto calls = observed_.calls_for(id);
  ASSERT_EQ(calls.size(), 4U);
  for (const auto& call : calls) EXPECT_EQ(call.host, "host-b");
  EXPECT_TRUE(calls[0].start && calls[0].config == R"({"v":1})");
  EXPECT_FALSE(calls[1].start);
  EXPECT_TRUE(calls[2].start && calls[2].config == R"({"v":2})");
  EXPECT_FALSE(calls[3].start);
  EXPECT_TRUE(a->running().empty());
  EXPECT_EQ(observed_.overlaps(), std::vector<std::string>());
}

}  // namespace
}  // namespace sinkhost::runtime::cluster
