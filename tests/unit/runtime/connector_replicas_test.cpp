// The connector service in cluster mode (runtime/src/connector_replicas.cpp), over the cluster's
// definition store with in-memory tables: a connector runs only on the host it is placed on,
// commands on any host change the definition, and the owner follows it.
#include <chrono>
#include <fstream>
#include <functional>
#include <map>
#include <thread>

#include <gtest/gtest.h>

#include "fakes.hpp"
#include "process.hpp"
#include "sinkhost/runtime/cluster/cluster_definition_store.hpp"
#include "sinkhost/runtime/connector_service.hpp"

namespace sinkhost::runtime {
namespace {

using namespace std::chrono_literals;
using cluster::ClusterDefinitionStore;

bool within_a_second(const std::function<bool()>& condition) {
  for (int i = 0; i < 100; ++i) {
    if (condition()) return true;
    std::this_thread::sleep_for(10ms);
  }
  return condition();
}

// The cluster's tables, in memory.
struct Tables {
  std::mutex mutex;
  std::map<std::string, std::string> definitions;
  std::map<std::string, SourcePosition> checkpoints;
  std::vector<std::string> written;  // every definition record, in order

  ClusterDefinitionStore::Tables functions() {
    return {
        .put_definition = [this](const std::string& id, const std::string& value) -> Result<void> {
          std::lock_guard lock(mutex);
          definitions[id] = value;
          written.push_back(value);
          return {};
        },
        .save_checkpoint = [this](const std::string& id, SourcePosition position) -> Result<void> {
          std::lock_guard lock(mutex);
          checkpoints.insert_or_assign(id, position);
          return {};
        },
        .reset_checkpoint = [this](const std::string& id) -> Result<void> {
          std::lock_guard lock(mutex);
          checkpoints.erase(id);
          return {};
        },
    };
  }
  std::optional<SourcePosition> checkpoint(const std::string& id) {
    std::lock_guard lock(mutex);
    auto found = checkpoints.find(id);
    return found == checkpoints.end() ? std::nullopt : std::optional(found->second);
  }
  bool run_requested(const std::string& id) {
    std::lock_guard lock(mutex);
    auto record = cluster::decode_definition(id, definitions.at(id));
    return record.ok() && record->definition.run_requested;
  }
};

class ConnectorReplicasTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(plugins_.load_directory(SINKHOST_PLUGIN_DIR).ok());
    service_ = std::make_unique<ConnectorService>(source_, store_, plugins_);
    service_->join_cluster({.host_id = "host-a", .state_changed = [this](const ConnectorView& view) {
                              std::lock_guard lock(mutex_);
                              reported_.push_back({view.definition.id, view.state});
                            }});
    ASSERT_TRUE(service_->restore().ok());
  }
  void TearDown() override { service_->shutdown(); }

  connector::Settings logger(const std::string& file) { return test::logger_settings(dir_.path(), file); }
  std::size_t lines(const std::string& file) { return test::count_lines(dir_.path() + "/" + file); }
  ConnectorState state(const std::string& id) { return service_->get(id)->state; }
  // The definition as the tables hold it, with the checkpoint the tables hold.
  ConnectorDefinition stored(const std::string& id) {
    auto definition = store_.find(id);
    EXPECT_TRUE(definition.has_value()) << id;
    definition->checkpoint = tables_.checkpoint(id);
    return *definition;
  }
  std::vector<std::pair<std::string, ConnectorState>> reported() {
    std::lock_guard lock(mutex_);
    return reported_;
  }

  sinkhost::test::TempDir dir_;
  test::FakeSource source_;
  PluginRegistry plugins_;
  Tables tables_;
  ClusterDefinitionStore store_{tables_.functions()};
  std::unique_ptr<ConnectorService> service_;
  std::mutex mutex_;
  std::vector<std::pair<std::string, ConnectorState>> reported_;
};

TEST_F(ConnectorReplicasTest, AConnectorRunsOnlyOnceItIsPlacedHere) {
  source_.append("s-1", "A");
  ASSERT_TRUE(service_->create("svc-sink", std::nullopt, logger("out.jsonl")).ok());
  ASSERT_TRUE(service_->start("svc-sink").ok());
  EXPECT_EQ(state("svc-sink"), ConnectorState::stopped) << "not placed here: its owner starts it";
  EXPECT_TRUE(tables_.run_requested("svc-sink")) << "the start is in the connectors table";
  EXPECT_TRUE(reported().empty());
  std::this_thread::sleep_for(50ms);
  EXPECT_EQ(lines("out.jsonl"), 0u);

  service_->adopt(stored("svc-sink"));
  EXPECT_EQ(state("svc-sink"), ConnectorState::running);
  EXPECT_EQ(service_->get("svc-sink")->owner, "host-a");
  ASSERT_TRUE(within_a_second([&] {
    return tables_.checkpoint("svc-sink") == SourcePosition{1, 1};
  })) << "checkpoints go to the checkpoints table";
  EXPECT_EQ(lines("out.jsonl"), 1u);
  EXPECT_EQ(reported().back(), (std::pair<std::string, ConnectorState>{"svc-sink", ConnectorState::running}));

  // Placed on another host now: the run stops, the run the user asked for stays.
  service_->release({"svc-sink"});
  EXPECT_EQ(state("svc-sink"), ConnectorState::stopped);
  EXPECT_TRUE(tables_.run_requested("svc-sink"));
  source_.append("s-1", "B");
  std::this_thread::sleep_for(50ms);
  EXPECT_EQ(lines("out.jsonl"), 1u);

  // Back here: from the checkpoint the tables hold.
  service_->adopt(stored("svc-sink"));
  ASSERT_TRUE(within_a_second([&] { return tables_.checkpoint("svc-sink") == SourcePosition{2, 2}; }));
  EXPECT_EQ(lines("out.jsonl"), 2u) << "the first event was not delivered again";
}

TEST_F(ConnectorReplicasTest, ThePlacedHostFollowsTheRunTheDefinitionAsksFor) {
  ASSERT_TRUE(service_->create("svc-sink", std::nullopt, logger("out.jsonl")).ok());
  service_->adopt(stored("svc-sink"));
  EXPECT_EQ(state("svc-sink"), ConnectorState::stopped);

  // Another host's start, as the connectors table brings it.
  auto definition = stored("svc-sink");
  definition.run_requested = true;
  service_->replicate(definition);
  EXPECT_EQ(state("svc-sink"), ConnectorState::running);
  service_->replicate(definition);  // seen again: nothing changes
  EXPECT_EQ(state("svc-sink"), ConnectorState::running);

  definition.run_requested = false;
  definition.name = "renamed elsewhere";
  service_->replicate(definition);
  EXPECT_EQ(state("svc-sink"), ConnectorState::stopped);
  EXPECT_EQ(service_->get("svc-sink")->definition.name, "renamed elsewhere");
}

TEST_F(ConnectorReplicasTest, AConnectorPlacedElsewhereShowsWhatItsOwnerReports) {
  ASSERT_TRUE(service_->create("svc-sink", std::nullopt, logger("out.jsonl")).ok());
  auto definition = stored("svc-sink");
  definition.id = "remote-sink";
  service_->replicate(definition);
  ASSERT_TRUE(service_->get("remote-sink").ok());
  EXPECT_EQ(state("remote-sink"), ConnectorState::stopped);
  EXPECT_TRUE(service_->get("remote-sink")->owner.empty());

  service_->show_status("remote-sink", {.owner = "host-b",
                                        .state = ConnectorState::running,
                                        .state_update_time_ms = 1234,
                                        .error = std::nullopt,
                                        .checkpoint = std::nullopt});
  auto view = service_->get("remote-sink");
  EXPECT_EQ(view->state, ConnectorState::running);
  EXPECT_EQ(view->owner, "host-b");
  EXPECT_EQ(view->state_update_time_ms, 1234);
  // A reset needs it stopped, as its owner says.
  EXPECT_EQ(service_->reset("remote-sink").error().code, connector::ErrorCode::failed_precondition);
  EXPECT_EQ(service_->list().total_size, 2u);
}

TEST(ClusterDefinitionStore, WritesNextRevisionsAndIgnoresOlderRecords) {
  Tables tables;
  ClusterDefinitionStore store(tables.functions());
  ConnectorDefinition d;
  d.id = "rev-sink";
  d.name = "first";
  ASSERT_TRUE(store.save_definition(d).ok());
  ASSERT_TRUE(store.save_run_requested("rev-sink", true).ok());
  ASSERT_EQ(tables.written.size(), 2u);
  auto first = cluster::decode_definition("rev-sink", tables.written[0]);
  auto second = cluster::decode_definition("rev-sink", tables.written[1]);
  EXPECT_EQ(first->revision, 1);
  EXPECT_EQ(second->revision, 2);
  EXPECT_TRUE(second->definition.run_requested);

  // This host's first write, seen again after its second: not accepted.
  EXPECT_FALSE(store.accept("rev-sink", tables.written[0]).has_value());
  EXPECT_TRUE(store.find("rev-sink")->run_requested);
  // Its latest, and a newer one from another host: accepted.
  EXPECT_TRUE(store.accept("rev-sink", tables.written[1]).has_value());
  auto newer = *second;
  newer.revision = 3;
  newer.definition.name = "renamed";
  auto accepted = store.accept("rev-sink", cluster::encode_definition(newer));
  ASSERT_TRUE(accepted.has_value());
  EXPECT_EQ(accepted->name, "renamed");
  EXPECT_FALSE(store.accept("rev-sink", "not json").has_value());
  // An unknown connector cannot be started by a store that never saw it.
  EXPECT_EQ(store.save_run_requested("no-such", true).error().code, connector::ErrorCode::not_found);
  // A replace writes the checkpoint before the definition (its owner may start it at once).
  d.checkpoint = SourcePosition{7, 7};
  ASSERT_TRUE(store.replace(d).ok());
  EXPECT_EQ(tables.checkpoint("rev-sink"), (SourcePosition{7, 7}));
  d.checkpoint.reset();
  ASSERT_TRUE(store.replace(d).ok());
  EXPECT_FALSE(tables.checkpoint("rev-sink").has_value());
}

}  // namespace
}  // namespace sinkhost::runtime
