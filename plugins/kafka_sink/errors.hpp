#pragma once
// How kafka-sink reads librdkafka's errors: which ones no retry will fix, which google.rpc
// code they map to, and which client-level errors mean bad credentials or certificates.
#include <librdkafka/rdkafka.h>

#include <string_view>

#include "sinkhost/connector/result.hpp"

namespace sinkhost::kafka_sink {

// Delivery errors that no retry will fix: the connector stops and says why.
bool is_permanent_delivery_error(rd_kafka_resp_err_t err);

// The topic or partition is not known (yet): permanent when it does not exist, but also what
// librdkafka reports for a topic created a moment ago whose metadata has not reached every broker
// (confluentinc/librdkafka#4904), or that a broker that just started has not loaded. A new
// producer, with fresh metadata, sees the topic then.
bool is_unknown_topic(rd_kafka_resp_err_t err);

connector::ErrorCode code_for(rd_kafka_resp_err_t err);

// What an error callback's error means for the connection.
enum class ClientErrorKind {
  authentication,  // SASL refused the credentials
  tls,             // the TLS handshake failed (untrusted CA, certificate refused or missing)
  unreachable,     // a broker down, unresolvable, or not answering: retrying may help
  fatal,           // the idempotent producer is dead
  other,
};
ClientErrorKind classify_client_error(rd_kafka_resp_err_t err, std::string_view reason);

}  // namespace sinkhost::kafka_sink
