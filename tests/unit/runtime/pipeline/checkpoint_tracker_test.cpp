#include "pipeline/checkpoint_tracker.hpp"

#include <gtest/gtest.h>

namespace sinkhost::runtime {
namespace {

LogPosition O(std::uint64_t v) { return LogPosition(v); }
SourcePosition P(std::uint64_t v) { return SourcePosition{v, v}; }

TEST(CheckpointTracker, StartsAtTheCommittedPosition) {
  CheckpointTracker tracker(P(41));
  EXPECT_EQ(tracker.committable(), P(41));
  EXPECT_EQ(tracker.in_flight(), 0u);
}

TEST(CheckpointTracker, InOrderAcknowledgementsMoveTheCheckpoint) {
  CheckpointTracker tracker;
  ASSERT_TRUE(tracker.dispatched(O(1), P(1)).ok());
  ASSERT_TRUE(tracker.dispatched(O(2), P(2)).ok());
  EXPECT_EQ(tracker.committable(), P(0));
  EXPECT_EQ(tracker.in_flight(), 2u);
  ASSERT_TRUE(tracker.acknowledged(O(1)).ok());
  EXPECT_EQ(tracker.committable(), P(1));
  ASSERT_TRUE(tracker.acknowledged(O(2)).ok());
  EXPECT_EQ(tracker.committable(), P(2));
  EXPECT_EQ(tracker.in_flight(), 0u);
}

TEST(CheckpointTracker, AnUnacknowledgedRecordHoldsTheCheckpointBack) {
  CheckpointTracker tracker;
  for (std::uint64_t p : {3, 5, 8, 9}) ASSERT_TRUE(tracker.dispatched(O(p), P(p)).ok());
  ASSERT_TRUE(tracker.acknowledged(O(8)).ok());
  ASSERT_TRUE(tracker.acknowledged(O(5)).ok());
  EXPECT_EQ(tracker.committable(), P(0)) << "3 is not acknowledged: nothing may be committed";
  ASSERT_TRUE(tracker.acknowledged(O(3)).ok());
  EXPECT_EQ(tracker.committable(), P(8)) << "3, 5 and 8 form the contiguous acknowledged prefix";
  EXPECT_EQ(tracker.in_flight(), 1u);
  ASSERT_TRUE(tracker.acknowledged(O(9)).ok());
  EXPECT_EQ(tracker.committable(), P(9));
}

TEST(CheckpointTracker, UnknownAndRepeatedAcknowledgementsAreErrors) {
  CheckpointTracker tracker;
  ASSERT_TRUE(tracker.dispatched(O(1), P(1)).ok());
  ASSERT_TRUE(tracker.dispatched(O(2), P(2)).ok());
  EXPECT_FALSE(tracker.acknowledged(O(7)).ok()) << "never dispatched";
  ASSERT_TRUE(tracker.acknowledged(O(2)).ok());
  EXPECT_FALSE(tracker.acknowledged(O(2)).ok()) << "acknowledged twice while 1 is still in flight";
  ASSERT_TRUE(tracker.acknowledged(O(1)).ok());
  EXPECT_FALSE(tracker.acknowledged(O(1)).ok()) << "already committed";
  EXPECT_EQ(tracker.committable(), P(2));
}

TEST(CheckpointTracker, DispatchMustMoveForward) {
  CheckpointTracker tracker(P(10));
  EXPECT_FALSE(tracker.dispatched(O(10), P(10)).ok()) << "at or before the committed position";
  ASSERT_TRUE(tracker.dispatched(O(12), P(12)).ok());
  EXPECT_FALSE(tracker.dispatched(O(11), P(11)).ok());
  EXPECT_FALSE(tracker.dispatched(O(12), P(12)).ok());
  EXPECT_FALSE(tracker.dispatched(O(12), P(13)).ok()) << "an ordinal used twice";
}

TEST(CheckpointTracker, SkippedEventsMoveTheCheckpointOnlyBehindAcknowledgedRecords) {
  CheckpointTracker tracker;
  ASSERT_TRUE(tracker.skipped(P(1)).ok());
  EXPECT_EQ(tracker.committable(), P(1)) << "nothing in flight: a skip moves the checkpoint at once";
  ASSERT_TRUE(tracker.dispatched(O(2), P(2)).ok());
  ASSERT_TRUE(tracker.skipped(P(3)).ok());
  EXPECT_EQ(tracker.committable(), P(1)) << "2 is in flight before 3";
  ASSERT_TRUE(tracker.acknowledged(O(2)).ok());
  EXPECT_EQ(tracker.committable(), P(3));
  EXPECT_EQ(tracker.in_flight(), 0u);
  EXPECT_FALSE(tracker.skipped(P(2)).ok()) << "a skip may not go back";
}

// KurrentDB's positions: commit first, then prepare; ordinals are the sink's ids.
TEST(CheckpointTracker, CommitAndPreparePositionsOrderTheCheckpoint) {
  CheckpointTracker tracker(SourcePosition{100, 90});
  ASSERT_TRUE(tracker.dispatched(O(1), SourcePosition{200, 150}).ok());
  ASSERT_TRUE(tracker.dispatched(O(2), SourcePosition{200, 180}).ok()) << "same commit, later prepare";
  EXPECT_FALSE(tracker.dispatched(O(3), SourcePosition{200, 170}).ok());
  ASSERT_TRUE(tracker.acknowledged(O(1)).ok());
  EXPECT_EQ(tracker.committable(), (SourcePosition{200, 150}));
  ASSERT_TRUE(tracker.acknowledged(O(2)).ok());
  EXPECT_EQ(tracker.committable(), (SourcePosition{200, 180}));
}

}  // namespace
}  // namespace sinkhost::runtime
