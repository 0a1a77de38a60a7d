#include "producer_config.hpp"

#include <algorithm>
#include <array>
#include <string_view>

#include "key_extractor.hpp"
#include "topic_template.hpp"

namespace sinkhost::kafka_sink {

using connector::ErrorCode;
using connector::FieldViolation;
using connector::make_error;

namespace {

constexpr std::string_view kPassThroughPrefix = "producer:";

// Pass-through properties that would break what sinkhost promises: at-least-once with order
// per partition (acks, idempotence, retries; in-flight limits above 5), where records land
// (partitioner), security (every security.*, sasl.*, ssl.* property is a setting of its own),
// or the process itself (plugins load code; callbacks and opaques are not strings).
bool refused_property(std::string_view name) {
  static constexpr std::array<std::string_view, 18> exact = {"acks",
                                                             "request.required.acks",
                                                             "enable.idempotence",
                                                             "retries",
                                                             "message.send.max.retries",
                                                             "enable.gapless.guarantee",
                                                             "transactional.id",
                                                             "partitioner",
                                                             "sticky.partitioning.linger.ms",
                                                             "bootstrap.servers",
                                                             "metadata.broker.list",
                                                             "client.id",
                                                             "security.protocol",
                                                             "plugin.library.paths",
                                                             "interceptors",
                                                             "dr_cb",
                                                             "dr_msg_cb",
                                                             "enable.ssl.certificate.verification"};
  if (std::find(exact.begin(), exact.end(), name) != exact.end()) return true;
  return name.starts_with("sasl.") || name.starts_with("ssl.") || name.starts_with("ssl_") || name.ends_with("_cb") ||
         name == "opaque" || name == "background_event_cb";
}

// The idempotent producer keeps order per partition with at most 5 requests in flight per
// connection: a lower limit is the user's choice (fewer requests pipelined), a higher one is not.
bool in_flight_limit(std::string_view name) {
  return name == "max.in.flight.requests.per.connection" || name == "max.in.flight";
}
bool valid_in_flight_limit(const std::string& value) { return value.size() == 1 && value[0] >= '1' && value[0] <= '5'; }

const char* security_protocol(const std::string& value) {
  if (value == "saslPlaintext") return "SASL_PLAINTEXT";
  if (value == "saslSsl") return "SASL_SSL";
  if (value == "ssl") return "SSL";
  return "PLAINTEXT";
}

const char* sasl_mechanism(const std::string& value) {
  if (value == "scramSha256") return "SCRAM-SHA-256";
  if (value == "scramSha512") return "SCRAM-SHA-512";
  if (value == "oauthBearer") return "OAUTHBEARER";
  return "PLAIN";
}

// librdkafka's OIDC client (client credentials, refreshed at 80% of the token's life), or its
// unsecured JWT for brokers with Kafka's default validator.
void add_oauth_properties(const KafkaSinkSettings& s, std::vector<std::pair<std::string, std::string>>& properties) {
  if (s.oauth_method == "unsecuredJwt") {
    properties.emplace_back("enable.sasl.oauthbearer.unsecure.jwt", "true");
    properties.emplace_back("sasl.oauthbearer.config", "principal=" + s.oauth_principal);
    return;
  }
  properties.emplace_back("sasl.oauthbearer.method", "oidc");
  properties.emplace_back("sasl.oauthbearer.token.endpoint.url", s.oauth_token_endpoint_url);
  properties.emplace_back("sasl.oauthbearer.client.id", s.oauth_client_id);
  properties.emplace_back("sasl.oauthbearer.client.secret", s.oauth_client_secret);
  if (!s.oauth_scope.empty()) properties.emplace_back("sasl.oauthbearer.scope", s.oauth_scope);
  if (!s.oauth_extensions.empty()) properties.emplace_back("sasl.oauthbearer.extensions", s.oauth_extensions);
}

std::string lower(std::string text) {
  for (auto& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return text;
}

}  // namespace

connector::Result<ConfPtr> build_producer_conf(const KafkaSinkSettings& s, const std::string& connector_id) {
  ConfPtr conf(rd_kafka_conf_new());
  std::vector<std::pair<std::string, std::string>> properties = {
      {"bootstrap.servers", s.bootstrap_servers},
      {"client.id", s.client_id.value_or("sinkhost-" + connector_id)},
      // Idempotence implies acks=all and keeps order per partition across retries.
      {"enable.idempotence", "true"},
      {"compression.type", lower(s.compression_type)},
      {"compression.level", std::to_string(s.compression_level)},
      {"broker.address.family", lower(s.broker_address_family)},
      {"reconnect.backoff.max.ms", std::to_string(s.reconnect_backoff_max_ms)},
      {"message.send.max.retries", std::to_string(s.message_send_max_retries)},
      // A broker that is down is waited for, not given up on: records stay in flight (and the
      // connector reports itself degraded) until they are delivered. Permanent errors still
      // fail them at once.
      {"message.timeout.ms", "0"},
      // Bound what waits in librdkafka's queue (its default is 1 GiB).
      {"queue.buffering.max.kbytes", "65536"},
      // Unkeyed messages go round-robin through our partitioner; librdkafka's sticky
      // partitioning would otherwise place them itself, in runs on one partition.
      {"sticky.partitioning.linger.ms", "0"},
  };
  properties.emplace_back("security.protocol", security_protocol(s.security_protocol));
  if (s.oauth()) {
    properties.emplace_back("sasl.mechanisms", "OAUTHBEARER");
    add_oauth_properties(s, properties);
  } else if (s.sasl()) {
    properties.emplace_back("sasl.mechanisms", sasl_mechanism(s.sasl_mechanism));
    properties.emplace_back("sasl.username", s.username);
    properties.emplace_back("sasl.password", s.password);
  }
  if (s.tls()) {
    if (s.ca_certificate) properties.emplace_back("ssl.ca.pem", *s.ca_certificate);
    if (s.client_certificate) properties.emplace_back("ssl.certificate.pem", *s.client_certificate);
    if (s.client_key) properties.emplace_back("ssl.key.pem", *s.client_key);
    if (!s.verify_certificates) {
      properties.emplace_back("enable.ssl.certificate.verification", "false");
      properties.emplace_back("ssl.endpoint.identification.algorithm", "none");
    } else {
      properties.emplace_back("ssl.endpoint.identification.algorithm", "https");
    }
  }
  for (const auto& [name, value] : s.producer_properties) properties.emplace_back(name, value);
  // The topic's limit as the producer's: a larger record is refused before it is sent (and goes
  // to the dead-letter topic alone), and no batch grows past it, so the broker never refuses a
  // whole batch of good records for one large one.
  if (s.dead_letter_max_message_bytes) {
    properties.emplace_back("message.max.bytes", std::to_string(*s.dead_letter_max_message_bytes));
    properties.emplace_back("batch.size", std::to_string(*s.dead_letter_max_message_bytes));
  }

  char reason[512];
  for (const auto& [name, value] : properties) {
    if (rd_kafka_conf_set(conf.get(), name.c_str(), value.c_str(), reason, sizeof reason) != RD_KAFKA_CONF_OK) {
      // Never echo the value: it may be a password or a key.
      return make_error(ErrorCode::invalid_argument, "Kafka producer property " + name + ": " + reason);
    }
  }
  return conf;
}

std::string describe_authentication(const KafkaSinkSettings& s) {
  if (!s.sasl()) return s.security_protocol;
  if (s.oauth() && s.oauth_method == "unsecuredJwt")
    return "SASL oauthBearer (unsecured JWT for '" + s.oauth_principal + "')";
  if (s.oauth()) return "SASL oauthBearer as client '" + s.oauth_client_id + "' from " + s.oauth_token_endpoint_url;
  return "SASL " + s.sasl_mechanism + " as '" + s.username + "'";
}

namespace {

// A loopback host in an http(s) URL: 127.0.0.0/8, ::1, localhost.
bool loopback_url(std::string_view url) {
  const auto scheme_end = url.find("://");
  if (scheme_end == std::string_view::npos) return false;
  auto host = url.substr(scheme_end + 3);
  host = host.substr(0, host.find_first_of("/?#"));
  if (const auto at = host.rfind('@'); at != std::string_view::npos) host = host.substr(at + 1);
  if (host.starts_with("[")) return host.starts_with("[::1]");
  host = host.substr(0, host.find(':'));
  return host == "localhost" || host.starts_with("127.");
}

void check_oauth(const KafkaSinkSettings& s, std::vector<FieldViolation>& violations) {
  const std::string why = "required with saslMechanism oauthBearer and oauth:method " + s.oauth_method;
  if (s.oauth_method == "unsecuredJwt") {
    if (s.oauth_principal.empty()) violations.push_back({"authentication:oauth:principal", why});
    return;
  }
  const auto& url = s.oauth_token_endpoint_url;
  if (url.empty()) {
    violations.push_back({"authentication:oauth:tokenEndpointUrl", why});
  } else if (!url.starts_with("https://") && !(url.starts_with("http://") && loopback_url(url))) {
    violations.push_back({"authentication:oauth:tokenEndpointUrl",
                          "must be an https URL (http only on a loopback address): the client secret travels to it"});
  }
  if (s.oauth_client_id.empty()) violations.push_back({"authentication:oauth:clientId", why});
  if (s.oauth_client_secret.empty()) violations.push_back({"authentication:oauth:clientSecret", why});
}

// SASL needs credentials, a client key needs its certificate, TLS material needs TLS and PEM.
void check_authentication(const KafkaSinkSettings& s, std::vector<FieldViolation>& violations) {
  const auto& protocol = s.security_protocol;
  if (s.oauth()) {
    check_oauth(s, violations);
  } else if (s.sasl()) {
    if (s.username.empty())
      violations.push_back({"authentication:username", "required when securityProtocol is " + protocol});
    if (s.password.empty())
      violations.push_back({"authentication:password", "required when securityProtocol is " + protocol});
  }
  const std::string no_value;
  const auto& ca = s.ca_certificate.value_or(no_value);
  const auto& cert = s.client_certificate.value_or(no_value);
  const auto& key = s.client_key.value_or(no_value);
  const bool has_cert = !cert.empty();
  const bool has_key = !key.empty();
  if (has_cert != has_key) {
    violations.push_back({has_cert ? "authentication:tls:clientKey" : "authentication:tls:clientCertificate",
                          "a client certificate and its key go together"});
  }
  if (!s.tls()) {
    for (const auto& [name, value] :
         {std::pair{"authentication:tls:caCertificate", &ca}, std::pair{"authentication:tls:clientCertificate", &cert},
          std::pair{"authentication:tls:clientKey", &key}}) {
      if (!value->empty()) {
        violations.push_back({name, "only used with securityProtocol ssl or saslSsl, not " + protocol});
      }
    }
  }
  for (const auto& [name, value] :
       {std::pair{"authentication:tls:caCertificate", &ca}, std::pair{"authentication:tls:clientCertificate", &cert}}) {
    if (!value->empty() && value->find("-----BEGIN CERTIFICATE-----") == std::string::npos) {
      violations.push_back({name, "must be PEM text (-----BEGIN CERTIFICATE----- ...)"});
    }
  }
  if (has_key && key.find("PRIVATE KEY-----") == std::string::npos) {
    violations.push_back(
        {"authentication:tls:clientKey", "must be an unencrypted PEM private key (-----BEGIN PRIVATE KEY----- ...)"});
  }
}

// Pass-through properties: refused ones, then let librdkafka judge names and values.
void check_pass_through(const KafkaSinkSettings& s, std::vector<FieldViolation>& violations) {
  ConfPtr scratch(rd_kafka_conf_new());
  char reason[512];
  for (const auto& [name, value] : s.producer_properties) {
    const auto key = std::string(kPassThroughPrefix) + name;
    if (refused_property(name)) {
      violations.push_back({key,
                            "not allowed: sinkhost sets it to keep its delivery and security guarantees, "
                            "or it has a setting of its own (see docs/plugins/kafka-sink.md)"});
    } else if (in_flight_limit(name) && !valid_in_flight_limit(value)) {
      violations.push_back({key,
                            "must be 1 to 5: the idempotent producer keeps order per partition with at most "
                            "5 requests in flight, got '" +
                                value + "'"});
    } else if (rd_kafka_conf_set(scratch.get(), name.c_str(), value.c_str(), reason, sizeof reason) !=
               RD_KAFKA_CONF_OK) {
      violations.push_back({key, std::string("librdkafka: ") + reason});
    }
  }
}

void check_dead_letter(const KafkaSinkSettings& s, std::vector<FieldViolation>& violations) {
  const auto& topic = s.dead_letter_topic;
  if (topic.empty()) {
    if (s.dead_letter_enabled) violations.push_back({"deadLetter:topic", "required with deadLetter:enabled=true"});
    return;
  }
  if (topic.size() > 249 || !std::all_of(topic.begin(), topic.end(), legal_topic_char)) {
    violations.push_back({"deadLetter:topic", "'" + topic +
                                                  "' is not a topic name: use ASCII letters, digits, '.', '_' and "
                                                  "'-' (no template)"});
  } else if (s.dead_letter_max_message_bytes &&
             (s.producer_properties.contains("message.max.bytes") || s.producer_properties.contains("batch.size"))) {
    violations.push_back(
        {"deadLetter:maxMessageBytes", "sets message.max.bytes and batch.size: do not also pass them with producer:"});
  } else if (topic == s.topic) {
    violations.push_back({"deadLetter:topic",
                          "must not be the topic itself: a record the topic refused would be "
                          "refused again"});
  }
}

}  // namespace

std::vector<FieldViolation> check_settings(const KafkaSinkSettings& s) {
  std::vector<FieldViolation> violations;
  check_authentication(s, violations);
  check_pass_through(s, violations);
  if (auto extractor = KeyExtractor::create(s); !extractor.ok()) {
    for (auto& v : extractor.error().field_violations) violations.push_back(std::move(v));
  }
  if (auto topic = TopicTemplate::parse(s.topic); !s.topic.empty() && !topic.ok()) {
    for (auto& v : topic.error().field_violations) violations.push_back(std::move(v));
  }
  check_dead_letter(s, violations);
  return violations;
}

std::vector<FieldViolation> check_settings_map(const connector::Settings& settings) {
  return check_settings(KafkaSinkSettings::from(settings));
}

}  // namespace sinkhost::kafka_sink
