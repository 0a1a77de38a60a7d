// The whole path against the real broker: curl-style HTTP calls to a running sinkhost, then
// kcat (an independent client) reads what landed in Kafka.
#include <gtest/gtest.h>

#include "e2e_helpers.hpp"
#include "kafka.hpp"

namespace sinkhost::test {
namespace {

using nlohmann::json;

class KafkaDelivery : public ::testing::Test {
 protected:
  void SetUp() override {
    topic_ = unique_topic("orders");
    host_.start();
  }

  void create_and_start(const std::string& id) {
    create_and_start_connector(host_.port(), id,
                               {{"instanceTypeName", "kafka-sink"},
                                {"topic", topic_},
                                {"bootstrapServers", kafka_bootstrap()},
                                {"subscription:initialPosition", "earliest"},
                                {"autocommit:interval", "100"}});
  }

  json connector(const std::string& id) { return connector_view(host_.port(), id); }
  bool position_reaches(const std::string& id, std::uint64_t position) {
    return checkpoint_reaches(host_.port(), id, position);
  }

  TempDir dir_;
  SinkhostProcess host_{dir_.path() + "/data"};
  std::string topic_;
};

TEST_F(KafkaDelivery, DeliversBacklogThenLiveEventsAndCheckpointsWhatTheBrokerAcked) {
  const json first = {{"orderId", "o-1"}, {"total", 12.5}};
  auto p1 = append_event(host_.port(), "order-1", "OrderPlaced", first, {{"tenant", "acme"}});
  create_and_start("orders-sink");

  auto messages = consume(topic_, 1);
  ASSERT_EQ(messages.size(), 1u) << host_.log();
  EXPECT_EQ(messages[0].value, first.dump()) << "the value is the event's data bytes, unchanged";
  EXPECT_FALSE(messages[0].has_key) << "no key without partition key extraction";
  EXPECT_EQ(messages[0].header("esdb-record-stream-id"), "order-1");
  EXPECT_EQ(messages[0].header("esdb-record-schema-subject"), "OrderPlaced");
  EXPECT_EQ(messages[0].header("esdb-record-log-position"), std::to_string(p1));
  EXPECT_EQ(messages[0].header("esdb-connector-id"), "orders-sink");
  EXPECT_EQ(messages[0].header("esdb-record-headers-tenant"), "acme");
  ASSERT_TRUE(position_reaches("orders-sink", p1)) << connector("orders-sink").dump();
  EXPECT_EQ(connector("orders-sink")["state"], "CONNECTOR_STATE_RUNNING");

  // Live: events appended while the connector runs arrive without a restart.
  append_event(host_.port(), "order-2", "OrderPlaced", {{"orderId", "o-2"}});
  auto p3 = append_event(host_.port(), "order-1", "OrderPaid", {{"orderId", "o-1"}});
  messages = consume(topic_, 3);
  ASSERT_EQ(messages.size(), 3u) << host_.log();
  EXPECT_EQ(messages[1].value, json({{"orderId", "o-2"}}).dump());
  EXPECT_EQ(messages[2].value, json({{"orderId", "o-1"}}).dump());
  EXPECT_EQ(messages[2].header("esdb-record-stream-revision"), "1");
  ASSERT_TRUE(position_reaches("orders-sink", p3));
  EXPECT_EQ(connector("orders-sink")["position"], p3) << "the checkpoint is the last acknowledged event's position";

  auto list = get_json(host_.port(), "/connectors");
  ASSERT_EQ(list["totalSize"], 1);
  EXPECT_EQ(list["items"][0]["position"], p3);
  EXPECT_EQ(list["items"][0]["state"], "CONNECTOR_STATE_RUNNING");
}

TEST_F(KafkaDelivery, ARunningConnectorRunsAgainAfterARestartAndResumesFromItsCheckpoint) {
  append_event(host_.port(), "order-1", "OrderPlaced", {{"n", 1}});
  auto p2 = append_event(host_.port(), "order-1", "OrderPlaced", {{"n", 2}});
  create_and_start("resume-sink");
  ASSERT_EQ(consume(topic_, 2).size(), 2u) << host_.log();
  ASSERT_TRUE(position_reaches("resume-sink", p2));

  ASSERT_EQ(host_.stop(), 0) << host_.log();
  host_.start();
  ASSERT_TRUE(eventually([&] { return connector("resume-sink")["state"] == "CONNECTOR_STATE_RUNNING"; }))
      << connector("resume-sink").dump();
  EXPECT_EQ(connector("resume-sink")["position"], p2) << "the checkpoint survived the restart";

  auto p3 = append_event(host_.port(), "order-1", "OrderPlaced", {{"n", 3}});
  ASSERT_TRUE(position_reaches("resume-sink", p3)) << host_.log();
  auto messages = consume(topic_, 3);
  ASSERT_EQ(messages.size(), 3u);
  EXPECT_EQ(messages[2].value, json({{"n", 3}}).dump());
  // Give a wrongly re-sent backlog time to show up before counting exactly.
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  EXPECT_EQ(consume(topic_, 3).size(), 3u) << "a clean restart resends nothing the checkpoint covers";
}

TEST_F(KafkaDelivery, AStoppedConnectorDeliversNothingUntilStartedAgain) {
  create_and_start("pause-sink");
  auto p1 = append_event(host_.port(), "order-1", "A", {{"n", 1}});
  ASSERT_TRUE(position_reaches("pause-sink", p1)) << host_.log();
  ASSERT_EQ(http_request(host_.port(), "POST", "/connectors/pause-sink/stop").status, 200);
  EXPECT_EQ(connector("pause-sink")["state"], "CONNECTOR_STATE_STOPPED");

  auto p2 = append_event(host_.port(), "order-1", "B", {{"n", 2}});
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  EXPECT_EQ(consume(topic_, 2, std::chrono::seconds(2)).size(), 1u);

  ASSERT_EQ(http_request(host_.port(), "POST", "/connectors/pause-sink/start").status, 200);
  ASSERT_TRUE(position_reaches("pause-sink", p2));
  auto messages = consume(topic_, 2);
  ASSERT_EQ(messages.size(), 2u);
  EXPECT_EQ(messages[1].value, json({{"n", 2}}).dump());
}

}  // namespace
}  // namespace sinkhost::test
