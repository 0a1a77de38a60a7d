// Faults a real broker cannot stage on demand, with librdkafka's in-process mock cluster: slow
// produce requests and injected produce errors. The connector runs in-process with the real
// kafka-sink plugin; what landed is read back from the mock cluster with kcat.
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <set>

#include "../unit/api_fixture.hpp"

namespace sinkhost::management_api {
namespace {

class KafkaMockFaults : public ApiTest {
 protected:
  void SetUp() override {
    ApiTest::SetUp();
    char error[256];
    rd_kafka_conf_t* conf = rd_kafka_conf_new();
    // The mock cluster lives inside a client handle; this one only hosts it.
    mock_owner_ = rd_kafka_new(RD_KAFKA_PRODUCER, conf, error, sizeof error);
    ASSERT_NE(mock_owner_, nullptr) << error;
    cluster_ = rd_kafka_mock_cluster_new(mock_owner_, 3);
    ASSERT_NE(cluster_, nullptr);
    bootstrap_ = rd_kafka_mock_cluster_bootstraps(cluster_);
    ASSERT_EQ(rd_kafka_mock_topic_create(cluster_, "orders", 3, 1), RD_KAFKA_RESP_ERR_NO_ERROR);
  }
  void TearDown() override {
    api_.reset();
    service_.reset();  // stops the connectors before their cluster goes away
    if (cluster_) rd_kafka_mock_cluster_destroy(cluster_);
    if (mock_owner_) rd_kafka_destroy(mock_owner_);
  }

  void start_kafka_sink() {
    json settings = {{"settings", {{"instanceTypeName", "kafka-sink"}, {"topic", "orders"}, {"bootstrapServers", bootstrap_},
                                   {"subscription:initialPosition", "earliest"}, {"autocommit:interval", "20"},
                                   {"autocommit:recordsThreshold", "1"}, {"compression:type", "None"}}}};
    ASSERT_EQ(call("POST", "/connectors/mock-sink", settings.dump()).status, 200);
    ASSERT_EQ(call("POST", "/connectors/mock-sink/start", "", "").status, 200);
  }

  std::optional<std::uint64_t> position() {
    auto c = connector("mock-sink");
    if (!c.contains("position")) return std::nullopt;
    return c["position"].get<std::uint64_t>();
  }

  // The values in the mock topic, read with kcat.
  std::vector<std::string> topic_values() {
    auto output = test::run_command("timeout 20 kcat -b " + bootstrap_ + " -C -t orders -o beginning -e -q -f '%s\\n' 2>/dev/null");
    std::vector<std::string> values;
    std::istringstream lines(output);
    for (std::string line; std::getline(lines, line);) values.push_back(line);
    return values;
  }

  rd_kafka_t* mock_owner_ = nullptr;
  rd_kafka_mock_cluster_t* cluster_ = nullptr;
  std::string bootstrap_;
};

TEST_F(KafkaMockFaults, SlowProduceRequestsHoldTheCheckpointBackUntilAcknowledged) {
  for (int b = 1; b <= 3; ++b) rd_kafka_mock_broker_set_rtt(cluster_, b, 3000);
  for (int i = 0; i < 50; ++i) append("order-" + std::to_string(i % 5), "E", {{"n", i}});
  start_kafka_sink();
  // Every produce request takes 3 s: for the first ~2.5 s nothing is acknowledged, and the
  // checkpoint, however often autocommit runs (every 20 ms here), must not move.
  for (int i = 0; i < 10; ++i) {
    EXPECT_FALSE(position().has_value()) << "checkpoint " << *position() << " before any acknowledgement";
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  for (int b = 1; b <= 3; ++b) rd_kafka_mock_broker_set_rtt(cluster_, b, 0);
  ASSERT_TRUE(eventually([&] { return position() == 50u; })) << connector("mock-sink").dump();
  auto values = topic_values();
  EXPECT_EQ(values.size(), 50u);
}

TEST_F(KafkaMockFaults, AfterInjectedProduceErrorsClearEveryEventArrivesOnce) {
  // Retriable errors on the next produce requests: librdkafka retries them, the connector keeps
  // running, and idempotence keeps retries from writing duplicates.
  rd_kafka_mock_push_request_errors(cluster_, 0 /* Produce */, 6, RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION,
                                    RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT, RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS,
                                    RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION, RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT,
                                    RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS);
  for (int i = 0; i < 200; ++i) append("order-" + std::to_string(i % 7), "E", {{"n", i}});
  start_kafka_sink();
  ASSERT_TRUE(eventually([&] { return position() == 200u; })) << connector("mock-sink").dump();
  EXPECT_EQ(connector("mock-sink")["state"], "CONNECTOR_STATE_RUNNING");
  auto values = topic_values();
  std::set<std::string> distinct(values.begin(), values.end());
  EXPECT_EQ(distinct.size(), 200u) << "every event arrived";
  EXPECT_EQ(values.size(), 200u) << "and none twice";
}

TEST_F(KafkaMockFaults, AFatalProducerErrorRebuildsTheProducerAndLosesNothing) {
  // An out-of-order sequence number is fatal for librdkafka's idempotent producer: the producer
  // instance is dead. The sink must be rebuilt and resend everything after the checkpoint.
  rd_kafka_mock_push_request_errors(cluster_, 0 /* Produce */, 1, RD_KAFKA_RESP_ERR_OUT_OF_ORDER_SEQUENCE_NUMBER);
  for (int i = 0; i < 100; ++i) append("order-" + std::to_string(i % 3), "E", {{"n", i}});
  start_kafka_sink();
  ASSERT_TRUE(eventually([&] { return position() == 100u; })) << connector("mock-sink").dump();
  EXPECT_EQ(connector("mock-sink")["state"], "CONNECTOR_STATE_RUNNING");
  auto metrics = call("GET", "/metrics", "", "").body;
  EXPECT_EQ(metrics.find("sinkhost_connector_restarts_total{connector=\"mock-sink\",type=\"kafka-sink\"} 0"), std::string::npos)
      << "the producer was rebuilt at least once";
  auto values = topic_values();
  std::set<std::string> distinct(values.begin(), values.end());
  EXPECT_EQ(distinct.size(), 100u) << "every event arrived (some may twice: at-least-once)";
}

TEST_F(KafkaMockFaults, BrokersDownMarkTheConnectorDegradedButRunningUntilTheyReturn) {
  for (int b = 1; b <= 3; ++b) rd_kafka_mock_broker_set_down(cluster_, b);
  for (int i = 0; i < 20; ++i) append("order-1", "E", {{"n", i}});
  start_kafka_sink();
  ASSERT_TRUE(eventually([&] { return connector("mock-sink").contains("warningDetails"); })) << connector("mock-sink").dump();
  auto c = connector("mock-sink");
  EXPECT_EQ(c["state"], "CONNECTOR_STATE_RUNNING") << "a broker down is waited for, not a failure";
  EXPECT_EQ(c["warningDetails"]["code"], "UNAVAILABLE");
  EXPECT_FALSE(c.contains("position"));
  EXPECT_NE(call("GET", "/metrics", "", "").body.find("sinkhost_connector_degraded{connector=\"mock-sink\",type=\"kafka-sink\"} 1"),
            std::string::npos);

  for (int b = 1; b <= 3; ++b) rd_kafka_mock_broker_set_up(cluster_, b);
  ASSERT_TRUE(eventually([&] { return position() == 20u; })) << connector("mock-sink").dump();
  EXPECT_FALSE(connector("mock-sink").contains("warningDetails")) << "the condition clears with the first delivery";
  EXPECT_EQ(topic_values().size(), 20u);
}

}  // namespace
}  // namespace sinkhost::management_api
