// KafkaTable against the real test broker: what one host writes, another host reads (by loading
// the topic and by following it), erasures, the topic sinkhost creates, and clear refusals.
#include <chrono>
#include <set>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "kafka.hpp"
#include "sinkhost/runtime/cluster/kafka_table.hpp"

namespace sinkhost::runtime::cluster {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

KafkaTableOptions options_for(const std::string& topic, const std::string& host, int partitions = 1) {
  KafkaTableOptions options;
  options.client.bootstrap_servers = test::kafka_bootstrap();
  options.topic = topic;
  options.partitions = partitions;
  options.writer = WriterStamp{host, 1};
  return options;
}

std::unique_ptr<KafkaTable> open_table(const std::string& topic, const std::string& host, int partitions = 1) {
  auto table = KafkaTable::open(options_for(topic, host, partitions));
  EXPECT_TRUE(table.ok()) << table.error().message;
  return table.ok() ? std::move(*table) : nullptr;
}

// Polls `table` until `count` records arrived or 15 s passed.
std::vector<TableRecord> poll_records(KafkaTable& table, std::size_t count) {
  std::vector<TableRecord> records;
  const auto deadline = Clock::now() + 15s;
  while (records.size() < count && Clock::now() < deadline) {
    auto polled = table.poll(500ms);
    EXPECT_TRUE(polled.ok()) << polled.error().message;
    if (!polled.ok()) break;
    for (auto& record : *polled) records.push_back(std::move(record));
  }
  return records;
}

TEST(KafkaTable, AnotherHostLoadsWhatOneHostWrote) {
  const auto topic = test::unique_topic("cluster-table");
  {
    auto host_a = open_table(topic, "host-a");
    ASSERT_TRUE(host_a);
    ASSERT_TRUE(host_a->put("connector/c1", R"({"v":1})").ok());
    ASSERT_TRUE(host_a->put("connector/c2", R"({"v":1})").ok());
    host_a->set_generation(7);
    auto last = host_a->put("connector/c1", R"({"v":2})");
    ASSERT_TRUE(last.ok()) << last.error().message;
    EXPECT_EQ(last->offset, 2);
  }
  auto host_b = open_table(topic, "host-b");
  ASSERT_TRUE(host_b);
  auto table = host_b->load();
  ASSERT_TRUE(table.ok()) << table.error().message;
  ASSERT_EQ(table->size(), 2U);
  EXPECT_EQ(table->at("connector/c1").value, R"({"v":2})");
  EXPECT_EQ(table->at("connector/c1").stamp, (WriterStamp{"host-a", 7}));
  EXPECT_EQ(table->at("connector/c2").value, R"({"v":1})");
  EXPECT_EQ(table->at("connector/c2").stamp, (WriterStamp{"host-a", 1}));
}

TEST(KafkaTable, AnAcknowledgedPutIsOnTheBrokerWhenPutReturns) {
  const auto topic = test::unique_topic("cluster-table");
  auto host_a = open_table(topic, "host-a");
  ASSERT_TRUE(host_a);
  ASSERT_TRUE(host_a->put("checkpoint/c1", "42").ok());
  // Read back by another client (kcat) while host-a still runs: nothing waits in a buffer.
  auto messages = test::consume(topic, 1, std::chrono::seconds(20));
  ASSERT_EQ(messages.size(), 1U);
  EXPECT_EQ(messages[0].key, "checkpoint/c1");
  EXPECT_EQ(messages[0].value, "42");
  EXPECT_EQ(messages[0].header("sinkhost-host"), "host-a");
  EXPECT_EQ(messages[0].header("sinkhost-generation"), "1");
}

TEST(KafkaTable, FollowingTheTopicDeliversAnotherHostsPutsAndErasures) {
  const auto topic = test::unique_topic("cluster-table");
  auto host_a = open_table(topic, "host-a");
  auto host_b = open_table(topic, "host-b");
  ASSERT_TRUE(host_a && host_b);
  ASSERT_TRUE(host_a->put("x", "1").ok());
  auto table_b = host_b->load();
  ASSERT_TRUE(table_b.ok()) << table_b.error().message;
  ASSERT_EQ(table_b->count("x"), 1U);

  ASSERT_TRUE(host_a->put("y", "2").ok());
  ASSERT_TRUE(host_a->erase("x").ok());
  auto records = poll_records(*host_b, 2);
  ASSERT_EQ(records.size(), 2U);
  EXPECT_EQ(records[0].key, "y");
  EXPECT_EQ(records[0].value, "2");
  EXPECT_EQ(records[0].stamp, (WriterStamp{"host-a", 1}));
  EXPECT_EQ(records[1].key, "x");
  EXPECT_FALSE(records[1].value.has_value());
  for (auto& record : records) apply_record(*table_b, std::move(record));
  ASSERT_EQ(table_b->size(), 1U);
  EXPECT_EQ(table_b->at("y").value, "2");

  // Nothing more: a poll after the last change returns empty.
  auto nothing = host_b->poll(300ms);
  ASSERT_TRUE(nothing.ok());
  EXPECT_TRUE(nothing->empty());
}

TEST(KafkaTable, AnErasedKeyIsGoneForEveryLaterLoad) {
  const auto topic = test::unique_topic("cluster-table");
  auto host_a = open_table(topic, "host-a");
  ASSERT_TRUE(host_a);
  ASSERT_TRUE(host_a->put("keep", "1").ok());
  ASSERT_TRUE(host_a->put("gone", "1").ok());
  ASSERT_TRUE(host_a->erase("gone").ok());
  ASSERT_TRUE(host_a->erase("never-written").ok());
  ASSERT_TRUE(host_a->put("empty", "").ok());
  for (const auto* host : {"host-a-again", "host-b"}) {
    auto reader = open_table(topic, host);
    ASSERT_TRUE(reader);
    auto table = reader->load();
    ASSERT_TRUE(table.ok()) << table.error().message;
    EXPECT_EQ(table->count("gone"), 0U) << host;
    EXPECT_EQ(table->count("never-written"), 0U) << host;
    EXPECT_EQ(table->count("keep"), 1U) << host;
    ASSERT_EQ(table->count("empty"), 1U) << host << ": an empty value is a value, not a tombstone";
    EXPECT_EQ(table->at("empty").value, "");
  }
}

TEST(KafkaTable, CreatesACompactedTopicWithThePartitionsAskedFor) {
  const auto topic = test::unique_topic("cluster-table");
  auto table = open_table(topic, "host-a", 3);
  ASSERT_TRUE(table);
  const auto description = test::describe_topic(topic);
  EXPECT_NE(description.find("PartitionCount: 3"), std::string::npos) << description;
  EXPECT_NE(description.find("cleanup.policy=compact"), std::string::npos) << description;
  // A second host opens the same topic without changing it.
  auto again = open_table(topic, "host-b", 5);
  ASSERT_TRUE(again);
  EXPECT_NE(test::describe_topic(topic).find("PartitionCount: 3"), std::string::npos);
}

TEST(KafkaTable, LoadsEveryPartitionToItsEndAndNoFurther) {
  const auto topic = test::unique_topic("cluster-table");
  auto writer = open_table(topic, "host-a", 4);
  ASSERT_TRUE(writer);
  for (int round = 1; round <= 2; ++round) {
    for (int i = 0; i < 60; ++i) {
      ASSERT_TRUE(writer->put("k" + std::to_string(i), "round " + std::to_string(round)).ok());
    }
  }
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(writer->erase("k" + std::to_string(i)).ok());

  auto reader = open_table(topic, "host-b", 4);
  ASSERT_TRUE(reader);
  const auto started = Clock::now();
  auto table = reader->load();
  ASSERT_TRUE(table.ok()) << table.error().message;
  EXPECT_LT(Clock::now() - started, 10s);
  ASSERT_EQ(table->size(), 50U);
  std::set<int> partitions;
  for (const auto& [key, value] : *table) {
    EXPECT_EQ(value.value, "round 2") << key;
    partitions.insert(value.partition);
  }
  EXPECT_EQ(partitions.size(), 4U) << "the keys should spread over the 4 partitions";

  // A write after the load arrives by poll, not in the loaded table.
  ASSERT_TRUE(writer->put("late", "1").ok());
  auto late = poll_records(*reader, 1);
  ASSERT_EQ(late.size(), 1U);
  EXPECT_EQ(late[0].key, "late");
  EXPECT_EQ(table->count("late"), 0U);
}

TEST(KafkaTable, HostsWritingTheSameKeysAtOnceEndWithTheSameTable) {
  const auto topic = test::unique_topic("cluster-table");
  auto host_a = open_table(topic, "host-a", 3);
  auto host_b = open_table(topic, "host-b", 3);
  ASSERT_TRUE(host_a && host_b);
  auto table_a = host_a->load();
  auto table_b = host_b->load();
  ASSERT_TRUE(table_a.ok() && table_b.ok());

  constexpr int kKeys = 20;
  constexpr int kRounds = 5;
  const auto write_all = [](KafkaTable& table, const std::string& host) {
    for (int round = 0; round < kRounds; ++round) {
      for (int key = 0; key < kKeys; ++key) {
        auto put = table.put("k" + std::to_string(key), host + " round " + std::to_string(round));
        ASSERT_TRUE(put.ok()) << put.error().message;
      }
    }
  };
  std::thread writer_b([&] { write_all(*host_b, "host-b"); });
  write_all(*host_a, "host-a");
  writer_b.join();

  // Each host follows the topic to the end: both see every write, in the topic's order.
  for (auto [table, contents] : {std::pair{host_a.get(), &*table_a}, std::pair{host_b.get(), &*table_b}}) {
    auto records = poll_records(*table, 2 * kKeys * kRounds);
    ASSERT_EQ(records.size(), static_cast<std::size_t>(2 * kKeys * kRounds));
    for (auto& record : records) apply_record(*contents, std::move(record));
  }
  auto fresh = open_table(topic, "host-c", 3);
  ASSERT_TRUE(fresh);
  auto loaded = fresh->load();
  ASSERT_TRUE(loaded.ok()) << loaded.error().message;
  ASSERT_EQ(loaded->size(), static_cast<std::size_t>(kKeys));
  EXPECT_EQ(*table_a, *loaded);
  EXPECT_EQ(*table_b, *loaded);
  for (const auto& [key, value] : *loaded) {
    EXPECT_NE(value.value.find(" round 4"), std::string::npos) << key << ": " << value.value;
    EXPECT_EQ(value.value.substr(0, 6), value.stamp->host_id) << key;
  }
}

TEST(KafkaTable, LoadsAnEmptyTableAtOnce) {
  const auto topic = test::unique_topic("cluster-table");
  auto table = open_table(topic, "host-a", 3);
  ASSERT_TRUE(table);
  const auto started = Clock::now();
  auto contents = table->load();
  ASSERT_TRUE(contents.ok()) << contents.error().message;
  EXPECT_TRUE(contents->empty());
  EXPECT_LT(Clock::now() - started, 5s);
}

TEST(KafkaTable, RefusesATopicThatIsNotCompacted) {
  const auto topic = test::unique_topic("cluster-table-delete");
  test::create_topic(topic, 1);
  auto table = KafkaTable::open(options_for(topic, "host-a"));
  ASSERT_FALSE(table.ok());
  EXPECT_EQ(table.error().code, connector::ErrorCode::failed_precondition);
  EXPECT_NE(table.error().message.find("cleanup.policy=delete"), std::string::npos) << table.error().message;
  EXPECT_NE(table.error().message.find(topic), std::string::npos) << table.error().message;
}

TEST(KafkaTable, SaysTheBrokersAreUnavailableWhenNoneAnswers) {
  auto options = options_for(test::unique_topic("cluster-table"), "host-a");
  options.client.bootstrap_servers = "127.0.0.1:1";
  options.timeout = 2s;
  const auto started = Clock::now();
  auto table = KafkaTable::open(options);
  ASSERT_FALSE(table.ok());
  EXPECT_EQ(table.error().code, connector::ErrorCode::unavailable) << table.error().message;
  EXPECT_NE(table.error().message.find("creating topic"), std::string::npos) << table.error().message;
  EXPECT_LT(Clock::now() - started, 10s);
}

TEST(KafkaTable, SaysWhyTheBrokerRefusedToCreateTheTopic) {
  auto options = options_for(test::unique_topic("cluster-table"), "host-a");
  options.replication_factor = 3;  // the test cluster has one broker
  auto table = KafkaTable::open(options);
  ASSERT_FALSE(table.ok());
  EXPECT_EQ(table.error().code, connector::ErrorCode::invalid_argument) << table.error().message;
  EXPECT_NE(table.error().message.find("replication factor"), std::string::npos) << table.error().message;
}

// The cluster's client properties reach every client of a table (admin, producer, consumer).
KafkaClientConfig sasl_client() {
  auto env = test::kafka_env();
  return KafkaClientConfig{env["KAFKA_SASL_PLAINTEXT_BOOTSTRAP"],
                           {{"security.protocol", "SASL_PLAINTEXT"},
                            {"sasl.mechanism", "SCRAM-SHA-512"},
                            {"sasl.username", env["KAFKA_SASL_USERNAME"]},
                            {"sasl.password", env["KAFKA_SASL_PASSWORD"]}}};
}

TEST(KafkaTable, WorksOverSaslWithTheClustersCredentials) {
  auto options = options_for(test::unique_topic("cluster-table"), "host-a");
  options.client = sasl_client();
  auto writer = KafkaTable::open(options);
  ASSERT_TRUE(writer.ok()) << writer.error().message;
  ASSERT_TRUE((*writer)->put("k", "over SCRAM").ok());
  auto reader = KafkaTable::open(options);
  ASSERT_TRUE(reader.ok()) << reader.error().message;
  auto table = (*reader)->load();
  ASSERT_TRUE(table.ok()) << table.error().message;
  ASSERT_EQ(table->count("k"), 1U);
  EXPECT_EQ(table->at("k").value, "over SCRAM");
}

TEST(KafkaTable, SaysTheClustersPrincipalMayNotUseATopic) {
  auto options = options_for(test::unique_topic(test::kafka_env()["KAFKA_FORBIDDEN_TOPIC_PREFIX"] + "table"), "host-a");
  options.client = sasl_client();
  // The test broker lets everyone create topics (no ACL on the cluster), so the topic may be
  // created; writing and reading it are denied.
  auto table = KafkaTable::open(options);
  if (!table.ok()) {
    EXPECT_EQ(table.error().code, connector::ErrorCode::permission_denied) << table.error().message;
    return;
  }
  const auto started = Clock::now();
  auto put = (*table)->put("k", "v");
  ASSERT_FALSE(put.ok());
  EXPECT_EQ(put.error().code, connector::ErrorCode::permission_denied) << put.error().message;
  EXPECT_NE(put.error().message.find("uthoriz"), std::string::npos) << put.error().message;
  auto load = (*table)->load();
  ASSERT_FALSE(load.ok());
  EXPECT_EQ(load.error().code, connector::ErrorCode::permission_denied) << load.error().message;
  EXPECT_LT(Clock::now() - started, 5s) << "an authorization failure is not waited out";
}

TEST(KafkaTable, RefusesAnUnknownClientProperty) {
  auto options = options_for(test::unique_topic("cluster-table"), "host-a");
  options.client.properties.emplace_back("no.such.property", "1");
  auto table = KafkaTable::open(options);
  ASSERT_FALSE(table.ok());
  EXPECT_EQ(table.error().code, connector::ErrorCode::invalid_argument);
  EXPECT_NE(table.error().message.find("no.such.property"), std::string::npos) << table.error().message;
}

}  // namespace
}  // namespace sinkhost::runtime::cluster
