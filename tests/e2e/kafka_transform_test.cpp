// Record transforms against the real broker: what a transform changes (value, headers, key)
// is what kcat reads from Kafka; a transform that throws or never ends stops the connector
// before its record, and after fixing the function the remaining records arrive, none lost.
#include <gtest/gtest.h>

#include "e2e_helpers.hpp"
#include "kafka.hpp"
#include "sinkhost/connector/encoding.hpp"

namespace sinkhost::test {
namespace {

using nlohmann::json;

class KafkaTransform : public ::testing::Test {
 protected:
  void SetUp() override {
    topic_ = unique_topic("transformed");
    host_.start();
  }

  json settings(const std::string& javascript, const json& extra = json::object()) {
    json s = {{"instanceTypeName", "kafka-sink"},      {"topic", topic_},
              {"bootstrapServers", kafka_bootstrap()}, {"subscription:initialPosition", "earliest"},
              {"autocommit:interval", "100"},          {"transformer:enabled", "true"},
              {"transformer:timeout", "300"},          {"transformer:function", connector::base64_encode(javascript)}};
    s.update(extra);
    return s;
  }

  void create_and_start(const std::string& id, const json& s) { create_and_start_connector(host_.port(), id, s); }
  json connector(const std::string& id) { return connector_view(host_.port(), id); }
  bool position_reaches(const std::string& id, std::uint64_t position) {
    return checkpoint_reaches(host_.port(), id, position);
  }

  // A failing transform stops the connector before its record; fixing the function with PUT
  // settings and starting again delivers that record and the rest.
  void stops_then_recovers(const std::string& id, const std::string& failing, const std::string& expected_error) {
    auto p1 = append_event(host_.port(), "order-1", "OrderPlaced", {{"n", 1}});
    append_event(host_.port(), "order-2", "OrderPlaced", {{"n", 2}});
    auto p3 = append_event(host_.port(), "order-3", "OrderPlaced", {{"n", 3}});
    create_and_start(id, settings(failing));
    ASSERT_TRUE(eventually([&] { return connector(id)["state"] == "CONNECTOR_STATE_STOPPED"; }))
        << connector(id).dump();
    auto stopped = connector(id);
    ASSERT_TRUE(stopped.contains("errorDetails")) << stopped.dump();
    EXPECT_EQ(stopped["errorDetails"]["message"], expected_error);
    EXPECT_EQ(stopped["position"], p1) << "the checkpoint stays before the record the transform failed on";
    auto metrics = http_request(host_.port(), "GET", "/metrics").body;
    EXPECT_NE(metrics.find("sinkhost_connector_transform_errors_total{connector=\"" + id + "\",type=\"kafka-sink\"} 1"),
              std::string::npos)
        << metrics;
    auto before = consume(topic_, 1);
    ASSERT_EQ(before.size(), 1u) << host_.log();
    EXPECT_EQ(before[0].value, R"({"n":1,"seen":true})");

    auto fixed = http_request(host_.port(), "PUT", "/connectors/" + id + "/settings",
                              settings("function transform(record) { record.value.seen = true; }").dump());
    ASSERT_EQ(fixed.status, 200) << fixed.body;
    ASSERT_EQ(http_request(host_.port(), "POST", "/connectors/" + id + "/start").status, 200);
    ASSERT_TRUE(position_reaches(id, p3)) << connector(id).dump() << host_.log();
    auto messages = consume(topic_, 3);
    ASSERT_EQ(messages.size(), 3u);
    EXPECT_EQ(messages[1].value, R"({"n":2,"seen":true})");
    EXPECT_EQ(messages[1].header("esdb-record-stream-id"), "order-2");
    EXPECT_EQ(messages[2].value, R"({"n":3,"seen":true})");
    EXPECT_EQ(connector(id)["state"], "CONNECTOR_STATE_RUNNING");
  }

  TempDir dir_;
  SinkhostProcess host_{dir_.path() + "/data"};
  std::string topic_;
};

TEST_F(KafkaTransform, TheTransformedValueHeadersAndKeyArriveInKafka) {
  append_event(host_.port(), "order-1", "OrderPlaced", {{"orderId", "o-1"}, {"total", 12.5}}, {{"tenant", "acme"}});
  append_event(host_.port(), "order-1", "Heartbeat", {{"beat", 1}});
  auto blob = http_request_with_headers(host_.port(), "POST", "/streams/blob-7",
                                        {{"ES-EventType", "Blob"}, {"ES-EventId", new_uuid()}},
                                        std::string("\x01\x02 raw", 6), "application/octet-stream");
  ASSERT_EQ(blob.status, 201) << blob.body;
  auto last = append_event(host_.port(), "order-2", "OrderPlaced", {{"orderId", "o-2"}, {"total", 3}});

  // The key the sink extracts (the stream's suffix) is shown to the transform, which extends it.
  create_and_start("shape-sink", settings(R"(
    function transform(record) {
      if (record.schemaInfo.subject === 'Heartbeat') return false;
      record.value = { id: record.value.orderId, cents: record.value.total * 100, stream: record.position.streamId };
      record.headers['x-tenant'] = record.headers['esdb-record-headers-tenant'] || 'none';
      delete record.headers['esdb-record-headers-tenant'];
      record.key = 'customer-' + record.key;
    })",
                                          {{"partitionKeyExtraction:enabled", "true"},
                                           {"partitionKeyExtraction:source", "streamSuffix"}}));

  auto messages = consume(topic_, 3);
  ASSERT_EQ(messages.size(), 3u) << host_.log();
  EXPECT_EQ(messages[0].value, R"({"id":"o-1","cents":1250,"stream":"order-1"})");
  EXPECT_TRUE(messages[0].has_key);
  EXPECT_EQ(messages[0].key, "customer-1");
  EXPECT_EQ(messages[0].header("x-tenant"), "acme");
  EXPECT_EQ(messages[0].header("esdb-record-headers-tenant"), "<missing header esdb-record-headers-tenant>")
      << "removed by the transform";
  EXPECT_EQ(messages[0].header("esdb-record-stream-id"), "order-1") << "headers left alone stay";

  EXPECT_EQ(messages[1].value, std::string("\x01\x02 raw", 6))
      << "the Heartbeat was dropped; the blob passed untouched";
  EXPECT_EQ(messages[1].key, "7") << "an untouched record keeps the key the sink extracts";
  EXPECT_EQ(messages[1].header("x-tenant"), "<missing header x-tenant>");
  EXPECT_EQ(messages[1].header("esdb-record-schema-type"), "Bytes");

  EXPECT_EQ(messages[2].value, R"({"id":"o-2","cents":300,"stream":"order-2"})");
  EXPECT_EQ(messages[2].key, "customer-2");
  EXPECT_EQ(messages[2].header("x-tenant"), "none");
  ASSERT_TRUE(position_reaches("shape-sink", last)) << connector("shape-sink").dump();
  auto metrics = http_request(host_.port(), "GET", "/metrics").body;
  EXPECT_NE(metrics.find(R"(sinkhost_connector_records_dropped_total{connector="shape-sink",type="kafka-sink"} 1)"),
            std::string::npos)
      << metrics;
}

TEST_F(KafkaTransform, AModernKurrentDbStyleTransformDeliversUnmodified) {
  append_event(host_.port(), "order-1", "OrderPlaced",
               json::parse(R"({"orderId": "o-1", "lines": [{"sku": "a", "qty": 1}, {"sku": "b", "qty": 3}]})"),
               {{"tenant", "acme"}});
  auto last = append_event(host_.port(), "order-2", "OrderPlaced", {{"orderId", "o-2"}, {"lines", json::array()}});
  create_and_start("modern-sink", settings(R"(
    const big = ({ qty }) => qty > 2;
    function transform(record) {
      const { orderId, lines = [], ...rest } = record.value;
      let count = 0;
      for (const { qty } of lines) count += qty;
      record.value = {
        ...rest,
        id: `order:${orderId}`,
        count,
        lastSku: lines.at(-1)?.sku ?? null,
        bigSku: lines.findLast(big)?.sku ?? 'none',
        hasLines: Object.hasOwn(record.value, 'lines'),
      };
      record.headers['x-tenant'] = record.headers['esdb-record-headers-tenant'] ?? 'none';
      record.key = `${orderId}`;
    })"));
  auto messages = consume(topic_, 2);
  ASSERT_EQ(messages.size(), 2u) << host_.log();
  EXPECT_EQ(messages[0].value, R"({"id":"order:o-1","count":4,"lastSku":"b","bigSku":"b","hasLines":true})");
  EXPECT_EQ(messages[0].key, "o-1");
  EXPECT_EQ(messages[0].header("x-tenant"), "acme");
  EXPECT_EQ(messages[1].value, R"({"id":"order:o-2","count":0,"lastSku":null,"bigSku":"none","hasLines":true})");
  EXPECT_EQ(messages[1].header("x-tenant"), "none");
  ASSERT_TRUE(position_reaches("modern-sink", last)) << connector("modern-sink").dump();
}

TEST_F(KafkaTransform, OneHeapPerRunAndOneCallPerRecordEvenWhenTheSinkIsFull) {
  // waitForBrokerAck makes kafka-sink answer "full" while a record is in flight, so every
  // record after the first is handed over at least twice: the transform must not run again.
  for (int n = 1; n <= 5; ++n) append_event(host_.port(), "order-1", "OrderPlaced", {{"n", n}});
  create_and_start("once-sink",
                   settings("var calls = 0;\nfunction transform(record) { calls++; record.value.calls = calls; }",
                            {{"waitForBrokerAck", "true"}}));
  auto messages = consume(topic_, 5);
  ASSERT_EQ(messages.size(), 5u) << host_.log();
  for (int n = 1; n <= 5; ++n) {
    EXPECT_EQ(messages[n - 1].value, R"({"n":)" + std::to_string(n) + R"(,"calls":)" + std::to_string(n) + "}")
        << "the heap keeps its globals across records";
  }
}

TEST_F(KafkaTransform, AThrowingTransformStopsBeforeItsRecordAndAFixedOneDeliversTheRest) {
  stops_then_recovers("throw-sink",
                      "function transform(record) {\n"
                      "  if (record.value.n === 2) throw new Error('no price for ' + record.position.streamId);\n"
                      "  record.value.seen = true;\n"
                      "}",
                      "the transform failed on the record at log position 2 (stream 'order-2', revision 0): it threw "
                      "Error: no price for order-2 (line 2)");
}

TEST_F(KafkaTransform, AnEndlessLoopStopsAtTheTimeLimitBeforeItsRecordAndAFixedOneDeliversTheRest) {
  stops_then_recovers(
      "loop-sink",
      "function transform(record) {\n"
      "  while (record.value.n === 2) {}\n"
      "  record.value.seen = true;\n"
      "}",
      "the transform failed on the record at log position 2 (stream 'order-2', revision 0): it ran past "
      "its time limit of 300 ms");
}

}  // namespace
}  // namespace sinkhost::test
