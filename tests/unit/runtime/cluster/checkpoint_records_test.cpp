#include "sinkhost/runtime/cluster/checkpoint_records.hpp"

#include <gtest/gtest.h>

namespace sinkhost::runtime::cluster {
namespace {

TableRecord saved(std::string id, SourcePosition position, std::int32_t generation, std::int64_t offset,
                  std::string host = "host-1") {
  return TableRecord{std::move(id), encode_checkpoint(position), WriterStamp{std::move(host), generation}, 0, offset};
}
TableRecord reset(std::string id, std::int32_t generation, std::int64_t offset, std::string host = "host-1") {
  return TableRecord{std::move(id), std::nullopt, WriterStamp{std::move(host), generation}, 0, offset};
}

CheckpointTable fold(const std::vector<TableRecord>& records) {
  CheckpointTable table;
  for (const auto& record : records) fold_checkpoint(table, record);
  return table;
}

TEST(CheckpointValue, IsCompactJsonOfBothPositions) {
  EXPECT_EQ(encode_checkpoint({42, 40}), R"({"commit":42,"prepare":40})");
  auto decoded = decode_checkpoint(R"({"prepare":40,"commit":42})");
  ASSERT_TRUE(decoded.ok()) << decoded.error().message;
  EXPECT_EQ(*decoded, (SourcePosition{42, 40}));
}

TEST(CheckpointValue, KeepsPositionsAboveTheSignedRange) {
  const SourcePosition huge{18446744073709551615ULL, 9223372036854775808ULL};
  auto decoded = decode_checkpoint(encode_checkpoint(huge));
  ASSERT_TRUE(decoded.ok()) << decoded.error().message;
  EXPECT_EQ(*decoded, huge);
}

TEST(CheckpointValue, RefusesWhatIsNotACheckpoint) {
  for (const char* value : {"", "42", "{", R"({"commit":1})", R"({"commit":-1,"prepare":0})",
                            R"({"commit":"1","prepare":0})", R"({"commit":1.5,"prepare":0})"}) {
    auto decoded = decode_checkpoint(value);
    ASSERT_FALSE(decoded.ok()) << value;
    EXPECT_EQ(decoded.error().code, connector::ErrorCode::invalid_argument);
  }
}

TEST(FoldCheckpoint, TheLastCheckpointOfAConnectorWins) {
  auto table = fold({saved("c1", {10, 10}, 1, 0), saved("c2", {5, 5}, 1, 1), saved("c1", {20, 18}, 1, 2)});
  ASSERT_EQ(table.size(), 2U);
  EXPECT_EQ(table.at("c1"), (CheckpointEntry{SourcePosition{20, 18}, 1, "host-1", 2}));
  EXPECT_EQ(table.at("c2").position, (SourcePosition{5, 5}));
}

TEST(FoldCheckpoint, ANewerGenerationWinsAndAnOlderOneAfterItIsIgnored) {
  CheckpointTable table;
  EXPECT_EQ(fold_checkpoint(table, saved("c1", {10, 10}, 1, 0)), CheckpointFold::applied);
  EXPECT_EQ(fold_checkpoint(table, saved("c1", {30, 30}, 2, 1, "host-2")), CheckpointFold::applied);
  // host-1 was fenced but did not know yet: its later record does not move the checkpoint back.
  EXPECT_EQ(fold_checkpoint(table, saved("c1", {15, 15}, 1, 2)), CheckpointFold::stale);
  EXPECT_EQ(table.at("c1"), (CheckpointEntry{SourcePosition{30, 30}, 2, "host-2", 1}));
}

TEST(FoldCheckpoint, AResetKeepsItsGenerationSoAnOlderSaveCannotUndoIt) {
  auto table = fold({saved("c1", {10, 10}, 1, 0), reset("c1", 2, 1, "host-2"), saved("c1", {12, 12}, 1, 2)});
  ASSERT_EQ(table.count("c1"), 1U);
  EXPECT_EQ(table.at("c1").position, std::nullopt);
  EXPECT_EQ(table.at("c1").generation, 2);
  // The owner saves again after the reset.
  fold_checkpoint(table, saved("c1", {3, 3}, 2, 3, "host-2"));
  EXPECT_EQ(table.at("c1").position, (SourcePosition{3, 3}));
}

TEST(FoldCheckpoint, ARecordSeenTwiceIsFoldedOnce) {
  CheckpointTable table;
  const auto first = saved("c1", {10, 10}, 1, 4);
  fold_checkpoint(table, first);
  fold_checkpoint(table, saved("c1", {20, 20}, 1, 5));
  // A host folds its own write at once and reads it again from the topic later.
  EXPECT_EQ(fold_checkpoint(table, first), CheckpointFold::already_folded);
  EXPECT_EQ(table.at("c1").position, (SourcePosition{20, 20}));
}

TEST(FoldCheckpoint, ARecordWithoutAStampCountsAsTheOldestGeneration) {
  auto unstamped = saved("c1", {99, 99}, 0, 1);
  unstamped.stamp.reset();
  auto table = fold({saved("c1", {10, 10}, 0, 0), unstamped});
  EXPECT_EQ(table.at("c1").position, (SourcePosition{10, 10}));
  auto alone = fold({unstamped});
  EXPECT_EQ(alone.at("c1"), (CheckpointEntry{SourcePosition{99, 99}, -1, "", 1}));
}

TEST(FoldCheckpoint, AValueThatIsNotACheckpointIsIgnored) {
  CheckpointTable table = fold({saved("c1", {10, 10}, 1, 0)});
  TableRecord garbage{"c1", std::string("not json"), WriterStamp{"host-3", 9}, 0, 1};
  EXPECT_EQ(fold_checkpoint(table, garbage), CheckpointFold::unreadable);
  EXPECT_EQ(table.at("c1").position, (SourcePosition{10, 10}));
  EXPECT_EQ(table.at("c1").generation, 1);
}

TEST(CheckpointOwner, TheSameOrANewerGenerationMayWrite) {
  const auto table = fold({saved("c1", {10, 10}, 2, 0, "host-2")});
  EXPECT_TRUE(check_checkpoint_owner(table, "c1", 2).ok());
  EXPECT_TRUE(check_checkpoint_owner(table, "c1", 3).ok());
  EXPECT_TRUE(check_checkpoint_owner(table, "never-saved", 0).ok());
}

TEST(CheckpointOwner, AnOlderGenerationIsRefusedAndToldWhoOwnsTheConnector) {
  const auto table = fold({saved("c1", {10, 10}, 2, 0, "host-2")});
  auto refused = check_checkpoint_owner(table, "c1", 1);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, connector::ErrorCode::failed_precondition);
  EXPECT_EQ(refused.error().message,
            "this host no longer owns connector c1 (generation 1 < 2, written by host host-2): its checkpoint is not "
            "saved");
}

}  // namespace
}  // namespace sinkhost::runtime::cluster
