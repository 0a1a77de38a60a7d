#include "settings.hpp"

namespace sinkhost::kafka_sink {

using connector::enumeration;
using connector::field;
using connector::SettingType;
using S = KafkaSinkSettings;

const connector::SettingsSchema<KafkaSinkSettings>& settings_schema() {
  static const connector::SettingsSchema<KafkaSinkSettings> table({
      field(&S::topic,
            {.name = "topic",
             .required = true,
             .doc = "The Kafka topic records are produced to, or a template that names each record's topic: "
                    "{stream} (the stream id), {event-type} or {schema-subject} (the event type), {metadata:NAME} (a "
                    "metadata entry), e.g. "
                    "orders-{stream}. Characters a topic name cannot hold become '_'. A transform may route a "
                    "record elsewhere (record.topic, record.partition). Not templated in KurrentDB."}),
      field(&S::bootstrap_servers, {.name = "bootstrapServers",
                                    .default_value = "localhost:9092",
                                    .doc = "Comma-separated host:port list of Kafka brokers to connect to first."}),
      field(&S::client_id, {.name = "clientId",
                            .doc = "The client id the brokers see (quotas, logs). Default: sinkhost-<connector id>."}),
      field(&S::default_headers, {.name = "defaultHeaders:",
                                  .doc = "A static header added to every message: defaultHeaders:<Name> = value.",
                                  .prefix = true}),

      field(&S::security_protocol,
            {.name = "authentication:securityProtocol",
             .type = SettingType::enumeration,
             .default_value = "plaintext",
             .allowed_values = {"plaintext", "saslPlaintext", "saslSsl", "ssl"},
             .doc = "plaintext: no TLS, no SASL; saslPlaintext: SASL without TLS; saslSsl: SASL over TLS; ssl: TLS "
                    "without SASL (add a client certificate for mTLS)."}),
      field(&S::sasl_mechanism, {.name = "authentication:saslMechanism",
                                 .type = SettingType::enumeration,
                                 .default_value = "plain",
                                 .allowed_values = {"plain", "scramSha256", "scramSha512", "oauthBearer"},
                                 .doc = "The SASL mechanism for saslPlaintext and saslSsl. oauthBearer: OAuth 2.0 "
                                        "tokens (authentication:oauth:*) instead of a user name and password."}),
      field(&S::username, {.name = "authentication:username", .doc = "The SASL user name."}),
      field(&S::password, {.name = "authentication:password", .secret = true, .doc = "The SASL password."}),
      field(&S::oauth_method,
            {.name = "authentication:oauth:method",
             .type = SettingType::enumeration,
             .default_value = "oidc",
             .allowed_values = {"oidc", "unsecuredJwt"},
             .doc = "oidc: tokens from an OAuth 2.0 token endpoint with the client credentials grant, refreshed before "
                    "they expire (Confluent Cloud, Azure Event Hubs, Keycloak); unsecuredJwt: an unsigned token for "
                    "authentication:oauth:principal, for brokers with Kafka's default unsecured validator (local "
                    "development only)."}),
      field(&S::oauth_token_endpoint_url, {.name = "authentication:oauth:tokenEndpointUrl",
                                           .doc = "The token endpoint (oidc). https, except on a loopback address."}),
      field(&S::oauth_client_id, {.name = "authentication:oauth:clientId", .doc = "The OAuth client id (oidc)."}),
      field(&S::oauth_client_secret,
            {.name = "authentication:oauth:clientSecret", .secret = true, .doc = "The OAuth client secret (oidc)."}),
      field(&S::oauth_scope,
            {.name = "authentication:oauth:scope", .doc = "The scope(s) to ask for (oidc), space-separated."}),
      field(&S::oauth_extensions,
            {.name = "authentication:oauth:extensions",
             .doc = "SASL extensions sent with the token, as name=value pairs separated by commas (Confluent Cloud: "
                    "logicalCluster=lkc-...,identityPoolId=pool-...)."}),
      field(&S::oauth_principal,
            {.name = "authentication:oauth:principal", .doc = "The principal of an unsecuredJwt token."}),
      field(&S::ca_certificate,
            {.name = "authentication:tls:caCertificate",
             .doc = "PEM text of the CA certificate(s) that signed the brokers' certificates. Default: the system's "
                    "trusted CAs."}),
      field(&S::client_certificate,
            {.name = "authentication:tls:clientCertificate",
             .doc = "PEM text of the client certificate, for brokers that require one (mTLS)."}),
      field(&S::client_key,
            {.name = "authentication:tls:clientKey",
             .secret = true,
             .doc = "PEM text of the client certificate's private key (unencrypted PKCS#8 or PKCS#1)."}),
      field(&S::verify_certificates,
            {.name = "authentication:tls:verifyCertificates",
             .default_value = "true",
             .doc = "Check the brokers' certificates and host names. Turn off only for tests: without it anyone on "
                    "the path can read and change the traffic."}),

      field(&S::key_extraction_enabled,
            {.name = "partitionKeyExtraction:enabled",
             .default_value = "false",
             .doc = "Give each message a key taken from the record (see source). Keyed messages are partitioned "
                    "with murmur2, as Java producers do."}),
      enumeration(
          &S::key_source,
          {.name = "partitionKeyExtraction:source",
           .default_value = "partitionKey",
           .doc = "partitionKey: the record's key (set by a transform); stream: the regex in expression on the "
                  "stream id (first capture group, else the whole match; without an expression, the whole "
                  "stream id); streamSuffix: the stream id after its "
                  "first '-'; headers: the values of the comma-separated metadata names in expression, joined with "
                  "'-'; data: the first of the comma-separated JSON Pointers in expression present in the event's "
                  "JSON data. When nothing matches, the message has no key."},
          {{"partitionKey", KeySource::partition_key},
           {"stream", KeySource::stream},
           {"streamSuffix", KeySource::stream_suffix},
           {"headers", KeySource::headers},
           {"data", KeySource::data}}),
      field(&S::key_expression,
            {.name = "partitionKeyExtraction:expression",
             .doc = "The regex (source stream; optional), header names (source headers; a name the event's metadata "
                    "lacks is left out of the joined key) or JSON Pointers (source data)."}),
      field(&S::partition,
            {.name = "partition", .doc = "Send every message to this partition.", .min = 0, .max = 1000000}),
      field(&S::default_partition,
            {.name = "defaultPartition",
             .doc = "The partition for messages without a key. Without it they go round-robin over the topic's "
                    "partitions.",
             .min = 0,
             .max = 1000000}),

      field(&S::dead_letter_enabled,
            {.name = "deadLetter:enabled",
             .default_value = "false",
             .doc = "true: a record the broker refuses for good (larger than the topic takes, refused by a policy or "
                    "an ACL, its topic missing) or that the transform throws on is produced to deadLetter:topic with "
                    "headers that say why, and the "
                    "connector goes on; false: the connector stops at it (KurrentDB's behaviour). Not in KurrentDB."}),
      field(&S::dead_letter_topic,
            {.name = "deadLetter:topic",
             .doc = "The dead-letter topic, on the same cluster (required with deadLetter:enabled; not the topic "
                    "itself). The checkpoint moves past a dead-lettered record only once this topic acknowledged it."}),
      field(
          &S::dead_letter_max_records,
          {.name = "deadLetter:maxRecords",
           .default_value = "100",
           .doc = "After this many dead-lettered records in one run the connector stops anyway (FAILED_PRECONDITION), "
                  "so that a broken set-up does not pour everything into the dead-letter topic. 0: no limit.",
           .min = 0}),
      field(
          &S::dead_letter_max_message_bytes,
          {.name = "deadLetter:maxMessageBytes",
           .doc = "The topic's max.message.bytes, when it is below the broker's default: a record larger than this is "
                  "dead-lettered before it is sent, and batches stay below it. Without it the broker refuses a whole "
                  "batch for one oversized record, and the good records batched with it are dead-lettered too. Sets "
                  "librdkafka's message.max.bytes and batch.size.",
           .min = 1000,
           .max = 1000000000}),
      field(&S::wait_for_broker_ack,
            {.name = "waitForBrokerAck",
             .default_value = "false",
             .doc = "true: send one message at a time, each after the previous one was acknowledged (slow); false: "
                    "keep many in flight. Either way the checkpoint only moves past acknowledged messages."}),
      field(&S::compression_type, {.name = "compression:type",
                                   .type = SettingType::enumeration,
                                   .default_value = "Zstd",
                                   .allowed_values = {"None", "Gzip", "Lz4", "Zstd", "Snappy"},
                                   .doc = "How message batches are compressed."}),
      field(&S::compression_level,
            {.name = "compression:level",
             .default_value = "6",
             .doc = "Compression level (-1: the codec's default; gzip 0-9, lz4 0-12, zstd 1-12).",
             .min = -1,
             .max = 12}),
      field(&S::broker_address_family, {.name = "brokerAddressFamily",
                                        .type = SettingType::enumeration,
                                        .default_value = "V4",
                                        .allowed_values = {"Any", "V4", "V6"},
                                        .doc = "Which IP version to use for broker addresses."}),
      field(&S::reconnect_backoff_max_ms, {.name = "resilience:reconnectBackoffMaxMs",
                                           .default_value = "20000",
                                           .doc = "Longest wait between reconnection attempts to a broker (ms).",
                                           .min = 0,
                                           .max = 3600000}),
      field(&S::message_send_max_retries, {.name = "resilience:messageSendMaxRetries",
                                           .default_value = "2147483647",
                                           .doc = "How often a failed produce request is retried.",
                                           .min = 1,
                                           .max = 2147483647}),
      field(&S::producer_properties,
            {.name = "producer:",
             .doc = "A librdkafka producer property passed through as is (producer:linger.ms = 20). Properties that "
                    "would weaken delivery guarantees or security (acks, idempotence, retries, security, SASL, TLS, "
                    "partitioner, plugins) are refused.",
             .prefix = true}),
  });
  return table;
}

const std::vector<connector::SettingSpec>& settings_table() { return settings_schema().specs(); }

KafkaSinkSettings KafkaSinkSettings::from(const connector::Settings& settings) {
  return settings_schema().parse_valid(settings);
}

}  // namespace sinkhost::kafka_sink
