// kafka-sink's partition keys (partitionKeyExtraction:*), straight from the extractor: the key
// of each source for records that match and for records that do not.
#include "key_extractor.hpp"

#include <gtest/gtest.h>

namespace sinkhost::kafka_sink {
namespace {

connector::Record record(std::string stream, std::vector<connector::Header> headers = {}, std::string data = "{}") {
  connector::Record r;
  r.stream_id = std::move(stream);
  r.headers = std::move(headers);
  r.data = std::move(data);
  return r;
}

KeyExtractor extractor(const connector::Settings& settings) {
  auto created = KeyExtractor::create(settings);
  EXPECT_TRUE(created.ok()) << (created.ok() ? "" : created.error().field_violations.at(0).description);
  return std::move(created).value();
}

connector::Settings source(const std::string& name, const std::string& expression = "") {
  connector::Settings s = {{"partitionKeyExtraction:enabled", "true"}, {"partitionKeyExtraction:source", name}};
  if (!expression.empty()) s["partitionKeyExtraction:expression"] = expression;
  return s;
}

TEST(KeyExtractor, DisabledGivesNoKey) { EXPECT_EQ(extractor({}).key(record("order-1")), std::nullopt); }

TEST(KeyExtractor, PartitionKeyIsTheRecordsKey) {
  auto r = record("order-1");
  r.key = "k-1";
  EXPECT_EQ(extractor(source("partitionKey")).key(r), "k-1");
  r.key.reset();
  EXPECT_EQ(extractor(source("partitionKey")).key(r), std::nullopt);
}

TEST(KeyExtractor, StreamTakesTheFirstGroupOrTheWholeMatchOrTheWholeStreamId) {
  EXPECT_EQ(extractor(source("stream", "^(.*)_data$")).key(record("customer-42_data")), "customer-42");
  EXPECT_EQ(extractor(source("stream", "^(.*)_data$")).key(record("customer-42")), std::nullopt) << "no match, no key";
  EXPECT_EQ(extractor(source("stream", "[0-9]+")).key(record("order-123-x")), "123") << "the whole match";
  EXPECT_EQ(extractor(source("stream")).key(record("order-123")), "order-123") << "no expression: the stream id";
}

TEST(KeyExtractor, StreamSuffixIsWhatFollowsTheFirstHyphen) {
  EXPECT_EQ(extractor(source("streamSuffix")).key(record("user-123")), "123");
  EXPECT_EQ(extractor(source("streamSuffix")).key(record("order-2021-05-15")), "2021-05-15");
  EXPECT_EQ(extractor(source("streamSuffix")).key(record("nodash")), std::nullopt);
}

TEST(KeyExtractor, HeadersJoinThePresentValuesWithAHyphen) {
  const auto e = extractor(source("headers", "key1,key2"));
  EXPECT_EQ(e.key(record("s", {{"esdb-record-headers-key1", "regionA"}, {"esdb-record-headers-key2", "zone1"}})),
            "regionA-zone1");
  EXPECT_EQ(e.key(record("s", {{"esdb-record-headers-key2", "zone1"}})), "zone1") << "a missing one is left out";
  EXPECT_EQ(e.key(record("s", {{"key1", "direct"}})), "direct") << "a header of that very name comes first";
  EXPECT_EQ(e.key(record("s")), std::nullopt);
}

TEST(KeyExtractor, DataTakesTheFirstPointerPresent) {
  const auto e = extractor(source("data", "/userId,/anonymousId"));
  EXPECT_EQ(e.key(record("s", {}, R"({"anonymousId":"a-7"})")), "a-7");
  EXPECT_EQ(e.key(record("s", {}, R"({"userId":"u-1","anonymousId":"a-7"})")), "u-1");
  EXPECT_EQ(e.key(record("s", {}, R"({"userId":null})")), std::nullopt) << "null is absent";
  EXPECT_EQ(extractor(source("data", "/user/id")).key(record("s", {}, R"({"user":{"id":42}})")), "42");
  EXPECT_EQ(e.key(record("s", {}, "not json")), std::nullopt);
}

TEST(KeyExtractor, UnusableExpressionsAreRefusedNamingTheSetting) {
  for (const auto& settings : {source("stream", "(unclosed"), source("headers", " , "), source("data", "userId")}) {
    auto created = KeyExtractor::create(settings);
    ASSERT_FALSE(created.ok());
    EXPECT_EQ(created.error().field_violations.at(0).field, "partitionKeyExtraction:expression");
  }
}

}  // namespace
}  // namespace sinkhost::kafka_sink
