// kafka-sink against the real broker: every security mode, the refusals users will meet, and
// exactly where records land (keys, partitions, headers, timestamps, order), read back with
// kcat as an independent client.
#include <algorithm>
#include <cstdlib>
#include <map>
#include <set>

#include <gtest/gtest.h>

#include "e2e_helpers.hpp"
#include "kafka.hpp"
#include "token.hpp"

namespace sinkhost::test {
namespace {

using nlohmann::json;

// Kafka's murmur2 as the Java client computes it (Utils.murmur2), written here independently of
// librdkafka, so that the test checks placement against what a Java producer would choose.
std::int32_t java_murmur2(const std::string& key) {
  const auto* data = reinterpret_cast<const unsigned char*>(key.data());
  const std::int32_t length = static_cast<std::int32_t>(key.size());
  const std::uint32_t m = 0x5bd1e995;
  const int r = 24;
  std::uint32_t h = 0x9747b28cu ^ static_cast<std::uint32_t>(length);
  for (std::int32_t i = 0; i < length / 4; ++i) {
    std::uint32_t k = data[i * 4] | (data[i * 4 + 1] << 8) | (data[i * 4 + 2] << 16) |
                      (static_cast<std::uint32_t>(data[i * 4 + 3]) << 24);
    k *= m;
    k ^= k >> r;
    k *= m;
    h *= m;
    h ^= k;
  }
  const auto tail = length & ~3;
  switch (length % 4) {
    case 3: h ^= static_cast<std::uint32_t>(data[tail + 2]) << 16; [[fallthrough]];
    case 2: h ^= static_cast<std::uint32_t>(data[tail + 1]) << 8; [[fallthrough]];
    case 1: h ^= data[tail]; h *= m;
  }
  h ^= h >> 13;
  h *= m;
  h ^= h >> 15;
  return static_cast<std::int32_t>(h);
}

int java_partition(const std::string& key, int partitions) {
  return static_cast<int>((static_cast<std::uint32_t>(java_murmur2(key)) & 0x7fffffffu) %
                          static_cast<std::uint32_t>(partitions));
}

TEST(KafkaMurmur2, MatchesTheJavaClientsKnownValues) {
  // Values from the Java client's own tests of Utils.murmur2.
  EXPECT_EQ(java_murmur2("21"), -973932308);
  EXPECT_EQ(java_murmur2("foobar"), -790332482);
  EXPECT_EQ(java_murmur2("a-little-bit-long-string"), -985981536);
  EXPECT_EQ(java_murmur2("a-little-bit-longer-string"), -1486304829);
  EXPECT_EQ(java_murmur2("lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8"), -58897971);
  EXPECT_EQ(java_murmur2("abc"), 479470107);
}

class KafkaSinkTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // Passwords and client keys are secrets: sinkhost stores them only with a data protection
    // token (docs/security.md). The daemon inherits this environment.
    ::setenv("SINKHOST_DATA_PROTECTION_TOKEN", kTestToken.c_str(), 1);
    host_.start();
  }

  // Creates and starts a kafka-sink; returns its id.
  std::string start_connector(json settings, bool expect_running = true) {
    static int n = 0;
    auto id = "kafka-sink-" + std::to_string(++n);
    settings["instanceTypeName"] = "kafka-sink";
    if (!settings.contains("subscription:filter:expression")) {
      // Each connector delivers only its own stream, named like its topic (see expect_delivery).
      settings["subscription:filter:filterType"] = "streamId";
      settings["subscription:filter:expression"] = settings.value("topic", "");
    }
    settings["subscription:initialPosition"] = "earliest";
    settings["autocommit:interval"] = "100";
    auto created = http_request(host_.port(), "POST", "/connectors/" + id, json{{"settings", settings}}.dump());
    EXPECT_EQ(created.status, 200) << created.body;
    EXPECT_EQ(http_request(host_.port(), "POST", "/connectors/" + id + "/start").status, 200);
    if (expect_running) {
      EXPECT_EQ(connector(id)["state"], "CONNECTOR_STATE_RUNNING") << connector(id).dump() << host_.log();
    }
    return id;
  }

  json connector(const std::string& id) { return connector_view(host_.port(), id); }

  bool checkpoint_reaches(const std::string& id, std::uint64_t position) {
    return test::checkpoint_reaches(host_.port(), id, position);
  }

  // Appends three events to the connector's own stream (see only_stream) and checks that they
  // arrive, byte for byte, through connector `id`.
  void expect_delivery(const std::string& id, const std::string& topic) {
    std::uint64_t last = 0;
    for (int i = 0; i < 3; ++i) last = append_event(host_.port(), topic, "Checked", {{"n", i}});
    ASSERT_TRUE(checkpoint_reaches(id, last)) << connector(id).dump() << host_.log();
    auto messages = consume(topic, 3);
    ASSERT_EQ(messages.size(), 3u);
    std::set<std::string> values;
    for (const auto& m : messages) values.insert(m.value);
    EXPECT_EQ(values, (std::set<std::string>{R"({"n":0})", R"({"n":1})", R"({"n":2})"}));
  }

  json sasl(const std::string& protocol, const std::string& mechanism, const std::string& password = "alice-secret") {
    auto env = kafka_env();
    json settings = {{"authentication:securityProtocol", protocol},
                     {"authentication:saslMechanism", mechanism},
                     {"authentication:username", env["KAFKA_SASL_USERNAME"]},
                     {"authentication:password", password}};
    return settings;
  }

  TempDir dir_;
  SinkhostProcess host_{dir_.path() + "/data"};
};

TEST_F(KafkaSinkTest, SaslPlaintextWithPlainAndBothScramMechanismsDelivers) {
  auto env = kafka_env();
  for (const char* mechanism : {"plain", "scramSha256", "scramSha512"}) {
    SCOPED_TRACE(mechanism);
    auto topic = unique_topic(std::string("sasl-") + mechanism);
    auto settings = sasl("saslPlaintext", mechanism);
    settings["topic"] = topic;
    settings["bootstrapServers"] = env["KAFKA_SASL_PLAINTEXT_BOOTSTRAP"];
    auto id = start_connector(settings);
    expect_delivery(id, topic);
    ASSERT_EQ(http_request(host_.port(), "POST", "/connectors/" + id + "/stop").status, 200);
  }
}

TEST_F(KafkaSinkTest, TlsWithACustomCaMtlsAndSaslSslDeliver) {
  auto env = kafka_env();
  const auto ca = kafka_file("KAFKA_CA_PEM");
  {
    auto topic = unique_topic("tls");
    auto id = start_connector({{"topic", topic},
                               {"bootstrapServers", env["KAFKA_SSL_BOOTSTRAP"]},
                               {"authentication:securityProtocol", "ssl"},
                               {"authentication:tls:caCertificate", ca}});
    expect_delivery(id, topic);
  }
  {
    auto topic = unique_topic("mtls");
    auto id = start_connector({{"topic", topic},
                               {"bootstrapServers", env["KAFKA_MTLS_BOOTSTRAP"]},
                               {"authentication:securityProtocol", "ssl"},
                               {"authentication:tls:caCertificate", ca},
                               {"authentication:tls:clientCertificate", kafka_file("KAFKA_CLIENT_CERT_PEM")},
                               {"authentication:tls:clientKey", kafka_file("KAFKA_CLIENT_KEY_PEM")}});
    expect_delivery(id, topic);
  }
  for (const char* mechanism : {"scramSha256", "scramSha512"}) {
    SCOPED_TRACE(mechanism);
    auto topic = unique_topic(std::string("sasl-ssl-") + mechanism);
    auto settings = sasl("saslSsl", mechanism);
    settings["topic"] = topic;
    settings["bootstrapServers"] = env["KAFKA_SASL_SSL_BOOTSTRAP"];
    settings["authentication:tls:caCertificate"] = ca;
    auto id = start_connector(settings);
    expect_delivery(id, topic);
  }
}

TEST_F(KafkaSinkTest, AWrongPasswordStopsTheConnectorNamingTheMechanismAndUser) {
  auto env = kafka_env();
  const auto topic = unique_topic("wrong-password");
  append_event(host_.port(), topic, "OrderPlaced", {{"n", 1}});  // its own stream: not filtered out
  auto settings = sasl("saslPlaintext", "scramSha256", "not-the-password");
  settings["topic"] = topic;
  settings["bootstrapServers"] = env["KAFKA_SASL_PLAINTEXT_BOOTSTRAP"];
  auto id = start_connector(settings, false);
  ASSERT_TRUE(eventually([&] { return connector(id).contains("errorDetails"); })) << connector(id).dump();
  auto c = connector(id);
  EXPECT_EQ(c["state"], "CONNECTOR_STATE_STOPPED");
  EXPECT_EQ(c["errorDetails"]["code"], "PERMISSION_DENIED");
  const auto message = c["errorDetails"]["message"].get<std::string>();
  EXPECT_NE(message.find("authentication failed (SASL scramSha256 as 'alice')"), std::string::npos) << message;
  // The broker that refused, and the broker's reason: a refused login, not a timeout.
  EXPECT_NE(message.find(env["KAFKA_SASL_PLAINTEXT_BOOTSTRAP"]), std::string::npos) << message;
  EXPECT_NE(message.find("invalid credentials"), std::string::npos) << message;
  EXPECT_EQ(message.find("not-the-password"), std::string::npos) << "a password never appears in an error";
  EXPECT_FALSE(c.contains("position")) << "nothing was delivered, nothing checkpointed";
}

TEST_F(KafkaSinkTest, AnUntrustedCaAndAMissingClientCertificateStopTheConnectorWithTheTlsError) {
  auto env = kafka_env();
  // No caCertificate: the system's CAs do not know the test broker's CA.
  auto untrusted = start_connector({{"topic", unique_topic("untrusted")},
                                    {"bootstrapServers", env["KAFKA_SSL_BOOTSTRAP"]},
                                    {"authentication:securityProtocol", "ssl"}},
                                   false);
  ASSERT_TRUE(eventually([&] { return connector(untrusted).contains("errorDetails"); })) << connector(untrusted).dump();
  auto c = connector(untrusted);
  EXPECT_EQ(c["state"], "CONNECTOR_STATE_STOPPED");
  EXPECT_NE(c["errorDetails"]["message"].get<std::string>().find("TLS handshake failed"), std::string::npos)
      << c.dump();
  EXPECT_NE(c["errorDetails"]["message"].get<std::string>().find("certificate verify failed"), std::string::npos)
      << c.dump();

  // The mTLS listener requires a client certificate.
  const auto no_cert_topic = unique_topic("no-cert");
  append_event(host_.port(), no_cert_topic, "OrderPlaced", {{"n", 1}});  // its own stream: not filtered out
  auto no_cert = start_connector({{"topic", no_cert_topic},
                                  {"bootstrapServers", env["KAFKA_MTLS_BOOTSTRAP"]},
                                  {"authentication:securityProtocol", "ssl"},
                                  {"authentication:tls:caCertificate", kafka_file("KAFKA_CA_PEM")}},
                                 false);
  ASSERT_TRUE(eventually([&] { return connector(no_cert).contains("errorDetails"); }))
      << connector(no_cert).dump() << host_.log();
  c = connector(no_cert);
  EXPECT_EQ(c["state"], "CONNECTOR_STATE_STOPPED");
  EXPECT_NE(c["errorDetails"]["message"].get<std::string>().find("TLS"), std::string::npos) << c.dump();
  EXPECT_FALSE(c.contains("position"));
}

// Permanent delivery errors: the connector stops, errorDetails names the cause and the topic,
// and the checkpoint stays before the record that could not be delivered.
class KafkaPermanentErrors : public KafkaSinkTest {
 protected:
  // The connector delivers `first` and checkpoints it; then `refused` cannot be delivered.
  void expect_stopped_before(const std::string& id, std::uint64_t first, const std::string& code,
                             const std::vector<std::string>& message_parts) {
    ASSERT_TRUE(eventually([&] { return connector(id).contains("errorDetails"); }))
        << connector(id).dump() << host_.log();
    auto c = connector(id);
    EXPECT_EQ(c["state"], "CONNECTOR_STATE_STOPPED");
    EXPECT_EQ(c["errorDetails"]["code"], code) << c.dump();
    const auto message = c["errorDetails"]["message"].get<std::string>();
    for (const auto& part : message_parts)
      EXPECT_NE(message.find(part), std::string::npos) << part << " in " << message;
    if (first == 0) {
      EXPECT_FALSE(c.contains("position")) << c.dump();
    } else {
      ASSERT_TRUE(c.contains("position")) << c.dump();
      EXPECT_EQ(c["position"].get<std::uint64_t>(), first) << "the checkpoint stays before the refused record";
    }
  }
};

TEST_F(KafkaPermanentErrors, ARecordTooLargeForTheTopicStopsTheConnectorAfterTheLastDeliveredOne) {
  const auto topic = unique_topic("too-large");
  create_topic(topic, 1, {"max.message.bytes=2048"});
  auto id = start_connector({{"topic", topic}, {"bootstrapServers", kafka_bootstrap()}, {"compression:type", "None"}});
  const auto first = append_event(host_.port(), topic, "Small", {{"n", 1}});
  ASSERT_TRUE(checkpoint_reaches(id, first)) << connector(id).dump();
  append_event(host_.port(), topic, "Large", {{"blob", std::string(8000, 'x')}});
  append_event(host_.port(), topic, "Small", {{"n", 3}});
  expect_stopped_before(id, first, "INVALID_ARGUMENT", {"too large", "topic '" + topic + "'"});
  // The first record landed and the large one did not. The one after it may have (it went in a
  // later batch): it is past the checkpoint, so the next start sends it again (at-least-once).
  auto messages = consume(topic, 1);
  ASSERT_GE(messages.size(), 1u);
  EXPECT_EQ(messages[0].value, R"({"n":1})");
  for (const auto& m : messages) EXPECT_EQ(m.value.find("blob"), std::string::npos) << "the large record never lands";
}

TEST_F(KafkaPermanentErrors, AnUnknownTopicWithAutoCreationOffStopsTheConnectorNamingTheTopic) {
  const auto topic = unique_topic("never-created");
  append_event(host_.port(), topic, "OrderPlaced", {{"n", 1}});
  // The test broker creates topics on demand; a client may refuse that for itself.
  auto id = start_connector({{"topic", topic},
                             {"bootstrapServers", kafka_bootstrap()},
                             {"producer:allow.auto.create.topics", "false"},
                             {"producer:topic.metadata.propagation.max.ms", "1000"}},
                            false);
  expect_stopped_before(id, 0, "NOT_FOUND", {"Unknown topic", "topic '" + topic + "'"});
  // Nothing created it meanwhile.
  auto check = http_request(host_.port(), "PUT", "/connector-plugins/kafka-sink/config/validate?checkConnection=true",
                            json{{"topic", topic}, {"bootstrapServers", kafka_bootstrap()}}.dump());
  ASSERT_EQ(check.status, 200) << check.body;
  EXPECT_EQ(json::parse(check.body)["connection"]["failedStep"], "find topic") << check.body;
}

TEST_F(KafkaPermanentErrors, ATopicTheUserMayNotWriteStopsTheConnectorWithPermissionDenied) {
  auto env = kafka_env();
  // deploy/kafka/kafka.sh denies the SASL user every topic with this prefix.
  const auto topic = unique_topic(env["KAFKA_FORBIDDEN_TOPIC_PREFIX"] + "orders");
  append_event(host_.port(), topic, "OrderPlaced", {{"n", 1}});
  auto settings = sasl("saslPlaintext", "scramSha256");
  settings["topic"] = topic;
  settings["bootstrapServers"] = env["KAFKA_SASL_PLAINTEXT_BOOTSTRAP"];
  auto id = start_connector(settings, false);
  expect_stopped_before(id, 0, "PERMISSION_DENIED", {"authorization failed", "topic '" + topic + "'"});
}

// The connection check: PUT /connector-plugins/kafka-sink/config/validate?checkConnection=true.
class KafkaConnectionCheck : public KafkaSinkTest {
 protected:
  json check(json settings, const std::string& query = "checkConnection=true") {
    auto response =
        http_request(host_.port(), "PUT", "/connector-plugins/kafka-sink/config/validate?" + query, settings.dump());
    EXPECT_EQ(response.status, 200) << response.body;
    auto body = json::parse(response.body);
    EXPECT_EQ(body["valid"], true);
    EXPECT_EQ(body["settings"]["authentication:password"].is_null() ||
                  body["settings"]["authentication:password"] == "********",
              true)
        << "a password never comes back: " << response.body;
    return body["connection"];
  }
  static std::vector<std::string> step_names(const json& connection) {
    std::vector<std::string> names;
    for (const auto& step : connection["steps"]) names.push_back(step["step"]);
    return names;
  }
};

TEST_F(KafkaConnectionCheck, GoodSettingsPassEveryStepAndListTheTopics) {
  const auto topic = unique_topic("checked");
  create_topic(topic, 3);
  auto connection = check({{"topic", topic}, {"bootstrapServers", kafka_bootstrap()}});
  EXPECT_EQ(connection["ok"], true) << connection.dump();
  EXPECT_FALSE(connection.contains("failedStep"));
  EXPECT_EQ(step_names(connection),
            (std::vector<std::string>{"configure", "connect", "authenticate", "list topics", "find topic"}));
  EXPECT_EQ(connection["steps"][4]["detail"], "topic '" + topic + "' has 3 partition(s)");
  const auto topics = connection["destinations"].get<std::vector<std::string>>();
  EXPECT_NE(std::find(topics.begin(), topics.end(), topic), topics.end()) << connection.dump();
  for (const auto& name : topics) EXPECT_FALSE(name.starts_with("__")) << "internal topics are not listed";

  // Over SCRAM with TLS too, the credentials' own view.
  auto env = kafka_env();
  auto settings = sasl("saslSsl", "scramSha512");
  settings["topic"] = topic;
  settings["bootstrapServers"] = env["KAFKA_SASL_SSL_BOOTSTRAP"];
  settings["authentication:tls:caCertificate"] = kafka_file("KAFKA_CA_PEM");
  connection = check(settings);
  EXPECT_EQ(connection["ok"], true) << connection.dump();
  EXPECT_EQ(connection["steps"][2]["detail"], "accepted: SASL scramSha512 as 'alice'");
}

TEST_F(KafkaConnectionCheck, EachFailureNamesItsStepAndWhy) {
  auto env = kafka_env();
  const auto topic = unique_topic("check-missing");
  {
    SCOPED_TRACE("nothing listens");
    auto connection = check({{"topic", topic}, {"bootstrapServers", "127.0.0.1:" + std::to_string(free_port())}},
                            "checkConnection=true&timeoutSeconds=2");
    EXPECT_EQ(connection["ok"], false);
    EXPECT_EQ(connection["failedStep"], "connect") << connection.dump();
    EXPECT_NE(connection["steps"].back()["detail"].get<std::string>().find("answered within 2 s"), std::string::npos)
        << connection.dump();
  }
  {
    SCOPED_TRACE("wrong password");
    auto settings = sasl("saslPlaintext", "scramSha256", "not-the-password");
    settings["topic"] = topic;
    settings["bootstrapServers"] = env["KAFKA_SASL_PLAINTEXT_BOOTSTRAP"];
    auto connection = check(settings);
    EXPECT_EQ(connection["failedStep"], "authenticate") << connection.dump();
    const auto detail = connection["steps"].back()["detail"].get<std::string>();
    EXPECT_NE(detail.find("authentication failed (SASL scramSha256 as 'alice')"), std::string::npos) << detail;
    EXPECT_EQ(connection.dump().find("not-the-password"), std::string::npos);
  }
  {
    SCOPED_TRACE("untrusted CA");
    auto connection = check({{"topic", topic},
                             {"bootstrapServers", env["KAFKA_SSL_BOOTSTRAP"]},
                             {"authentication:securityProtocol", "ssl"}});
    EXPECT_EQ(connection["failedStep"], "authenticate") << connection.dump();
    EXPECT_NE(connection["steps"].back()["detail"].get<std::string>().find("TLS handshake failed"), std::string::npos)
        << connection.dump();
  }
  {
    SCOPED_TRACE("missing topic");
    auto connection = check({{"topic", topic}, {"bootstrapServers", kafka_bootstrap()}});
    EXPECT_EQ(connection["failedStep"], "find topic") << connection.dump();
    EXPECT_NE(connection["steps"].back()["detail"].get<std::string>().find("does not exist"), std::string::npos);
    // Asking did not create it.
    connection = check({{"topic", topic}, {"bootstrapServers", kafka_bootstrap()}});
    EXPECT_EQ(connection["failedStep"], "find topic") << connection.dump();
  }
  {
    SCOPED_TRACE("forbidden topic");
    auto settings = sasl("saslPlaintext", "plain");
    settings["topic"] = env["KAFKA_FORBIDDEN_TOPIC_PREFIX"] + "payments";
    settings["bootstrapServers"] = env["KAFKA_SASL_PLAINTEXT_BOOTSTRAP"];
    auto connection = check(settings);
    EXPECT_EQ(connection["failedStep"], "find topic") << connection.dump();
    EXPECT_NE(connection["steps"].back()["detail"].get<std::string>().find("not authorized"), std::string::npos)
        << connection.dump();
  }
}

TEST_F(KafkaConnectionCheck, BadQueryParametersAndPluginsWithoutACheckAreRefused) {
  auto bad = http_request(host_.port(), "PUT", "/connector-plugins/kafka-sink/config/validate?timeoutSeconds=600",
                          json{{"topic", "t"}}.dump());
  EXPECT_EQ(bad.status, 400) << bad.body;
  EXPECT_NE(bad.body.find("timeoutSeconds"), std::string::npos) << bad.body;
  auto logger = http_request(host_.port(), "PUT", "/connector-plugins/logger-sink/config/validate?checkConnection=true",
                             json::object().dump());
  EXPECT_EQ(logger.status, 400) << logger.body;
  EXPECT_NE(logger.body.find("has no connection check"), std::string::npos) << logger.body;
}

class KafkaPartitioning : public KafkaSinkTest {
 protected:
  static constexpr int kPartitions = 6;
  void SetUp() override {
    KafkaSinkTest::SetUp();
    topic_ = unique_topic("partitioned");
    create_topic(topic_, kPartitions);
  }
  std::string topic_;
};

TEST_F(KafkaPartitioning, StreamRegexKeysLandWhereAJavaProducerPutsThemInOrder) {
  auto id = start_connector({{"topic", topic_},
                             {"bootstrapServers", kafka_bootstrap()},
                             {"partitionKeyExtraction:enabled", "true"},
                             {"partitionKeyExtraction:source", "stream"},
                             {"partitionKeyExtraction:expression", "^order-(\\w+)$"},
                             {"defaultHeaders:X-Source", "sinkhost-test"},
                             {"subscription:filter:filterType", "prefix"},
                             {"subscription:filter:expression", "order-"}});
  std::map<std::string, std::vector<int>> sent;  // key -> sequence numbers in append order
  std::uint64_t last = 0;
  for (int i = 0; i < 60; ++i) {
    auto customer = "c" + std::to_string(i % 12);
    last = append_event(host_.port(), "order-" + customer, "OrderPlaced", {{"seq", i}}, {{"tenant", "acme"}});
    sent[customer].push_back(i);
  }
  ASSERT_TRUE(checkpoint_reaches(id, last)) << host_.log();
  auto messages = consume(topic_, 60);
  ASSERT_EQ(messages.size(), 60u);
  auto events = get_json(host_.port(), "/streams/$all?count=100")["events"];
  std::map<std::string, std::vector<int>> received;
  std::set<int> partitions_used;
  for (const auto& m : messages) {
    ASSERT_TRUE(m.has_key);
    EXPECT_EQ(m.partition, java_partition(m.key, kPartitions)) << "key " << m.key;
    partitions_used.insert(m.partition);
    received[m.key].push_back(json::parse(m.value)["seq"].get<int>());
    EXPECT_EQ(m.header("X-Source"), "sinkhost-test") << "defaultHeaders:* become headers";
    EXPECT_EQ(m.header("esdb-record-headers-tenant"), "acme");
    EXPECT_EQ(m.header("esdb-record-stream-id"), "order-" + m.key) << "the first capture group is the key";
    auto position = std::stoull(m.header("esdb-record-log-position"));
    const auto& event = events[position - 1];
    EXPECT_EQ(event["eventId"], m.header("esdb-record-id"));
    EXPECT_EQ(m.header("esdb-record-timestamp"), event["created"]);
    EXPECT_GT(m.timestamp_ms, 1700000000000LL);
  }
  EXPECT_GT(partitions_used.size(), 2u) << "12 keys over 6 partitions use several";
  // kcat reads partition by partition; within each key (one partition) the order is the log's.
  EXPECT_EQ(received, sent);
}

TEST_F(KafkaPartitioning, MessageTimestampsAreTheEventsAppendTimes) {
  auto id = start_connector({{"topic", topic_}, {"bootstrapServers", kafka_bootstrap()}});
  auto last = append_event(host_.port(), topic_, "A", {{"n", 1}});
  ASSERT_TRUE(checkpoint_reaches(id, last));
  auto event = get_json(host_.port(), "/streams/$all")["events"][0];
  auto messages = consume(topic_, 1);
  ASSERT_EQ(messages.size(), 1u);
  // created is RFC 3339 with milliseconds; the message carries the same instant in ms.
  EXPECT_EQ(messages[0].header("esdb-record-timestamp"), event["created"]);
  auto created = event["created"].get<std::string>();
  auto ms = std::stoll(created.substr(20, 3));
  EXPECT_EQ(messages[0].timestamp_ms % 1000, ms) << created;
}

TEST_F(KafkaPartitioning, SuffixHeadersAndDataKeysAreExtractedByteForByte) {
  struct Case {
    json settings;
    std::string stream;
    json data;
    json metadata;
    std::optional<std::string> expected_key;
  };
  std::vector<Case> cases = {
      {{{"partitionKeyExtraction:source", "streamSuffix"}},
       "order-2021-05-15",
       {{"x", 1}},
       json::object(),
       "2021-05-15"},
      {{{"partitionKeyExtraction:source", "streamSuffix"}}, "nodash", {{"x", 1}}, json::object(), std::nullopt},
      // KurrentDB: source stream without an expression keys by the whole stream id.
      {{{"partitionKeyExtraction:source", "stream"}}, "order-77", {{"x", 1}}, json::object(), "order-77"},
      // A named header the event lacks is left out of the joined key; none present: no key.
      {{{"partitionKeyExtraction:source", "headers"}, {"partitionKeyExtraction:expression", "region,zone"}},
       "s-5",
       {{"x", 1}},
       {{"zone", "zone9"}},
       "zone9"},
      {{{"partitionKeyExtraction:source", "headers"}, {"partitionKeyExtraction:expression", "region,zone"}},
       "s-6",
       {{"x", 1}},
       {{"tenant", "t"}},
       std::nullopt},
      {{{"partitionKeyExtraction:source", "headers"}, {"partitionKeyExtraction:expression", "region,zone"}},
       "s-1",
       {{"x", 1}},
       {{"region", "regionA"}, {"zone", "zone1"}},
       "regionA-zone1"},
      {{{"partitionKeyExtraction:source", "data"}, {"partitionKeyExtraction:expression", "/userId,/anonymousId"}},
       "s-2",
       {{"anonymousId", "anon-7"}},
       json::object(),
       "anon-7"},
      {{{"partitionKeyExtraction:source", "data"}, {"partitionKeyExtraction:expression", "/userId,/anonymousId"}},
       "s-3",
       {{"userId", "user-1"}, {"anonymousId", "anon-7"}},
       json::object(),
       "user-1"},
      {{{"partitionKeyExtraction:source", "data"}, {"partitionKeyExtraction:expression", "/user/id"}},
       "s-4",
       {{"user", {{"id", 42}}}},
       json::object(),
       "42"},
  };
  for (std::size_t i = 0; i < cases.size(); ++i) {
    SCOPED_TRACE("case " + std::to_string(i));
    const auto& c = cases[i];
    auto topic = unique_topic("keys");
    auto settings = c.settings;
    settings["topic"] = topic;
    settings["bootstrapServers"] = kafka_bootstrap();
    settings["partitionKeyExtraction:enabled"] = "true";
    settings["subscription:filter:filterType"] = "streamId";
    settings["subscription:filter:expression"] = c.stream;
    auto id = start_connector(settings);
    auto position = append_event(host_.port(), c.stream, "E", c.data, c.metadata);
    ASSERT_TRUE(checkpoint_reaches(id, position)) << host_.log();
    auto messages = consume(topic, 1);
    ASSERT_EQ(messages.size(), 1u);
    EXPECT_EQ(messages[0].has_key, c.expected_key.has_value());
    if (c.expected_key) {
      EXPECT_EQ(messages[0].key, *c.expected_key);
    }
    ASSERT_EQ(http_request(host_.port(), "POST", "/connectors/" + id + "/stop").status, 200);
  }
}

TEST_F(KafkaPartitioning, UnkeyedRecordsGoRoundRobinAndExplicitPartitionsAreHonoured) {
  auto spread = start_connector({{"topic", topic_},
                                 {"bootstrapServers", kafka_bootstrap()},
                                 {"subscription:filter:filterType", "streamId"},
                                 {"subscription:filter:expression", "spread-1"}});
  std::uint64_t last = 0;
  for (int i = 0; i < 60; ++i) last = append_event(host_.port(), "spread-1", "E", {{"n", i}});
  ASSERT_TRUE(checkpoint_reaches(spread, last));
  auto messages = consume(topic_, 60);
  ASSERT_EQ(messages.size(), 60u);
  std::map<int, int> per_partition;
  for (const auto& m : messages) {
    EXPECT_FALSE(m.has_key);
    ++per_partition[m.partition];
  }
  EXPECT_EQ(per_partition.size(), std::size_t{kPartitions});
  for (const auto& [partition, count] : per_partition) EXPECT_EQ(count, 10) << "partition " << partition;

  auto fixed_topic = unique_topic("fixed");
  create_topic(fixed_topic, kPartitions);
  auto fixed = start_connector({{"topic", fixed_topic},
                                {"bootstrapServers", kafka_bootstrap()},
                                {"partition", "4"},
                                {"subscription:filter:filterType", "streamId"},
                                {"subscription:filter:expression", "fixed-1"}});
  auto fallback_topic = unique_topic("fallback");
  create_topic(fallback_topic, kPartitions);
  auto fallback = start_connector({{"topic", fallback_topic},
                                   {"bootstrapServers", kafka_bootstrap()},
                                   {"defaultPartition", "2"},
                                   {"partitionKeyExtraction:enabled", "true"},
                                   {"partitionKeyExtraction:source", "data"},
                                   {"partitionKeyExtraction:expression", "/userId"},
                                   {"subscription:filter:filterType", "streamId"},
                                   {"subscription:filter:expression", "fixed-1"}});
  for (int i = 0; i < 10; ++i) last = append_event(host_.port(), "fixed-1", "E", {{"n", i}});
  ASSERT_TRUE(checkpoint_reaches(fixed, last));
  ASSERT_TRUE(checkpoint_reaches(fallback, last));
  for (const auto& m : consume(fixed_topic, 10)) EXPECT_EQ(m.partition, 4);
  auto unkeyed = consume(fallback_topic, 10);
  ASSERT_EQ(unkeyed.size(), 10u);
  for (const auto& m : unkeyed) EXPECT_EQ(m.partition, 2) << "no userId: the default partition";
}

}  // namespace
}  // namespace sinkhost::test
