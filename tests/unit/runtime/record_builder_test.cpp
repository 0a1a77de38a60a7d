#include "sinkhost/runtime/record_builder.hpp"

#include <gtest/gtest.h>

namespace sinkhost::runtime {
namespace {

StoredEvent stored() {
  return StoredEvent{.position = LogPosition(42),
                     .event_id = "0f9a1f2c-5a6b-4c7d-8e9f-0a1b2c3d4e5f",
                     .stream = "order-7",
                     .revision = 3,
                     .event_type = "OrderPlaced",
                     .is_json = true,
                     .data = R"({"total":5})",
                     .metadata = R"({"tenant":"acme","$correlationId":"c-1","n":7})",
                     .created_ms = 1700000000123};
}

std::string header(const connector::Record& r, const std::string& name) {
  for (const auto& h : r.headers) {
    if (h.name == name) return h.value;
  }
  return "<missing>";
}

TEST(RecordBuilder, CarriesTheEventAndKurrentDbHeaders) {
  auto r = make_record(stored(), "my-sink", true);
  EXPECT_EQ(r.data, R"({"total":5})");
  EXPECT_EQ(r.position, LogPosition(42));
  EXPECT_EQ(r.timestamp_ms, 1700000000123);
  EXPECT_EQ(header(r, "esdb-connector-id"), "my-sink");
  EXPECT_EQ(header(r, "esdb-record-id"), "0f9a1f2c-5a6b-4c7d-8e9f-0a1b2c3d4e5f");
  EXPECT_EQ(header(r, "esdb-record-stream-id"), "order-7");
  EXPECT_EQ(header(r, "esdb-record-stream-revision"), "3");
  EXPECT_EQ(header(r, "esdb-record-log-position"), "42");
  EXPECT_EQ(header(r, "esdb-record-schema-subject"), "OrderPlaced");
  EXPECT_EQ(header(r, "esdb-record-schema-type"), "Json");
  EXPECT_EQ(header(r, "esdb-record-timestamp"), "2023-11-14T22:13:20.123Z");
  EXPECT_EQ(header(r, "esdb-record-redacted"), "false");
  EXPECT_EQ(header(r, "esdb-request-id").size(), 36u);
}

TEST(RecordBuilder, ForwardsMetadataAsHeadersAndDropsSystemEntriesByDefault) {
  auto r = make_record(stored(), "my-sink", true);
  EXPECT_EQ(header(r, "esdb-record-headers-tenant"), "acme");
  EXPECT_EQ(header(r, "esdb-record-headers-n"), "7") << "non-string values as JSON text";
  EXPECT_EQ(header(r, "esdb-record-headers-$correlationId"), "<missing>");

  auto with_system = make_record(stored(), "my-sink", false);
  EXPECT_EQ(header(with_system, "esdb-record-headers-$correlationId"), "c-1");
}

TEST(RecordBuilder, RequestIdsAreFreshVersion4Uuids) {
  auto a = header(make_record(stored(), "my-sink", true), "esdb-request-id");
  auto b = header(make_record(stored(), "my-sink", true), "esdb-request-id");
  EXPECT_NE(a, b);
  ASSERT_EQ(a.size(), 36u);
  for (std::size_t i : {8u, 13u, 18u, 23u}) EXPECT_EQ(a[i], '-') << a;
  EXPECT_EQ(a[14], '4') << a;
  EXPECT_NE(std::string("89ab").find(a[19]), std::string::npos) << a;
  EXPECT_EQ(a.find_first_not_of("0123456789abcdef-"), std::string::npos) << a;
}

TEST(RecordBuilder, ARebuiltRecordHasOnlyTheNewEventsMetadataHeaders) {
  connector::Record r;
  SourceEvent e{.position = {7, 7},
                .ordinal = LogPosition(7),
                .event_id = "id",
                .stream = "s",
                .revision = 12345,
                .event_type = "T",
                .is_json = true,
                .data = "{}",
                .metadata = R"({"a":"1","b":2})",
                .created_ms = 0};
  build_record(e, "c", true, r);
  EXPECT_EQ(r.headers.size(), 13u);
  e.metadata = "{}";
  build_record(e, "c", true, r);
  EXPECT_EQ(r.headers.size(), 11u);
  EXPECT_EQ(header(r, "esdb-record-stream-revision"), "12345");
  EXPECT_EQ(header(r, "esdb-record-log-position"), "7");
  EXPECT_EQ(header(r, "esdb-record-headers-a"), "<missing>");
}

TEST(RecordBuilder, ARebuiltRecordForgetsTheRouteAndKeyAnEarlierTransformGaveItsSlot) {
  connector::Record r;
  SourceEvent e{.position = {1, 1}, .event_id = "id", .stream = "s", .event_type = "T", .is_json = true, .data = "{}"};
  build_record(e, "c", true, r);
  r.topic = "elsewhere";
  r.partition = 3;
  r.key = "k";
  r.key_from_transform = true;
  build_record(e, "c", true, r);
  EXPECT_FALSE(r.topic.has_value());
  EXPECT_FALSE(r.partition.has_value());
  EXPECT_FALSE(r.key.has_value());
  EXPECT_FALSE(r.key_from_transform);
}

}  // namespace
}  // namespace sinkhost::runtime
