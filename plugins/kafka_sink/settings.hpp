#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "sinkhost/connector/settings.hpp"
#include "sinkhost/connector/typed_settings.hpp"

namespace sinkhost::kafka_sink {

// Where partitionKeyExtraction takes a message key from (partitionKeyExtraction:source).
enum class KeySource { partition_key, stream, stream_suffix, headers, data };

// A kafka-sink connector's settings as the code reads them. Every field comes from a row of
// settings_schema() (settings.cpp), which holds its name, default, doc and checks: no default
// is written anywhere else. Enumerations without a C++ enum keep the table's spelling.
struct KafkaSinkSettings {
  std::string topic;
  std::string bootstrap_servers;
  std::optional<std::string> client_id;                // nullopt: sinkhost-<connector id>
  std::map<std::string, std::string> default_headers;  // header name -> value

  std::string security_protocol;  // plaintext, saslPlaintext, saslSsl, ssl
  std::string sasl_mechanism;     // plain, scramSha256, scramSha512, oauthBearer
  std::string username;
  std::string password;
  // authentication:oauth:* (saslMechanism oauthBearer)
  std::string oauth_method;  // oidc, unsecuredJwt
  std::string oauth_token_endpoint_url;
  std::string oauth_client_id;
  std::string oauth_client_secret;
  std::string oauth_scope;
  std::string oauth_extensions;  // name=value,name=value
  std::string oauth_principal;   // unsecuredJwt
  std::optional<std::string> ca_certificate;
  std::optional<std::string> client_certificate;
  std::optional<std::string> client_key;
  bool verify_certificates = false;

  bool key_extraction_enabled = false;
  KeySource key_source = KeySource::partition_key;
  std::string key_expression;
  std::optional<std::int32_t> partition;
  std::optional<std::int32_t> default_partition;

  bool dead_letter_enabled = false;  // deadLetter:*
  std::string dead_letter_topic;
  std::int64_t dead_letter_max_records = 0;  // per run; 0: no limit
  std::optional<std::int64_t> dead_letter_max_message_bytes;

  bool wait_for_broker_ack = false;
  std::string compression_type;  // None, Gzip, Lz4, Zstd, Snappy
  std::int64_t compression_level = 0;
  std::string broker_address_family;  // Any, V4, V6
  std::int64_t reconnect_backoff_max_ms = 0;
  std::int64_t message_send_max_retries = 0;
  std::map<std::string, std::string> producer_properties;  // producer:<name> -> value

  bool sasl() const { return security_protocol == "saslPlaintext" || security_protocol == "saslSsl"; }
  bool oauth() const { return sasl() && sasl_mechanism == "oauthBearer"; }
  bool tls() const { return security_protocol == "ssl" || security_protocol == "saslSsl"; }

  // A map of settings (validated, defaults applied or not) as the struct.
  static KafkaSinkSettings from(const connector::Settings& settings);
};

// The kafka-sink settings table, each row bound to its field: validation, defaults, docs,
// masking and parsing all come from it.
const connector::SettingsSchema<KafkaSinkSettings>& settings_schema();

// The plain rows of that table (SinkDescriptor::settings).
const std::vector<connector::SettingSpec>& settings_table();

}  // namespace sinkhost::kafka_sink
