#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <librdkafka/rdkafka.h>

#include "sinkhost/connector/result.hpp"
#include "sinkhost/runtime/cluster/kafka_client.hpp"

// What the cluster's Kafka clients share: owning handles, client creation, errors, and the
// admin calls that create and check the cluster's topics.
namespace sinkhost::runtime::cluster {

using connector::Error;
using connector::Result;

struct ClientDeleter {
  void operator()(rd_kafka_t* client) const { rd_kafka_destroy(client); }
};
struct ConfDeleter {
  void operator()(rd_kafka_conf_t* conf) const { rd_kafka_conf_destroy(conf); }
};
struct PartitionListDeleter {
  void operator()(rd_kafka_topic_partition_list_t* list) const { rd_kafka_topic_partition_list_destroy(list); }
};
struct MessageDeleter {
  void operator()(rd_kafka_message_t* message) const { rd_kafka_message_destroy(message); }
};

using ClientPtr = std::unique_ptr<rd_kafka_t, ClientDeleter>;
using ConfPtr = std::unique_ptr<rd_kafka_conf_t, ConfDeleter>;
using PartitionListPtr = std::unique_ptr<rd_kafka_topic_partition_list_t, PartitionListDeleter>;
using MessagePtr = std::unique_ptr<rd_kafka_message_t, MessageDeleter>;

using Properties = std::vector<std::pair<std::string, std::string>>;

// A configuration with the cluster's properties, then `own` (which win), and librdkafka's log
// lines sent to the runtime's log. invalid_argument names a property librdkafka refuses.
Result<ConfPtr> client_conf(const KafkaClientConfig& client, const Properties& own);
// Creates a client of `type`; takes the configuration (also when it fails).
Result<ClientPtr> new_client(rd_kafka_type_t type, ConfPtr conf);

// A failure that passes by itself: the brokers unreachable or busy, a partition's leader
// moving or not elected yet (just after the topic was created).
bool transient(rd_kafka_resp_err_t code);

// An Error for a librdkafka failure while doing `what`: unavailable when the brokers could not
// be reached or did not answer in time, permission_denied when the cluster's principal lacks an
// ACL, invalid_argument when the broker refused a topic's settings, internal otherwise.
Error kafka_error(const std::string& what, rd_kafka_resp_err_t code, const std::string& detail = "");

struct TopicSpec {
  std::string name;
  int partitions = 1;
  int replication_factor = -1;
  Properties configs;  // topic configs, e.g. cleanup.policy=compact
};

// Creates the topic unless it exists; true when this call created it.
Result<bool> ensure_topic(rd_kafka_t* client, const TopicSpec& topic, std::chrono::milliseconds timeout);
// The configuration of a topic as the broker describes it (defaults included).
Result<std::map<std::string, std::string>> topic_configs(rd_kafka_t* client, const std::string& topic,
                                                         std::chrono::milliseconds timeout);
// The partition count of a topic from the cluster's metadata, waiting until the metadata knows
// the topic (a topic just created takes a moment to appear).
Result<int> partition_count(rd_kafka_t* client, const std::string& topic, std::chrono::milliseconds timeout);

}  // namespace sinkhost::runtime::cluster
