#include "connection_check.hpp"

#include <librdkafka/rdkafka.h>

#include <algorithm>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "errors.hpp"
#include "producer_config.hpp"
#include "rdkafka_handles.hpp"

namespace sinkhost::kafka_sink {

using connector::ConnectionCheck;
using connector::ConnectionStep;
using Clock = std::chrono::steady_clock;

namespace {

// What librdkafka's error callback reported while we waited for the brokers.
struct Observed {
  std::mutex mutex;
  std::optional<std::string> credentials_refused;  // authentication or TLS failure, first one
  bool tls = false;
  std::string last_unreachable;
};

void on_error(rd_kafka_t*, int code, const char* reason, void* opaque) {
  auto* observed = static_cast<Observed*>(opaque);
  std::lock_guard lock(observed->mutex);
  const auto kind = classify_client_error(static_cast<rd_kafka_resp_err_t>(code), reason);
  switch (kind) {
    case ClientErrorKind::authentication:
    case ClientErrorKind::tls:
      if (!observed->credentials_refused) {
        observed->credentials_refused = reason;
        observed->tls = kind == ClientErrorKind::tls;
      }
      break;
    case ClientErrorKind::unreachable: observed->last_unreachable = reason; break;
    default: break;
  }
}

// The check reports what went wrong in its steps; librdkafka's own log lines would only
// repeat it on stderr.
void on_log(const rd_kafka_t*, int, const char*, const char*) {}

std::string milliseconds_text(std::chrono::milliseconds ms) {
  if (ms.count() % 1000 == 0) return std::to_string(ms.count() / 1000) + " s";
  return std::to_string(ms.count()) + " ms";
}

// Records a failed step; the check stops there.
void fail(ConnectionCheck& check, const char* step, std::string detail) {
  check.steps.push_back({step, false, std::move(detail)});
}

// 1. configure: the same producer configuration a connector would run with.
ClientPtr configure(const KafkaSinkSettings& settings, Observed& observed, ConnectionCheck& check) {
  auto conf = build_producer_conf(settings, "connection-check");
  if (!conf.ok()) {
    fail(check, "configure", conf.error().message);
    return nullptr;
  }
  char reason[512];
  // Never create the topic by asking about it: the check writes nothing.
  if (rd_kafka_conf_set(conf->get(), "allow.auto.create.topics", "false", reason, sizeof reason) != RD_KAFKA_CONF_OK) {
    fail(check, "configure", reason);
    return nullptr;
  }
  rd_kafka_conf_set_opaque(conf->get(), &observed);
  rd_kafka_conf_set_error_cb(conf->get(), &on_error);
  rd_kafka_conf_set_log_cb(conf->get(), &on_log);
  ClientPtr client(rd_kafka_new(RD_KAFKA_PRODUCER, conf->get(), reason, sizeof reason));
  if (!client) {
    fail(check, "configure", std::string("cannot create the Kafka client: ") + reason);
    return nullptr;
  }
  (void)conf->release();  // rd_kafka_new took ownership
  check.steps.push_back({"configure", true, "client settings accepted"});
  return client;
}

// 2-3. connect and authenticate: one cluster-wide metadata request, retried in short rounds so
// that refused credentials end the wait at once.
MetadataPtr reach_cluster(rd_kafka_t* client, Observed& observed, const KafkaSinkSettings& settings,
                          Clock::time_point deadline, std::chrono::milliseconds timeout, ConnectionCheck& check) {
  const auto& bootstrap = settings.bootstrap_servers;
  MetadataPtr cluster;
  rd_kafka_resp_err_t last_err = RD_KAFKA_RESP_ERR__TIMED_OUT;
  while (true) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) break;
    const rd_kafka_metadata_t* metadata = nullptr;
    last_err =
        rd_kafka_metadata(client, 1, nullptr, &metadata, static_cast<int>(std::min<std::int64_t>(left.count(), 500)));
    rd_kafka_poll(client, 0);  // serves the error callback
    if (last_err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      cluster.reset(metadata);
      break;
    }
    std::lock_guard lock(observed.mutex);
    if (observed.credentials_refused) break;
  }
  if (!cluster) {
    std::lock_guard lock(observed.mutex);
    if (observed.credentials_refused) {
      check.steps.push_back({"connect", true, "reached a broker at " + bootstrap});
      if (observed.tls) {
        fail(check, "authenticate", "TLS handshake failed: " + *observed.credentials_refused);
      } else {
        fail(check, "authenticate",
             "Kafka authentication failed (" + describe_authentication(settings) +
                 "): " + *observed.credentials_refused);
      }
      return nullptr;
    }
    std::string detail = "no broker at " + bootstrap + " answered within " + milliseconds_text(timeout);
    detail += observed.last_unreachable.empty() ? std::string(" (") + rd_kafka_err2str(last_err) + ")"
                                                : ": " + observed.last_unreachable;
    fail(check, "connect", detail);
    return nullptr;
  }
  std::string brokers;
  for (int i = 0; i < cluster->broker_cnt; ++i) {
    if (!brokers.empty()) brokers += ", ";
    brokers += std::string(cluster->brokers[i].host) + ":" + std::to_string(cluster->brokers[i].port);
  }
  check.steps.push_back({"connect", true, "reached " + std::to_string(cluster->broker_cnt) + " broker(s): " + brokers});
  const auto& protocol = settings.security_protocol;
  check.steps.push_back({"authenticate", true,
                         protocol == "plaintext" ? "no authentication (plaintext)"
                         : protocol == "ssl"     ? "TLS handshake completed"
                                                 : "accepted: " + describe_authentication(settings)});
  return cluster;
}

// 4. list topics: those the credentials can see.
void list_topics(const rd_kafka_metadata_t& cluster, ConnectionCheck& check) {
  for (int i = 0; i < cluster.topic_cnt; ++i) {
    const auto& topic = cluster.topics[i];
    // Internal topics (__consumer_offsets, ...) are not destinations.
    if (topic.err == RD_KAFKA_RESP_ERR_NO_ERROR && !std::string_view(topic.topic).starts_with("__")) {
      check.destinations.emplace_back(topic.topic);
    }
  }
  std::sort(check.destinations.begin(), check.destinations.end());
  check.steps.push_back(
      {"list topics", true, std::to_string(check.destinations.size()) + " topic(s) visible to these credentials"});
}

// 5. find the topic: asked about by name, so that a topic the credentials may not describe
// says so instead of just being absent from the list.
void find_topic(rd_kafka_t* client, const KafkaSinkSettings& settings, Clock::time_point deadline,
                ConnectionCheck& check) {
  const auto& topic_name = settings.topic;
  if (topic_name.find('{') != std::string::npos) {
    check.steps.push_back(
        {"find topic", true, "'" + topic_name + "' is a template: each record's topic is known once it is delivered"});
    return;
  }
  TopicPtr topic(rd_kafka_topic_new(client, topic_name.c_str(), nullptr));
  if (!topic) return fail(check, "find topic", "'" + topic_name + "' is not a valid topic name");
  const rd_kafka_metadata_t* metadata = nullptr;
  const auto left = std::max<std::int64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count(), 1000);
  auto err = rd_kafka_metadata(client, 0, topic.get(), &metadata, static_cast<int>(left));
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
    return fail(check, "find topic", "could not ask about topic '" + topic_name + "': " + rd_kafka_err2str(err));
  }
  MetadataPtr described(metadata);
  if (described->topic_cnt != 1) {
    return fail(check, "find topic", "the broker did not describe topic '" + topic_name + "'");
  }
  const auto& found = described->topics[0];
  switch (found.err) {
    case RD_KAFKA_RESP_ERR_NO_ERROR:
      check.steps.push_back(
          {"find topic", true,
           "topic '" + topic_name + "' has " + std::to_string(found.partition_cnt) + " partition(s)"});
      return;
    case RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART:
    case RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC:
      return fail(check, "find topic",
                  "topic '" + topic_name +
                      "' does not exist (a broker with auto.create.topics.enable=true creates it at the "
                      "first record; otherwise the connector stops with NOT_FOUND)");
    case RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED:
      return fail(check, "find topic",
                  "not authorized to describe topic '" + topic_name + "' (" + describe_authentication(settings) + ")");
    default: return fail(check, "find topic", "topic '" + topic_name + "': " + rd_kafka_err2str(found.err));
  }
}

}  // namespace

ConnectionCheck check_connection(const connector::Settings& map, std::chrono::milliseconds timeout) {
  const auto settings = KafkaSinkSettings::from(map);
  ConnectionCheck check;
  Observed observed;  // outlives the client, whose callbacks write to it
  auto client = configure(settings, observed, check);
  if (!client) return check;
  const auto deadline = Clock::now() + timeout;
  auto cluster = reach_cluster(client.get(), observed, settings, deadline, timeout, check);
  if (!cluster) return check;
  list_topics(*cluster, check);
  find_topic(client.get(), settings, deadline, check);
  return check;
}

}  // namespace sinkhost::kafka_sink
