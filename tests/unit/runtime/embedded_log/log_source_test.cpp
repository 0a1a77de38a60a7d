#include "sinkhost/runtime/embedded_log/log_source.hpp"

#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <thread>

#include <gtest/gtest.h>

#include "process.hpp"
#include "sinkhost/runtime/record_filter.hpp"

namespace sinkhost::runtime {
namespace {

NewEvent event(const std::string& type, const std::string& data, const std::string& metadata = "{}") {
  static std::atomic<int> counter{0};
  char id[40];
  std::snprintf(id, sizeof id, "00000000-0000-4000-8000-%012d", ++counter);
  return NewEvent{.event_id = id, .event_type = type, .is_json = true, .data = data, .metadata = metadata};
}

std::shared_ptr<const RecordFilter> filter(connector::Settings settings) {
  auto created = RecordFilter::create(settings);
  EXPECT_TRUE(created.ok());
  return created.ok() ? *created : nullptr;
}

class LogSourceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto opened = EventLog::open(dir_.path() + "/events.db");
    ASSERT_TRUE(opened.ok()) << opened.error().message;
    log_ = std::move(opened).value();
    source_ = std::make_unique<EmbeddedLogSource>(*log_);
  }
  void append(const std::string& stream, std::vector<NewEvent> events) {
    ASSERT_TRUE(log_->append({.stream = stream, .events = std::move(events)}).ok());
  }
  std::unique_ptr<SourceSubscription> subscribe(
      std::optional<SourcePosition> after, std::shared_ptr<const RecordFilter> f = nullptr,
      std::function<void()> wake = [] {}) {
    auto s = source_->subscribe({.after = after, .filter = std::move(f), .on_new_events = std::move(wake)});
    EXPECT_TRUE(s.ok());
    return s.ok() ? std::move(s).value() : nullptr;
  }

  test::TempDir dir_;
  std::unique_ptr<EventLog> log_;
  std::unique_ptr<EmbeddedLogSource> source_;
};

TEST_F(LogSourceTest, EventsCarryEveryFieldWithTheLogPositionAsPositionAndOrdinal) {
  append("order-1", {event("OrderPlaced", R"({"total":5})", R"({"tenant":"acme"})")});
  auto subscription = subscribe(std::nullopt);
  SourceBatch batch;
  ASSERT_TRUE(subscription->read(100, 1 << 20, batch).ok());
  ASSERT_EQ(batch.size, 1u);
  const auto& e = batch.events[0];
  EXPECT_EQ(e.position, (SourcePosition{1, 1}));
  EXPECT_EQ(e.ordinal, LogPosition(1));
  EXPECT_EQ(e.stream, "order-1");
  EXPECT_EQ(e.revision, 0u);
  EXPECT_EQ(e.event_type, "OrderPlaced");
  EXPECT_TRUE(e.is_json);
  EXPECT_EQ(e.data, R"({"total":5})");
  EXPECT_EQ(e.metadata, R"({"tenant":"acme"})");
  EXPECT_GT(e.created_ms, 0);
  EXPECT_EQ(*source_->head(), (SourcePosition{1, 1}));
}

// A subscription started from the beginning while appends run reads every event exactly once,
// in log order: the catch-up part and the live part meet without a gap or an overlap.
TEST_F(LogSourceTest, CatchesUpThenFollowsLiveWithoutGapsOrDuplicates) {
  for (int i = 0; i < 500; ++i) append("before", {event("A", "1")});
  constexpr int kWriters = 4, kAppends = 250;
  constexpr std::uint64_t kTotal = 500 + kWriters * kAppends;
  std::mutex mutex;
  std::condition_variable woken;
  bool signalled = false;
  auto subscription = subscribe(std::nullopt, nullptr, [&] {
    std::lock_guard lock(mutex);
    signalled = true;
    woken.notify_one();
  });

  std::vector<std::thread> writers;
  for (int w = 0; w < kWriters; ++w) {
    writers.emplace_back([&, w] {
      for (int i = 0; i < kAppends; ++i) append("live-" + std::to_string(w), {event("B", "2")});
    });
  }
  std::vector<std::uint64_t> seen;
  SourceBatch batch;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (seen.size() < kTotal && std::chrono::steady_clock::now() < deadline) {
    {
      std::unique_lock lock(mutex);
      woken.wait_for(lock, std::chrono::milliseconds(200), [&] { return signalled || subscription->has_new(); });
      signalled = false;
    }
    ASSERT_TRUE(subscription->read(64, 1 << 20, batch).ok());
    for (std::size_t i = 0; i < batch.size; ++i) seen.push_back(batch.events[i].position.commit);
  }
  for (auto& w : writers) w.join();
  ASSERT_EQ(seen.size(), kTotal);
  for (std::size_t i = 0; i < seen.size(); ++i) ASSERT_EQ(seen[i], i + 1) << "gap or duplicate at index " << i;
  EXPECT_FALSE(subscription->has_new());
}

TEST_F(LogSourceTest, AfterAPositionStartsWithTheNextEventAndWaitsPastTheHead) {
  append("s-1", {event("A", "1"), event("B", "2")});
  auto subscription = subscribe(SourcePosition{2, 2});
  EXPECT_FALSE(subscription->has_new());
  SourceBatch batch;
  ASSERT_TRUE(subscription->read(10, 1 << 20, batch).ok());
  EXPECT_EQ(batch.size, 0u);
  EXPECT_FALSE(batch.scanned_to);
  append("s-1", {event("C", "3")});
  ASSERT_TRUE(subscription->read(10, 1 << 20, batch).ok());
  ASSERT_EQ(batch.size, 1u);
  EXPECT_EQ(batch.events[0].position.commit, 3u) << "after P starts at P + 1";
}

TEST_F(LogSourceTest, TheFilterIsEvaluatedInTheReadAndTheScanEndCoversSkippedEvents) {
  append("order-1", {event("A", "1")});
  append("invoice-1", {event("B", "2")});
  append("order-2", {event("C", "3")});
  append("invoice-2", {event("D", "4")});
  auto subscription = subscribe(std::nullopt, filter({{"subscription:filter:scope", "stream"},
                                                      {"subscription:filter:filterType", "prefix"},
                                                      {"subscription:filter:expression", "order-"}}));
  SourceBatch batch;
  ASSERT_TRUE(subscription->read(100, 1 << 20, batch).ok());
  ASSERT_EQ(batch.size, 2u);
  EXPECT_EQ(batch.events[0].stream, "order-1");
  EXPECT_EQ(batch.events[1].stream, "order-2");
  EXPECT_EQ(batch.examined, 4u);
  ASSERT_TRUE(batch.scanned_to);
  EXPECT_EQ(batch.scanned_to->commit, 4u) << "the non-matching last event is covered";
  EXPECT_FALSE(subscription->has_new());
}

TEST_F(LogSourceTest, AReadStopsOnceItHoldsTheByteBudgetAndTheNextGoesOn) {
  for (int i = 0; i < 10; ++i) append("s", {event("A", std::string(100, 'x'))});
  auto subscription = subscribe(std::nullopt);
  SourceBatch batch;
  ASSERT_TRUE(subscription->read(100, 250, batch).ok());
  EXPECT_EQ(batch.size, 3u) << "102 bytes each (data and \"{}\"): the third reaches 250";
  EXPECT_EQ(batch.scanned_to->commit, 3u);
  ASSERT_TRUE(subscription->read(100, 1 << 20, batch).ok());
  EXPECT_EQ(batch.size, 7u);
  EXPECT_EQ(batch.events[0].position.commit, 4u);
}

TEST_F(LogSourceTest, SlotsAreReusedFromReadToRead) {
  append("s", {event("A", std::string(64, 'x'))});
  append("s", {event("A", std::string(32, 'y'))});
  auto subscription = subscribe(std::nullopt);
  SourceBatch batch;
  ASSERT_TRUE(subscription->read(1, 1 << 20, batch).ok());
  const char* storage = batch.events[0].data.data();
  ASSERT_TRUE(subscription->read(1, 1 << 20, batch).ok());
  EXPECT_EQ(batch.events[0].data, std::string(32, 'y'));
  EXPECT_EQ(batch.events[0].data.data(), storage) << "the smaller value went into the same storage";
}

}  // namespace
}  // namespace sinkhost::runtime
