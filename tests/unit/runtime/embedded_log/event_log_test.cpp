#include "sinkhost/runtime/embedded_log/event_log.hpp"

#include <atomic>
#include <cstdio>
#include <set>
#include <thread>

#include <gtest/gtest.h>

#include "process.hpp"
#include "sqlite.hpp"

namespace sinkhost::runtime {
namespace {

std::string uuid(int n) {
  char buffer[40];
  std::snprintf(buffer, sizeof buffer, "00000000-0000-4000-8000-%012d", n);
  return buffer;
}

// Each call makes an event with a new id.
NewEvent event(const std::string& type, const std::string& data) {
  static std::atomic<int> counter{0};
  return NewEvent{.event_id = uuid(++counter),
                  .event_type = type,
                  .is_json = true,
                  .data = data,
                  .metadata = R"({"tenant":"acme"})"};
}

using Status = AppendResult::Status;

class EventLogTest : public ::testing::Test {
 protected:
  std::string path() const { return dir_.path() + "/events.db"; }
  test::TempDir dir_;
};

TEST_F(EventLogTest, AppendsGetGlobalPositionsAndPerStreamRevisions) {
  auto log = EventLog::open(path());
  ASSERT_TRUE(log.ok()) << log.error().message;
  EXPECT_EQ((*log)->head(), LogPosition(0));

  auto first = (*log)->append({.stream = "order-1", .events = {event("A", "1"), event("B", "2")}});
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first->first_position, LogPosition(1));
  EXPECT_EQ(first->last_position, LogPosition(2));
  EXPECT_EQ(first->first_revision, 0u);

  auto other = (*log)->append({.stream = "order-2", .events = {event("C", "3")}});
  ASSERT_TRUE(other.ok());
  EXPECT_EQ(other->first_position, LogPosition(3));
  EXPECT_EQ(other->first_revision, 0u) << "revisions count per stream";

  auto again = (*log)->append({.stream = "order-1", .events = {event("D", "4")}});
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->first_revision, 2u);
  EXPECT_EQ((*log)->head(), LogPosition(4));
}

TEST_F(EventLogTest, ReadAllIsInclusiveOfItsStartAndInLogOrder) {
  auto log = EventLog::open(path());
  ASSERT_TRUE(log.ok());
  ASSERT_TRUE((*log)->append({.stream = "s-1", .events = {event("A", "1"), event("B", "2"), event("C", "3")}}).ok());
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
    ASSERT_TRUE((*log)->append({.stream = "s-1", .events = {event("A", "1"), event("B", "2")}}).ok());
  }
  auto log = EventLog::open(path());
  ASSERT_TRUE(log.ok());
  EXPECT_EQ((*log)->head(), LogPosition(2));
  auto next = (*log)->append({.stream = "s-1", .events = {event("C", "3")}});
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(next->first_position, LogPosition(3));
  EXPECT_EQ(next->first_revision, 2u);
}

TEST_F(EventLogTest, WatchersHearEveryAppendUntilTheyUnwatch) {
  auto log = EventLog::open(path());
  ASSERT_TRUE(log.ok());
  std::atomic<int> calls{0};
  auto id = (*log)->watch([&] { ++calls; });
  ASSERT_TRUE((*log)->append({.stream = "s-1", .events = {event("A", "1")}}).ok());
  ASSERT_TRUE((*log)->append({.stream = "s-2", .events = {event("B", "2")}}).ok());
  EXPECT_EQ(calls.load(), 2);
  (*log)->unwatch(id);
  ASSERT_TRUE((*log)->append({.stream = "s-1", .events = {event("C", "3")}}).ok());
  EXPECT_EQ(calls.load(), 2);
}

TEST_F(EventLogTest, AnEmptyAppendIsRefused) {
  auto log = EventLog::open(path());
  ASSERT_TRUE(log.ok());
  auto result = (*log)->append({.stream = "s-1", .events = {}});
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().code, connector::ErrorCode::invalid_argument);
  EXPECT_EQ((*log)->head(), LogPosition(0));
}

TEST_F(EventLogTest, ExpectedVersionsAreCheckedAndAMismatchWritesNothing) {
  auto log = EventLog::open(path());
  ASSERT_TRUE(log.ok());
  auto& l = **log;
  auto append = [&](const std::string& stream, std::int64_t expected) {
    return l.append({.stream = stream, .events = {event("A", "1")}, .expected_version = expected});
  };
  auto r = append("s-1", expected_version::stream_exists);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->status, Status::wrong_expected_version) << "-4: the stream must exist";
  EXPECT_EQ(r->current_version, -1);

  r = append("s-1", expected_version::no_stream);
  ASSERT_EQ(r->status, Status::appended) << "-1: the stream must not exist";
  EXPECT_EQ(r->current_version, 0);
  r = append("s-1", expected_version::no_stream);
  EXPECT_EQ(r->status, Status::wrong_expected_version);
  EXPECT_EQ(r->current_version, 0);

  r = append("s-1", 0);
  ASSERT_EQ(r->status, Status::appended) << "N: the last revision must be N";
  EXPECT_EQ(r->first_revision, 1u);
  r = append("s-1", 0);
  EXPECT_EQ(r->status, Status::wrong_expected_version);
  EXPECT_EQ(r->current_version, 1);
  r = append("s-1", 5);
  EXPECT_EQ(r->status, Status::wrong_expected_version);

  r = append("s-1", expected_version::stream_exists);
  EXPECT_EQ(r->status, Status::appended);
  r = append("s-1", expected_version::any);
  EXPECT_EQ(r->status, Status::appended);
  EXPECT_EQ(l.head(), LogPosition(4)) << "refused appends wrote nothing";
}

TEST_F(EventLogTest, ReSendingABatchIsIdempotent) {
  auto log = EventLog::open(path());
  ASSERT_TRUE(log.ok());
  auto& l = **log;
  ASSERT_TRUE(l.append({.stream = "s-1", .events = {event("Before", "0")}}).ok());
  AppendRequest batch{.stream = "s-1", .events = {event("A", "1"), event("B", "2")}, .expected_version = 0};
  auto first = l.append(batch);
  ASSERT_EQ(first->status, Status::appended);
  ASSERT_TRUE(l.append({.stream = "s-1", .events = {event("After", "3")}}).ok());

  auto again = l.append(batch);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->status, Status::already_appended);
  EXPECT_EQ(again->first_position, first->first_position);
  EXPECT_EQ(again->last_position, first->last_position);
  EXPECT_EQ(again->first_revision, 1u);
  EXPECT_EQ(l.head(), LogPosition(4)) << "nothing written twice";

  auto with_any = batch;
  with_any.expected_version = expected_version::any;
  EXPECT_EQ(l.append(with_any)->status, Status::already_appended);

  auto wrong_version = batch;
  wrong_version.expected_version = 2;
  EXPECT_EQ(l.append(wrong_version)->status, Status::wrong_expected_version)
      << "the batch was appended after revision 0, not after 2";

  auto partial = batch;
  partial.events.push_back(event("C", "4"));
  auto conflict = l.append(partial);
  ASSERT_FALSE(conflict.ok()) << "a batch that only partly matches what was appended is refused";
  EXPECT_EQ(conflict.error().code, connector::ErrorCode::failed_precondition);

  auto other_stream = batch;
  other_stream.stream = "s-2";
  other_stream.expected_version = expected_version::any;
  EXPECT_EQ(l.append(other_stream)->status, Status::appended) << "idempotence is per stream";
  EXPECT_EQ(l.head(), LogPosition(6));
}

TEST_F(EventLogTest, StreamsReadForwardAndBackward) {
  auto log = EventLog::open(path());
  ASSERT_TRUE(log.ok());
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE((*log)->append({.stream = "s-1", .events = {event("E", std::to_string(i))}}).ok());
    ASSERT_TRUE((*log)->append({.stream = "other", .events = {event("O", std::to_string(i))}}).ok());
  }
  auto reader = (*log)->open_reader();
  ASSERT_TRUE(reader.ok());
  auto forward = (*reader)->read_stream("s-1", 1, 3, Direction::forward);
  ASSERT_TRUE(forward.ok());
  ASSERT_EQ(forward->size(), 3u);
  EXPECT_EQ((*forward)[0].revision, 1u);
  EXPECT_EQ((*forward)[0].data, "1");
  EXPECT_EQ((*forward)[2].revision, 3u);

  auto backward = (*reader)->read_stream("s-1", 4, 10, Direction::backward);
  ASSERT_TRUE(backward.ok());
  ASSERT_EQ(backward->size(), 5u);
  EXPECT_EQ((*backward)[0].revision, 4u);
  EXPECT_EQ((*backward)[4].revision, 0u);

  auto all_backward = (*reader)->read_all(LogPosition(10), 2, Direction::backward);
  ASSERT_TRUE(all_backward.ok());
  ASSERT_EQ(all_backward->size(), 2u);
  EXPECT_EQ((*all_backward)[0].position, LogPosition(10));
  EXPECT_EQ((*all_backward)[1].position, LogPosition(9));

  EXPECT_EQ(*(*reader)->last_revision("s-1").value(), 4u);
  EXPECT_FALSE((*reader)->last_revision("missing").value().has_value());
}

// Many threads append at once: every append is acknowledged after its commit, positions are
// 1..N without gaps or duplicates, and each stream's revisions follow its appends.
TEST_F(EventLogTest, ConcurrentAppendsShareCommitsWithoutGapsOrDuplicates) {
  auto log = EventLog::open(path());
  ASSERT_TRUE(log.ok());
  constexpr int kThreads = 8, kAppends = 200;
  std::vector<std::thread> threads;
  std::mutex mutex;
  std::set<std::uint64_t> positions;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kAppends; ++i) {
        auto r = (*log)->append({.stream = "s-" + std::to_string(t),
                                 .events = {event("A", "1"), event("B", "2")},
                                 .expected_version = i == 0 ? expected_version::no_stream : 2 * i - 1});
        ASSERT_TRUE(r.ok());
        ASSERT_EQ(r->status, Status::appended);
        std::lock_guard lock(mutex);
        positions.insert(r->first_position.value());
        positions.insert(r->last_position.value());
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(positions.size(), std::size_t{kThreads * kAppends * 2});
  EXPECT_EQ(*positions.begin(), 1u);
  EXPECT_EQ(*positions.rbegin(), std::uint64_t{kThreads * kAppends * 2});
  EXPECT_EQ((*log)->head(), LogPosition(kThreads * kAppends * 2));
}

TEST_F(EventLogTest, ADatabaseOfAnotherSchemaVersionIsRefused) {
  {
    auto log = EventLog::open(path());
    ASSERT_TRUE(log.ok());
  }
  {
    auto db = sqlite::Database::open(path());
    db.exec("PRAGMA user_version = 99");
  }
  auto log = EventLog::open(path());
  ASSERT_FALSE(log.ok());
  EXPECT_NE(log.error().message.find("schema version 99"), std::string::npos) << log.error().message;
}

}  // namespace
}  // namespace sinkhost::runtime
