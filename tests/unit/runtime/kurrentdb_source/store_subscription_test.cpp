// The KurrentDB source against a real KurrentDB-protocol server in the same process: sinkhost's
// own gRPC face on an embedded log (the Node client suite proves that face matches KurrentDB).
#include "sinkhost/runtime/kurrentdb_source/kurrentdb_source.hpp"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <mutex>
#include <thread>

#include <gtest/gtest.h>

#include "process.hpp"
#include "sinkhost/management_api/grpc_server.hpp"
#include "sinkhost/runtime/embedded_log/event_log.hpp"
#include "sinkhost/runtime/record_filter.hpp"

namespace sinkhost::runtime {
namespace {

using namespace std::chrono_literals;

NewEvent event(const std::string& type, const std::string& data) {
  static std::atomic<int> counter{0};
  char id[40];
  std::snprintf(id, sizeof id, "00000000-0000-4000-8000-%012d", ++counter);
  return NewEvent{.event_id = id, .event_type = type, .is_json = true, .data = data, .metadata = R"({"k":"v"})"};
}

std::shared_ptr<const RecordFilter> filter(connector::Settings settings) {
  auto created = RecordFilter::create(settings);
  EXPECT_TRUE(created.ok());
  return created.ok() ? *created : nullptr;
}

class StoreSubscriptionTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto opened = EventLog::open(dir_.path() + "/events.db");
    ASSERT_TRUE(opened.ok()) << opened.error().message;
    log_ = std::move(opened).value();
    port_ = test::free_port();
    serve();
    auto connection = parse_connection_string("kurrentdb://127.0.0.1:" + std::to_string(port_) +
                                              "?tls=false&keepAliveInterval=500&keepAliveTimeout=500");
    ASSERT_TRUE(connection.ok()) << connection.error().message;
    auto source = open_kurrentdb_source(*connection);
    ASSERT_TRUE(source.ok()) << source.error().message;
    source_ = std::move(source).value();
  }
  void TearDown() override {
    source_.reset();
    if (server_) server_->stop();
  }
  void serve() {
    server_ = std::make_unique<management_api::GrpcServer>(*log_, management_api::GrpcServer::Options{.port = port_});
    auto started = server_->start();
    ASSERT_TRUE(started.ok()) << started.error().message;
  }
  void append(const std::string& stream, std::vector<NewEvent> events) {
    ASSERT_TRUE(log_->append({.stream = stream, .events = std::move(events)}).ok());
  }
  std::unique_ptr<SourceSubscription> subscribe(SubscribeRequest request) {
    request.on_health = [this](const SourceHealth& h) {
      std::lock_guard lock(mutex_);
      health_.push_back(h.state);
    };
    auto subscription = source_->subscribe(std::move(request));
    EXPECT_TRUE(subscription.ok());
    return subscription.ok() ? std::move(subscription).value() : nullptr;
  }
  // Reads until `count` events arrived (or 10 s passed); the positions scanned go to `scanned`.
  std::vector<SourceEvent> read(SourceSubscription& s, std::size_t count,
                                std::optional<SourcePosition>* scanned = nullptr) {
    std::vector<SourceEvent> out;
    SourceBatch batch;
    for (auto deadline = std::chrono::steady_clock::now() + 10s;
         out.size() < count && std::chrono::steady_clock::now() < deadline;) {
      auto read = s.read(100, 1 << 20, batch);
      EXPECT_TRUE(read.ok()) << read.error().message;
      if (!read.ok()) break;
      if (scanned && batch.scanned_to) *scanned = batch.scanned_to;
      for (std::size_t i = 0; i < batch.size; ++i) out.push_back(batch.events[i]);
      if (batch.size == 0) std::this_thread::sleep_for(10ms);
    }
    return out;
  }
  std::vector<SourceHealth::State> health() {
    std::lock_guard lock(mutex_);
    return health_;
  }

  test::TempDir dir_;
  std::unique_ptr<EventLog> log_;
  std::uint16_t port_ = 0;
  std::unique_ptr<management_api::GrpcServer> server_;
  std::unique_ptr<EventSource> source_;
  std::mutex mutex_;
  std::vector<SourceHealth::State> health_;
};

TEST_F(StoreSubscriptionTest, CatchesUpThenGoesLiveWithEveryFieldOfTheEvent) {
  append("order-1", {event("OrderPlaced", R"({"n":1})"), event("OrderPaid", R"({"n":2})")});
  auto s = subscribe({.filter = filter({})});
  auto first = read(*s, 2);
  ASSERT_EQ(first.size(), 2u);
  append("order-2", {event("OrderPlaced", R"({"n":3})")});
  auto live = read(*s, 1);
  ASSERT_EQ(live.size(), 1u);

  EXPECT_EQ(first[0].stream, "order-1");
  EXPECT_EQ(first[0].revision, 0u);
  EXPECT_EQ(first[1].revision, 1u);
  EXPECT_EQ(first[0].event_type, "OrderPlaced");
  EXPECT_EQ(first[0].data, R"({"n":1})");
  EXPECT_EQ(first[0].metadata, R"({"k":"v"})");
  EXPECT_TRUE(first[0].is_json);
  EXPECT_EQ(first[0].event_id.size(), 36u);
  EXPECT_GT(first[0].created_ms, 1700000000000);
  EXPECT_EQ(first[0].position, (SourcePosition{1, 1})) << "the face's positions are the log's";
  EXPECT_EQ(live[0].stream, "order-2");
  EXPECT_EQ(live[0].position, (SourcePosition{3, 3}));
  EXPECT_LT(first[1].ordinal, live[0].ordinal) << "ordinals increase";
  EXPECT_EQ(source_->head()->commit >= 2, true);
  EXPECT_TRUE(source_->external());
  EXPECT_EQ(source_->describe(), "KurrentDB at 127.0.0.1:" + std::to_string(port_));
}

TEST_F(StoreSubscriptionTest, TheFilterHoldsAndSystemEventsStayOut) {
  append("order-1", {event("OrderPlaced", "{}")});
  append("$settings", {event("Changed", "{}")});
  append("invoice-1", {event("$metadata", "{}"), event("InvoiceSent", "{}")});
  append("order-2", {event("OrderPaid", "{}")});
  auto s = subscribe(
      {.filter = filter({{"subscription:filter:filterType", "prefix"}, {"subscription:filter:expression", "order-"}})});
  std::optional<SourcePosition> scanned;
  auto events = read(*s, 2, &scanned);
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(events[0].stream, "order-1");
  EXPECT_EQ(events[1].stream, "order-2");

  auto all = subscribe({.filter = filter({})});
  auto kept = read(*all, 3);
  ASSERT_EQ(kept.size(), 3u);
  EXPECT_EQ(kept[1].event_type, "InvoiceSent") << "$-streams and $-types are system events";
}

TEST_F(StoreSubscriptionTest, AfterAPositionAndAfterTheHead) {
  append("a", {event("E", "1"), event("E", "2"), event("E", "3")});
  auto after = subscribe({.after = SourcePosition{2, 2}, .filter = filter({})});
  auto events = read(*after, 1);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].data, "3");

  auto latest = subscribe({.after_head = true, .filter = filter({})});
  SourceBatch batch;
  for (int i = 0; i < 500 && !batch.scanned_to; ++i) {
    ASSERT_TRUE(latest->read(100, 1 << 20, batch).ok());
    if (!batch.scanned_to) std::this_thread::sleep_for(10ms);
  }
  EXPECT_EQ(batch.size, 0u) << "the pinned start comes without events";
  EXPECT_EQ(batch.scanned_to, (SourcePosition{3, 3})) << "the head when the store was reached";
  append("a", {event("E", "4")});
  auto fresh = read(*latest, 1);
  ASSERT_EQ(fresh.size(), 1u);
  EXPECT_EQ(fresh[0].data, "4");
}

TEST_F(StoreSubscriptionTest, ResubscribesAfterTheStoreComesBackWithoutLossOrDuplicates) {
  append("a", {event("E", "1")});
  auto s = subscribe({.filter = filter({})});
  ASSERT_EQ(read(*s, 1).size(), 1u);
  server_->stop();
  server_.reset();
  append("a", {event("E", "2"), event("E", "3")});  // while the store is "down"
  for (int i = 0; i < 500; ++i) {
    auto states = health();
    if (!states.empty() && states.back() == SourceHealth::State::reconnecting) break;
    std::this_thread::sleep_for(10ms);
  }
  ASSERT_FALSE(health().empty());
  EXPECT_EQ(health().back(), SourceHealth::State::reconnecting);
  serve();
  append("a", {event("E", "4")});
  auto rest = read(*s, 3);
  ASSERT_EQ(rest.size(), 3u);
  EXPECT_EQ(rest[0].data, "2");
  EXPECT_EQ(rest[1].data, "3");
  EXPECT_EQ(rest[2].data, "4");
  SourceBatch extra;
  std::this_thread::sleep_for(200ms);
  ASSERT_TRUE(s->read(100, 1 << 20, extra).ok());
  EXPECT_EQ(extra.size, 0u) << "no duplicates";
  EXPECT_EQ(health().back(), SourceHealth::State::healthy);
}

// A cluster connection string: the seed's gossip names the leader, and the subscription reads
// from it (the face answers gossip as a single-node cluster whose leader is itself).
TEST_F(StoreSubscriptionTest, ADiscoverConnectionStringFindsTheLeaderThroughGossip) {
  append("order-1", {event("OrderPlaced", R"({"n":1})")});
  auto connection = parse_connection_string("kurrentdb+discover://127.0.0.1:" + std::to_string(port_) +
                                            "?tls=false&nodePreference=leader&gossipTimeout=2000");
  ASSERT_TRUE(connection.ok()) << connection.error().message;
  auto source = open_kurrentdb_source(*connection);
  ASSERT_TRUE(source.ok()) << source.error().message;
  EXPECT_EQ((*source)->describe(), "KurrentDB cluster at 127.0.0.1:" + std::to_string(port_));
  auto subscription = (*source)->subscribe({.filter = filter({})});
  ASSERT_TRUE(subscription.ok());
  auto events = read(**subscription, 1);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].stream, "order-1");
}

}  // namespace
}  // namespace sinkhost::runtime
