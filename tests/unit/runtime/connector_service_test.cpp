// The connector service on its own, over a fake source (tests/unit/runtime/fakes.hpp), the real
// state store and the plugins of the build tree: the lifecycle, checkpoints saved by the
// delivery thread, and a host restart bringing back what ran.
#include "sinkhost/runtime/connector_service.hpp"

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include <gtest/gtest.h>

#include "fakes.hpp"
#include "process.hpp"

namespace sinkhost::runtime {
namespace {

using namespace std::chrono_literals;

class ConnectorServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(plugins_.load_directory(SINKHOST_PLUGIN_DIR).ok());
    open();
  }
  void open() {
    service_.reset();
    store_.reset();
    auto store = StateStore::open(dir_.path() + "/state.db");
    ASSERT_TRUE(store.ok());
    store_ = std::move(store).value();
    service_ = std::make_unique<ConnectorService>(source_, *store_, plugins_);
  }
  connector::Settings logger(const std::string& file) { return test::logger_settings(dir_.path(), file); }
  std::size_t lines(const std::string& file) { return test::count_lines(dir_.path() + "/" + file); }
  bool checkpoint_is(const std::string& id, std::uint64_t position) {
    for (int i = 0; i < 500; ++i) {
      auto view = service_->get(id);
      if (view.ok() && view->definition.checkpoint == SourcePosition{position, position}) return true;
      std::this_thread::sleep_for(10ms);
    }
    return false;
  }

  sinkhost::test::TempDir dir_;
  test::FakeSource source_;
  PluginRegistry plugins_;
  std::unique_ptr<StateStore> store_;
  std::unique_ptr<ConnectorService> service_;
};

TEST_F(ConnectorServiceTest, CreateStartDeliverStopKeepsTheCheckpointInTheStore) {
  source_.append("s-1", "A");
  source_.append("s-2", "B");
  ASSERT_TRUE(service_->create("svc-sink", std::nullopt, logger("out.jsonl")).ok());
  EXPECT_EQ(service_->get("svc-sink")->state, ConnectorState::stopped);
  EXPECT_EQ(service_->get("svc-sink")->definition.instance_type_name, "logger-sink")
      << "stored under the type's own name";
  ASSERT_TRUE(service_->start("svc-sink").ok());
  EXPECT_EQ(service_->get("svc-sink")->state, ConnectorState::running);
  ASSERT_TRUE(checkpoint_is("svc-sink", 2)) << "the delivery thread's saves show in the view";
  source_.append("s-3", "C");
  ASSERT_TRUE(checkpoint_is("svc-sink", 3));
  ASSERT_TRUE(service_->stop("svc-sink").ok());
  EXPECT_EQ(service_->get("svc-sink")->state, ConnectorState::stopped);
  EXPECT_EQ(lines("out.jsonl"), 3u);
  auto stored = store_->load_all();
  ASSERT_EQ(stored->size(), 1u);
  EXPECT_EQ((*stored)[0].checkpoint, (SourcePosition{3, 3}));
  EXPECT_FALSE((*stored)[0].run_requested);
}

TEST_F(ConnectorServiceTest, CommandsTheStateForbidsAreRefusedAndChangeNothing) {
  ASSERT_TRUE(service_->create("svc-sink", std::nullopt, logger("out.jsonl")).ok());
  EXPECT_EQ(service_->create("svc-sink", std::nullopt, logger("out.jsonl")).error().code,
            connector::ErrorCode::already_exists);
  ASSERT_TRUE(service_->start("svc-sink").ok());
  EXPECT_EQ(service_->start("svc-sink").error().code, connector::ErrorCode::failed_precondition);
  EXPECT_EQ(service_->reset("svc-sink").error().code, connector::ErrorCode::failed_precondition);
  EXPECT_EQ(service_->remove("svc-sink").error().code, connector::ErrorCode::failed_precondition);
  EXPECT_EQ(service_->get("svc-sink")->state, ConnectorState::running);
  EXPECT_EQ(service_->start("no-such-sink").error().code, connector::ErrorCode::not_found);
}

TEST_F(ConnectorServiceTest, ResetStartsFromThePositionGiven) {
  for (int i = 0; i < 4; ++i) source_.append("s", "E");
  ASSERT_TRUE(service_->create("svc-sink", std::nullopt, logger("out.jsonl")).ok());
  ASSERT_TRUE(service_->start("svc-sink").ok());
  ASSERT_TRUE(checkpoint_is("svc-sink", 4));
  ASSERT_TRUE(service_->stop("svc-sink").ok());
  ASSERT_TRUE(service_->reset("svc-sink", LogPosition(3)).ok());
  EXPECT_EQ(service_->get("svc-sink")->state, ConnectorState::running);
  ASSERT_TRUE(checkpoint_is("svc-sink", 4));
  EXPECT_EQ(lines("out.jsonl"), 6u) << "4, then 3 and 4 again";
}

TEST_F(ConnectorServiceTest, AHostRestartRunsAgainWhatWasRunningFromItsCheckpoint) {
  source_.append("s", "E");
  ASSERT_TRUE(service_->create("run-sink", std::nullopt, logger("run.jsonl")).ok());
  ASSERT_TRUE(service_->create("idle-sink", std::nullopt, logger("idle.jsonl")).ok());
  ASSERT_TRUE(service_->start("run-sink").ok());
  ASSERT_TRUE(checkpoint_is("run-sink", 1));
  service_->shutdown();
  open();
  ASSERT_TRUE(service_->restore().ok());
  EXPECT_TRUE(service_->restored());
  EXPECT_EQ(service_->get("run-sink")->state, ConnectorState::running);
  EXPECT_EQ(service_->get("idle-sink")->state, ConnectorState::stopped);
  source_.append("s", "E");
  ASSERT_TRUE(checkpoint_is("run-sink", 2));
  EXPECT_EQ(lines("run.jsonl"), 2u) << "nothing sent twice after a clean shutdown";
}

// autoRestart: a logger sink whose directory does not exist yet fails to open (UNAVAILABLE).
TEST_F(ConnectorServiceTest, AConnectorStoppedByAnErrorThatMayClearRestartsByItselfOnceItClears) {
  source_.append("s", "A");
  source_.append("s", "B");
  auto settings = logger("later/out.jsonl");
  settings["autoRestart:maxAttempts"] = "20";
  settings["autoRestart:firstDelay"] = "50";
  settings["autoRestart:maxDelay"] = "100";
  ASSERT_TRUE(service_->create("auto-sink", std::nullopt, settings).ok());
  (void)service_->start("auto-sink");
  auto view = service_->get("auto-sink");
  ASSERT_EQ(view->state, ConnectorState::stopped);
  ASSERT_TRUE(view->definition.error.has_value());
  EXPECT_EQ(view->definition.error->code, "UNAVAILABLE");
  ASSERT_TRUE(view->restart.has_value()) << "it shows that it waits to restart";
  EXPECT_EQ(view->restart->attempt, 1);
  EXPECT_EQ(view->restart->max_attempts, 20);
  EXPECT_TRUE(view->definition.run_requested) << "a host restart meanwhile starts it too";

  std::filesystem::create_directory(dir_.path() + "/later");
  ASSERT_TRUE(checkpoint_is("auto-sink", 2)) << "restarted by itself and delivered everything";
  view = service_->get("auto-sink");
  EXPECT_EQ(view->state, ConnectorState::running);
  EXPECT_FALSE(view->restart.has_value());
  EXPECT_EQ(lines("later/out.jsonl"), 2u);
}

TEST_F(ConnectorServiceTest, AStopCancelsAWaitingRestartAndTheAttemptsRunOut) {
  auto settings = logger("never/out.jsonl");
  settings["autoRestart:maxAttempts"] = "2";
  settings["autoRestart:firstDelay"] = "20";
  ASSERT_TRUE(service_->create("cap-sink", std::nullopt, settings).ok());
  (void)service_->start("cap-sink");
  // Two restarts, each failing, then it stays stopped with the error and no restart pending.
  for (int i = 0; i < 300 && service_->get("cap-sink")->definition.run_requested; ++i) {
    std::this_thread::sleep_for(10ms);
  }
  auto view = service_->get("cap-sink");
  EXPECT_FALSE(view->restart.has_value()) << "after maxAttempts it stops for good";
  EXPECT_EQ(view->state, ConnectorState::stopped);
  ASSERT_TRUE(view->definition.error.has_value());
  EXPECT_FALSE(view->definition.run_requested);

  settings["autoRestart:firstDelay"] = "60000";
  ASSERT_TRUE(service_->reconfigure("cap-sink", settings).ok());
  (void)service_->start("cap-sink");
  ASSERT_TRUE(service_->get("cap-sink")->restart.has_value()) << "a user's start counts from one again";
  EXPECT_EQ(service_->get("cap-sink")->restart->attempt, 1);
  ASSERT_TRUE(service_->stop("cap-sink").ok());
  view = service_->get("cap-sink");
  EXPECT_FALSE(view->restart.has_value()) << "the user's stop cancels the waiting restart";
  EXPECT_FALSE(view->definition.error.has_value());
  EXPECT_FALSE(view->definition.run_requested);
}

TEST_F(ConnectorServiceTest, WithoutAutoRestartAFailedConnectorStaysStopped) {
  ASSERT_TRUE(service_->create("plain-sink", std::nullopt, logger("none/out.jsonl")).ok());
  (void)service_->start("plain-sink");
  auto view = service_->get("plain-sink");
  EXPECT_EQ(view->state, ConnectorState::stopped);
  EXPECT_TRUE(view->definition.error.has_value());
  EXPECT_FALSE(view->restart.has_value()) << "KurrentDB's behaviour by default";
  EXPECT_FALSE(view->definition.run_requested);
}

}  // namespace
}  // namespace sinkhost::runtime
