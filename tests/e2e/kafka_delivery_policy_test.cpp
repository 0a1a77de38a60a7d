// Delivery policy against the real broker (issue 20): a connector that restarts by itself once
// a wrong password is corrected, and records routed per record, by a topic template or by a
// transform, checked with kcat.
#include <array>
#include <chrono>
#include <fstream>
#include <thread>
#include <utility>
#include <vector>

#include <gtest/gtest.h>

#include "e2e_helpers.hpp"
#include "kafka.hpp"
#include "sinkhost/connector/encoding.hpp"
#include "token.hpp"

namespace sinkhost::test {
namespace {

using nlohmann::json;

class KafkaDeliveryPolicy : public ::testing::Test {
 protected:
  void SetUp() override {
    ::setenv("SINKHOST_DATA_PROTECTION_TOKEN", kTestToken.c_str(), 1);  // passwords are secrets
    host_.start();
  }

  json base(const std::string& topic, const std::string& stream_prefix) {
    return {{"instanceTypeName", "kafka-sink"},
            {"topic", topic},
            {"bootstrapServers", kafka_bootstrap()},
            {"subscription:filter:filterType", "prefix"},
            {"subscription:filter:expression", stream_prefix},
            {"subscription:initialPosition", "earliest"},
            {"autocommit:interval", "100"}};
  }
  // SCRAM on the SASL listener with a wrong password: the start fails with PERMISSION_DENIED.
  static json wrong_password(json settings) {
    auto env = kafka_env();
    settings.update({{"bootstrapServers", env["KAFKA_SASL_PLAINTEXT_BOOTSTRAP"]},
                     {"authentication:securityProtocol", "saslPlaintext"},
                     {"authentication:saslMechanism", "scramSha256"},
                     {"authentication:username", env["KAFKA_SASL_USERNAME"]},
                     {"authentication:password", "not-the-password"}});
    return settings;
  }
  json connector(const std::string& id) { return connector_view(host_.port(), id); }
  bool position_reaches(const std::string& id, std::uint64_t position) {
    return checkpoint_reaches(host_.port(), id, position);
  }

  TempDir dir_;
  SinkhostProcess host_{dir_.path() + "/data"};
};

TEST_F(KafkaDeliveryPolicy, AWrongPasswordCorrectedWhileTheConnectorWaitsRestartsItAndEverythingArrives) {
  const auto topic = unique_topic("auto-restart");
  create_topic(topic, 1);
  std::uint64_t last = 0;
  for (int i = 0; i < 3; ++i) last = append_event(host_.port(), topic + "-s", "OrderPlaced", {{"n", i}});
  auto settings = wrong_password(base(topic, topic + "-s"));
  settings.update(
      {{"autoRestart:maxAttempts", "100"}, {"autoRestart:firstDelay", "300"}, {"autoRestart:maxDelay", "1000"}});
  create_and_start_connector(host_.port(), "restart-sink", settings);

  ASSERT_TRUE(eventually([&] { return connector("restart-sink").contains("autoRestart"); }))
      << connector("restart-sink").dump() << host_.log();
  auto waiting = connector("restart-sink");
  EXPECT_EQ(waiting["state"], "CONNECTOR_STATE_STOPPED");
  EXPECT_EQ(waiting["errorDetails"]["code"], "PERMISSION_DENIED") << "why it waits";
  EXPECT_EQ(waiting["autoRestart"]["maxAttempts"], 100);
  EXPECT_GE(waiting["autoRestart"]["attempt"].get<int>(), 1);
  EXPECT_TRUE(waiting["autoRestart"].contains("restartTime"));
  EXPECT_EQ(waiting.dump().find("not-the-password"), std::string::npos);

  // The password is corrected while the connector waits: no start command is needed.
  settings["authentication:password"] = "alice-secret";
  auto fixed = http_request(host_.port(), "PUT", "/connectors/restart-sink/settings", settings.dump());
  ASSERT_EQ(fixed.status, 200) << fixed.body;
  ASSERT_TRUE(position_reaches("restart-sink", last)) << connector("restart-sink").dump() << host_.log();
  auto running = connector("restart-sink");
  EXPECT_EQ(running["state"], "CONNECTOR_STATE_RUNNING");
  EXPECT_FALSE(running.contains("autoRestart"));
  EXPECT_FALSE(running.contains("errorDetails"));
  auto messages = consume(topic, 3);
  ASSERT_EQ(messages.size(), 3u);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(messages[i].value, json({{"n", i}}).dump()) << "in order";
}

TEST_F(KafkaDeliveryPolicy, AStopCancelsTheWaitingRestart) {
  auto settings = wrong_password(base(unique_topic("cancel"), "nothing-"));
  settings.update({{"autoRestart:maxAttempts", "5"}, {"autoRestart:firstDelay", "60000"}});
  create_and_start_connector(host_.port(), "cancel-sink", settings);
  ASSERT_TRUE(eventually([&] { return connector("cancel-sink").contains("autoRestart"); }))
      << connector("cancel-sink").dump();
  EXPECT_EQ(connector("cancel-sink")["autoRestart"]["attempt"], 1);
  ASSERT_EQ(http_request(host_.port(), "POST", "/connectors/cancel-sink/stop").status, 200);
  auto stopped = connector("cancel-sink");
  EXPECT_EQ(stopped["state"], "CONNECTOR_STATE_STOPPED");
  EXPECT_FALSE(stopped.contains("autoRestart")) << stopped.dump();
  EXPECT_FALSE(stopped.contains("errorDetails"));
}

TEST_F(KafkaDeliveryPolicy, ATopicTemplateRoutesEachStreamToItsTopic) {
  const auto prefix = unique_topic("route");
  for (const char* region : {"eu", "us", "ap"}) create_topic(prefix + "-" + region, 1);
  std::uint64_t last = 0;
  for (int i = 0; i < 6; ++i) {
    const char* region = std::array{"eu", "us", "ap"}[i % 3];
    last = append_event(host_.port(), prefix + "-" + region, "OrderPlaced", {{"n", i}});
  }
  create_and_start_connector(host_.port(), "route-sink", base("{stream}", prefix + "-"));
  ASSERT_TRUE(position_reaches("route-sink", last)) << connector("route-sink").dump() << host_.log();
  for (int r = 0; r < 3; ++r) {
    const std::string region = std::array{"eu", "us", "ap"}[r];
    auto messages = consume(prefix + "-" + region, 2);
    ASSERT_EQ(messages.size(), 2u) << region;
    EXPECT_EQ(messages[0].value, json({{"n", r}}).dump()) << region;
    EXPECT_EQ(messages[1].value, json({{"n", r + 3}}).dump()) << region;
    EXPECT_EQ(messages[1].header("esdb-record-stream-id"), prefix + "-" + region);
  }
}

TEST_F(KafkaDeliveryPolicy, ATransformRoutesARecordToATopicAndPartitionOfItsOwn) {
  const auto topic = unique_topic("main");
  const auto big = unique_topic("big");
  create_topic(topic, 1);
  create_topic(big, 3);
  append_event(host_.port(), topic + "-s", "OrderPlaced", {{"total", 5}});
  auto last = append_event(host_.port(), topic + "-s", "OrderPlaced", {{"total", 500}});
  auto settings = base(topic, topic + "-s");
  settings.update({{"transformer:enabled", "true"},
                   {"transformer:function", connector::base64_encode("function transform(r) { if (r.value.total > 100) "
                                                                     "{ r.topic = '" +
                                                                     big + "'; r.partition = 2; } }")}});
  create_and_start_connector(host_.port(), "transform-route-sink", settings);
  ASSERT_TRUE(position_reaches("transform-route-sink", last))
      << connector("transform-route-sink").dump() << host_.log();
  auto main_messages = consume(topic, 1);
  ASSERT_EQ(main_messages.size(), 1u);
  EXPECT_EQ(main_messages[0].value, R"({"total":5})");
  auto big_messages = consume(big, 1);
  ASSERT_EQ(big_messages.size(), 1u);
  EXPECT_EQ(big_messages[0].value, R"({"total":500})");
  EXPECT_EQ(big_messages[0].partition, 2);
}

TEST_F(KafkaDeliveryPolicy, ATemplateWithAnUnknownPlaceholderIsRefusedAtCreate) {
  auto settings = base("orders-{customer}", "x");
  auto created = http_request(host_.port(), "POST", "/connectors/bad-template", json{{"settings", settings}}.dump());
  EXPECT_EQ(created.status, 400) << created.body;
  EXPECT_NE(created.body.find("unknown placeholder '{customer}'"), std::string::npos) << created.body;
  EXPECT_EQ(http_request(host_.port(), "GET", "/connectors/bad-template").status, 404) << "nothing created";
}

TEST_F(KafkaDeliveryPolicy, OauthBearerSettingsAreCheckedAtCreate) {
  auto oauth = base("t", "x");
  oauth.update({{"authentication:securityProtocol", "saslSsl"}, {"authentication:saslMechanism", "oauthBearer"}});
  auto missing = http_request(host_.port(), "POST", "/connectors/oauth-bad", json{{"settings", oauth}}.dump());
  EXPECT_EQ(missing.status, 400) << missing.body;
  for (const char* field : {"authentication:oauth:tokenEndpointUrl", "authentication:oauth:clientId",
                            "authentication:oauth:clientSecret"}) {
    EXPECT_NE(missing.body.find(field), std::string::npos) << field << ": " << missing.body;
  }
  EXPECT_EQ(missing.body.find("authentication:username"), std::string::npos) << "no user name with OAuth";

  oauth.update({{"authentication:oauth:tokenEndpointUrl", "http://idp.example.com/token"},
                {"authentication:oauth:clientId", "sinkhost"},
                {"authentication:oauth:clientSecret", "s3cret-value"}});
  auto plain_http = http_request(host_.port(), "POST", "/connectors/oauth-bad", json{{"settings", oauth}}.dump());
  EXPECT_EQ(plain_http.status, 400) << plain_http.body;
  EXPECT_NE(plain_http.body.find("must be an https URL"), std::string::npos) << plain_http.body;
  EXPECT_EQ(plain_http.body.find("s3cret-value"), std::string::npos) << "the secret is never echoed";
  EXPECT_EQ(http_request(host_.port(), "GET", "/connectors/oauth-bad").status, 404) << "nothing created";

  oauth["authentication:oauth:tokenEndpointUrl"] = "http://127.0.0.1:8080/token";  // loopback: allowed
  auto created = http_request(host_.port(), "POST", "/connectors/oauth-ok", json{{"settings", oauth}}.dump());
  EXPECT_EQ(created.status, 200) << created.body;
  auto view = get_json(host_.port(), "/connectors/oauth-ok?includeSettings=true");
  EXPECT_EQ(view.dump().find("s3cret-value"), std::string::npos) << "the client secret is masked: " << view.dump();
}

// OAUTHBEARER against the test broker's OAuth listeners (deploy/kafka/kafka.sh): tokens from
// its token server (15 s lifetime, the broker ends a session when its token expires).
class KafkaOauth : public KafkaDeliveryPolicy {
 protected:
  json oidc(const std::string& topic, const std::string& secret) {
    auto env = kafka_env();
    auto s = base(topic, topic + "-s");
    s.update({{"bootstrapServers", env["KAFKA_OAUTH_BOOTSTRAP"]},
              {"authentication:securityProtocol", "saslPlaintext"},
              {"authentication:saslMechanism", "oauthBearer"},
              {"authentication:oauth:tokenEndpointUrl", env["KAFKA_OAUTH_TOKEN_URL"]},
              {"authentication:oauth:clientId", env["KAFKA_OAUTH_CLIENT_ID"]},
              {"authentication:oauth:clientSecret", secret},
              {"authentication:oauth:scope", env["KAFKA_OAUTH_SCOPE"]}});
    return s;
  }
  static std::size_t tokens_issued() {
    std::ifstream log(kafka_env()["KAFKA_OAUTH_TOKEN_LOG"]);
    std::size_t n = 0;
    for (std::string line; std::getline(log, line);) n += line.find(" issued ") != std::string::npos;
    return n;
  }
};

TEST_F(KafkaOauth, OidcClientCredentialsDeliverAcrossTokenExpiriesWithNothingLost) {
  const auto topic = unique_topic("oauth");
  create_topic(topic, 1);
  const auto issued_before = tokens_issued();
  create_and_start_connector(host_.port(), "oauth-sink", oidc(topic, kafka_env()["KAFKA_OAUTH_CLIENT_SECRET"]));
  ASSERT_EQ(connector("oauth-sink")["state"], "CONNECTOR_STATE_RUNNING") << connector("oauth-sink").dump();
  // One event a second for longer than a token lives: the session is re-authenticated with a
  // refreshed token while records flow.
  std::uint64_t last = 0;
  for (int i = 0; i < 22; ++i) {
    last = append_event(host_.port(), topic + "-s", "OrderPlaced", {{"n", i}});
    std::this_thread::sleep_for(std::chrono::seconds(1));
  }
  ASSERT_TRUE(position_reaches("oauth-sink", last)) << connector("oauth-sink").dump() << host_.log();
  auto messages = consume(topic, 22);
  ASSERT_EQ(messages.size(), 22u);
  for (int i = 0; i < 22; ++i) EXPECT_EQ(messages[i].value, json({{"n", i}}).dump()) << "in order, none lost";
  EXPECT_GE(tokens_issued() - issued_before, 2u) << "a token was refreshed during the run";
  EXPECT_EQ(connector("oauth-sink")["state"], "CONNECTOR_STATE_RUNNING");
}

TEST_F(KafkaOauth, AClientSecretTheTokenEndpointRefusesStopsTheConnectorNamingTheEndpoint) {
  auto env = kafka_env();
  const auto topic = unique_topic("oauth-refused");
  create_and_start_connector(host_.port(), "oauth-refused-sink", oidc(topic, "not-the-secret"));
  ASSERT_TRUE(eventually([&] { return connector("oauth-refused-sink").contains("errorDetails"); }))
      << connector("oauth-refused-sink").dump();
  auto view = connector("oauth-refused-sink");
  EXPECT_EQ(view["state"], "CONNECTOR_STATE_STOPPED");
  EXPECT_EQ(view["errorDetails"]["code"], "PERMISSION_DENIED");
  const auto message = view["errorDetails"]["message"].get<std::string>();
  EXPECT_NE(message.find(env["KAFKA_OAUTH_TOKEN_URL"]), std::string::npos) << message;
  EXPECT_NE(message.find("invalid_client"), std::string::npos) << "the endpoint's answer: " << message;
  EXPECT_EQ(message.find("not-the-secret"), std::string::npos) << "the secret never appears";
}

TEST_F(KafkaOauth, AnUnsecuredJwtDeliversToALocalDevelopmentBroker) {
  auto env = kafka_env();
  const auto topic = unique_topic("oauth-unsecured");
  create_topic(topic, 1);
  auto last = append_event(host_.port(), topic + "-s", "OrderPlaced", {{"n", 1}});
  auto s = base(topic, topic + "-s");
  s.update({{"bootstrapServers", env["KAFKA_OAUTH_UNSECURED_BOOTSTRAP"]},
            {"authentication:securityProtocol", "saslPlaintext"},
            {"authentication:saslMechanism", "oauthBearer"},
            {"authentication:oauth:method", "unsecuredJwt"},
            {"authentication:oauth:principal", "alice"}});
  create_and_start_connector(host_.port(), "oauth-dev-sink", s);
  ASSERT_TRUE(position_reaches("oauth-dev-sink", last)) << connector("oauth-dev-sink").dump() << host_.log();
  auto messages = consume(topic, 1);
  ASSERT_EQ(messages.size(), 1u);
  EXPECT_EQ(messages[0].value, R"({"n":1})");
}

// The main topic takes 2 KiB; every other record is 6 KB.
class KafkaDeadLetter : public KafkaDeliveryPolicy {
 protected:
  void SetUp() override {
    KafkaDeliveryPolicy::SetUp();
    topic_ = unique_topic("dlq-main");
    dead_ = unique_topic("dlq-dead");
    create_topic(topic_, 1, {"max.message.bytes=2048"});
    create_topic(dead_, 1);
  }
  // Appends small, large, small, large, small; returns the positions.
  std::vector<std::uint64_t> append_mix() {
    std::vector<std::uint64_t> positions;
    for (int i = 0; i < 5; ++i) {
      json data = {{"n", i}};
      if (i % 2 == 1) data["blob"] = std::string(6000, static_cast<char>('a' + i));
      positions.push_back(append_event(host_.port(), topic_ + "-s", i % 2 ? "Large" : "Small", data));
    }
    return positions;
  }
  json settings(const json& extra) {
    auto s = base(topic_, topic_ + "-s");
    s.update({{"compression:type", "None"},
              {"deadLetter:enabled", "true"},
              {"deadLetter:topic", dead_},
              {"deadLetter:maxMessageBytes", "2048"}});
    s.update(extra);
    return s;
  }
  std::string topic_, dead_;
};

TEST_F(KafkaDeadLetter, RecordsTheTopicRefusesGoToTheDeadLetterTopicWithWhyAndTheRestArriveInOrder) {
  auto positions = append_mix();
  create_and_start_connector(host_.port(), "dlq-sink", settings(json::object()));
  ASSERT_TRUE(position_reaches("dlq-sink", positions.back())) << connector("dlq-sink").dump() << host_.log();
  auto main = consume(topic_, 3);
  ASSERT_EQ(main.size(), 3u);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(main[i].value, json({{"n", 2 * i}}).dump()) << "every small one, in order";
  auto dead = consume(dead_, 2);
  ASSERT_EQ(dead.size(), 2u);
  for (int i = 0; i < 2; ++i) {
    const int n = 2 * i + 1;
    EXPECT_EQ(dead[i].value, json({{"blob", std::string(6000, static_cast<char>('a' + n))}, {"n", n}}).dump())
        << "the original value";
    EXPECT_EQ(dead[i].header("sinkhost-dead-letter-reason"), "MSG_SIZE_TOO_LARGE");
    EXPECT_NE(dead[i].header("sinkhost-dead-letter-message").find("too large"), std::string::npos)
        << dead[i].header("sinkhost-dead-letter-message");
    EXPECT_EQ(dead[i].header("sinkhost-dead-letter-topic"), topic_);
    EXPECT_EQ(dead[i].header("sinkhost-dead-letter-connector"), "dlq-sink");
    EXPECT_EQ(dead[i].header("sinkhost-dead-letter-log-position"), std::to_string(positions[n]));
    EXPECT_EQ(dead[i].header("esdb-record-stream-id"), topic_ + "-s") << "the record's own headers stay";
    EXPECT_EQ(dead[i].header("esdb-record-log-position"), std::to_string(positions[n]));
    EXPECT_EQ(dead[i].header("sinkhost-dead-letter-time").size(), 24u) << dead[i].header("sinkhost-dead-letter-time");
  }
  auto view = connector("dlq-sink");
  EXPECT_EQ(view["state"], "CONNECTOR_STATE_RUNNING");
  EXPECT_EQ(view["deadLetteredRecords"], 2);
  auto metrics = http_request(host_.port(), "GET", "/metrics").body;
  EXPECT_NE(metrics.find(R"(sinkhost_connector_records_dead_lettered_total{connector="dlq-sink",type="kafka-sink"} 2)"),
            std::string::npos)
      << metrics;
}

// Without deadLetter:maxMessageBytes the broker refuses the record; one record in flight at a
// time (waitForBrokerAck) keeps good records out of the refused batch.
TEST_F(KafkaDeadLetter, ARecordTheBrokerRefusesGoesToTheDeadLetterTopicFromItsDeliveryReport) {
  auto positions = append_mix();
  auto s = settings({{"waitForBrokerAck", "true"}});
  s.erase("deadLetter:maxMessageBytes");
  create_and_start_connector(host_.port(), "dlq-broker-sink", s);
  ASSERT_TRUE(position_reaches("dlq-broker-sink", positions.back())) << connector("dlq-broker-sink").dump();
  auto main = consume(topic_, 3);
  ASSERT_EQ(main.size(), 3u);
  for (int i = 0; i < 3; ++i) EXPECT_EQ(main[i].value, json({{"n", 2 * i}}).dump());
  auto dead = consume(dead_, 2);
  ASSERT_EQ(dead.size(), 2u);
  EXPECT_EQ(dead[0].header("sinkhost-dead-letter-reason"), "MSG_SIZE_TOO_LARGE");
  EXPECT_EQ(dead[1].header("sinkhost-dead-letter-log-position"), std::to_string(positions[3]));
  EXPECT_EQ(connector("dlq-broker-sink")["deadLetteredRecords"], 2);
}

TEST_F(KafkaDeadLetter, ARecordTheTransformThrowsOnGoesToTheDeadLetterTopicUntransformed) {
  std::uint64_t last = 0;
  for (int i = 0; i < 4; ++i) last = append_event(host_.port(), topic_ + "-s", "OrderPlaced", {{"n", i}});
  auto s = settings({{"transformer:enabled", "true"},
                     {"transformer:function",
                      connector::base64_encode("function transform(r) { if (r.value.n % 2) throw new Error('odd ' + "
                                               "r.value.n); r.value.even = true; }")}});
  create_and_start_connector(host_.port(), "dlq-transform-sink", s);
  ASSERT_TRUE(position_reaches("dlq-transform-sink", last)) << connector("dlq-transform-sink").dump() << host_.log();
  auto main = consume(topic_, 2);
  ASSERT_EQ(main.size(), 2u);
  EXPECT_EQ(main[0].value, R"({"n":0,"even":true})");
  EXPECT_EQ(main[1].value, R"({"n":2,"even":true})");
  auto dead = consume(dead_, 2);
  ASSERT_EQ(dead.size(), 2u);
  EXPECT_EQ(dead[0].value, R"({"n":1})") << "as it was before the transform";
  EXPECT_EQ(dead[0].header("sinkhost-dead-letter-reason"), "TRANSFORM_ERROR");
  EXPECT_NE(dead[0].header("sinkhost-dead-letter-message").find("odd 1"), std::string::npos)
      << dead[0].header("sinkhost-dead-letter-message");
  EXPECT_EQ(dead[1].value, R"({"n":3})");
  EXPECT_EQ(connector("dlq-transform-sink")["state"], "CONNECTOR_STATE_RUNNING");
  EXPECT_EQ(connector("dlq-transform-sink")["deadLetteredRecords"], 2);
}

TEST_F(KafkaDeadLetter, AfterMaxRecordsTheConnectorStopsAnyway) {
  auto positions = append_mix();
  create_and_start_connector(host_.port(), "dlq-limit-sink", settings({{"deadLetter:maxRecords", "1"}}));
  ASSERT_TRUE(eventually([&] { return connector("dlq-limit-sink")["state"] == "CONNECTOR_STATE_STOPPED"; }))
      << connector("dlq-limit-sink").dump();
  auto view = connector("dlq-limit-sink");
  EXPECT_EQ(view["errorDetails"]["code"], "FAILED_PRECONDITION") << view.dump() << host_.log();
  EXPECT_NE(view["errorDetails"]["message"].get<std::string>().find("deadLetter:maxRecords"), std::string::npos);
  EXPECT_LT(view.value("position", std::uint64_t{0}), positions[3]) << "the checkpoint stays before the second";
  EXPECT_EQ(consume(dead_, 1).size(), 1u);
}

TEST_F(KafkaDeadLetter, ADeadLetterTopicThatIsTheTopicOrMissingIsRefusedAtCreate) {
  for (const auto& [extra, field] :
       std::vector<std::pair<json, std::string>>{{json{{"deadLetter:topic", ""}}, "deadLetter:topic"},
                                                 {json{{"deadLetter:topic", "{stream}"}}, "deadLetter:topic"}}) {
    auto created =
        http_request(host_.port(), "POST", "/connectors/dlq-bad", json{{"settings", settings(extra)}}.dump());
    EXPECT_EQ(created.status, 400) << created.body;
    EXPECT_NE(created.body.find(field), std::string::npos) << created.body;
  }
  auto same = settings(json::object());
  same["deadLetter:topic"] = topic_;
  auto created = http_request(host_.port(), "POST", "/connectors/dlq-bad", json{{"settings", same}}.dump());
  EXPECT_EQ(created.status, 400) << created.body;
  EXPECT_NE(created.body.find("must not be the topic itself"), std::string::npos) << created.body;
  EXPECT_EQ(http_request(host_.port(), "GET", "/connectors/dlq-bad").status, 404);
}

}  // namespace
}  // namespace sinkhost::test
