// kafka-sink's rules across settings, through PUT /connector-plugins/kafka-sink/config/validate.
#include "management_api/api_fixture.hpp"

namespace sinkhost::management_api {
namespace {

class KafkaSinkSettings : public ApiTest {
 protected:
  std::map<std::string, std::string> check(const json& settings) {
    auto response = call("PUT", "/connector-plugins/kafka-sink/config/validate", settings.dump());
    if (response.status == 200) return {};
    EXPECT_EQ(response.status, 400) << response.body;
    return violations(response);
  }
};

TEST_F(KafkaSinkSettings, PassThroughRefusesWhatWouldWeakenGuaranteesAndUnknownProperties) {
  auto v = check({{"topic", "t"},
                  {"producer:linger.ms", "20"},
                  {"producer:acks", "1"},
                  {"producer:enable.idempotence", "false"},
                  {"producer:sasl.password", "x"},
                  {"producer:plugin.library.paths", "/tmp/evil.so"},
                  {"producer:no.such.property", "1"},
                  {"producer:batch.num.messages", "many"}});
  EXPECT_EQ(v.size(), 6u);
  EXPECT_FALSE(v.contains("producer:linger.ms")) << "harmless tuning passes";
  EXPECT_TRUE(v.contains("producer:acks"));
  EXPECT_TRUE(v.contains("producer:enable.idempotence"));
  EXPECT_TRUE(v.contains("producer:sasl.password"));
  EXPECT_TRUE(v.contains("producer:plugin.library.paths"));
  EXPECT_NE(v["producer:no.such.property"].find("librdkafka"), std::string::npos);
  EXPECT_NE(v["producer:batch.num.messages"].find("librdkafka"), std::string::npos);
}

TEST_F(KafkaSinkSettings, InFlightRequestsMayBeLoweredButNotRaisedPastWhatKeepsOrder) {
  for (const char* value : {"1", "5"}) {
    EXPECT_TRUE(check({{"topic", "t"}, {"producer:max.in.flight.requests.per.connection", value}}).empty()) << value;
  }
  for (const char* value : {"6", "0", "100", "one", ""}) {
    auto v = check({{"topic", "t"}, {"producer:max.in.flight", value}});
    ASSERT_TRUE(v.contains("producer:max.in.flight")) << value;
    EXPECT_NE(v["producer:max.in.flight"].find("must be 1 to 5"), std::string::npos) << v["producer:max.in.flight"];
  }
}

TEST_F(KafkaSinkSettings, SaslNeedsCredentialsAndTlsMaterialGoesWithTls) {
  auto v = check({{"topic", "t"}, {"authentication:securityProtocol", "saslSsl"}});
  EXPECT_EQ(v, (std::map<std::string, std::string>{
                   {"authentication:password", "required when securityProtocol is saslSsl"},
                   {"authentication:username", "required when securityProtocol is saslSsl"}}));
  v = check({{"topic", "t"},
             {"authentication:tls:caCertificate", "-----BEGIN CERTIFICATE-----\nx\n-----END CERTIFICATE-----\n"}});
  EXPECT_EQ(v.count("authentication:tls:caCertificate"), 1u) << "TLS material without TLS is a mistake worth naming";
  v = check({{"topic", "t"},
             {"authentication:securityProtocol", "ssl"},
             {"authentication:tls:clientCertificate", "-----BEGIN CERTIFICATE-----\nx\n-----END CERTIFICATE-----\n"}});
  EXPECT_EQ(v.count("authentication:tls:clientKey"), 1u) << "a certificate needs its key";
  v = check(
      {{"topic", "t"}, {"authentication:securityProtocol", "ssl"}, {"authentication:tls:caCertificate", "not pem"}});
  EXPECT_EQ(v.count("authentication:tls:caCertificate"), 1u);
}

TEST_F(KafkaSinkSettings, KeyExtractionNeedsAUsableExpression) {
  auto with = [](const char* source, const char* expression) {
    json s = {{"topic", "t"}, {"partitionKeyExtraction:enabled", "true"}, {"partitionKeyExtraction:source", source}};
    if (expression) s["partitionKeyExtraction:expression"] = expression;
    return s;
  };
  EXPECT_TRUE(check(with("stream", nullptr)).empty())
      << "KurrentDB: the expression is optional, the key is the stream id";
  EXPECT_EQ(check(with("stream", "(?<name>x)(?=y)")).count("partitionKeyExtraction:expression"), 1u)
      << "RE2 has no lookahead";
  EXPECT_EQ(check(with("headers", " , ")).count("partitionKeyExtraction:expression"), 1u);
  EXPECT_EQ(check(with("data", "userId")).count("partitionKeyExtraction:expression"), 1u)
      << "JSON Pointers start with /";
  EXPECT_TRUE(check(with("data", "/userId,/anonymousId")).empty());
  EXPECT_TRUE(check(with("streamSuffix", nullptr)).empty());
  EXPECT_TRUE(
      check({{"topic", "t"}, {"partition", "3"}, {"defaultPartition", "1"}, {"compression:type", "lz4"}}).empty());
  EXPECT_EQ(check({{"topic", "t"}, {"partition", "-1"}}).count("partition"), 1u);
}

}  // namespace
}  // namespace sinkhost::management_api
