#include "sinkhost/runtime/record_filter.hpp"

#include <gtest/gtest.h>

namespace sinkhost::runtime {
namespace {

StoredEvent event(std::string stream, std::string type) {
  StoredEvent e;
  e.stream = std::move(stream);
  e.event_type = std::move(type);
  return e;
}

std::shared_ptr<const RecordFilter> filter(const connector::Settings& settings) {
  auto created = RecordFilter::create(settings);
  EXPECT_TRUE(created.ok()) << (created.ok() ? "" : created.error().field_violations.at(0).description);
  return created.ok() ? *created : nullptr;
}

TEST(RecordFilter, NoExpressionAndNoScopeSkipsOnlySystemEvents) {
  auto f = filter({});
  EXPECT_TRUE(f->matches(event("order-1", "OrderPlaced")));
  EXPECT_FALSE(f->matches(event("$connectors-x", "Created")));
  EXPECT_FALSE(f->matches(event("order-1", "$metadata")));
}

TEST(RecordFilter, NoExpressionWithAScopeIncludesSystemEvents) {
  auto f = filter({{"subscription:filter:scope", "stream"}});
  EXPECT_TRUE(f->matches(event("$connectors-x", "Created")));
  EXPECT_TRUE(f->matches(event("order-1", "$metadata")));
}

TEST(RecordFilter, StreamIdIsAnExactMatch) {
  auto f = filter({{"subscription:filter:filterType", "streamId"}, {"subscription:filter:expression", "order-1"}});
  EXPECT_TRUE(f->matches(event("order-1", "A")));
  EXPECT_FALSE(f->matches(event("order-10", "A")));
  EXPECT_FALSE(f->matches(event("xorder-1", "A")));
}

TEST(RecordFilter, PrefixAcceptsACommaList) {
  auto f = filter({{"subscription:filter:scope", "stream"},
                   {"subscription:filter:filterType", "prefix"},
                   {"subscription:filter:expression", "order-, invoice-"}});
  EXPECT_TRUE(f->matches(event("order-1", "A")));
  EXPECT_TRUE(f->matches(event("invoice-7", "A")));
  EXPECT_FALSE(f->matches(event("customer-1", "A")));
}

TEST(RecordFilter, RecordScopeMatchesTheEventType) {
  auto f = filter({{"subscription:filter:scope", "record"},
                   {"subscription:filter:filterType", "prefix"},
                   {"subscription:filter:expression", "Order"}});
  EXPECT_TRUE(f->matches(event("anything", "OrderPlaced")));
  EXPECT_FALSE(f->matches(event("order-1", "InvoiceSent")));

  auto types = filter(
      {{"subscription:filter:filterType", "eventType"}, {"subscription:filter:expression", "OrderPlaced,OrderPaid"}});
  EXPECT_TRUE(types->matches(event("s", "OrderPaid")));
  EXPECT_FALSE(types->matches(event("OrderPaid", "OrderShipped")))
      << "eventType filters look at the type, not the stream";
}

TEST(RecordFilter, RegexFindsAMatchAnywhereAndIsTheDefaultType) {
  auto f = filter({{"subscription:filter:expression", "^order-\\d+$"}});
  EXPECT_TRUE(f->matches(event("order-12", "A")));
  EXPECT_FALSE(f->matches(event("order-12a", "A")));
  auto unanchored = filter({{"subscription:filter:filterType", "regex"}, {"subscription:filter:expression", "ord"}});
  EXPECT_TRUE(unanchored->matches(event("preorder-1", "A")));
}

TEST(RecordFilter, BadExpressionsAndJsonPathAreRefusedWithTheReason) {
  auto lookaround = RecordFilter::create(
      {{"subscription:filter:filterType", "regex"}, {"subscription:filter:expression", "(?<=a)b"}});
  ASSERT_FALSE(lookaround.ok());
  EXPECT_EQ(lookaround.error().field_violations.at(0).field, "subscription:filter:expression");
  EXPECT_NE(lookaround.error().field_violations.at(0).description.find("RE2"), std::string::npos);

  auto json_path = RecordFilter::create(
      {{"subscription:filter:filterType", "jsonPath"}, {"subscription:filter:expression", "$.amount"}});
  ASSERT_FALSE(json_path.ok());
  EXPECT_EQ(json_path.error().field_violations.at(0).field, "subscription:filter:filterType");

  auto looks_like_json_path = RecordFilter::create({{"subscription:filter:expression", "$[?(@.x > 1)]"}});
  ASSERT_FALSE(looks_like_json_path.ok());
  EXPECT_NE(looks_like_json_path.error().field_violations.at(0).description.find("JsonPath"), std::string::npos);
}

// What a KurrentDB source pushes to the server: never narrower than the filter itself.
TEST(RecordFilter, TheServerFilterIsWhatKurrentDbCanEvaluate) {
  auto none = filter({})->server_filter();
  ASSERT_TRUE(none);
  EXPECT_TRUE(none->on_event_type) << "system events are excluded on the server by their type";
  EXPECT_EQ(none->regex, "^[^$]");

  EXPECT_FALSE(filter({{"subscription:filter:scope", "stream"}})->server_filter()) << "every event: no filter";

  auto prefixes =
      filter({{"subscription:filter:filterType", "prefix"}, {"subscription:filter:expression", "order-,invoice-"}})
          ->server_filter();
  ASSERT_TRUE(prefixes);
  EXPECT_FALSE(prefixes->on_event_type);
  EXPECT_EQ(prefixes->prefixes, (std::vector<std::string>{"order-", "invoice-"}));

  auto types = filter({{"subscription:filter:filterType", "eventType"},
                       {"subscription:filter:expression", "Order.Placed,Shipped"}})
                   ->server_filter();
  ASSERT_TRUE(types);
  EXPECT_TRUE(types->on_event_type);
  EXPECT_EQ(types->regex, "^(?:Order\\.Placed|Shipped)$") << "exact names, punctuation escaped";

  auto regex = filter({{"subscription:filter:expression", "^order-[0-9]+$"}})->server_filter();
  ASSERT_TRUE(regex);
  EXPECT_FALSE(regex->on_event_type);
  EXPECT_EQ(regex->regex, "^order-[0-9]+$");
}

}  // namespace
}  // namespace sinkhost::runtime
