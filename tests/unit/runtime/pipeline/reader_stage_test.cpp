#include "pipeline/reader_stage.hpp"

#include <gtest/gtest.h>

#include "../fakes.hpp"

namespace sinkhost::runtime {
namespace {

using namespace std::chrono_literals;

struct ReaderStageTest : ::testing::Test {
  std::unique_ptr<ReaderStage> start(ReaderStage::Options options) {
    options.source = &source;
    options.connector_id = "c1";
    options.metrics = metrics;
    auto stage = std::make_unique<ReaderStage>(std::move(options), [this] {
      std::lock_guard lock(mutex);
      ++wakes;
      changed.notify_all();
    });
    stage->start();
    return stage;
  }
  // Waits for the next batch the stage queues.
  std::unique_ptr<PreparedBatch> next(ReaderStage& stage, std::chrono::milliseconds timeout = 5s) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      if (auto batch = stage.take()) return batch;
      std::unique_lock lock(mutex);
      if (changed.wait_until(lock, deadline) == std::cv_status::timeout && !stage.ready()) return nullptr;
    }
  }

  test::FakeSource source;
  std::shared_ptr<ConnectorMetrics> metrics = std::make_shared<ConnectorMetrics>();
  std::mutex mutex;
  std::condition_variable changed;
  int wakes = 0;
};

TEST_F(ReaderStageTest, QueuesPreparedRecordsInSourceOrderThenFollowsNewEvents) {
  for (int i = 0; i < 5; ++i) source.append("s", "A");
  auto stage = start({});
  auto batch = next(*stage);
  ASSERT_TRUE(batch);
  ASSERT_EQ(batch->size, 5u);
  for (std::size_t i = 0; i < 5; ++i) {
    EXPECT_EQ(batch->records[i].position, LogPosition(i + 1));
    EXPECT_EQ(batch->positions[i].commit, i + 1);
  }
  EXPECT_EQ(batch->scanned_to->commit, 5u);
  stage->recycle(std::move(batch));
  source.append("s", "B");
  batch = next(*stage);
  ASSERT_TRUE(batch);
  ASSERT_EQ(batch->size, 1u);
  EXPECT_EQ(batch->records[0].schema_subject, "B");
}

TEST_F(ReaderStageTest, FilteredEventsAreCountedAndCoveredByTheScanEnd) {
  source.append("order-1", "A");
  source.append("other", "A");
  auto filter = RecordFilter::create(
      {{"subscription:filter:filterType", "prefix"}, {"subscription:filter:expression", "order-"}});
  ASSERT_TRUE(filter.ok());
  auto stage = start({.filter = *filter});
  auto batch = next(*stage);
  ASSERT_TRUE(batch);
  EXPECT_EQ(batch->size, 1u);
  EXPECT_EQ(batch->scanned_to->commit, 2u);
  EXPECT_EQ(metrics->records_filtered.load(), 1u);
}

TEST_F(ReaderStageTest, StopsReadingWhenTheQueueIsFull) {
  for (int i = 0; i < 10; ++i) source.append("s", "A");
  auto stage = start({.max_batches = 2, .batch_events = 1});
  {
    std::unique_lock lock(mutex);
    changed.wait_for(lock, 5s, [&] { return wakes >= 2; });
  }
  std::this_thread::sleep_for(100ms);  // a stage that ignored the bound would queue more meanwhile
  EXPECT_EQ(wakes, 2) << "two batches of one event, then it waits for room";
  auto first = stage->take();
  ASSERT_TRUE(first);
  EXPECT_EQ(first->records[0].position, LogPosition(1));
  auto third = [&] {
    std::unique_lock lock(mutex);
    return changed.wait_for(lock, 5s, [&] { return wakes >= 3; });
  }();
  EXPECT_TRUE(third) << "taking a batch made room for the next";
}

TEST_F(ReaderStageTest, ATransformFailureEndsTheBatchBeforeTheRecordAndTheStage) {
  source.append("s", "A", R"({"n":1})");
  source.append("s", "A", R"({"n":2})");
  source.append("s", "A", R"({"n":3})");
  // function transform(r) { if (r.value.n === 2) throw new Error('two'); }
  const std::string js =
      "ZnVuY3Rpb24gdHJhbnNmb3JtKHIpIHsgaWYgKHIudmFsdWUubiA9PT0gMikgdGhyb3cgbmV3IEVycm9yKCd0d28nKTsgfQ==";
  auto stage = start(
      {.transform = CommonSettings::from({{"transformer:enabled", "true"}, {"transformer:function", js}}).transformer});
  auto batch = next(*stage);
  ASSERT_TRUE(batch);
  EXPECT_EQ(batch->size, 1u) << "only the record before the failure";
  ASSERT_TRUE(batch->failure);
  EXPECT_NE(batch->failure->message.find("two"), std::string::npos) << batch->failure->message;
  ASSERT_TRUE(batch->scanned_to);
  EXPECT_EQ(batch->scanned_to->commit, 1u) << "the checkpoint must not pass the failed record";
  source.append("s", "A", R"({"n":4})");
  EXPECT_FALSE(next(*stage, 200ms)) << "the stage ended";
}

TEST_F(ReaderStageTest, StartsAfterTheGivenPosition) {
  for (int i = 0; i < 4; ++i) source.append("s", "A");
  auto stage = start({.after = SourcePosition{2, 2}});
  auto batch = next(*stage);
  ASSERT_TRUE(batch);
  ASSERT_EQ(batch->size, 2u);
  EXPECT_EQ(batch->records[0].position, LogPosition(3));
}

}  // namespace
}  // namespace sinkhost::runtime
