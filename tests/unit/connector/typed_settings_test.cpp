// The SDK's typed settings: a table bound to a struct gives the plain rows (types from the
// members) and parses a settings map into the struct, defaults from the rows.
#include "sinkhost/connector/typed_settings.hpp"

#include <gtest/gtest.h>

namespace sinkhost::connector {
namespace {

using namespace std::chrono_literals;

enum class Mode { fast, safe };

struct Inner {
  bool on = false;
};

struct Example {
  std::string url;
  std::chrono::milliseconds timeout{};
  std::optional<std::int32_t> partition;
  Mode mode = Mode::fast;
  Inner inner;
  std::map<std::string, std::string> extra;
};

const SettingsSchema<Example>& schema() {
  static const SettingsSchema<Example> s({
      field(&Example::url, {.name = "url", .default_value = "http://localhost", .doc = "Where."}),
      field(&Example::timeout, {.name = "timeout", .default_value = "1000", .doc = "How long.", .min = 1}),
      field(&Example::partition, {.name = "partition", .doc = "Which one."}),
      enumeration(&Example::mode, {.name = "mode", .default_value = "safe", .doc = "How."},
                  {{"fast", Mode::fast}, {"safe", Mode::safe}}),
      field(path(&Example::inner, &Inner::on), {.name = "inner:on", .default_value = "true", .doc = "On?"}),
      field(&Example::extra, {.name = "extra:", .doc = "Passed through."}),
      info<Example>({.name = "legacy", .doc = "Accepted.", .no_effect = "nothing to do"}),
  });
  return s;
}

TEST(TypedSettings, TheRowsTypesFollowTheMembers) {
  const auto& specs = schema().specs();
  ASSERT_EQ(specs.size(), 7u);
  EXPECT_EQ(specs[0].type, SettingType::string);
  EXPECT_EQ(specs[1].type, SettingType::integer);
  EXPECT_EQ(specs[2].type, SettingType::integer);
  EXPECT_EQ(specs[3].type, SettingType::enumeration);
  EXPECT_EQ(specs[3].allowed_values, (std::vector<std::string>{"fast", "safe"}));
  EXPECT_EQ(specs[4].type, SettingType::boolean);
  EXPECT_TRUE(specs[5].prefix);
  EXPECT_EQ(specs[6].no_effect, "nothing to do");
}

TEST(TypedSettings, DefaultsComeFromTheRows) {
  auto parsed = schema().parse({});
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->url, "http://localhost");
  EXPECT_EQ(parsed->timeout, 1000ms);
  EXPECT_EQ(parsed->partition, std::nullopt);
  EXPECT_EQ(parsed->mode, Mode::safe);
  EXPECT_TRUE(parsed->inner.on);
  EXPECT_TRUE(parsed->extra.empty());
}

TEST(TypedSettings, GivenValuesWinAndKeysOfOtherTablesAreIgnored) {
  auto parsed = schema().parse({{"url", "http://x"},
                                {"timeout", "250"},
                                {"partition", "3"},
                                {"mode", "FAST"},
                                {"inner:on", "false"},
                                {"extra:a.b", "1"},
                                {"extra:c", "2"},
                                {"someoneElses", "x"}});
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->url, "http://x");
  EXPECT_EQ(parsed->timeout, 250ms);
  EXPECT_EQ(parsed->partition, 3);
  EXPECT_EQ(parsed->mode, Mode::fast);
  EXPECT_FALSE(parsed->inner.on);
  EXPECT_EQ(parsed->extra, (std::map<std::string, std::string>{{"a.b", "1"}, {"c", "2"}}));
}

TEST(TypedSettings, ABadValueIsAViolationOrForParseValidTheDefault) {
  auto parsed = schema().parse({{"timeout", "soon"}, {"mode", "slow"}});
  ASSERT_FALSE(parsed.ok());
  ASSERT_EQ(parsed.error().field_violations.size(), 2u);
  EXPECT_EQ(parsed.error().field_violations[0].field, "timeout");
  EXPECT_EQ(parsed.error().field_violations[1].field, "mode");
  auto lenient = schema().parse_valid({{"timeout", "0"}});
  EXPECT_EQ(lenient.timeout, 1000ms) << "below the row's minimum: the default";
}

}  // namespace
}  // namespace sinkhost::connector
