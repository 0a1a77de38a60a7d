// Where reads and subscriptions start and what each chunk holds, against a real embedded log:
// reads are inclusive of their start, subscriptions exclusive; a subscription says it caught up
// once and then waits; a filtered one sends checkpoints as it skips events.
#include <atomic>
#include <cstdio>

#include <gtest/gtest.h>

#include "grpc/read_cursor.hpp"
#include "process.hpp"

namespace sinkhost::management_api::grpc_face {
namespace {

runtime::NewEvent event(const std::string& type) {
  static std::atomic<int> counter{0};
  char id[40];
  std::snprintf(id, sizeof id, "00000000-0000-4000-8000-%012d", ++counter);
  return {.event_id = id, .event_type = type, .is_json = true, .data = "{}", .metadata = "{}"};
}

class ReadCursorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto opened = runtime::EventLog::open(dir_.path() + "/events.db");
    ASSERT_TRUE(opened.ok()) << opened.error().message;
    log_ = std::move(opened).value();
    auto reader = log_->open_reader();
    ASSERT_TRUE(reader.ok());
    reader_ = std::move(reader).value();
  }

  void append(const std::string& stream, int n, const std::string& type = "T") {
    runtime::AppendRequest request{.stream = stream};
    for (int i = 0; i < n; ++i) request.events.push_back(event(type));
    ASSERT_TRUE(log_->append(std::move(request)).ok());
  }

  ReadChunk next(ReadCursor& cursor) { return cursor.next(*reader_, log_->head().value()); }

  // "stream@revision" for events; "caught-up", "checkpoint@P", "not-found" for the rest.
  static std::vector<std::string> describe(const ReadChunk& chunk) {
    std::vector<std::string> out;
    for (const auto& m : chunk.messages) {
      if (m.has_event()) {
        out.push_back(m.event().event().stream_identifier().stream_name() + "@" +
                      std::to_string(m.event().event().stream_revision()));
      } else if (m.has_caught_up()) {
        out.push_back("caught-up");
      } else if (m.has_checkpoint()) {
        out.push_back("checkpoint@" + std::to_string(m.checkpoint().commit_position()));
      } else if (m.has_stream_not_found()) {
        out.push_back("not-found");
      }
    }
    return out;
  }

  test::TempDir dir_;
  std::unique_ptr<runtime::EventLog> log_;
  std::unique_ptr<runtime::EventLogReader> reader_;
};

using V = std::vector<std::string>;

TEST_F(ReadCursorTest, AStreamForwardsFromARevisionWithACount) {
  append("a", 5);
  ReadCursor cursor(ReadPlan{.stream = "a", .from = ReadPlan::From::at, .at = 1, .count = 3});
  auto chunk = next(cursor);
  EXPECT_EQ(describe(chunk), (V{"a@1", "a@2", "a@3"}));
  EXPECT_TRUE(chunk.end);
  EXPECT_TRUE(chunk.status.ok());
}

TEST_F(ReadCursorTest, AStreamBackwardsFromTheEnd) {
  append("a", 3);
  append("b", 1);
  ReadCursor cursor(ReadPlan{.stream = "a", .forward = false, .from = ReadPlan::From::end});
  auto chunk = next(cursor);
  EXPECT_EQ(describe(chunk), (V{"a@2", "a@1", "a@0"}));
  EXPECT_TRUE(chunk.end);
}

TEST_F(ReadCursorTest, AMissingStreamIsStreamNotFoundThenTheEnd) {
  ReadCursor cursor(ReadPlan{.stream = "nope"});
  auto chunk = next(cursor);
  EXPECT_EQ(describe(chunk), (V{"not-found"}));
  EXPECT_TRUE(chunk.end);
  EXPECT_TRUE(chunk.status.ok()) << "a message, not an error status";
}

TEST_F(ReadCursorTest, AllBackwardsFromAPositionIsBeforeIt) {
  append("a", 2);
  append("b", 2);
  ReadCursor cursor(ReadPlan{.forward = false, .from = ReadPlan::From::at, .at = 3});
  EXPECT_EQ(describe(next(cursor)), (V{"a@1", "a@0"}));
}

TEST_F(ReadCursorTest, ASubscriptionCatchesUpOnceThenWaitsThenGoesLive) {
  append("a", 2);
  ReadCursor cursor(ReadPlan{.stream = "a", .subscription = true});
  auto first = next(cursor);
  EXPECT_EQ(describe(first), (V{"a@0", "a@1", "caught-up"}));
  EXPECT_FALSE(first.end);
  auto idle = next(cursor);
  EXPECT_TRUE(idle.wait);
  EXPECT_TRUE(idle.messages.empty());
  append("b", 1);
  append("a", 1);
  EXPECT_EQ(describe(next(cursor)), (V{"a@2"})) << "no gap, no duplicate, no second caught-up";
}

TEST_F(ReadCursorTest, SubscriptionsStartAfterTheirRevisionOrPosition) {
  append("a", 4);
  ReadCursor by_revision(ReadPlan{.stream = "a", .subscription = true, .from = ReadPlan::From::at, .at = 1});
  EXPECT_EQ(describe(next(by_revision)), (V{"a@2", "a@3", "caught-up"}));
  ReadCursor by_position(ReadPlan{.subscription = true, .from = ReadPlan::From::at, .at = 3});
  EXPECT_EQ(describe(next(by_position)), (V{"a@3", "caught-up"}));
  ReadCursor from_end(ReadPlan{.subscription = true, .from = ReadPlan::From::end});
  EXPECT_EQ(describe(next(from_end)), (V{"caught-up"}));
  append("b", 1);
  EXPECT_EQ(describe(next(from_end)), (V{"b@0"}));
}

TEST_F(ReadCursorTest, AFilteredSubscriptionSkipsAndSendsCheckpoints) {
  append("noise", 10);
  append("keep", 1);
  streams::ReadReq::Options::FilterOptions options;
  options.mutable_stream_identifier()->add_prefix("keep");
  options.set_max(2);
  options.set_checkpointintervalmultiplier(2);  // a checkpoint every 4 events looked at
  auto filter = std::get<std::shared_ptr<const EventFilter>>(EventFilter::of(options));
  ReadCursor cursor(ReadPlan{.subscription = true, .filter = filter});
  EXPECT_EQ(describe(next(cursor)), (V{"checkpoint@4", "checkpoint@8", "keep@0", "checkpoint@11", "caught-up"}));
}

TEST_F(ReadCursorTest, LargeLogsComeInBoundedChunks) {
  for (int i = 0; i < 3; ++i) append("big", 100);
  ReadCursor cursor(ReadPlan{});
  auto first = next(cursor);
  EXPECT_EQ(first.messages.size(), ReadCursor::kChunkEvents);
  EXPECT_FALSE(first.end);
  std::size_t total = first.messages.size();
  for (;;) {
    auto chunk = next(cursor);
    total += chunk.messages.size();
    if (chunk.end) break;
  }
  EXPECT_EQ(total, 300u);
}

}  // namespace
}  // namespace sinkhost::management_api::grpc_face
