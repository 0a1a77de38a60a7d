#pragma once

#include <string>
#include <utility>
#include <vector>

namespace sinkhost::runtime::cluster {

// How the hosts of a cluster reach its Kafka brokers: the bootstrap servers, and any other
// librdkafka client properties every client of the cluster gets (security.protocol, sasl.*,
// ssl.*). The clients' own properties (acks, idempotence, group settings) are set after these and
// cannot be overridden by them.
struct KafkaClientConfig {
  std::string bootstrap_servers;
  std::vector<std::pair<std::string, std::string>> properties;
};

}  // namespace sinkhost::runtime::cluster
