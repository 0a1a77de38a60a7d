#include "sinkhost/runtime/cluster/table_records.hpp"

#include <gtest/gtest.h>

namespace sinkhost::runtime::cluster {
namespace {

TableRecord put(std::string key, std::string value, std::int64_t offset, WriterStamp stamp = {"h1", 3}) {
  return TableRecord{std::move(key), std::move(value), std::move(stamp), 0, offset};
}
TableRecord tombstone(std::string key, std::int64_t offset) {
  return TableRecord{std::move(key), std::nullopt, WriterStamp{"h1", 3}, 0, offset};
}

TEST(FoldRecords, TheLastValueOfAKeyWins) {
  auto table = fold_records({put("a", "1", 0), put("b", "2", 1), put("a", "3", 2, {"h2", 4})});
  ASSERT_EQ(table.size(), 2U);
  EXPECT_EQ(table.at("a"), (TableValue{"3", WriterStamp{"h2", 4}, 0, 2}));
  EXPECT_EQ(table.at("b").value, "2");
}

TEST(FoldRecords, ATombstoneRemovesTheKeyAndALaterPutBringsItBack) {
  auto table = fold_records({put("a", "1", 0), put("b", "2", 1), tombstone("a", 2)});
  EXPECT_EQ(table.count("a"), 0U);
  EXPECT_EQ(table.count("b"), 1U);
  apply_record(table, put("a", "again", 3));
  EXPECT_EQ(table.at("a").value, "again");
}

TEST(FoldRecords, ATombstoneOfAnUnknownKeyChangesNothing) {
  auto table = fold_records({put("a", "1", 0), tombstone("zzz", 1)});
  ASSERT_EQ(table.size(), 1U);
  EXPECT_EQ(table.at("a").value, "1");
}

TEST(FoldRecords, AnEmptyValueIsAValueNotATombstone) {
  auto table = fold_records({put("a", "", 0)});
  ASSERT_EQ(table.count("a"), 1U);
  EXPECT_EQ(table.at("a").value, "");
}

TEST(FoldRecords, KeysInDifferentPartitionsKeepTheirOwnLastValue) {
  std::vector<TableRecord> records = {put("a", "1", 0), put("b", "1", 0), put("a", "2", 1), put("b", "2", 1)};
  records[1].partition = records[3].partition = 1;
  auto table = fold_records(records);
  EXPECT_EQ(table.at("a"), (TableValue{"2", WriterStamp{"h1", 3}, 0, 1}));
  EXPECT_EQ(table.at("b"), (TableValue{"2", WriterStamp{"h1", 3}, 1, 1}));
}

TEST(WriterStamp, RoundTripsThroughHeaders) {
  const WriterStamp stamp{"host-a", 17};
  const auto headers = stamp_headers(stamp);
  EXPECT_EQ(headers, (RecordHeaders{{"sinkhost-host", "host-a"}, {"sinkhost-generation", "17"}}));
  auto read = read_stamp(headers);
  ASSERT_TRUE(read.ok()) << read.error().message;
  EXPECT_EQ(*read, stamp);
  auto none = read_stamp(stamp_headers({"host-b", -1}));
  ASSERT_TRUE(none.ok());
  EXPECT_EQ((*none)->generation, -1);
}

TEST(WriterStamp, ARecordWithoutAHostHeaderHasNoStamp) {
  auto read = read_stamp({{"other", "x"}, {"sinkhost-generation", "3"}});
  ASSERT_TRUE(read.ok());
  EXPECT_FALSE(read->has_value());
}

TEST(WriterStamp, AHostWithoutAGenerationHasNone) {
  auto read = read_stamp({{"sinkhost-host", "h"}});
  ASSERT_TRUE(read.ok());
  EXPECT_EQ(**read, (WriterStamp{"h", -1}));
}

TEST(WriterStamp, TheLastHeaderOfANameWins) {
  auto read = read_stamp({{"sinkhost-host", "old"}, {"sinkhost-host", "new"}, {"sinkhost-generation", "9"}});
  ASSERT_TRUE(read.ok());
  EXPECT_EQ(**read, (WriterStamp{"new", 9}));
}

TEST(WriterStamp, AGenerationThatIsNotANumberIsAnError) {
  for (const char* bad : {"", "x", "12x", " 1", "99999999999", "1.5"}) {
    auto read = read_stamp({{"sinkhost-host", "h"}, {"sinkhost-generation", bad}});
    ASSERT_FALSE(read.ok()) << bad;
    EXPECT_EQ(read.error().code, connector::ErrorCode::invalid_argument);
    EXPECT_NE(read.error().message.find("sinkhost-generation"), std::string::npos) << read.error().message;
  }
}

}  // namespace
}  // namespace sinkhost::runtime::cluster
