// KurrentDB's Kafka sink page (docs/server/features/connectors/sinks/kafka.md in KurrentDB's
// repository) as a test suite: every HTTP example on it, sent to sinkhost as a user would send
// it, against the real broker, with what lands in Kafka read back by kcat.
//
// The page's bodies are quoted below as they are, except for what a user changes for their own
// system: the broker address, the topic (a fresh one per test), the credentials (the test
// broker's), the stream the filter names, and, for SASL over TLS with the test broker's private
// CA, that CA (the page says to add a private CA to the trust store; sinkhost takes it as a
// setting). The page's later examples are fragments of settings for `PUT`; as PUT replaces the
// whole settings map, a user merges each fragment into the quickstart's settings, and so does
// this test.
#include <map>
#include <optional>
#include <set>

#include <gtest/gtest.h>

#include "e2e_helpers.hpp"
#include "kafka.hpp"
#include "token.hpp"

namespace sinkhost::test {
namespace {

using nlohmann::json;

// "Quickstart"
constexpr const char* kQuickstart = R"({
  "settings": {
    "instanceTypeName": "kafka-sink",
    "bootstrapServers": "localhost:9092",
    "topic": "customers",
    "subscription:filter:scope": "stream",
    "subscription:filter:filterType": "streamId",
    "subscription:filter:expression": "example-stream"
  }
})";

// "Headers"
constexpr const char* kHeaders = R"({
  "defaultHeaders:X-API-Key": "your-api-key-here",
  "defaultHeaders:X-Tenant-ID": "production-tenant",
  "defaultHeaders:X-Source-System": "KurrentDB"
})";

// "Authentication": the six variants differ only in protocol and mechanism.
json authentication(const std::string& protocol, const std::string& mechanism) {
  return json::parse(R"({
  "authentication:securityProtocol": ")" +
                     protocol + R"(",
  "authentication:saslMechanism": ")" +
                     mechanism + R"(",
  "authentication:username": "my-username",
  "authentication:password": "my-password"
})");
}

// "Partitioning"
constexpr const char* kStreamRegex = R"({
  "partitionKeyExtraction:enabled": "true",
  "partitionKeyExtraction:source": "stream",
  "partitionKeyExtraction:expression": "^(.*)_data$"
})";
constexpr const char* kStreamSuffix = R"({
  "partitionKeyExtraction:enabled": "true",
  "partitionKeyExtraction:source": "streamSuffix"
})";
constexpr const char* kHeaderValues = R"({
  "partitionKeyExtraction:enabled": "true",
  "partitionKeyExtraction:source": "headers",
  "partitionKeyExtraction:expression": "key1,key2"
})";

// The esdb-* headers every record carries (KurrentDB's connector features page).
const std::set<std::string> kRecordHeaders = {"esdb-connector-id",        "esdb-request-id",
                                              "esdb-request-date",        "esdb-record-id",
                                              "esdb-record-timestamp",    "esdb-record-redacted",
                                              "esdb-record-stream-id",    "esdb-record-stream-revision",
                                              "esdb-record-log-position", "esdb-record-schema-subject",
                                              "esdb-record-schema-type"};

class KafkaKurrentDbPage : public ::testing::Test {
 protected:
  void SetUp() override {
    // The password is a secret setting: sinkhost stores it only with a data protection token.
    ::setenv("SINKHOST_DATA_PROTECTION_TOKEN", kTestToken.c_str(), 1);
    host_.start();
    topic_ = unique_topic("kdb-page");
    create_topic(topic_, 3);
  }

  // The quickstart's settings as this user's: their broker and topic, and (the page's own
  // `{id}`) a connector id.
  json quickstart(const std::string& bootstrap, const std::string& stream = "example-stream") {
    auto settings = json::parse(kQuickstart)["settings"];
    settings["bootstrapServers"] = bootstrap;
    settings["topic"] = topic_;
    settings["subscription:filter:expression"] = stream;
    return settings;
  }

  // POST the quickstart, PUT the merged fragment the way the page writes it, start; the events
  // appended before the start are what the connector reads first ("earliest").
  void create_put_start(const json& merged, const std::string& put_path) {
    auto body = json::parse(kQuickstart);
    body["settings"]["bootstrapServers"] = kafka_bootstrap();
    body["settings"]["topic"] = topic_;
    auto created = http_request(host_.port(), "POST", "/connectors/" + id_, body.dump());
    ASSERT_EQ(created.status, 200) << created.body;
    auto settings = merged;
    settings["subscription:initialPosition"] = "earliest";
    settings["autocommit:interval"] = "100";
    auto put = http_request(host_.port(), "PUT", put_path, settings.dump());
    ASSERT_EQ(put.status, 200) << put.body;
    ASSERT_EQ(http_request(host_.port(), "POST", "/connectors/" + id_ + "/start").status, 200);
    ASSERT_EQ(connector_view(host_.port(), id_)["state"], "CONNECTOR_STATE_RUNNING")
        << connector_view(host_.port(), id_).dump() << host_.log();
  }

  static json merge(json base, const json& fragment) {
    for (const auto& [key, value] : fragment.items()) base[key] = value;
    return base;
  }

  TempDir dir_;
  SinkhostProcess host_{dir_.path() + "/data"};
  std::string topic_;
  std::string id_ = "kafka-page-sink";
};

TEST_F(KafkaKurrentDbPage, QuickstartSendsEveryEventOfExampleStreamAndNothingElseWithTheRecordHeaders) {
  auto body = json::parse(kQuickstart);
  body["settings"]["bootstrapServers"] = kafka_bootstrap();
  body["settings"]["topic"] = topic_;
  auto created = http_request(host_.port(), "POST", "/connectors/" + id_, body.dump());
  ASSERT_EQ(created.status, 200) << created.body;
  EXPECT_EQ(created.body, "{}");
  ASSERT_EQ(http_request(host_.port(), "POST", "/connectors/" + id_ + "/start").status, 200);
  ASSERT_EQ(connector_view(host_.port(), id_)["state"], "CONNECTOR_STATE_RUNNING");

  // "every time an event is appended to the example-stream, the Kafka sink connector will send
  // the record to the specified Kafka topic"
  append_event(host_.port(), "other-stream", "Ignored", {{"n", 0}});
  append_event(host_.port(), "example-stream", "CustomerCreated", {{"n", 1}});
  auto last = append_event(host_.port(), "example-stream", "CustomerUpdated", {{"n", 2}});
  ASSERT_TRUE(checkpoint_reaches(host_.port(), id_, last)) << connector_view(host_.port(), id_).dump();
  auto messages = consume(topic_, 2);
  ASSERT_EQ(messages.size(), 2u);
  std::set<std::string> values;
  for (const auto& m : messages) {
    values.insert(m.value);
    EXPECT_EQ(m.header("esdb-record-stream-id"), "example-stream");
    std::set<std::string> names;
    for (const auto& [name, value] : m.headers) names.insert(name);
    for (const auto& h : kRecordHeaders) EXPECT_EQ(names.count(h), 1u) << h;
    EXPECT_EQ(m.header("esdb-connector-id"), id_);
    EXPECT_EQ(m.header("esdb-record-schema-type"), "Json");
  }
  EXPECT_EQ(values, (std::set<std::string>{R"({"n":1})", R"({"n":2})"}));
  EXPECT_EQ(consume(topic_, 3, std::chrono::seconds(3)).size(), 2u) << "other-stream's event was not sent";
}

TEST_F(KafkaKurrentDbPage, DefaultHeadersFromPutConnectorAreOnEveryMessageNextToTheRecordHeaders) {
  append_event(host_.port(), "example-stream", "CustomerCreated", {{"n", 1}});
  // The page reconfigures with PUT /connectors/{id} (not .../settings): both work.
  create_put_start(merge(quickstart(kafka_bootstrap()), json::parse(kHeaders)), "/connectors/" + id_);
  auto messages = consume(topic_, 1);
  ASSERT_EQ(messages.size(), 1u);
  EXPECT_EQ(messages[0].header("X-API-Key"), "your-api-key-here");
  EXPECT_EQ(messages[0].header("X-Tenant-ID"), "production-tenant");
  EXPECT_EQ(messages[0].header("X-Source-System"), "KurrentDB");
  EXPECT_EQ(messages[0].header("esdb-record-schema-subject"), "CustomerCreated");
}

TEST_F(KafkaKurrentDbPage, EveryAuthenticationExampleDeliversWithTheBrokersCredentials) {
  auto env = kafka_env();
  const std::vector<std::pair<std::string, std::string>> variants = {
      {"saslPlaintext", "plain"}, {"saslPlaintext", "scramSha256"}, {"saslPlaintext", "scramSha512"},
      {"saslSsl", "plain"},       {"saslSsl", "scramSha256"},       {"saslSsl", "scramSha512"}};
  append_event(host_.port(), "example-stream", "CustomerCreated", {{"n", 1}});
  int n = 0;
  for (const auto& [protocol, mechanism] : variants) {
    SCOPED_TRACE(protocol + " " + mechanism);
    id_ = "kafka-page-auth-" + std::to_string(++n);
    topic_ = unique_topic("kdb-page-auth");
    create_topic(topic_, 1);
    auto fragment = authentication(protocol, mechanism);
    fragment["authentication:username"] = env["KAFKA_SASL_USERNAME"];
    fragment["authentication:password"] = "alice-secret";
    const bool tls = protocol == "saslSsl";
    auto merged =
        merge(quickstart(tls ? env["KAFKA_SASL_SSL_BOOTSTRAP"] : env["KAFKA_SASL_PLAINTEXT_BOOTSTRAP"]), fragment);
    if (tls) merged["authentication:tls:caCertificate"] = kafka_file("KAFKA_CA_PEM");
    create_put_start(merged, "/connectors/" + id_ + "/settings");
    if (HasFatalFailure()) return;
    auto messages = consume(topic_, 1);
    ASSERT_EQ(messages.size(), 1u) << connector_view(host_.port(), id_).dump() << host_.log();
    EXPECT_EQ(messages[0].value, R"({"n":1})");
    ASSERT_EQ(http_request(host_.port(), "POST", "/connectors/" + id_ + "/stop").status, 200);
  }
}

// Each partitioning example: the key a message carries, and every message of one key in one
// partition.
struct KeyCase {
  const char* fragment;
  std::string stream;
  json metadata;
  std::optional<std::string> key;
};

class KafkaKurrentDbPagePartitioning : public KafkaKurrentDbPage {
 protected:
  void expect_keys(const KeyCase& c) {
    for (int i = 0; i < 4; ++i) append_event(host_.port(), c.stream, "E", {{"n", i}}, c.metadata);
    create_put_start(merge(quickstart(kafka_bootstrap(), c.stream), json::parse(c.fragment)),
                     "/connectors/" + id_ + "/settings");
    if (HasFatalFailure()) return;
    auto messages = consume(topic_, 4);
    ASSERT_EQ(messages.size(), 4u);
    std::set<int> partitions;
    for (const auto& m : messages) {
      EXPECT_EQ(m.has_key, c.key.has_value());
      if (c.key) {
        EXPECT_EQ(m.key, *c.key);
      }
      partitions.insert(m.partition);
    }
    if (c.key) {
      EXPECT_EQ(partitions.size(), 1u) << "one key, one partition";
    }
  }
};

TEST_F(KafkaKurrentDbPagePartitioning, StreamRegexCapturesTheStreamNameUpToData) {
  expect_keys({kStreamRegex, "customer-42_data", json::object(), "customer-42"});
}

TEST_F(KafkaKurrentDbPagePartitioning, StreamSuffixTakesWhatFollowsTheHyphen) {
  expect_keys({kStreamSuffix, "user-123", json::object(), "123"});
}

TEST_F(KafkaKurrentDbPagePartitioning, HeaderValuesAreJoinedWithAHyphen) {
  expect_keys({kHeaderValues, "orders", {{"key1", "regionA"}, {"key2", "zone1"}}, "regionA-zone1"});
}

TEST_F(KafkaKurrentDbPagePartitioning, WithoutExtractionMessagesHaveNoKey) {
  expect_keys({"{}", "example-stream", json::object(), std::nullopt});
}

}  // namespace
}  // namespace sinkhost::test
