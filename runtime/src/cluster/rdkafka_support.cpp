#include "rdkafka_support.hpp"

#include <algorithm>
#include <array>
#include <functional>
#include <thread>

#include <spdlog/spdlog.h>

namespace sinkhost::runtime::cluster {

using connector::ErrorCode;
using connector::make_error;

namespace {

struct EventDeleter {
  void operator()(rd_kafka_event_t* event) const { rd_kafka_event_destroy(event); }
};
struct QueueDeleter {
  void operator()(rd_kafka_queue_t* queue) const { rd_kafka_queue_destroy(queue); }
};
struct AdminOptionsDeleter {
  void operator()(rd_kafka_AdminOptions_t* options) const { rd_kafka_AdminOptions_destroy(options); }
};
struct NewTopicDeleter {
  void operator()(rd_kafka_NewTopic_t* topic) const { rd_kafka_NewTopic_destroy(topic); }
};
struct ConfigResourceDeleter {
  void operator()(rd_kafka_ConfigResource_t* resource) const { rd_kafka_ConfigResource_destroy(resource); }
};
struct TopicDeleter {
  void operator()(rd_kafka_topic_t* topic) const { rd_kafka_topic_destroy(topic); }
};
struct MetadataDeleter {
  void operator()(const rd_kafka_metadata_t* metadata) const { rd_kafka_metadata_destroy(metadata); }
};
using EventPtr = std::unique_ptr<rd_kafka_event_t, EventDeleter>;
using QueuePtr = std::unique_ptr<rd_kafka_queue_t, QueueDeleter>;
using AdminOptionsPtr = std::unique_ptr<rd_kafka_AdminOptions_t, AdminOptionsDeleter>;
using NewTopicPtr = std::unique_ptr<rd_kafka_NewTopic_t, NewTopicDeleter>;
using ConfigResourcePtr = std::unique_ptr<rd_kafka_ConfigResource_t, ConfigResourceDeleter>;
using TopicPtr = std::unique_ptr<rd_kafka_topic_t, TopicDeleter>;
using MetadataPtr = std::unique_ptr<const rd_kafka_metadata_t, MetadataDeleter>;

// librdkafka's log lines (syslog levels) in the runtime's log.
void log_line(const rd_kafka_t* client, int level, const char* facility, const char* text) {
  const char* name = rd_kafka_name(client);
  if (level <= 3) {
    spdlog::error("[cluster] {} {}: {}", name, facility, text);
  } else if (level == 4) {
    spdlog::warn("[cluster] {} {}: {}", name, facility, text);
  } else if (level <= 6) {
    spdlog::info("[cluster] {} {}: {}", name, facility, text);
  } else {
    spdlog::debug("[cluster] {} {}: {}", name, facility, text);
  }
}

Result<void> set_property(rd_kafka_conf_t* conf, const std::string& name, const std::string& value) {
  std::array<char, 512> reason{};
  if (rd_kafka_conf_set(conf, name.c_str(), value.c_str(), reason.data(), reason.size()) != RD_KAFKA_CONF_OK) {
    return make_error(ErrorCode::invalid_argument,
                      "Kafka client property '" + name + "' was refused: " + std::string(reason.data()));
  }
  return {};
}

}  // namespace

bool transient(rd_kafka_resp_err_t code) {
  switch (code) {
    case RD_KAFKA_RESP_ERR__TIMED_OUT:
    case RD_KAFKA_RESP_ERR__MSG_TIMED_OUT:
    case RD_KAFKA_RESP_ERR__TRANSPORT:
    case RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN:
    case RD_KAFKA_RESP_ERR__RESOLVE:
    case RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT:
    case RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS:
    case RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS_AFTER_APPEND:
    case RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE:
    case RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION:
    case RD_KAFKA_RESP_ERR_NOT_CONTROLLER:
    case RD_KAFKA_RESP_ERR_COORDINATOR_NOT_AVAILABLE: return true;
    default: return false;
  }
}

namespace {

bool denied(rd_kafka_resp_err_t code) {
  return code == RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED || code == RD_KAFKA_RESP_ERR_GROUP_AUTHORIZATION_FAILED ||
         code == RD_KAFKA_RESP_ERR_CLUSTER_AUTHORIZATION_FAILED ||
         code == RD_KAFKA_RESP_ERR_TRANSACTIONAL_ID_AUTHORIZATION_FAILED || code == RD_KAFKA_RESP_ERR__AUTHENTICATION ||
         code == RD_KAFKA_RESP_ERR_SASL_AUTHENTICATION_FAILED;
}

// The broker refused what was asked of it (a topic's partitions, replication or configs).
bool refused_request(rd_kafka_resp_err_t code) {
  return code == RD_KAFKA_RESP_ERR_INVALID_REPLICATION_FACTOR || code == RD_KAFKA_RESP_ERR_INVALID_PARTITIONS ||
         code == RD_KAFKA_RESP_ERR_INVALID_CONFIG || code == RD_KAFKA_RESP_ERR_TOPIC_EXCEPTION ||
         code == RD_KAFKA_RESP_ERR_POLICY_VIOLATION;
}

// Runs one admin request: `start` sends it on the queue given; returns its result event, or the
// request's error (a timeout when the brokers did not answer).
Result<EventPtr> admin_call(rd_kafka_t* client, rd_kafka_admin_op_t op, std::chrono::milliseconds timeout,
                            const std::string& what,
                            const std::function<void(rd_kafka_AdminOptions_t*, rd_kafka_queue_t*)>& start) {
  AdminOptionsPtr options(rd_kafka_AdminOptions_new(client, op));
  std::array<char, 512> reason{};
  const int timeout_ms = static_cast<int>(timeout.count());
  rd_kafka_AdminOptions_set_request_timeout(options.get(), timeout_ms, reason.data(), reason.size());
  if (op == RD_KAFKA_ADMIN_OP_CREATETOPICS) {
    rd_kafka_AdminOptions_set_operation_timeout(options.get(), timeout_ms, reason.data(), reason.size());
  }
  QueuePtr queue(rd_kafka_queue_new(client));
  start(options.get(), queue.get());
  // librdkafka answers by the request timeout; the extra second covers its own scheduling.
  EventPtr event(rd_kafka_queue_poll(queue.get(), timeout_ms + 1000));
  if (!event) return kafka_error(what, RD_KAFKA_RESP_ERR__TIMED_OUT);
  if (auto code = rd_kafka_event_error(event.get())) {
    return kafka_error(what, code, rd_kafka_event_error_string(event.get()));
  }
  return event;
}

}  // namespace

Result<ConfPtr> client_conf(const KafkaClientConfig& client, const Properties& own) {
  ConfPtr conf(rd_kafka_conf_new());
  auto set = set_property(conf.get(), "bootstrap.servers", client.bootstrap_servers);
  if (!set.ok()) return set.error();
  for (const auto& [name, value] : client.properties) {
    if (set = set_property(conf.get(), name, value); !set.ok()) return set.error();
  }
  for (const auto& [name, value] : own) {
    if (set = set_property(conf.get(), name, value); !set.ok()) return set.error();
  }
  rd_kafka_conf_set_log_cb(conf.get(), log_line);
  return conf;
}

Result<ClientPtr> new_client(rd_kafka_type_t type, ConfPtr conf) {
  std::array<char, 512> reason{};
  // rd_kafka_new owns the configuration once it succeeds.
  rd_kafka_t* client = rd_kafka_new(type, conf.get(), reason.data(), reason.size());
  if (client == nullptr) {
    return make_error(ErrorCode::invalid_argument,
                      "cannot create the Kafka " + std::string(type == RD_KAFKA_PRODUCER ? "producer" : "consumer") +
                          ": " + std::string(reason.data()));
  }
  static_cast<void>(conf.release());
  return ClientPtr(client);
}

Error kafka_error(const std::string& what, rd_kafka_resp_err_t code, const std::string& detail) {
  std::string message = what + ": " + rd_kafka_err2str(code);
  if (!detail.empty() && detail != rd_kafka_err2str(code)) message += " (" + detail + ")";
  if (transient(code)) return make_error(ErrorCode::unavailable, message);
  if (denied(code)) return make_error(ErrorCode::permission_denied, message);
  if (refused_request(code)) return make_error(ErrorCode::invalid_argument, message);
  return make_error(ErrorCode::internal, message);
}

Result<bool> ensure_topic(rd_kafka_t* client, const TopicSpec& topic, std::chrono::milliseconds timeout) {
  std::array<char, 512> reason{};
  NewTopicPtr new_topic(rd_kafka_NewTopic_new(topic.name.c_str(), topic.partitions, topic.replication_factor,
                                              reason.data(), reason.size()));
  if (!new_topic) {
    return make_error(ErrorCode::invalid_argument,
                      "cannot describe topic '" + topic.name + "' for creation: " + std::string(reason.data()));
  }
  for (const auto& [name, value] : topic.configs) {
    rd_kafka_NewTopic_set_config(new_topic.get(), name.c_str(), value.c_str());
  }
  const std::string what = "creating topic '" + topic.name + "'";
  auto event = admin_call(client, RD_KAFKA_ADMIN_OP_CREATETOPICS, timeout, what,
                          [&](rd_kafka_AdminOptions_t* options, rd_kafka_queue_t* queue) {
                            rd_kafka_NewTopic_t* topics[] = {new_topic.get()};
                            rd_kafka_CreateTopics(client, topics, 1, options, queue);
                          });
  if (!event.ok()) return event.error();
  std::size_t count = 0;
  const auto* results = rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(event->get()), &count);
  if (count != 1)
    return make_error(ErrorCode::internal, what + ": the broker answered for " + std::to_string(count) + " topics");
  const auto code = rd_kafka_topic_result_error(results[0]);
  if (code == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) return false;
  if (code != RD_KAFKA_RESP_ERR_NO_ERROR) {
    const char* detail = rd_kafka_topic_result_error_string(results[0]);
    return kafka_error(what, code, detail != nullptr ? detail : "");
  }
  return true;
}

namespace {
Result<std::map<std::string, std::string>> describe_topic_configs(rd_kafka_t* client, const std::string& topic,
                                                                  std::chrono::milliseconds timeout);
}  // namespace

Result<std::map<std::string, std::string>> topic_configs(rd_kafka_t* client, const std::string& topic,
                                                         std::chrono::milliseconds timeout) {
  // A topic another host has just created may be unknown to the broker answering for a moment
  // (hosts of a new cluster start together and race to create its topics).
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    auto configs = describe_topic_configs(client, topic, std::max(left, std::chrono::milliseconds(1)));
    if (configs.ok() || configs.error().code != ErrorCode::not_found || std::chrono::steady_clock::now() >= deadline) {
      return configs;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

namespace {
// One DescribeConfigs request; not_found when the broker does not know the topic.
Result<std::map<std::string, std::string>> describe_topic_configs(rd_kafka_t* client, const std::string& topic,
                                                                  std::chrono::milliseconds timeout) {
  ConfigResourcePtr resource(rd_kafka_ConfigResource_new(RD_KAFKA_RESOURCE_TOPIC, topic.c_str()));
  const std::string what = "describing the configuration of topic '" + topic + "'";
  auto event = admin_call(client, RD_KAFKA_ADMIN_OP_DESCRIBECONFIGS, timeout, what,
                          [&](rd_kafka_AdminOptions_t* options, rd_kafka_queue_t* queue) {
                            rd_kafka_ConfigResource_t* resources[] = {resource.get()};
                            rd_kafka_DescribeConfigs(client, resources, 1, options, queue);
                          });
  if (!event.ok()) return event.error();
  std::size_t count = 0;
  const auto* described =
      rd_kafka_DescribeConfigs_result_resources(rd_kafka_event_DescribeConfigs_result(event->get()), &count);
  if (count != 1)
    return make_error(ErrorCode::internal, what + ": the broker answered for " + std::to_string(count) + " resources");
  if (auto code = rd_kafka_ConfigResource_error(described[0])) {
    const char* detail = rd_kafka_ConfigResource_error_string(described[0]);
    if (code == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART) {
      return make_error(ErrorCode::not_found, what + ": " + rd_kafka_err2str(code));
    }
    return kafka_error(what, code, detail != nullptr ? detail : "");
  }
  std::size_t entries = 0;
  const auto* configs = rd_kafka_ConfigResource_configs(described[0], &entries);
  std::map<std::string, std::string> result;
  for (std::size_t i = 0; i < entries; ++i) {
    const char* value = rd_kafka_ConfigEntry_value(configs[i]);
    result[rd_kafka_ConfigEntry_name(configs[i])] = value != nullptr ? value : "";
  }
  return result;
}
}  // namespace

Result<int> partition_count(rd_kafka_t* client, const std::string& topic, std::chrono::milliseconds timeout) {
  TopicPtr handle(rd_kafka_topic_new(client, topic.c_str(), nullptr));
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  rd_kafka_resp_err_t last = RD_KAFKA_RESP_ERR__TIMED_OUT;
  while (std::chrono::steady_clock::now() < deadline) {
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    const rd_kafka_metadata_t* raw = nullptr;
    last = rd_kafka_metadata(client, 0, handle.get(), &raw, static_cast<int>(std::max<long long>(left.count(), 1)));
    if (last == RD_KAFKA_RESP_ERR_NO_ERROR) {
      MetadataPtr metadata(raw);
      if (metadata->topic_cnt == 1 && metadata->topics[0].err == RD_KAFKA_RESP_ERR_NO_ERROR &&
          metadata->topics[0].partition_cnt > 0) {
        return metadata->topics[0].partition_cnt;
      }
      last = metadata->topic_cnt == 1 ? metadata->topics[0].err : RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC;
    }
    // A topic not known yet may appear; an authorization failure will not go away.
    const bool may_appear = last == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART || last == RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC;
    if (!may_appear && !transient(last)) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return kafka_error("reading the metadata of topic '" + topic + "'", last);
}

}  // namespace sinkhost::runtime::cluster
