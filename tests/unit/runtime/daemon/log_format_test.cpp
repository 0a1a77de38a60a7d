#include "log_format.hpp"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <spdlog/details/log_msg.h>

namespace sinkhost::daemon {
namespace {

nlohmann::json format(spdlog::level::level_enum level, std::string_view payload) {
  spdlog::details::log_msg msg(spdlog::source_loc{}, "", level, spdlog::string_view_t(payload.data(), payload.size()));
  msg.time = spdlog::log_clock::time_point(std::chrono::milliseconds(1796000000123));
  spdlog::memory_buf_t out;
  json_log_formatter()->format(msg, out);
  std::string line(out.data(), out.size());
  EXPECT_TRUE(line.ends_with("\n"));
  EXPECT_EQ(line.find('\n'), line.size() - 1) << "one line per message";
  return nlohmann::json::parse(line);
}

TEST(JsonLogFormat, ALineHasTimeLevelAndMessage) {
  auto line = format(spdlog::level::info, "sinkhost 1.0 listening on http://127.0.0.1:2113");
  EXPECT_EQ(line["time"], "2026-11-30T00:53:20.123Z");
  EXPECT_EQ(line["level"], "info");
  EXPECT_EQ(line["message"], "sinkhost 1.0 listening on http://127.0.0.1:2113");
  EXPECT_FALSE(line.contains("connector"));
  EXPECT_FALSE(line.contains("error"));
}

TEST(JsonLogFormat, AConnectorsLineNamesItsConnectorAndError) {
  auto line = format(spdlog::level::err, "[orders-to-kafka] stopped: Kafka authentication failed (SCRAM-SHA-512)");
  EXPECT_EQ(line["level"], "error");
  EXPECT_EQ(line["connector"], "orders-to-kafka");
  EXPECT_EQ(line["message"], "stopped: Kafka authentication failed (SCRAM-SHA-512)");
  EXPECT_EQ(line["error"], "Kafka authentication failed (SCRAM-SHA-512)");
  // Field order is stable: time, level, connector, message, error.
  std::vector<std::string> keys;
  for (auto it = line.begin(); it != line.end(); ++it) keys.push_back(it.key());
  EXPECT_EQ(keys.size(), 5u);
}

TEST(JsonLogFormat, InfoLinesCarryNoErrorAndOddTextStaysValidJson) {
  auto line = format(spdlog::level::info, "[my-connector] running: \"quoted\" \\ and \xff bytes");
  EXPECT_EQ(line["connector"], "my-connector");
  EXPECT_FALSE(line.contains("error"));
  EXPECT_NE(line["message"].get<std::string>().find("\"quoted\""), std::string::npos);
}

TEST(JsonLogFormat, ABracketThatIsNoConnectorIdStaysInTheMessage) {
  auto line = format(spdlog::level::warn, "[a b] not an id");
  EXPECT_FALSE(line.contains("connector"));
  EXPECT_EQ(line["message"], "[a b] not an id");
}

}  // namespace
}  // namespace sinkhost::daemon
