// The data directory's disk full (a small tmpfs): appends fail with a clear error and change
// nothing, the daemon keeps serving reads and health checks, the database stays intact, and
// appends work again once there is space.
#include <sys/mount.h>

#include <cerrno>
#include <cstring>
#include <iostream>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "http_client.hpp"
#include "process.hpp"
#include "sqlite.hpp"

namespace sinkhost::test {
namespace {

using nlohmann::json;

// A tmpfs of `megabytes` at `path`, unmounted by the destructor. Mounting needs root (CI and
// the development machines run tests as root); without it the test fails saying so.
class SmallDisk {
 public:
  SmallDisk(std::string path, int megabytes) : path_(std::move(path)) {
    const auto options = "size=" + std::to_string(megabytes) + "m";
    if (::mount("tmpfs", path_.c_str(), "tmpfs", 0, options.c_str()) != 0) {
      ADD_FAILURE() << "cannot mount a tmpfs at " << path_ << ": " << std::strerror(errno)
                    << " (the disk-full test needs root to mount one)";
      return;
    }
    mounted_ = true;
  }
  ~SmallDisk() {
    if (mounted_) ::umount2(path_.c_str(), MNT_DETACH);
  }
  bool mounted() const { return mounted_; }
  // Gives the file system more space; what is on it stays.
  bool grow(int megabytes) {
    const auto options = "size=" + std::to_string(megabytes) + "m";
    return ::mount("tmpfs", path_.c_str(), "tmpfs", MS_REMOUNT, options.c_str()) == 0;
  }

 private:
  std::string path_;
  bool mounted_ = false;
};

std::string batch_body(int batch) {
  auto events = json::array();
  for (int i = 0; i < 20; ++i) {
    char id[40];
    std::snprintf(id, sizeof id, "d15cf011-0000-4000-8000-%06d%06d", batch, i);
    // ~5 KB of digits per event: the 8 MiB disk fills after a few dozen batches.
    std::string filler;
    for (std::uint64_t j = 0; j < 600; ++j) {
      filler += std::to_string(
          (static_cast<std::uint64_t>(batch) * 7919 + static_cast<std::uint64_t>(i) * 104729 + j * 15485863) %
          1000000000);
    }
    events.push_back(
        {{"eventId", id}, {"eventType", "Filler"}, {"data", {{"batch", batch}, {"i", i}, {"filler", filler}}}});
  }
  return events.dump();
}

TEST(Fault, DiskFullFailsAppendsCleanlyAndTheyResumeWhenSpaceReturns) {
  TempDir dir;
  SmallDisk disk(dir.path(), 8);
  ASSERT_TRUE(disk.mounted());
  const auto data_dir = dir.path() + "/data";
  SinkhostProcess host(data_dir);
  host.start();
  // A connector streams throughout: a checkpoint it cannot save is retried, not a failure.
  json logger = {{"settings",
                  {{"instanceTypeName", "logger-sink"},
                   {"logging:enabled", "false"},
                   {"subscription:filter:expression", "^filler$"},
                   {"autocommit:interval", "100"}}}};
  ASSERT_EQ(http_request(host.port(), "POST", "/connectors/follower", logger.dump()).status, 200);
  ASSERT_EQ(http_request(host.port(), "POST", "/connectors/follower/start").status, 200);
  auto follower = [&] {
    return json::parse(http_request(host.port(), "GET", "/connectors/follower").body, nullptr, false);
  };

  // Fill the disk: appends succeed until one is refused.
  int acknowledged = 0, batch = 0;
  HttpResult refused;
  for (; batch < 2000; ++batch) {
    auto response = http_request(host.port(), "POST", "/streams/filler", batch_body(batch));
    if (response.status != 201) {
      refused = response;
      break;
    }
    ++acknowledged;
  }
  ASSERT_GT(acknowledged, 10) << "the disk filled too soon to test anything";
  ASSERT_LT(batch, 2000) << "the disk never filled";
  EXPECT_EQ(refused.status, 503) << refused.body;
  auto error = json::parse(refused.body, nullptr, false);
  ASSERT_TRUE(error.is_object()) << refused.body;
  EXPECT_EQ(error["code"], 14) << "google.rpc.Code UNAVAILABLE: " << refused.body;
  EXPECT_NE(error["message"].get<std::string>().find("disk holding the event log is full"), std::string::npos)
      << refused.body;

  // Still serving: health, reads of what was stored, and further appends fail the same way.
  EXPECT_EQ(http_request(host.port(), "GET", "/health").status, 200);
  auto read = http_request(host.port(), "GET", "/streams/filler?count=5");
  EXPECT_EQ(read.status, 200) << read.body;
  EXPECT_EQ(http_request(host.port(), "POST", "/streams/filler", batch_body(batch)).status, 503);
  // Give the follower time to try saving its checkpoint on the full disk.
  bool follower_warned = false;
  for (int i = 0; i < 20 && !follower_warned; ++i) {
    follower_warned = follower().contains("warningDetails");
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_EQ(follower()["state"], "CONNECTOR_STATE_RUNNING") << follower().dump();

  // Space returns: the refused batch goes in, and more after it.
  ASSERT_TRUE(disk.grow(256)) << std::strerror(errno);
  for (int more = 0; more < 5; ++more, ++batch) {
    auto response = http_request(host.port(), "POST", "/streams/filler", batch_body(batch));
    ASSERT_EQ(response.status, 201) << "after space returned: " << response.body;
    ++acknowledged;
  }
  // The follower delivered everything and saved its checkpoint once it could.
  const auto head = static_cast<std::uint64_t>(acknowledged) * 20;
  auto caught_up = [&] {
    auto c = follower();
    return c.contains("position") && c["position"].get<std::uint64_t>() == head && !c.contains("warningDetails");
  };
  for (int i = 0; i < 100 && !caught_up(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_TRUE(caught_up()) << follower().dump() << host.log();
  EXPECT_EQ(follower()["state"], "CONNECTOR_STATE_RUNNING");
  EXPECT_EQ(host.stop(), 0);

  // Nothing corrupted, nothing lost, nothing half-stored: exactly the acknowledged events.
  auto db = runtime::sqlite::Database::open(data_dir + "/events.db");
  runtime::sqlite::Statement integrity(db, "PRAGMA integrity_check");
  ASSERT_TRUE(integrity.step());
  EXPECT_EQ(integrity.column_text(0), "ok");
  runtime::sqlite::Statement count(db, "SELECT count(*) FROM events");
  ASSERT_TRUE(count.step());
  EXPECT_EQ(count.column_int(0), acknowledged * 20);
  std::cout << "FAULT-RESULT case=disk-full acknowledged_before_full=" << acknowledged - 5
            << " batches_of_20 refused_status=" << refused.status << " stored_after_growing=" << acknowledged
            << " follower_warned=" << follower_warned << " integrity=ok\n";
}

}  // namespace
}  // namespace sinkhost::test
