// SIGKILL of sinkhost while clients append: every append it acknowledged (201) is in the log
// after a restart, the log's positions have no gaps or duplicates, and the database passes
// SQLite's integrity check without any repair.
#include <atomic>
#include <map>
#include <set>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "http_client.hpp"
#include "process.hpp"
#include "sqlite.hpp"

namespace sinkhost::test {
namespace {

using nlohmann::json;

struct Acked {
  std::uint64_t first_position;
  std::vector<std::string> ids;
};

std::string event_id(int client, int round, int n) {
  char buffer[40];
  std::snprintf(buffer, sizeof buffer, "%08x-0000-4000-8000-%012d", client * 1000 + round, n);
  return buffer;
}

// Appends batches of 10 until the server stops answering; returns what was acknowledged.
std::vector<Acked> append_until_killed(std::uint16_t port, int client, int round, std::atomic<bool>& stop) {
  std::vector<Acked> acked;
  for (int batch = 0; !stop; ++batch) {
    auto events = json::array();
    std::vector<std::string> ids;
    for (int i = 0; i < 10; ++i) {
      ids.push_back(event_id(client, round, batch * 10 + i));
      events.push_back(
          {{"eventId", ids.back()}, {"eventType", "Tick"}, {"data", {{"client", client}, {"n", batch * 10 + i}}}});
    }
    try {
      auto response = http_request(port, "POST", "/streams/client-" + std::to_string(client), events.dump());
      if (response.status != 201) break;
      acked.push_back({json::parse(response.body)["firstPosition"].get<std::uint64_t>(), std::move(ids)});
    } catch (const std::exception&) {
      break;  // the server is gone
    }
  }
  return acked;
}

TEST(Fault, SigkillDuringConcurrentAppendsLosesNothingAcknowledged) {
  TempDir dir;
  const auto data_dir = dir.path() + "/data";
  std::vector<Acked> all_acked;
  constexpr int kClients = 4, kRounds = 3;

  for (int round = 0; round < kRounds; ++round) {
    SinkhostProcess host(data_dir);
    host.start();
    std::atomic<bool> stop{false};
    std::vector<std::vector<Acked>> per_client(kClients);
    std::vector<std::thread> clients;
    for (int c = 0; c < kClients; ++c) {
      clients.emplace_back([&, c] { per_client[c] = append_until_killed(host.port(), c, round, stop); });
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1500));
    host.kill_hard();  // SIGKILL mid-append: no shutdown code runs
    stop = true;
    for (auto& t : clients) t.join();
    std::size_t acked_now = 0;
    for (auto& acked : per_client) {
      acked_now += acked.size();
      all_acked.insert(all_acked.end(), acked.begin(), acked.end());
    }
    ASSERT_GT(acked_now, 10u) << "round " << round << ": too few appends were acknowledged to test anything";
  }

  // Restart and read the whole log back through the API.
  SinkhostProcess host(data_dir);
  host.start();
  std::map<std::uint64_t, std::string> by_position;
  std::uint64_t from = 1;
  for (;;) {
    auto page =
        json::parse(http_request(host.port(), "GET", "/streams/$all?count=10000&from=" + std::to_string(from)).body);
    for (const auto& e : page["events"]) {
      auto position = e["position"].get<std::uint64_t>();
      ASSERT_TRUE(by_position.emplace(position, e["eventId"].get<std::string>()).second)
          << "position " << position << " twice";
    }
    if (page["nextFrom"].is_null()) break;
    from = page["nextFrom"].get<std::uint64_t>();
  }
  ASSERT_FALSE(by_position.empty());
  EXPECT_EQ(by_position.begin()->first, 1u);
  EXPECT_EQ(by_position.rbegin()->first, by_position.size()) << "positions 1..N without gaps";

  std::size_t checked = 0;
  for (const auto& batch : all_acked) {
    for (std::size_t i = 0; i < batch.ids.size(); ++i) {
      auto it = by_position.find(batch.first_position + i);
      ASSERT_NE(it, by_position.end()) << "acknowledged event " << batch.ids[i] << " is missing";
      ASSERT_EQ(it->second, batch.ids[i]) << "acknowledged event at position " << batch.first_position + i;
      ++checked;
    }
  }
  std::set<std::string> ids;
  for (const auto& [position, id] : by_position)
    EXPECT_TRUE(ids.insert(id).second) << "event " << id << " stored twice";
  EXPECT_EQ(host.stop(), 0);

  auto db = runtime::sqlite::Database::open(data_dir + "/events.db");
  runtime::sqlite::Statement check(db, "PRAGMA integrity_check");
  ASSERT_TRUE(check.step());
  EXPECT_EQ(check.column_text(0), "ok");
  std::cout << "[ fault    ] " << kRounds << " kills, " << checked << " acknowledged events checked, "
            << by_position.size() << " events in the log\n";
}

}  // namespace
}  // namespace sinkhost::test
