#include "sinkhost/runtime/cluster/slots.hpp"

#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace sinkhost::runtime::cluster {
namespace {

// Kafka's murmur2 as Java clients compute it (Utils.murmur2 returns it as a signed int).
std::int32_t java_murmur2(std::string_view bytes) { return static_cast<std::int32_t>(murmur2(bytes)); }

TEST(Murmur2, MatchesKafkasHashForKeysOfEveryTailLength) {
  EXPECT_EQ(java_murmur2("21"), -973932308);
  EXPECT_EQ(java_murmur2("foobar"), -790332482);
  EXPECT_EQ(java_murmur2("a-little-bit-long-string"), -985981536);
  EXPECT_EQ(java_murmur2("a-little-bit-longer-string"), -1486304829);
  EXPECT_EQ(java_murmur2("lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8"), -58897971);
  EXPECT_EQ(java_murmur2("abc"), 479470107);
}

TEST(Murmur2, ReadsBytesAboveSevenBitsUnsigned) {
  // A byte read as a signed char would change every bit of the result after it.
  EXPECT_NE(murmur2(std::string("\xff\x01", 2)), murmur2(std::string("\x7f\x01", 2)));
  EXPECT_EQ(murmur2(std::string("caf\xc3\xa9")), murmur2(std::string("caf\xc3\xa9")));
}

TEST(SlotOf, IsTheKafkaDefaultPartitionOfTheConnectorId) {
  // Kafka's default partitioner: (murmur2(key) & 0x7fffffff) % partitions.
  for (const std::string id : {"orders-to-kafka", "c1", "", "a-little-bit-long-string"}) {
    EXPECT_EQ(slot_of(id, 64), static_cast<int>((murmur2(id) & 0x7fffffffU) % 64U)) << id;
  }
  EXPECT_EQ(slot_of("21", 64), static_cast<int>((static_cast<std::uint32_t>(-973932308) & 0x7fffffffU) % 64U));
}

TEST(SlotOf, IsStableAndInRange) {
  for (int slots : {1, 2, 7, 64, 1000}) {
    for (int i = 0; i < 200; ++i) {
      const auto id = "connector-" + std::to_string(i);
      const int slot = slot_of(id, slots);
      EXPECT_GE(slot, 0);
      EXPECT_LT(slot, slots);
      EXPECT_EQ(slot, slot_of(id, slots));
    }
  }
}

TEST(SlotOf, OneSlotHoldsEveryConnectorAndNoSlotsGivesZero) {
  EXPECT_EQ(slot_of("anything", 1), 0);
  EXPECT_EQ(slot_of("anything", 0), 0);
  EXPECT_EQ(slot_of("anything", -3), 0);
}

TEST(SlotOf, SpreadsConnectorsOverEverySlot) {
  // 2,000 ids over 64 slots: each slot gets some (31 on average), none gets a large share.
  std::vector<int> per_slot(64, 0);
  for (int i = 0; i < 2000; ++i) ++per_slot[static_cast<std::size_t>(slot_of("conn-" + std::to_string(i), 64))];
  for (int count : per_slot) {
    EXPECT_GT(count, 10);
    EXPECT_LT(count, 60);
  }
}

TEST(SlotOf, ConnectorsCanShareASlot) {
  // With more connectors than slots some share one: they run on the same host (documented).
  std::set<int> used;
  for (int i = 0; i < 20; ++i) used.insert(slot_of("c" + std::to_string(i), 8));
  EXPECT_LE(used.size(), 8U);
}

}  // namespace
}  // namespace sinkhost::runtime::cluster
