// The fault suite against real brokers: sinkhost SIGKILLed while streaming, the broker killed
// and restarted 30 s later, the broker down when a connector starts, the broker paused until
// requests time out. Each case reads the whole topic back with kcat and checks it against what
// was appended (tests/support/delivery_check.hpp): every event present at least once, order kept
// per key, duplicates counted and bounded. Each prints a FAULT-RESULT line; docs/reliability.md
// lists them.
#include <atomic>
#include <chrono>
#include <cstdio>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "delivery_check.hpp"
#include "http_client.hpp"
#include "kafka.hpp"
#include "process.hpp"

namespace sinkhost::test {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

constexpr int kKeys = 10;
constexpr std::size_t kEvents = 100000;
// Records acknowledged but not yet covered by a committed checkpoint are sent again after a
// crash: at most the autocommit threshold plus the connector's in-flight window (10,000).
constexpr std::size_t kDuplicateBound = 1000 + 10000;

double seconds_since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

class DeliveryFaults : public ::testing::Test {
 protected:
  void SetUp() override {
    run_ = "f" + std::to_string(::getpid()) + std::to_string(Clock::now().time_since_epoch().count() % 1000000);
    host_.start();
    port_ = host_.port();
  }
  void TearDown() override {
    stop_appending_ = true;
    if (appender_.joinable()) appender_.join();
  }

  // Appends events 0..total-1 in batches of 500, about 50,000 a second, from a thread. A batch
  // that fails (the host is down) is sent again until it is acknowledged: its event ids make
  // the resend idempotent, so the log holds every event exactly once.
  void start_appending(std::size_t total) {
    appender_ = std::thread([this, total] {
      for (std::size_t first = 0; first < total && !stop_appending_;) {
        auto events = json::array();
        const auto count = std::min<std::size_t>(500, total - first);
        for (std::size_t i = 0; i < count; ++i) {
          const auto n = first + i;
          events.push_back({{"eventId", event_id(n)},
                            {"eventType", "Numbered"},
                            {"data", {{"n", n}, {"k", std::to_string(n % kKeys)}}}});
        }
        try {
          auto response = http_request(port_.load(), "POST", "/streams/" + run_ + "-batch", events.dump());
          if (response.status == 201) {
            first += count;
            std::this_thread::sleep_for(std::chrono::milliseconds(10));
            continue;
          }
        } catch (const std::exception&) {
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(50));  // the host is restarting
      }
    });
  }

  // Starts appending all kEvents and waits until the connector's checkpoint passes `checkpoint`:
  // the moment each case breaks something.
  void stream_past(std::uint64_t checkpoint) {
    start_appending(kEvents);
    ASSERT_TRUE(position_reaches(checkpoint, std::chrono::seconds(120))) << connector().dump() << host_.log();
  }

  std::string event_id(std::size_t n) const {
    char buffer[40];
    std::snprintf(buffer, sizeof buffer, "fa017000-0000-4000-8000-%012zu", n);
    return buffer;
  }

  void create_connector(const std::string& bootstrap, const std::string& topic, json extra = json::object()) {
    json settings = {{"instanceTypeName", "kafka-sink"},
                     {"topic", topic},
                     {"bootstrapServers", bootstrap},
                     {"subscription:filter:filterType", "prefix"},
                     {"subscription:filter:expression", run_ + "-"},
                     {"subscription:initialPosition", "earliest"},
                     // The key is the event number modulo kKeys, from the event's data (all
                     // events share one stream; order per key is what Kafka keeps).
                     {"partitionKeyExtraction:enabled", "true"},
                     {"partitionKeyExtraction:source", "data"},
                     {"partitionKeyExtraction:expression", "/k"},
                     {"autocommit:interval", "1000"},
                     {"autocommit:recordsThreshold", "1000"}};
    settings.update(extra);
    auto created = http_request(port_.load(), "POST", "/connectors/faulty", json{{"settings", settings}}.dump());
    ASSERT_EQ(created.status, 200) << created.body;
    ASSERT_EQ(http_request(port_.load(), "POST", "/connectors/faulty/start").status, 200);
  }

  json connector() {
    auto response = http_request(port_.load(), "GET", "/connectors/faulty");
    return json::parse(response.body, nullptr, false);
  }
  std::uint64_t position() {
    auto c = connector();
    return c.is_object() && c.contains("position") ? c["position"].get<std::uint64_t>() : 0;
  }
  bool position_reaches(std::uint64_t target, std::chrono::seconds timeout) {
    const auto deadline = Clock::now() + timeout;
    while (Clock::now() < deadline) {
      try {
        if (position() >= target) return true;
      } catch (const std::exception&) {
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return false;
  }

  void report(const std::string& name, const DeliveryCheck& check, double recovery_seconds) {
    std::printf("FAULT-RESULT case=%s %s recovery_s=%.1f\n", name.c_str(), check.summary().c_str(), recovery_seconds);
    std::fflush(stdout);
    EXPECT_TRUE(check.lossless_and_ordered()) << check.summary();
    EXPECT_EQ(check.distinct, check.expected) << check.summary();
    EXPECT_LE(check.duplicates, kDuplicateBound) << check.summary();
  }

  TempDir dir_;
  SinkhostProcess host_{dir_.path() + "/data"};
  std::atomic<std::uint16_t> port_{0};
  std::string run_;
  std::thread appender_;
  std::atomic<bool> stop_appending_{false};
};

ConsumedMessage message(int partition, long long offset, std::size_t n, std::string key = "") {
  ConsumedMessage m;
  m.partition = partition;
  m.offset = offset;
  m.value = json{{"n", n}, {"k", std::to_string(n % 2)}}.dump();
  m.key = key.empty() ? std::to_string(n % 2) : key;
  m.has_key = true;
  return m;
}

// The checker itself must be able to fail.
TEST(DeliveryChecker, CountsDuplicatesAndCatchesLossReorderingAndWrongKeys) {
  // Keys 0 and 1 on partitions 0 and 1; event 2 resent after 4 (a redelivery from a checkpoint).
  auto ok = check_delivery({message(0, 0, 0), message(0, 1, 2), message(0, 2, 4), message(0, 3, 2), message(0, 4, 4),
                            message(1, 0, 1), message(1, 1, 3), message(1, 2, 5)},
                           6, 2);
  EXPECT_TRUE(ok.lossless_and_ordered()) << ok.summary();
  EXPECT_EQ(ok.duplicates, 2u);
  auto lost =
      check_delivery({message(0, 0, 0), message(0, 1, 4), message(1, 0, 1), message(1, 1, 3), message(1, 2, 5)}, 6, 2);
  EXPECT_EQ(lost.missing, 1u) << lost.summary();
  EXPECT_FALSE(lost.lossless_and_ordered());
  auto reordered = check_delivery({message(0, 0, 0), message(0, 1, 4), message(0, 2, 2), message(1, 0, 1)}, 5, 2);
  EXPECT_GT(reordered.out_of_order, 0u) << reordered.summary();
  EXPECT_FALSE(reordered.lossless_and_ordered());
  auto wrong_key = check_delivery({message(0, 0, 0, "7"), message(0, 1, 1)}, 2, 2);
  EXPECT_FALSE(wrong_key.lossless_and_ordered()) << wrong_key.summary();
}

// On the shared test broker (the kafka_broker fixture).
TEST_F(DeliveryFaults, KafkaSigkillOfSinkhostWhileStreamingLosesNothing) {
  const auto topic = unique_topic("fault-sigkill");
  create_topic(topic, 3);
  create_connector(kafka_bootstrap(), topic);
  ASSERT_NO_FATAL_FAILURE(stream_past(30000));
  const auto at_kill = position();
  host_.kill_hard();
  host_.start();  // the connector was running: it runs again from its checkpoint
  port_ = host_.port();
  const auto restarted = Clock::now();
  appender_.join();
  ASSERT_TRUE(position_reaches(kEvents, std::chrono::seconds(180))) << connector().dump() << host_.log();
  const double recovery = seconds_since(restarted);
  auto check = check_delivery(consume(topic, kEvents, std::chrono::seconds(120)), kEvents, kKeys);
  std::printf("killed at checkpoint %llu\n", static_cast<unsigned long long>(at_kill));
  report("sinkhost-sigkill", check, recovery);
}

// The tests below stop, kill or pause a broker of their own.
TEST_F(DeliveryFaults, KafkaOwnBrokerKilledMidStreamAndRestarted30sLaterLosesNothing) {
  OwnKafkaBroker broker(dir_.path() + "/kafka");
  broker.start();
  const auto topic = unique_topic("fault-broker-kill");
  broker.create_topic(topic, 3);
  create_connector(broker.bootstrap(), topic);
  ASSERT_NO_FATAL_FAILURE(stream_past(30000));
  broker.kill_hard();
  // While the broker is gone the connector keeps running and says why it waits.
  const auto killed = Clock::now();
  bool warned = false;
  while (seconds_since(killed) < 30) {
    auto c = connector();
    EXPECT_EQ(c["state"], "CONNECTOR_STATE_RUNNING") << c.dump();
    warned = warned || c.contains("warningDetails");
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
  EXPECT_TRUE(warned) << "warningDetails never showed the broker down: " << connector().dump();
  broker.start(/*keep_data=*/true);
  const auto restarted = Clock::now();
  appender_.join();
  ASSERT_TRUE(position_reaches(kEvents, std::chrono::seconds(180))) << connector().dump() << host_.log();
  const double recovery = seconds_since(restarted);
  auto check =
      check_delivery(consume_from(broker.bootstrap(), topic, kEvents, std::chrono::seconds(120)), kEvents, kKeys);
  report("broker-sigkill-30s", check, recovery);
}

TEST_F(DeliveryFaults, KafkaOwnBrokerDownWhenTheConnectorStartsIsWaitedFor) {
  OwnKafkaBroker broker(dir_.path() + "/kafka");
  constexpr std::size_t kBacklog = 20000;
  const auto topic = unique_topic("fault-broker-down");
  create_connector(broker.bootstrap(), topic);  // nothing listens there yet
  start_appending(kBacklog);
  appender_.join();
  bool warned = false;
  for (int i = 0; i < 20 && !warned; ++i) {
    warned = connector().contains("warningDetails");
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
  auto c = connector();
  EXPECT_TRUE(warned) << c.dump();
  EXPECT_EQ(c["state"], "CONNECTOR_STATE_RUNNING") << c.dump();
  EXPECT_FALSE(c.contains("position")) << "nothing is checkpointed before the broker acknowledged it";
  broker.start();  // the topic is created on first use (3 partitions)
  const auto started = Clock::now();
  ASSERT_TRUE(position_reaches(kBacklog, std::chrono::seconds(180))) << connector().dump() << host_.log();
  const double recovery = seconds_since(started);
  EXPECT_FALSE(connector().contains("warningDetails")) << connector().dump();
  auto check =
      check_delivery(consume_from(broker.bootstrap(), topic, kBacklog, std::chrono::seconds(120)), kBacklog, kKeys);
  report("broker-down-at-start", check, recovery);
}

TEST_F(DeliveryFaults, KafkaOwnBrokerPausedUntilRequestsTimeOutLosesNothing) {
  OwnKafkaBroker broker(dir_.path() + "/kafka");
  broker.start();
  const auto topic = unique_topic("fault-broker-pause");
  broker.create_topic(topic, 3);
  // Requests time out after 3 s instead of 30 s, so a 12 s pause makes them time out.
  create_connector(broker.bootstrap(), topic,
                   {{"producer:request.timeout.ms", "3000"}, {"producer:socket.timeout.ms", "3000"}});
  ASSERT_NO_FATAL_FAILURE(stream_past(30000));
  broker.pause();
  std::this_thread::sleep_for(std::chrono::seconds(12));
  auto c = connector();
  EXPECT_EQ(c["state"], "CONNECTOR_STATE_RUNNING") << c.dump();
  broker.resume();
  const auto resumed = Clock::now();
  appender_.join();
  ASSERT_TRUE(position_reaches(kEvents, std::chrono::seconds(180))) << connector().dump() << host_.log();
  const double recovery = seconds_since(resumed);
  auto check =
      check_delivery(consume_from(broker.bootstrap(), topic, kEvents, std::chrono::seconds(120)), kEvents, kKeys);
  report("broker-sigstop-12s", check, recovery);
}

}  // namespace
}  // namespace sinkhost::test
