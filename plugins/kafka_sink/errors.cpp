#include "errors.hpp"

namespace sinkhost::kafka_sink {

using connector::ErrorCode;

bool is_permanent_delivery_error(rd_kafka_resp_err_t err) {
  switch (err) {
    case RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE:
    case RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED:
    case RD_KAFKA_RESP_ERR_CLUSTER_AUTHORIZATION_FAILED:
    case RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC:
    case RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART:
    case RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION:
    case RD_KAFKA_RESP_ERR_INVALID_RECORD: return true;
    default: return false;
  }
}

bool is_unknown_topic(rd_kafka_resp_err_t err) {
  return err == RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC || err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART ||
         err == RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION;
}

ErrorCode code_for(rd_kafka_resp_err_t err) {
  switch (err) {
    case RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED:
    case RD_KAFKA_RESP_ERR_CLUSTER_AUTHORIZATION_FAILED:
    case RD_KAFKA_RESP_ERR__AUTHENTICATION:
    case RD_KAFKA_RESP_ERR_SASL_AUTHENTICATION_FAILED: return ErrorCode::permission_denied;
    case RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC:
    case RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART:
    case RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION: return ErrorCode::not_found;
    case RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE:
    case RD_KAFKA_RESP_ERR_INVALID_RECORD: return ErrorCode::invalid_argument;
    default: return ErrorCode::unavailable;
  }
}

ClientErrorKind classify_client_error(rd_kafka_resp_err_t err, std::string_view reason) {
  if (err == RD_KAFKA_RESP_ERR__FATAL) return ClientErrorKind::fatal;
  if (err == RD_KAFKA_RESP_ERR__AUTHENTICATION || err == RD_KAFKA_RESP_ERR_SASL_AUTHENTICATION_FAILED) {
    return ClientErrorKind::authentication;
  }
  // A broker refusing our certificate (or its absence) reaches us as a transport error that
  // carries the TLS alert; it will not go away by retrying either.
  const bool alert = reason.find("SSL alert") != std::string_view::npos ||
                     reason.find("alert bad certificate") != std::string_view::npos ||
                     reason.find("certificate required") != std::string_view::npos;
  if (err == RD_KAFKA_RESP_ERR__SSL || (err == RD_KAFKA_RESP_ERR__TRANSPORT && alert)) return ClientErrorKind::tls;
  if (err == RD_KAFKA_RESP_ERR__TRANSPORT || err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN ||
      err == RD_KAFKA_RESP_ERR__RESOLVE || err == RD_KAFKA_RESP_ERR__TIMED_OUT) {
    return ClientErrorKind::unreachable;
  }
  return ClientErrorKind::other;
}

}  // namespace sinkhost::kafka_sink
