// The topic setting as a template: parsing, refusals, and each record's topic.
#include "topic_template.hpp"

#include <gtest/gtest.h>

namespace sinkhost::kafka_sink {
namespace {

connector::Record record(std::string stream, std::string type) {
  connector::Record r;
  r.stream_id = std::move(stream);
  r.schema_subject = std::move(type);
  return r;
}

TEST(TopicTemplate, APlainNameIsFixed) {
  auto parsed = TopicTemplate::parse("orders.v1_all-events");
  ASSERT_TRUE(parsed.ok());
  EXPECT_TRUE(parsed->fixed());
  EXPECT_EQ(parsed->topic(record("x", "y")), "orders.v1_all-events");
}

TEST(TopicTemplate, PlaceholdersTakeTheStreamAndTheEventType) {
  auto parsed = TopicTemplate::parse("orders-{stream}.{event-type}");
  ASSERT_TRUE(parsed.ok());
  EXPECT_FALSE(parsed->fixed());
  EXPECT_EQ(parsed->topic(record("eu-1", "OrderPlaced")), "orders-eu-1.OrderPlaced");
  auto subject = TopicTemplate::parse("{schema-subject}");
  ASSERT_TRUE(subject.ok());
  EXPECT_EQ(subject->topic(record("s", "OrderShipped")), "OrderShipped");
}

TEST(TopicTemplate, AMetadataPlaceholderTakesTheEntrysValue) {
  auto parsed = TopicTemplate::parse("{metadata:tenant}-orders");
  ASSERT_TRUE(parsed.ok());
  auto r = record("s", "T");
  r.headers = {{"esdb-record-stream-id", "s"}, {"esdb-record-headers-tenant", "acme eu"}};
  EXPECT_EQ(parsed->topic(r), "acme_eu-orders");
  r.headers.clear();
  EXPECT_EQ(parsed->topic(r), "-orders") << "an absent entry fills in nothing";
  EXPECT_FALSE(TopicTemplate::parse("{metadata:}").ok());
}

TEST(TopicTemplate, WhatAPlaceholderFillsInBecomesALegalTopicName) {
  auto parsed = TopicTemplate::parse("t-{stream}");
  ASSERT_TRUE(parsed.ok());
  EXPECT_EQ(parsed->topic(record("order:42/\xc3\xa9 $x", "T")), "t-order_42_____x")
      << "':', '/', each byte of a non-ASCII character, ' ' and '$' become '_'";
  EXPECT_EQ(parsed->topic(record("a b", "T")), "t-a_b");
  EXPECT_EQ(parsed->topic(record(std::string(400, 's'), "T")).size(), 249u) << "cut at Kafka's limit";
  auto bare = TopicTemplate::parse("{stream}");
  ASSERT_TRUE(bare.ok());
  EXPECT_EQ(bare->topic(record("..", "T")), "_") << "'..' is no topic name";
}

TEST(TopicTemplate, RefusesWhatNoTopicCanBe) {
  for (const char* bad : {"orders-{stream", "orders-{user}", "{}", "my topic", "orders/{stream}", ""}) {
    auto parsed = TopicTemplate::parse(bad);
    ASSERT_FALSE(parsed.ok()) << bad;
    ASSERT_EQ(parsed.error().field_violations.size(), 1u) << bad;
    EXPECT_EQ(parsed.error().field_violations[0].field, "topic");
  }
  EXPECT_NE(TopicTemplate::parse("orders-{user}").error().message.find("{stream}, {event-type}, {schema-subject} and"),
            std::string::npos)
      << "the refusal names what is known";
}

}  // namespace
}  // namespace sinkhost::kafka_sink
