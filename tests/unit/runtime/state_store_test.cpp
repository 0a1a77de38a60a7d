// The state store on its own: definitions, checkpoints, the run-requested state and errors
// survive reopening; a checkpoint save through the CheckpointStore interface lands there too.
#include "sinkhost/runtime/state_store.hpp"

#include <gtest/gtest.h>

#include "process.hpp"

namespace sinkhost::runtime {
namespace {

ConnectorDefinition definition(const std::string& id) {
  ConnectorDefinition d;
  d.id = id;
  d.name = "Name of " + id;
  d.instance_type_name = "logger-sink";
  d.settings = {{"instanceTypeName", "logger-sink"}, {"output", "log"}};
  d.create_time_ms = d.update_time_ms = d.settings_update_time_ms = 1700000000000;
  return d;
}

class StateStoreTest : public ::testing::Test {
 protected:
  std::unique_ptr<StateStore> open() {
    auto store = StateStore::open(dir_.path() + "/state.db");
    EXPECT_TRUE(store.ok()) << store.error().message;
    return std::move(store).value();
  }
  test::TempDir dir_;
};

TEST_F(StateStoreTest, EverythingSavedIsThereAfterReopening) {
  {
    auto store = open();
    ASSERT_TRUE(store->save_definition(definition("a-sink")).ok());
    ASSERT_TRUE(store->save_definition(definition("b-sink")).ok());
    ASSERT_TRUE(store->save_checkpoint("a-sink", SourcePosition{41, 41}).ok());
    CheckpointStore& checkpoints = *store;
    ASSERT_TRUE(checkpoints.save_checkpoint("a-sink", SourcePosition{42, 42}).ok());
    ASSERT_TRUE(store->save_run_requested("a-sink", true).ok());
    ASSERT_TRUE(store->save_error("b-sink", ErrorDetails{"UNAVAILABLE", "broker down"}).ok());
  }
  auto all = open()->load_all();
  ASSERT_TRUE(all.ok());
  ASSERT_EQ(all->size(), 2u);
  const auto& a = (*all)[0].id == "a-sink" ? (*all)[0] : (*all)[1];
  const auto& b = (*all)[0].id == "a-sink" ? (*all)[1] : (*all)[0];
  EXPECT_EQ(a.name, "Name of a-sink");
  EXPECT_EQ(a.settings.at("output"), "log");
  EXPECT_EQ(a.checkpoint, (SourcePosition{42, 42})) << "the last save wins";
  EXPECT_TRUE(a.run_requested);
  EXPECT_FALSE(a.error);
  EXPECT_FALSE(b.checkpoint);
  EXPECT_FALSE(b.run_requested);
  ASSERT_TRUE(b.error);
  EXPECT_EQ(b.error->message, "broker down");
}

TEST_F(StateStoreTest, SavingTheDefinitionKeepsTheCheckpointAndReplaceClearsIt) {
  auto store = open();
  ASSERT_TRUE(store->save_definition(definition("c-sink")).ok());
  ASSERT_TRUE(store->save_checkpoint("c-sink", SourcePosition{7, 7}).ok());
  auto renamed = definition("c-sink");
  renamed.name = "Renamed";
  ASSERT_TRUE(store->save_definition(renamed).ok());
  auto loaded = store->load_all();
  ASSERT_EQ(loaded->size(), 1u);
  EXPECT_EQ((*loaded)[0].name, "Renamed");
  EXPECT_EQ((*loaded)[0].checkpoint, (SourcePosition{7, 7}));

  ASSERT_TRUE(store->replace(definition("c-sink")).ok());
  EXPECT_FALSE((*store->load_all())[0].checkpoint) << "create on a deleted id starts afresh";
  ASSERT_TRUE(store->save_checkpoint("c-sink", SourcePosition{3, 3}).ok());
  ASSERT_TRUE(store->save_checkpoint("c-sink", std::nullopt).ok());
  EXPECT_FALSE((*store->load_all())[0].checkpoint) << "nullopt clears it";
}

TEST_F(StateStoreTest, ACheckpointKeepsBothPartsOfAKurrentDbPosition) {
  auto store = open();
  ASSERT_TRUE(store->save_definition(definition("k-sink")).ok());
  ASSERT_TRUE(store->save_checkpoint("k-sink", SourcePosition{1000, 1163}).ok());
  EXPECT_EQ((*open()->load_all())[0].checkpoint, (SourcePosition{1000, 1163}));
  auto replaced = definition("k-sink");
  replaced.checkpoint = SourcePosition{2000, 2042};
  ASSERT_TRUE(store->replace(replaced).ok());
  EXPECT_EQ((*open()->load_all())[0].checkpoint, (SourcePosition{2000, 2042}));
}

}  // namespace
}  // namespace sinkhost::runtime
