// `sinkhost --version` and the start-up log name the librdkafka the Kafka sink runs on: SCRAM
// logins to Kafka 4.x need 2.6.1 or newer, and the features a user's security mode needs must be
// built in.
#include <gtest/gtest.h>

#include <cstdio>
#include <regex>

#include "e2e_helpers.hpp"

namespace sinkhost::test {
namespace {

// "librdkafka 2.8.0 (builtin.features: ...)" -> {2, 8, 0}; empty when absent.
std::vector<int> librdkafka_version(const std::string& text) {
  std::smatch match;
  if (!std::regex_search(text, match, std::regex(R"(librdkafka (\d+)\.(\d+)\.(\d+))"))) return {};
  return {std::stoi(match[1]), std::stoi(match[2]), std::stoi(match[3])};
}

TEST(Version, NamesALibrdkafkaThatCanDoScramWithKafka4AndItsFeatures) {
  int exit_code = -1;
  const auto output = run_command(std::string(SINKHOST_BINARY) + " --version 2>&1", &exit_code);
  EXPECT_EQ(exit_code, 0) << output;
  EXPECT_TRUE(output.starts_with("sinkhost ")) << output;
  const auto version = librdkafka_version(output);
  ASSERT_EQ(version.size(), 3u) << "kafka-sink's line names its librdkafka: " << output;
  EXPECT_GE(version, (std::vector<int>{2, 6, 1})) << output;
  for (const char* feature : {"ssl", "sasl_scram", "sasl_plain", "zstd", "lz4"}) {
    EXPECT_NE(output.find(feature), std::string::npos) << feature << " missing in: " << output;
  }
}

TEST(Version, TheStartUpLogNamesTheLibrdkafkaLoaded) {
  TempDir dir;
  SinkhostProcess host(dir.path() + "/data");
  host.start();
  const auto log = host.log();
  EXPECT_NE(log.find("plugin loaded: kafka-sink on librdkafka "), std::string::npos) << log;
  EXPECT_GE(librdkafka_version(log), (std::vector<int>{2, 6, 1})) << log;
}

}  // namespace
}  // namespace sinkhost::test
