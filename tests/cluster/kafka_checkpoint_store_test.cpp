// KafkaCheckpointStore against the real test broker: what one host saves, the host that takes a
// connector over loads; a host of an older generation cannot move a connector's checkpoint.
#include <memory>
#include <string>

#include <gtest/gtest.h>

#include "kafka.hpp"
#include "sinkhost/runtime/cluster/kafka_checkpoint_store.hpp"

namespace sinkhost::runtime::cluster {
namespace {

using connector::ErrorCode;

class KafkaCheckpointStoreTest : public ::testing::Test {
 protected:
  // A host's store on the test's topic, writing with `generation`.
  std::unique_ptr<KafkaCheckpointStore> open(const std::string& host, std::int32_t generation) {
    KafkaTableOptions options;
    options.client.bootstrap_servers = test::kafka_bootstrap();
    options.topic = topic_;
    options.partitions = 3;
    options.writer = WriterStamp{host, generation};
    auto store = KafkaCheckpointStore::open(std::move(options));
    EXPECT_TRUE(store.ok()) << store.error().message;
    return store.ok() ? std::move(*store) : nullptr;
  }

  // What a host starting now would load for the connector.
  std::optional<SourcePosition> fresh_load(const std::string& connector_id) {
    auto store = open("host-fresh", -1);
    if (!store) return std::nullopt;
    auto loaded = store->load_checkpoint(connector_id);
    EXPECT_TRUE(loaded.ok()) << loaded.error().message;
    return loaded.ok() ? *loaded : std::nullopt;
  }

  std::string topic_ = test::unique_topic("cluster-checkpoints");
};

TEST_F(KafkaCheckpointStoreTest, ACheckpointSavedIsWhatANewInstanceLoads) {
  {
    auto host = open("host-1", 1);
    ASSERT_TRUE(host);
    CheckpointStore& checkpoints = *host;
    ASSERT_TRUE(checkpoints.save_checkpoint("c1", {10, 8}).ok());
    ASSERT_TRUE(checkpoints.save_checkpoint("c2", {4, 4}).ok());
    auto last = checkpoints.save_checkpoint("c1", {25, 20});
    ASSERT_TRUE(last.ok()) << last.error().message;
    auto own = host->load_checkpoint("c1");
    ASSERT_TRUE(own.ok());
    EXPECT_EQ(*own, (SourcePosition{25, 20}));
  }
  auto next = open("host-2", 2);
  ASSERT_TRUE(next);
  auto all = next->load_checkpoints();
  ASSERT_TRUE(all.ok()) << all.error().message;
  EXPECT_EQ(*all, (std::map<std::string, SourcePosition>{{"c1", {25, 20}}, {"c2", {4, 4}}}));
  auto none = next->load_checkpoint("never-saved");
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(*none, std::nullopt);
}

TEST_F(KafkaCheckpointStoreTest, TheNewerGenerationWinsAndTheOlderHostsLaterSaveIsRefused) {
  auto host_1 = open("host-1", 1);
  auto host_2 = open("host-2", 2);
  ASSERT_TRUE(host_1 && host_2);
  ASSERT_TRUE(host_1->save_checkpoint("c1", {10, 10}).ok());
  // host-2 took c1 over: it loads where host-1 stood and moves on.
  auto taken_over = host_2->load_checkpoint("c1");
  ASSERT_TRUE(taken_over.ok());
  EXPECT_EQ(*taken_over, (SourcePosition{10, 10}));
  ASSERT_TRUE(host_2->save_checkpoint("c1", {30, 30}).ok());

  // host-1 does not know it was fenced and saves what it delivered since.
  auto refused = host_1->save_checkpoint("c1", {15, 15});
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.error().code, ErrorCode::failed_precondition);
  EXPECT_EQ(refused.error().message,
            "this host no longer owns connector c1 (generation 1 < 2, written by host host-2): its checkpoint is not "
            "saved");
  // Its reset is refused too; its other connectors are its own.
  EXPECT_EQ(host_1->reset_checkpoint("c1").error().code, ErrorCode::failed_precondition);
  EXPECT_TRUE(host_1->save_checkpoint("c2", {15, 15}).ok());

  EXPECT_EQ(fresh_load("c1"), (SourcePosition{30, 30}));
  EXPECT_EQ(fresh_load("c2"), (SourcePosition{15, 15}));
  auto seen_by_1 = host_1->load_checkpoint("c1");
  ASSERT_TRUE(seen_by_1.ok());
  EXPECT_EQ(*seen_by_1, (SourcePosition{30, 30}));
}

TEST_F(KafkaCheckpointStoreTest, AStaleRecordInTheTopicDoesNotMoveTheCheckpointBack) {
  // A fenced host's write that raced the new owner's and landed after it: written here with a
  // generation-1 store that has not read the topic since it opened.
  auto host_1 = open("host-1", 1);
  ASSERT_TRUE(host_1);
  ASSERT_TRUE(host_1->save_checkpoint("c1", {10, 10}).ok());
  auto host_2 = open("host-2", 2);
  ASSERT_TRUE(host_2);
  ASSERT_TRUE(host_2->save_checkpoint("c1", {30, 30}).ok());
  KafkaTableOptions raw;
  raw.client.bootstrap_servers = test::kafka_bootstrap();
  raw.topic = topic_;
  raw.writer = WriterStamp{"host-1", 1};
  auto table = KafkaTable::open(raw);
  ASSERT_TRUE(table.ok()) << table.error().message;
  ASSERT_TRUE((*table)->put("c1", encode_checkpoint({12, 12})).ok());

  EXPECT_EQ(fresh_load("c1"), (SourcePosition{30, 30}));
  auto followed = host_2->load_checkpoint("c1");
  ASSERT_TRUE(followed.ok());
  EXPECT_EQ(*followed, (SourcePosition{30, 30}));
}

TEST_F(KafkaCheckpointStoreTest, AResetRemovesTheCheckpointForEveryLaterLoad) {
  auto host = open("host-1", 1);
  ASSERT_TRUE(host);
  ASSERT_TRUE(host->save_checkpoint("c1", {10, 10}).ok());
  ASSERT_TRUE(host->save_checkpoint("c2", {20, 20}).ok());
  ASSERT_TRUE(host->reset_checkpoint("c1").ok());
  auto own = host->load_checkpoint("c1");
  ASSERT_TRUE(own.ok());
  EXPECT_EQ(*own, std::nullopt);
  EXPECT_EQ(fresh_load("c1"), std::nullopt);
  EXPECT_EQ(fresh_load("c2"), (SourcePosition{20, 20}));
  // Saved again after the reset: back.
  ASSERT_TRUE(host->save_checkpoint("c1", {3, 3}).ok());
  EXPECT_EQ(fresh_load("c1"), (SourcePosition{3, 3}));
}

TEST_F(KafkaCheckpointStoreTest, AGenerationOnlyGrows) {
  auto host = open("host-1", 5);
  ASSERT_TRUE(host);
  host->set_generation(7);
  host->set_generation(6);
  EXPECT_EQ(host->generation(), 7);
  ASSERT_TRUE(host->save_checkpoint("c1", {1, 1}).ok());
  auto older = open("host-2", 6);
  ASSERT_TRUE(older);
  EXPECT_EQ(older->save_checkpoint("c1", {2, 2}).error().code, ErrorCode::failed_precondition);
}

}  // namespace
}  // namespace sinkhost::runtime::cluster
