// Cluster mode end to end (docs/cluster.md): sinkhost hosts started with --cluster and
// --cluster-group share the connectors of one store (a sinkhost serving KurrentDB's client
// protocol, as in tests/source), coordinated through the test broker; what they deliver is read
// back with kcat.
#include <signal.h>

#include <fstream>
#include <map>
#include <set>
#include <thread>

#include "sinkhost/runtime/cluster/slots.hpp"
#include "source_helpers.hpp"
#include "token.hpp"

namespace sinkhost::test {
namespace {

using nlohmann::json;

// A cluster of `hosts` sinkhost processes reading `store`, in group `group` of the test broker.
class Cluster {
 public:
  // `cluster_args`: how the hosts reach the brokers (default: the test broker's PLAINTEXT
  // listener).
  Cluster(const TempDir& dir, const Store& store, std::string group, int slots,
          std::vector<std::string> cluster_args = {})
      : dir_(dir), store_(store), group_(std::move(group)), slots_(slots), cluster_args_(std::move(cluster_args)) {
    if (cluster_args_.empty()) cluster_args_ = {"--cluster", "kafka://" + kafka_bootstrap()};
  }

  SinkhostProcess& add_host(const std::vector<std::string>& extra = {}) {
    const auto index = hosts_.size();
    auto args = source_args(store_.connection_string());
    args.insert(args.end(), extra.begin(), extra.end());
    args.insert(args.end(), cluster_args_.begin(), cluster_args_.end());
    args.insert(args.end(), {"--cluster-group", group_, "--cluster-host-id", host_id(index), "--cluster-slots",
                             std::to_string(slots_)});
    hosts_.push_back(std::make_unique<SinkhostProcess>(dir_.path() + "/" + host_id(index), args));
    return *hosts_.back();
  }
  SinkhostProcess& host(std::size_t index) { return *hosts_.at(index); }
  std::size_t size() const { return hosts_.size(); }
  static std::string host_id(std::size_t index) { return "host-" + std::to_string(index); }
  int slots() const { return slots_; }

  std::string logs() const {
    std::string out;
    for (std::size_t i = 0; i < hosts_.size(); ++i) out += "---- " + host_id(i) + "\n" + hosts_[i]->log();
    return out;
  }

 private:
  const TempDir& dir_;
  const Store& store_;
  std::string group_;
  int slots_;
  std::vector<std::string> cluster_args_;
  std::vector<std::unique_ptr<SinkhostProcess>> hosts_;
};

// `count` connector ids that fall into distinct slots of `slots` (one connector per slot).
std::vector<std::string> one_id_per_slot(int count, int slots) {
  std::vector<std::string> ids;
  std::set<int> taken;
  for (int n = 0; static_cast<int>(ids.size()) < count; ++n) {
    auto id = "cluster-sink-" + std::to_string(n);
    if (taken.insert(runtime::cluster::slot_of(id, slots)).second) ids.push_back(id);
  }
  return ids;
}

// GET /connectors on `port`: connector id -> its item.
std::map<std::string, json> list_connectors(std::uint16_t port) {
  std::map<std::string, json> out;
  try {
    auto response = http_request(port, "GET", "/connectors");
    auto body = json::parse(response.body, nullptr, false);
    if (!body.contains("items")) return out;
    for (const auto& item : body["items"]) out[item["connectorId"].get<std::string>()] = item;
  } catch (const std::exception&) {
  }
  return out;
}

// How many of `ids` run on each host, as GET /connectors on `port` shows; empty when one of them
// is not RUNNING or has no host yet.
std::map<std::string, int> running_per_host(std::uint16_t port, const std::vector<std::string>& ids) {
  auto listed = list_connectors(port);
  std::map<std::string, int> per_host;
  for (const auto& id : ids) {
    auto found = listed.find(id);
    if (found == listed.end() || found->second.value("state", "") != "CONNECTOR_STATE_RUNNING" ||
        !found->second.contains("host")) {
      return {};
    }
    ++per_host[found->second["host"].get<std::string>()];
  }
  return per_host;
}

std::string describe(const std::map<std::string, int>& per_host) {
  std::string out;
  for (const auto& [host, count] : per_host) out += host + ": " + std::to_string(count) + " ";
  return out.empty() ? "(not all running)" : out;
}

// Per connector (header esdb-connector-id), the log positions it delivered, in topic order.
std::map<std::string, std::vector<std::uint64_t>> positions_per_connector(const std::vector<ConsumedMessage>& all) {
  std::map<std::string, std::vector<std::uint64_t>> out;
  for (const auto& m : all) {
    out[m.header("esdb-connector-id")].push_back(std::stoull(m.header("esdb-record-log-position")));
  }
  return out;
}

class ClusterHosts : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_NO_FATAL_FAILURE(store_.start()); }

  // Events in one stream, so that every connector's records share one key and one partition.
  std::vector<std::uint64_t> append(int count, int first = 0) {
    std::vector<std::uint64_t> positions;
    for (int i = first; i < first + count; ++i) {
      positions.push_back(store_.append_one("order-1", "OrderPlaced", {{"n", i}}));
    }
    return positions;
  }

  TempDir dir_;
  Store store_{dir_.path() + "/store"};
  std::string group_ = unique_topic("cluster");
};

TEST_F(ClusterHosts, ThirtyConnectorsSpreadEvenlyAndRestCallsWorkOnAnyHost) {
  Cluster cluster(dir_, store_, group_, 30);
  // The three hosts of a new cluster start at once: they race to create its topics.
  for (int i = 0; i < 3; ++i) cluster.add_host();
  {
    std::vector<std::thread> starting;
    for (int i = 0; i < 3; ++i) starting.emplace_back([&cluster, i] { cluster.host(i).start(); });
    for (auto& thread : starting) thread.join();
  }
  ASSERT_FALSE(HasFailure()) << cluster.logs();
  const auto topic = unique_topic("cluster-spread");
  create_topic(topic, 1);
  const json keyed = {{"partitionKeyExtraction:enabled", "true"}, {"partitionKeyExtraction:source", "stream"}};
  const auto ids = one_id_per_slot(30, cluster.slots());
  // Each created on one host and started on another: neither need be the host that runs it.
  for (std::size_t i = 0; i < ids.size(); ++i) {
    auto created = http_request(cluster.host(i % 3).port(), "POST", "/connectors/" + ids[i],
                                json{{"settings", kafka_settings(topic, keyed)}}.dump());
    ASSERT_EQ(created.status, 200) << created.body << cluster.logs();
  }
  for (std::size_t i = 0; i < ids.size(); ++i) {
    auto started = http_request(cluster.host((i + 1) % 3).port(), "POST", "/connectors/" + ids[i] + "/start");
    ASSERT_EQ(started.status, 200) << started.body;
  }
  std::map<std::string, int> per_host;
  ASSERT_TRUE(eventually([&] { return (per_host = running_per_host(cluster.host(0).port(), ids)).size() == 3; },
                         std::chrono::seconds(60)))
      << describe(running_per_host(cluster.host(0).port(), ids)) << "\n"
      << cluster.logs();
  for (const auto& [host, count] : per_host) EXPECT_NEAR(count, 10, 1) << describe(per_host);
  // Every host shows every connector, with the same host.
  for (std::size_t h = 1; h < 3; ++h) {
    EXPECT_TRUE(eventually([&] { return running_per_host(cluster.host(h).port(), ids) == per_host; }))
        << Cluster::host_id(h) << " shows " << describe(running_per_host(cluster.host(h).port(), ids));
  }

  const auto positions = append(5);
  const auto delivered = positions_per_connector(consume(topic, ids.size() * positions.size()));
  for (const auto& id : ids) {
    auto found = delivered.find(id);
    ASSERT_NE(found, delivered.end()) << id << " delivered nothing\n" << cluster.logs();
    EXPECT_EQ(found->second, positions) << id;
  }
  // Each checkpoint reaches the last event on the host that runs the connector, and every
  // connector keeps running, whichever host wrote its first checkpoint (its create).
  const auto caught_up = [&](const std::string& id) {
    for (std::size_t h = 0; h < 3; ++h) {
      auto view = try_connector_view(cluster.host(h).port(), id);
      if (view.value("host", "") == Cluster::host_id(h)) return position_of(view) == positions.back();
    }
    return false;
  };
  std::vector<std::string> behind;
  const bool all_caught_up = eventually(
      [&] {
        behind.clear();
        for (const auto& id : ids) {
          if (!caught_up(id)) behind.push_back(id);
        }
        return behind.empty();
      },
      std::chrono::seconds(60));
  EXPECT_TRUE(all_caught_up) << behind.size() << " connectors behind, the first " << behind.front() << ": "
                             << try_connector_view(cluster.host(0).port(), behind.front()).dump() << "\n"
                             << cluster.logs();

  EXPECT_EQ(running_per_host(cluster.host(0).port(), ids), per_host) << cluster.logs();

  // A stop on one host stops the connector where it runs; a delete on another removes it everywhere.
  const auto& last = ids.back();
  auto stopped = http_request(cluster.host(0).port(), "POST", "/connectors/" + last + "/stop");
  ASSERT_EQ(stopped.status, 200) << stopped.body;
  for (std::size_t h = 0; h < 3; ++h) {
    EXPECT_TRUE(eventually([&] {
      return try_connector_view(cluster.host(h).port(), last).value("state", "") == "CONNECTOR_STATE_STOPPED";
    })) << Cluster::host_id(h)
        << ": " << try_connector_view(cluster.host(h).port(), last).dump();
  }
  auto deleted = http_request(cluster.host(1).port(), "DELETE", "/connectors/" + last);
  ASSERT_EQ(deleted.status, 200) << deleted.body;
  for (std::size_t h = 0; h < 3; ++h) {
    EXPECT_TRUE(eventually([&] {
      return http_request(cluster.host(h).port(), "GET", "/connectors/" + last).status == 404;
    })) << Cluster::host_id(h);
  }
}

TEST_F(ClusterHosts, AKilledHostsConnectorsResumeOnTheOthersFromTheirCheckpoints) {
  Cluster cluster(dir_, store_, group_, 6);
  for (int i = 0; i < 3; ++i) ASSERT_NO_FATAL_FAILURE(cluster.add_host().start());
  const auto topic = unique_topic("cluster-failover");
  create_topic(topic, 1);
  const auto ids = one_id_per_slot(6, cluster.slots());
  for (const auto& id : ids) {
    ASSERT_NO_FATAL_FAILURE(create_and_start_connector(cluster.host(0).port(), id, kafka_settings(topic)));
  }
  std::map<std::string, int> per_host;
  ASSERT_TRUE(eventually([&] { return (per_host = running_per_host(cluster.host(0).port(), ids)).size() == 3; },
                         std::chrono::seconds(60)))
      << describe(running_per_host(cluster.host(0).port(), ids)) << "\n"
      << cluster.logs();
  auto positions = append(20);

  // host-2 dies while events keep coming.
  std::atomic<bool> appending{true};
  std::vector<std::uint64_t> live;
  std::thread writer([&] {
    for (int i = 0; appending && i < 400; ++i) {
      live.push_back(store_.append_one("order-1", "OrderPlaced", {{"n", 1000 + i}}));
      std::this_thread::sleep_for(std::chrono::milliseconds(25));
    }
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  cluster.host(2).kill_hard();
  const auto killed_at = Clock::now();
  const bool moved = eventually(
      [&] {
        auto now = running_per_host(cluster.host(0).port(), ids);
        return now.size() == 2 && !now.contains(Cluster::host_id(2));
      },
      std::chrono::seconds(30));
  const double failover = seconds_since(killed_at);
  appending = false;
  writer.join();
  ASSERT_TRUE(moved) << describe(running_per_host(cluster.host(0).port(), ids)) << "\n" << cluster.logs();
  std::printf("CLUSTER-RESULT connectors of a killed host running again after %.2f s\n", failover);
  EXPECT_LE(failover, 10.0) << "the session timeout is 6 s";

  positions.insert(positions.end(), live.begin(), live.end());
  // Every event reaches every connector, in order; those of host-2's connectors delivered since
  // their last checkpoint may come twice.
  std::vector<ConsumedMessage> all;
  std::map<std::string, std::vector<std::uint64_t>> delivered;
  const auto complete = [&] {
    all = consume(topic, ids.size() * positions.size(), std::chrono::seconds(5));
    delivered = positions_per_connector(all);
    for (const auto& id : ids) {
      std::set<std::uint64_t> seen(delivered[id].begin(), delivered[id].end());
      if (seen.size() < positions.size()) return false;
    }
    return true;
  };
  ASSERT_TRUE(eventually(complete, std::chrono::seconds(60))) << cluster.logs();
  for (const auto& id : ids) {
    const auto& got = delivered[id];
    std::set<std::uint64_t> seen(got.begin(), got.end());
    EXPECT_EQ(std::vector<std::uint64_t>(seen.begin(), seen.end()), positions) << id << ": nothing lost";
    // In order, but for a replay since the last checkpoint: each position is larger than the one
    // before, or a replay starts over at an earlier one already delivered.
    std::uint64_t highest = 0;
    for (auto position : got) {
      if (position <= highest) {
        EXPECT_TRUE(seen.contains(position));
      }
      highest = std::max(highest, position);
    }
  }
}

// A host cut off from the group (here: paused with SIGSTOP past its session timeout) loses its
// connectors to the others; when it runs again it sends nothing for them, so every event
// appended after the pause reaches Kafka exactly once per connector.
TEST_F(ClusterHosts, AHostPausedPastItsSessionDeliversNothingForConnectorsItLost) {
  Cluster cluster(dir_, store_, group_, 6);
  for (int i = 0; i < 3; ++i) ASSERT_NO_FATAL_FAILURE(cluster.add_host().start());
  const auto topic = unique_topic("cluster-fence");
  create_topic(topic, 1);
  const auto ids = one_id_per_slot(6, cluster.slots());
  for (const auto& id : ids) {
    ASSERT_NO_FATAL_FAILURE(create_and_start_connector(cluster.host(0).port(), id, kafka_settings(topic)));
  }
  ASSERT_TRUE(
      eventually([&] { return running_per_host(cluster.host(0).port(), ids).size() == 3; }, std::chrono::seconds(60)))
      << describe(running_per_host(cluster.host(0).port(), ids)) << "\n"
      << cluster.logs();

  std::mutex mutex;
  std::vector<std::uint64_t> positions;
  std::atomic<bool> appending{true};
  std::atomic<bool> held{false};
  std::thread writer([&] {
    for (int i = 0; appending; ++i) {
      if (!held) {
        auto position = store_.append_one("order-1", "OrderPlaced", {{"n", i}});
        std::lock_guard lock(mutex);
        positions.push_back(position);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  });
  std::this_thread::sleep_for(std::chrono::seconds(1));
  // Everything appended so far is read (and maybe in flight) on host-2 before it stops.
  held = true;
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  std::uint64_t paused_after = 0;
  {
    std::lock_guard lock(mutex);
    paused_after = positions.back();
  }
  const auto pid = cluster.host(2).pid();
  ASSERT_EQ(::kill(pid, SIGSTOP), 0);
  held = false;
  const bool moved = eventually(
      [&] {
        auto now = running_per_host(cluster.host(0).port(), ids);
        return now.size() == 2 && !now.contains(Cluster::host_id(2));
      },
      std::chrono::seconds(30));
  ::kill(pid, SIGCONT);
  ASSERT_TRUE(moved) << describe(running_per_host(cluster.host(0).port(), ids)) << "\n" << cluster.logs();
  // host-2 runs again while events keep coming; it rejoins and takes a share back.
  ASSERT_TRUE(
      eventually([&] { return running_per_host(cluster.host(0).port(), ids).size() == 3; }, std::chrono::seconds(60)))
      << describe(running_per_host(cluster.host(0).port(), ids)) << "\n"
      << cluster.logs();
  std::this_thread::sleep_for(std::chrono::seconds(2));
  appending = false;
  writer.join();

  std::map<std::string, std::vector<std::uint64_t>> delivered;
  const auto complete = [&] {
    delivered = positions_per_connector(consume(topic, ids.size() * positions.size(), std::chrono::seconds(5)));
    for (const auto& id : ids) {
      if (std::set<std::uint64_t>(delivered[id].begin(), delivered[id].end()).size() < positions.size()) return false;
    }
    return true;
  };
  ASSERT_TRUE(eventually(complete, std::chrono::seconds(60))) << cluster.logs();
  EXPECT_NE(cluster.host(2).log().find("did not run for"), std::string::npos) << cluster.host(2).log();
  for (const auto& id : ids) {
    std::map<std::uint64_t, int> times;
    for (auto position : delivered[id]) ++times[position];
    for (auto position : positions) {
      ASSERT_GE(times[position], 1) << id << " lost position " << position;
      if (position > paused_after) {
        EXPECT_EQ(times[position], 1) << id << ": position " << position
                                      << ", appended after host-2 stopped, was delivered twice";
      }
    }
  }
  if (HasFailure())
    std::printf("positions up to %llu were appended before host-2 stopped\n%s",
                static_cast<unsigned long long>(paused_after), cluster.logs().c_str());
}

// A host added to a running cluster takes its share, and connectors that stay where they are
// keep running without a stop.
TEST_F(ClusterHosts, AHostAddedTakesItsShareWithoutStoppingTheOthers) {
  Cluster cluster(dir_, store_, group_, 6);
  for (int i = 0; i < 2; ++i) ASSERT_NO_FATAL_FAILURE(cluster.add_host().start());
  const auto topic = unique_topic("cluster-grow");
  create_topic(topic, 1);
  const auto ids = one_id_per_slot(6, cluster.slots());
  for (const auto& id : ids) {
    ASSERT_NO_FATAL_FAILURE(create_and_start_connector(cluster.host(1).port(), id, kafka_settings(topic)));
  }
  ASSERT_TRUE(
      eventually([&] { return running_per_host(cluster.host(0).port(), ids).size() == 2; }, std::chrono::seconds(60)))
      << cluster.logs();
  const auto before = list_connectors(cluster.host(0).port());
  ASSERT_NO_FATAL_FAILURE(cluster.add_host().start());
  std::map<std::string, int> per_host;
  ASSERT_TRUE(eventually([&] { return (per_host = running_per_host(cluster.host(0).port(), ids)).size() == 3; },
                         std::chrono::seconds(60)))
      << describe(running_per_host(cluster.host(0).port(), ids)) << "\n"
      << cluster.logs();
  EXPECT_EQ(per_host[Cluster::host_id(2)], 2) << describe(per_host);
  const auto after = list_connectors(cluster.host(0).port());
  int stayed = 0;
  for (const auto& id : ids) {
    if (after.at(id)["host"] != before.at(id)["host"]) continue;
    ++stayed;
    EXPECT_EQ(after.at(id)["stateUpdateTime"], before.at(id)["stateUpdateTime"])
        << id << " stayed on " << after.at(id)["host"] << " but its state changed";
  }
  EXPECT_EQ(stayed, 4);

  // A connector created and started on the new host, in a slot that host-0 kept: host-0 runs it,
  // and its checkpoints (the first written by the new host) are host-0's to write.
  std::string late;
  for (int n = 0; late.empty(); ++n) {
    const auto candidate = "late-sink-" + std::to_string(n);
    for (const auto& id : ids) {
      if (after.at(id)["host"] == Cluster::host_id(0) &&
          runtime::cluster::slot_of(id, cluster.slots()) == runtime::cluster::slot_of(candidate, cluster.slots())) {
        late = candidate;
      }
    }
  }
  ASSERT_NO_FATAL_FAILURE(create_and_start_connector(cluster.host(2).port(), late, kafka_settings(topic)));
  auto all = ids;
  all.push_back(late);
  const auto positions = append(3);
  const auto delivered = positions_per_connector(consume(topic, all.size() * positions.size()));
  for (const auto& id : all) {
    EXPECT_EQ(delivered.count(id) ? delivered.at(id) : std::vector<std::uint64_t>{}, positions) << id;
  }
  EXPECT_TRUE(eventually([&] {
    return position_of(try_connector_view(cluster.host(0).port(), late)) == positions.back();
  })) << try_connector_view(cluster.host(0).port(), late).dump()
      << "\n"
      << cluster.logs();
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  auto view = try_connector_view(cluster.host(0).port(), late);
  EXPECT_EQ(view.value("state", ""), "CONNECTOR_STATE_RUNNING") << view.dump() << "\n" << cluster.host(0).log();
  EXPECT_EQ(view.value("host", ""), Cluster::host_id(0)) << view.dump();
}

// Every host of a cluster has the same data protection token: secret settings are sealed with
// the cluster's key in its topics (the host a connector runs on opens them), and a host with
// another token, or none, refuses to join.
TEST_F(ClusterHosts, SecretsStaySealedInTheTopicsAndAHostWithAnotherTokenIsRefused) {
  auto env = kafka_env();
  const std::string password = env["KAFKA_SASL_PASSWORD"];
  ASSERT_FALSE(password.empty());
  // The hosts reach the cluster over SASL/SCRAM too, with the credentials in a properties file.
  const auto properties = dir_.path() + "/cluster.properties";
  {
    std::ofstream out(properties);
    out << "# the cluster's clients\nsecurity.protocol=SASL_PLAINTEXT\nsasl.mechanism=SCRAM-SHA-256\n"
        << "sasl.username=" << env["KAFKA_SASL_USERNAME"] << "\nsasl.password=" << password << "\n";
  }
  Cluster cluster(
      dir_, store_, group_, 6,
      {"--cluster", "kafka://" + env["KAFKA_SASL_PLAINTEXT_BOOTSTRAP"], "--cluster-kafka-config", properties});
  const auto token = write_token_file(dir_.path());
  for (int i = 0; i < 2; ++i) {
    ASSERT_NO_FATAL_FAILURE(cluster.add_host({"--data-protection-token-file", token}).start());
  }
  const auto topic = unique_topic("cluster-secret");
  create_topic(topic, 1);
  const auto ids = one_id_per_slot(2, cluster.slots());
  for (const auto& id : ids) {
    auto settings = kafka_settings(topic, {{"bootstrapServers", env["KAFKA_SASL_PLAINTEXT_BOOTSTRAP"]},
                                           {"authentication:securityProtocol", "saslPlaintext"},
                                           {"authentication:saslMechanism", "scramSha256"},
                                           {"authentication:username", env["KAFKA_SASL_USERNAME"]},
                                           {"authentication:password", password}});
    ASSERT_NO_FATAL_FAILURE(create_and_start_connector(cluster.host(0).port(), id, settings));
  }
  ASSERT_TRUE(
      eventually([&] { return running_per_host(cluster.host(1).port(), ids).size() >= 1; }, std::chrono::seconds(60)))
      << cluster.logs();
  const auto positions = append(2);
  // Whichever host runs each connector opened its password with the cluster's key.
  const auto delivered = positions_per_connector(consume(topic, ids.size() * positions.size()));
  for (const auto& id : ids) {
    EXPECT_EQ(delivered.count(id) ? delivered.at(id) : std::vector<std::uint64_t>{}, positions) << id;
  }
  for (std::size_t h = 0; h < 2; ++h) {
    auto settings = get_json(cluster.host(h).port(), "/connectors/" + ids[0] + "/settings");
    EXPECT_EQ(settings["settings"]["authentication:password"], "********") << settings.dump();
  }
  // Not in clear in any of the cluster's topics, nor in a log.
  for (const char* table : {"connectors", "status", "checkpoints"}) {
    int code = -1;
    auto records = run_command("kcat -C -b " + kafka_bootstrap() + " -t sinkhost-" + group_ + "-" + table +
                                   " -o beginning -e -q -f '%k %s\\n' 2>&1",
                               &code);
    ASSERT_EQ(code, 0) << records;
    EXPECT_EQ(records.find(password), std::string::npos) << table << ":\n" << records;
    if (std::string(table) == "connectors") {
      EXPECT_NE(records.find("sinkhost:enc:v1:"), std::string::npos) << records;
    }
  }
  EXPECT_EQ(cluster.logs().find(password), std::string::npos);

  const auto other =
      write_token_file(dir_.path(), "sinkhost-dpt1-ICEiIyQlJicoKSorLC0uLzAxMjM0NTY3ODk6Ozw9Pj8", "other");
  auto& wrong = cluster.add_host({"--data-protection-token-file", other});
  EXPECT_NE(wrong.run_expecting_exit(), 0);
  EXPECT_NE(wrong.log().find("this host's data protection token is not the one of cluster"), std::string::npos)
      << wrong.log();
  auto& none = cluster.add_host();
  EXPECT_NE(none.run_expecting_exit(), 0);
  EXPECT_NE(none.log().find("encrypts secret settings with a data protection token and this host was given none"),
            std::string::npos)
      << none.log();
}

TEST_F(ClusterHosts, AClusterNeedsAnExternalSourceAGroupAndAKafkaAddress) {
  const auto refused = [&](const std::string& name, std::vector<std::string> args, const std::string& message) {
    SinkhostProcess host(dir_.path() + "/" + name, std::move(args));
    EXPECT_NE(host.run_expecting_exit(), 0) << name;
    EXPECT_NE(host.log().find(message), std::string::npos) << name << ":\n" << host.log();
  };
  const auto kafka = "kafka://" + kafka_bootstrap();
  refused("embedded", {"--cluster", kafka, "--cluster-group", "g"}, "--cluster needs an external event store");
  auto args = source_args(store_.connection_string());
  auto with = [&](std::vector<std::string> more) {
    auto all = args;
    all.insert(all.end(), more.begin(), more.end());
    return all;
  };
  refused("no-group", with({"--cluster", kafka}), "--cluster needs --cluster-group NAME");
  refused("no-cluster", with({"--cluster-group", "g"}), "--cluster-group needs --cluster");
  refused("scheme", with({"--cluster", kafka_bootstrap(), "--cluster-group", "g"}),
          "--cluster must be kafka://HOST:PORT[,HOST:PORT...]");
  refused("option", with({"--cluster", kafka, "--cluster-group", "g", "--cluster-kafka-option", "sasl.password"}),
          "--cluster-kafka-option: not KEY=VALUE");
}

}  // namespace
}  // namespace sinkhost::test
