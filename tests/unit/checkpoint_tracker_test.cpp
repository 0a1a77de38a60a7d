#include "sinkhost/runtime/checkpoint_tracker.hpp"

#include <gtest/gtest.h>

namespace sinkhost::runtime {
namespace {

LogPosition P(std::uint64_t v) { return LogPosition(v); }

TEST(CheckpointTracker, StartsAtTheCommittedPosition) {
  CheckpointTracker tracker(P(41));
  EXPECT_EQ(tracker.committable(), P(41));
  EXPECT_EQ(tracker.in_flight(), 0u);
}

TEST(CheckpointTracker, InOrderAcknowledgementsMoveTheCheckpoint) {
  CheckpointTracker tracker;
  ASSERT_TRUE(tracker.dispatched(P(1)).ok());
  ASSERT_TRUE(tracker.dispatched(P(2)).ok());
  EXPECT_EQ(tracker.committable(), P(0));
  EXPECT_EQ(tracker.in_flight(), 2u);
  ASSERT_TRUE(tracker.acknowledged(P(1)).ok());
  EXPECT_EQ(tracker.committable(), P(1));
  ASSERT_TRUE(tracker.acknowledged(P(2)).ok());
  EXPECT_EQ(tracker.committable(), P(2));
  EXPECT_EQ(tracker.in_flight(), 0u);
}

TEST(CheckpointTracker, AnUnacknowledgedRecordHoldsTheCheckpointBack) {
  CheckpointTracker tracker;
  for (std::uint64_t p : {3, 5, 8, 9}) ASSERT_TRUE(tracker.dispatched(P(p)).ok());
  ASSERT_TRUE(tracker.acknowledged(P(8)).ok());
  ASSERT_TRUE(tracker.acknowledged(P(5)).ok());
  EXPECT_EQ(tracker.committable(), P(0)) << "3 is not acknowledged: nothing may be committed";
  ASSERT_TRUE(tracker.acknowledged(P(3)).ok());
  EXPECT_EQ(tracker.committable(), P(8)) << "3, 5 and 8 form the contiguous acknowledged prefix";
  EXPECT_EQ(tracker.in_flight(), 1u);
  ASSERT_TRUE(tracker.acknowledged(P(9)).ok());
  EXPECT_EQ(tracker.committable(), P(9));
}

TEST(CheckpointTracker, UnknownAndRepeatedAcknowledgementsAreErrors) {
  CheckpointTracker tracker;
  ASSERT_TRUE(tracker.dispatched(P(1)).ok());
  ASSERT_TRUE(tracker.dispatched(P(2)).ok());
  EXPECT_FALSE(tracker.acknowledged(P(7)).ok()) << "never dispatched";
  ASSERT_TRUE(tracker.acknowledged(P(2)).ok());
  EXPECT_FALSE(tracker.acknowledged(P(2)).ok()) << "acknowledged twice while 1 is still in flight";
  ASSERT_TRUE(tracker.acknowledged(P(1)).ok());
  EXPECT_FALSE(tracker.acknowledged(P(1)).ok()) << "already committed";
  EXPECT_EQ(tracker.committable(), P(2));
}

TEST(CheckpointTracker, DispatchMustMoveForward) {
  CheckpointTracker tracker(P(10));
  EXPECT_FALSE(tracker.dispatched(P(10)).ok()) << "at or before the committed position";
  ASSERT_TRUE(tracker.dispatched(P(12)).ok());
  EXPECT_FALSE(tracker.dispatched(P(11)).ok());
  EXPECT_FALSE(tracker.dispatched(P(12)).ok());
}

TEST(CheckpointTracker, SkippedRecordsCountAsAcknowledged) {
  CheckpointTracker tracker;
  ASSERT_TRUE(tracker.skipped(P(1)).ok());
  EXPECT_EQ(tracker.committable(), P(1)) << "nothing in flight: a skipped record moves the checkpoint at once";
  ASSERT_TRUE(tracker.dispatched(P(2)).ok());
  ASSERT_TRUE(tracker.skipped(P(3)).ok());
  EXPECT_EQ(tracker.committable(), P(1)) << "2 is in flight before 3";
  ASSERT_TRUE(tracker.acknowledged(P(2)).ok());
  EXPECT_EQ(tracker.committable(), P(3));
  EXPECT_EQ(tracker.in_flight(), 0u);
}

}  // namespace
}  // namespace sinkhost::runtime
