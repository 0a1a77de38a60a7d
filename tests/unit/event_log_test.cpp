#include "sinkhost/runtime/event_log.hpp"

#include <atomic>

#include <gtest/gtest.h>

#include "process.hpp"

namespace sinkhost::runtime {
namespace {

NewEvent event(const std::string& type, const std::string& data) {
  return NewEvent{.event_id = "0f9a1f2c-5a6b-4c7d-8e9f-0a1b2c3d4e5f", .event_type = type, .is_json = true,
                  .data = data, .metadata = R"({"tenant":"acme"})"};
}

class EventLogTest : public ::testing::Test {
 protected:
  std::string path() const { return dir_.path() + "/events.db"; }
  test::TempDir dir_;
};

TEST_F(EventLogTest, AppendsGetGlobalPositionsAndPerStreamRevisions) {
  auto log = EventLog::open(path());
  ASSERT_TRUE(log.ok()) << log.error().message;
  EXPECT_EQ((*log)->head(), LogPosition(0));

  auto first = (*log)->append("order-1", {event("A", "1"), event("B", "2")});
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first->first_position, LogPosition(1));
  EXPECT_EQ(first->last_position, LogPosition(2));
  EXPECT_EQ(first->first_revision, 0u);

  auto other = (*log)->append("order-2", {event("C", "3")});
  ASSERT_TRUE(other.ok());
  EXPECT_EQ(other->first_position, LogPosition(3));
  EXPECT_EQ(other->first_revision, 0u) << "revisions count per stream";

  auto again = (*log)->append("order-1", {event("D", "4")});
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->first_revision, 2u);
  EXPECT_EQ((*log)->head(), LogPosition(4));
}

TEST_F(EventLogTest, ReadAllIsInclusiveOfItsStartAndInLogOrder) {
  auto log = EventLog::open(path());
  ASSERT_TRUE(log.ok());
  ASSERT_TRUE((*log)->append("s-1", {event("A", "1"), event("B", "2"), event("C", "3")}).ok());
  auto reader = (*log)->open_reader();
  ASSERT_TRUE(reader.ok());

  auto events = (*reader)->read_all(LogPosition(2), 10);
  ASSERT_TRUE(events.ok());
  ASSERT_EQ(events->size(), 2u);
  EXPECT_EQ((*events)[0].position, LogPosition(2));
  EXPECT_EQ((*events)[0].event_type, "B");
  EXPECT_EQ((*events)[0].data, "2");
  EXPECT_EQ((*events)[0].revision, 1u);
  EXPECT_EQ((*events)[0].metadata, R"({"tenant":"acme"})");
  EXPECT_GT((*events)[0].created_ms, 1700000000000);
  EXPECT_EQ((*events)[1].position, LogPosition(3));

  auto limited = (*reader)->read_all(LogPosition(1), 1);
  ASSERT_TRUE(limited.ok());
  EXPECT_EQ(limited->size(), 1u);
  auto past_end = (*reader)->read_all(LogPosition(4), 10);
  ASSERT_TRUE(past_end.ok());
  EXPECT_TRUE(past_end->empty());
}

TEST_F(EventLogTest, EventsSurviveReopening) {
  {
    auto log = EventLog::open(path());
    ASSERT_TRUE(log.ok());
    ASSERT_TRUE((*log)->append("s-1", {event("A", "1"), event("B", "2")}).ok());
  }
  auto log = EventLog::open(path());
  ASSERT_TRUE(log.ok());
  EXPECT_EQ((*log)->head(), LogPosition(2));
  auto next = (*log)->append("s-1", {event("C", "3")});
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(next->first_position, LogPosition(3));
  EXPECT_EQ(next->first_revision, 2u);
}

TEST_F(EventLogTest, WatchersHearEveryAppendUntilTheyUnwatch) {
  auto log = EventLog::open(path());
  ASSERT_TRUE(log.ok());
  std::atomic<int> calls{0};
  auto id = (*log)->watch([&] { ++calls; });
  ASSERT_TRUE((*log)->append("s-1", {event("A", "1")}).ok());
  ASSERT_TRUE((*log)->append("s-2", {event("B", "2")}).ok());
  EXPECT_EQ(calls.load(), 2);
  (*log)->unwatch(id);
  ASSERT_TRUE((*log)->append("s-1", {event("C", "3")}).ok());
  EXPECT_EQ(calls.load(), 2);
}

TEST_F(EventLogTest, AnEmptyAppendIsRefused) {
  auto log = EventLog::open(path());
  ASSERT_TRUE(log.ok());
  auto result = (*log)->append("s-1", {});
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code, connector::ErrorCode::invalid_argument);
  EXPECT_EQ((*log)->head(), LogPosition(0));
}

}  // namespace
}  // namespace sinkhost::runtime
