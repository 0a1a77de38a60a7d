#include "sinkhost/connector/settings.hpp"

#include <array>

#include <gtest/gtest.h>

namespace sinkhost::connector {
namespace {

const std::vector<SettingSpec>& table() {
  static const std::vector<SettingSpec> t = {
      {.name = "topic", .required = true},
      {.name = "bootstrapServers", .default_value = "localhost:9092"},
      {.name = "compression:type",
       .type = SettingType::enumeration,
       .default_value = "Zstd",
       .allowed_values = {"None", "Gzip", "Zstd"}},
      {.name = "compression:level", .type = SettingType::integer, .default_value = "6", .min = 0, .max = 12},
      {.name = "waitForBrokerAck", .type = SettingType::boolean, .default_value = "false"},
      {.name = "defaultHeaders:", .prefix = true},
  };
  return t;
}

Result<Settings> validate(const Settings& input) {
  const std::array<std::span<const SettingSpec>, 1> tables{table()};
  return validate_settings(input, tables);
}

std::vector<std::string> violated_fields(const Result<Settings>& result) {
  std::vector<std::string> fields;
  for (const auto& v : result.error().field_violations) fields.push_back(v.field);
  return fields;
}

TEST(Settings, KeysAndEnumerationValuesAreCaseInsensitiveAndStoredCanonically) {
  auto result = validate({{"TOPIC", "orders"}, {"Compression:Type", "gzip"}, {"WaitForBrokerAck", "TRUE"}});
  ASSERT_TRUE(result.ok()) << result.error().message;
  EXPECT_EQ(*result, (Settings{{"topic", "orders"}, {"compression:type", "Gzip"}, {"waitForBrokerAck", "true"}}));
}

TEST(Settings, EveryBadSettingGetsItsOwnFieldViolation) {
  auto result = validate(
      {{"nope", "1"}, {"compression:level", "13"}, {"compression:type", "brotli"}, {"waitForBrokerAck", "yes"}});
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code, ErrorCode::invalid_argument);
  EXPECT_EQ(violated_fields(result),
            (std::vector<std::string>{"compression:level", "compression:type", "nope", "waitForBrokerAck", "topic"}));
  EXPECT_EQ(result.error().field_violations[0].description, "must be between 0 and 12, got 13");
  EXPECT_EQ(result.error().field_violations[1].description, "must be one of None, Gzip, Zstd, got 'brotli'");
  EXPECT_EQ(result.error().field_violations[4].description, "required");
}

std::string description_of(const Result<Settings>& result, std::string_view field) {
  for (const auto& v : result.error().field_violations) {
    if (v.field == field) return v.description;
  }
  return "(no violation for " + std::string(field) + ")";
}

TEST(Settings, AnUnknownKeyNamesTheClosestKnownOneWhenItIsLikelyATypo) {
  auto result = validate({{"topic", "t"},
                          {"bootstrapServer", "b"},
                          {"compresion:levle", "1"},
                          {"defaultHeader:X-Id", "1"},
                          {"zzzzzzzzzzzzzzzz", "1"}});
  ASSERT_FALSE(result.ok());
  EXPECT_NE(description_of(result, "bootstrapServer").find("did you mean 'bootstrapServers'?"), std::string::npos);
  EXPECT_NE(description_of(result, "compresion:levle").find("did you mean 'compression:level'?"), std::string::npos);
  EXPECT_NE(description_of(result, "defaultHeader:X-Id").find("did you mean 'defaultHeaders:X-Id'?"), std::string::npos)
      << "a prefix row is suggested with the user's suffix";
  EXPECT_EQ(description_of(result, "zzzzzzzzzzzzzzzz").find("did you mean"), std::string::npos);
}

TEST(Settings, OnlyTheFirstTenUnknownKeysGetASuggestion) {
  // A suggestion compares the key with every known name; a body of thousands of unknown keys
  // must not cost thousands of those.
  Settings input{{"topic", "t"}};
  for (int i = 0; i < 12; ++i) input.emplace("topik" + std::string(1, static_cast<char>('a' + i)), "1");
  auto result = validate(input);
  ASSERT_FALSE(result.ok());
  int suggested = 0;
  for (const auto& v : result.error().field_violations) {
    EXPECT_NE(v.description.find("unknown setting"), std::string::npos) << v.field;
    if (v.description.find("did you mean 'topic'?") != std::string::npos) ++suggested;
  }
  EXPECT_EQ(result.error().field_violations.size(), 12u);
  EXPECT_EQ(suggested, 10);
}

TEST(Settings, IntegersMustBeWholeNumbers) {
  for (const char* bad : {"", "6.5", "six", "6 ", "99999999999999999999"}) {
    auto result = validate({{"topic", "t"}, {"compression:level", bad}});
    EXPECT_FALSE(result.ok()) << "'" << bad << "' was accepted";
  }
}

TEST(Settings, TheSameKeyInTwoSpellingsIsRefused) {
  auto result = validate({{"topic", "a"}, {"Topic", "b"}});
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().field_violations.size(), 1u);
}

TEST(Settings, PrefixRowsAcceptAnySuffixAndKeepItsCase) {
  auto result = validate({{"topic", "t"}, {"DefaultHeaders:X-Tenant", "acme"}});
  ASSERT_TRUE(result.ok()) << result.error().message;
  EXPECT_EQ(result->at("defaultHeaders:X-Tenant"), "acme");
  EXPECT_FALSE(validate({{"topic", "t"}, {"defaultHeaders:", "x"}}).ok()) << "a prefix alone names no header";
}

TEST(Settings, DefaultsFillOnlyWhatIsMissing) {
  const std::array<std::span<const SettingSpec>, 1> tables{table()};
  auto effective = with_defaults({{"topic", "t"}, {"compression:level", "3"}}, tables);
  EXPECT_EQ(effective.at("compression:level"), "3");
  EXPECT_EQ(effective.at("compression:type"), "Zstd");
  EXPECT_EQ(effective.at("bootstrapServers"), "localhost:9092");
  EXPECT_FALSE(effective.contains("defaultHeaders:"));
}

}  // namespace
}  // namespace sinkhost::connector
