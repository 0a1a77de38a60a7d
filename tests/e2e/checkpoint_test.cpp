// The checkpoint never covers an event the broker did not acknowledge.
#include <gtest/gtest.h>

#include "e2e_helpers.hpp"

namespace sinkhost::test {
namespace {

TEST(Checkpoint, NothingIsCommittedWhileTheBrokerIsUnreachable) {
  TempDir dir;
  SinkhostProcess host(dir.path() + "/data");
  host.start();
  append_event(host.port(), "order-1", "OrderPlaced", {{"n", 1}});
  append_event(host.port(), "order-1", "OrderPlaced", {{"n", 2}});
  // Port 1 on loopback: connection refused, so nothing can ever be acknowledged.
  nlohmann::json settings = {{"instanceTypeName", "kafka-sink"},  {"topic", "orders"},
                             {"bootstrapServers", "127.0.0.1:1"}, {"subscription:initialPosition", "earliest"},
                             {"autocommit:interval", "50"},       {"autocommit:recordsThreshold", "1"}};
  ASSERT_EQ(http_request(host.port(), "POST", "/connectors/unreachable", nlohmann::json{{"settings", settings}}.dump())
                .status,
            200);
  ASSERT_EQ(http_request(host.port(), "POST", "/connectors/unreachable/start").status, 200);
  ASSERT_TRUE(eventually(
      [&] { return get_json(host.port(), "/connectors/unreachable")["state"] == "CONNECTOR_STATE_RUNNING"; }));

  std::this_thread::sleep_for(std::chrono::seconds(2));  // many autocommit intervals
  auto running = get_json(host.port(), "/connectors/unreachable");
  EXPECT_FALSE(running.contains("position")) << running.dump();

  // Stopping commits only what was acknowledged: still nothing.
  ASSERT_EQ(http_request(host.port(), "POST", "/connectors/unreachable/stop").status, 200);
  auto stopped = get_json(host.port(), "/connectors/unreachable");
  EXPECT_EQ(stopped["state"], "CONNECTOR_STATE_STOPPED");
  EXPECT_FALSE(stopped.contains("position")) << stopped.dump();
}

}  // namespace
}  // namespace sinkhost::test
