#include "sinkhost/runtime/connector_worker.hpp"

#include <gtest/gtest.h>

#include "fakes.hpp"

namespace sinkhost::runtime {
namespace {

using namespace std::chrono_literals;

// SinkDescriptor::create is a plain function: the sink it makes reports to the test through this.
std::shared_ptr<test::FakeSink::Shared> g_sink;

connector::Result<std::unique_ptr<connector::Sink>> create_fake(connector::SinkContext context) {
  return std::unique_ptr<connector::Sink>(new test::FakeSink(g_sink, context.listener));
}

struct WorkerTest : ::testing::Test {
  void SetUp() override {
    g_sink = std::make_shared<test::FakeSink::Shared>();
    descriptor.type_name = "fake-sink";
    descriptor.create = &create_fake;
  }
  void TearDown() override { g_sink.reset(); }

  std::unique_ptr<ConnectorWorker> start(connector::Settings settings, std::optional<SourcePosition> after = {},
                                         SourcePosition committed = {}) {
    auto filter = RecordFilter::create(settings);
    EXPECT_TRUE(filter.ok());
    auto worker =
        std::make_unique<ConnectorWorker>(source, checkpoints,
                                          ConnectorWorker::Options{.connector_id = "c1",
                                                                   .settings = std::move(settings),
                                                                   .descriptor = &descriptor,
                                                                   .after = after,
                                                                   .committed = committed,
                                                                   .filter = *filter,
                                                                   .metrics = metrics},
                                          ConnectorWorker::Hooks{.on_state =
                                                                     [this](ConnectorState s) {
                                                                       std::lock_guard lock(mutex);
                                                                       states.push_back(s);
                                                                     },
                                                                 .on_stopped =
                                                                     [this](std::optional<connector::Error> e) {
                                                                       std::lock_guard lock(mutex);
                                                                       stopped_with = e;
                                                                       stopped = true;
                                                                       changed.notify_all();
                                                                     }});
    worker->start();
    return worker;
  }
  // Waits until the sink was given `count` records.
  bool written(std::size_t count) {
    std::unique_lock lock(g_sink->mutex);
    return g_sink->changed.wait_for(lock, 10s, [&] { return g_sink->written.size() >= count; });
  }
  bool wait_stopped() {
    std::unique_lock lock(mutex);
    return changed.wait_for(lock, 10s, [&] { return stopped; });
  }

  connector::SinkDescriptor descriptor;
  test::FakeSource source;
  test::FakeCheckpointStore checkpoints;
  std::shared_ptr<ConnectorMetrics> metrics = std::make_shared<ConnectorMetrics>();
  std::mutex mutex;
  std::condition_variable changed;
  std::vector<ConnectorState> states;
  std::optional<connector::Error> stopped_with;
  bool stopped = false;
};

const connector::Settings kEveryRecord = {{"autocommit:recordsThreshold", "1"}, {"autocommit:interval", "10"}};

TEST_F(WorkerTest, TheCheckpointWaitsForTheSinksAcknowledgement) {
  for (int i = 0; i < 3; ++i) source.append("s", "A");
  auto worker = start(kEveryRecord);
  ASSERT_TRUE(written(3));
  std::this_thread::sleep_for(50ms);  // several commit intervals
  EXPECT_FALSE(checkpoints.last()) << "nothing acknowledged, nothing saved";
  test::FakeSink::ack_all(*g_sink, *worker);
  ASSERT_TRUE(checkpoints.wait_for(SourcePosition{3, 3}));
  EXPECT_EQ(metrics->records_delivered.load(), 3u);
  // Published for the views right after the save.
  for (int i = 0; i < 500 && metrics->saved_checkpoint() != SourcePosition{3, 3}; ++i)
    std::this_thread::sleep_for(10ms);
  EXPECT_EQ(metrics->saved_checkpoint(), (SourcePosition{3, 3}));
  worker->request_stop();
  worker->join();
  EXPECT_FALSE(stopped_with);
  EXPECT_EQ(states, (std::vector<ConnectorState>{ConnectorState::activating, ConnectorState::running,
                                                 ConnectorState::deactivating}));
}

TEST_F(WorkerTest, RecordsReachTheSinkInSourceOrderAcrossManyBatches) {
  g_sink->auto_ack = true;
  for (int i = 0; i < 5000; ++i) source.append("s-" + std::to_string(i % 7), "A");
  auto worker = start({});
  ASSERT_TRUE(written(5000));
  for (std::size_t i = 0; i < 5000; ++i) ASSERT_EQ(g_sink->written[i].position, LogPosition(i + 1));
  worker->request_stop();
  worker->join();
  EXPECT_EQ(checkpoints.last(), (SourcePosition{5000, 5000})) << "saved at the stop";
}

TEST_F(WorkerTest, AFullSinkIsWrittenAgainAfterAnOutcome) {
  g_sink->capacity = 2;
  for (int i = 0; i < 5; ++i) source.append("s", "A");
  auto worker = start(kEveryRecord);
  ASSERT_TRUE(written(2));
  std::this_thread::sleep_for(30ms);
  EXPECT_EQ(g_sink->written.size(), 2u);
  for (int round = 0; round < 3; ++round) {
    test::FakeSink::ack_all(*g_sink, *worker);
    ASSERT_TRUE(written(std::min<std::size_t>(5, 2 * (round + 2))));
  }
  test::FakeSink::ack_all(*g_sink, *worker);
  ASSERT_TRUE(checkpoints.wait_for(SourcePosition{5, 5}));
  worker->request_stop();
  worker->join();
}

TEST_F(WorkerTest, AFailedRecordStopsTheConnectorWithTheCheckpointBeforeIt) {
  for (int i = 0; i < 3; ++i) source.append("s", "A");
  auto worker = start(kEveryRecord);
  ASSERT_TRUE(written(3));
  worker->delivered(LogPosition(1));
  worker->failed(LogPosition(2), connector::make_error(connector::ErrorCode::permission_denied, "refused"));
  worker->delivered(LogPosition(3));
  ASSERT_TRUE(wait_stopped());
  ASSERT_TRUE(stopped_with);
  EXPECT_NE(stopped_with->message.find("log position 2 failed: refused"), std::string::npos) << stopped_with->message;
  EXPECT_EQ(checkpoints.last(), (SourcePosition{1, 1}));
}

TEST_F(WorkerTest, ARestartResendsEverythingAfterTheCheckpointToANewSink) {
  for (int i = 0; i < 4; ++i) source.append("s", "A");
  auto worker = start(kEveryRecord);
  ASSERT_TRUE(written(4));
  worker->delivered(LogPosition(1));
  worker->delivered(LogPosition(2));
  ASSERT_TRUE(checkpoints.wait_for(SourcePosition{2, 2}));
  worker->degraded(connector::make_error(connector::ErrorCode::unavailable, "broker down"));
  worker->restart_from_checkpoint(connector::make_error(connector::ErrorCode::internal, "fatal producer error"));
  ASSERT_TRUE(written(6));
  EXPECT_FALSE(metrics->degraded()) << "the old sink's condition goes with it";
  EXPECT_EQ(g_sink->opened, 2);
  EXPECT_EQ(g_sink->written[4].position, LogPosition(3)) << "resent from after the checkpoint";
  EXPECT_EQ(g_sink->written[5].position, LogPosition(4));
  EXPECT_EQ(metrics->restarts.load(), 1u);
  worker->request_stop();
  worker->join();
  EXPECT_FALSE(stopped_with);
}

TEST_F(WorkerTest, RestartsThatDoNotMoveTheCheckpointStopTheConnectorWithTheSinksReason) {
  for (int i = 0; i < 3; ++i) source.append("s", "A");
  auto worker = start(kEveryRecord);
  ASSERT_TRUE(written(3));
  worker->delivered(LogPosition(1));
  ASSERT_TRUE(checkpoints.wait_for(SourcePosition{1, 1}));
  const auto unknown = connector::make_error(connector::ErrorCode::not_found, "Unknown topic (topic 't')");
  worker->restart_from_checkpoint(unknown);
  ASSERT_TRUE(written(5)) << "the first restart resends 2 and 3";
  worker->restart_from_checkpoint(unknown);
  ASSERT_TRUE(written(7)) << "so does the second, at the same checkpoint";
  worker->restart_from_checkpoint(unknown);
  ASSERT_TRUE(wait_stopped());
  ASSERT_TRUE(stopped_with);
  EXPECT_EQ(stopped_with->code, connector::ErrorCode::not_found);
  EXPECT_NE(stopped_with->message.find("Unknown topic (topic 't')"), std::string::npos) << stopped_with->message;
  EXPECT_EQ(metrics->restarts.load(), 2u);
  EXPECT_EQ(checkpoints.last(), (SourcePosition{1, 1}));
}

TEST_F(WorkerTest, ARestartAfterTheCheckpointMovedCountsFromOneAgain) {
  for (int i = 0; i < 4; ++i) source.append("s", "A");
  auto worker = start(kEveryRecord);
  ASSERT_TRUE(written(4));
  const auto fatal = connector::make_error(connector::ErrorCode::internal, "fatal producer error");
  worker->restart_from_checkpoint(fatal);
  ASSERT_TRUE(written(8));
  worker->restart_from_checkpoint(fatal);
  ASSERT_TRUE(written(12));
  worker->delivered(LogPosition(1));  // the checkpoint moves: the next restart is the first again
  ASSERT_TRUE(checkpoints.wait_for(SourcePosition{1, 1}));
  worker->restart_from_checkpoint(fatal);
  ASSERT_TRUE(written(15));
  EXPECT_EQ(metrics->restarts.load(), 3u);
  worker->request_stop();
  worker->join();
  EXPECT_FALSE(stopped_with);
}

TEST_F(WorkerTest, FilteredEventsMoveTheCheckpointWithoutReachingTheSink) {
  g_sink->auto_ack = true;
  source.append("order-1", "A");
  source.append("other-1", "A");
  source.append("other-2", "A");
  auto settings = kEveryRecord;
  settings["subscription:filter:filterType"] = "prefix";
  settings["subscription:filter:expression"] = "order-";
  auto worker = start(settings);
  ASSERT_TRUE(checkpoints.wait_for(SourcePosition{3, 3}));
  EXPECT_EQ(g_sink->written.size(), 1u);
  EXPECT_EQ(metrics->records_filtered.load(), 2u);
  worker->request_stop();
  worker->join();
}

TEST_F(WorkerTest, StartsAfterTheCheckpoint) {
  g_sink->auto_ack = true;
  for (int i = 0; i < 5; ++i) source.append("s", "A");
  auto worker = start({}, SourcePosition{3, 3}, SourcePosition{3, 3});
  ASSERT_TRUE(written(2));
  EXPECT_EQ(g_sink->written[0].position, LogPosition(4));
  worker->request_stop();
  worker->join();
}

}  // namespace
}  // namespace sinkhost::runtime
