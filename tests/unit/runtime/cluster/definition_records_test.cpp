#include "sinkhost/runtime/cluster/definition_records.hpp"

#include <gtest/gtest.h>

namespace sinkhost::runtime::cluster {
namespace {

DefinitionRecord a_record() {
  DefinitionRecord record;
  auto& d = record.definition;
  d.id = "orders-to-kafka";
  d.name = "Orders";
  d.instance_type_name = "kafka-sink";
  d.settings = {{"instanceTypeName", "kafka-sink"}, {"authentication:password", "******"}};
  d.sealed_settings = {{"authentication:password", "sinkhost:enc:v1:abc"}};
  d.run_requested = true;
  d.create_time_ms = 1000;
  d.update_time_ms = 2000;
  d.settings_update_time_ms = 1500;
  record.revision = 7;
  return record;
}

TEST(DefinitionRecord, RoundTripsEverythingButCheckpointAndError) {
  auto record = a_record();
  auto decoded = decode_definition("orders-to-kafka", encode_definition(record));
  ASSERT_TRUE(decoded.ok()) << decoded.error().message;
  EXPECT_EQ(*decoded, record);

  record.definition.delete_time_ms = 3000;
  record.definition.checkpoint = SourcePosition{5, 5};
  record.definition.error = ErrorDetails{"internal", "boom"};
  const auto text = encode_definition(record);
  EXPECT_EQ(text.find("checkpoint"), std::string::npos) << text;
  EXPECT_EQ(text.find("boom"), std::string::npos) << text;
  decoded = decode_definition("orders-to-kafka", text);
  ASSERT_TRUE(decoded.ok()) << decoded.error().message;
  EXPECT_EQ(decoded->definition.delete_time_ms, 3000);
  EXPECT_FALSE(decoded->definition.checkpoint);
  EXPECT_FALSE(decoded->definition.error);
}

TEST(DefinitionRecord, KeepsSecretsSealed) {
  const auto text = encode_definition(a_record());
  EXPECT_NE(text.find(R"("authentication:password":"******")"), std::string::npos) << text;
  EXPECT_NE(text.find("sinkhost:enc:v1:abc"), std::string::npos) << text;
}

TEST(DefinitionRecord, RefusesARecordOfAnotherConnectorOrOfAnotherShape) {
  const auto text = encode_definition(a_record());
  auto other = decode_definition("someone-else", text);
  ASSERT_FALSE(other.ok());
  EXPECT_NE(other.error().message.find("names connector 'orders-to-kafka'"), std::string::npos)
      << other.error().message;
  for (const char* bad : {"", "[]", "{}", R"({"id":"orders-to-kafka"})", "not json"}) {
    auto decoded = decode_definition("orders-to-kafka", bad);
    ASSERT_FALSE(decoded.ok()) << bad;
    EXPECT_EQ(decoded.error().code, connector::ErrorCode::invalid_argument);
  }
  std::string wrong_type = text;
  wrong_type.replace(wrong_type.find(R"("runRequested":true)"), 19, R"("runRequested":"yes")");
  EXPECT_FALSE(decode_definition("orders-to-kafka", wrong_type).ok()) << wrong_type;
}

TEST(StatusRecord, RoundTripsWithAndWithoutAnError) {
  StatusRecord running{"host-b", ConnectorState::running, 1234, std::nullopt};
  auto decoded = decode_status(encode_status(running));
  ASSERT_TRUE(decoded.ok()) << decoded.error().message;
  EXPECT_EQ(*decoded, running);
  EXPECT_NE(encode_status(running).find("CONNECTOR_STATE_RUNNING"), std::string::npos);

  StatusRecord failed{"host-a", ConnectorState::stopped, 99, ErrorDetails{"unavailable", "broker down"}};
  decoded = decode_status(encode_status(failed));
  ASSERT_TRUE(decoded.ok()) << decoded.error().message;
  EXPECT_EQ(*decoded, failed);
}

TEST(StatusRecord, RefusesAnUnknownState) {
  EXPECT_FALSE(decode_status(R"({"host":"h","state":"CONNECTOR_STATE_FLYING","stateUpdateTime":1})").ok());
  EXPECT_FALSE(decode_status(R"({"host":"h","state":"CONNECTOR_STATE_RUNNING"})").ok());
  EXPECT_FALSE(
      decode_status(R"({"host":"h","state":"CONNECTOR_STATE_RUNNING","stateUpdateTime":1,"errorDetails":{}})").ok());
  EXPECT_TRUE(decode_status(R"({"host":"h","state":"CONNECTOR_STATE_RUNNING","stateUpdateTime":1})").ok());
}

}  // namespace
}  // namespace sinkhost::runtime::cluster
