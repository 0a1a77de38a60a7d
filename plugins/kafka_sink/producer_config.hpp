#pragma once

#include <memory>
#include <string>
#include <vector>

#include <librdkafka/rdkafka.h>

#include "settings.hpp"
#include "sinkhost/connector/result.hpp"

namespace sinkhost::kafka_sink {

struct ConfDeleter {
  void operator()(rd_kafka_conf_t* conf) const { rd_kafka_conf_destroy(conf); }
};
using ConfPtr = std::unique_ptr<rd_kafka_conf_t, ConfDeleter>;

// The librdkafka producer configuration for a connector's settings (defaults applied):
// idempotence (acks=all, order kept per partition), security, compression, resilience, and
// the `producer:` pass-through. Callbacks are set by the sink.
connector::Result<ConfPtr> build_producer_conf(const KafkaSinkSettings& settings, const std::string& connector_id);

// How the settings authenticate, for messages: the protocol, and for SASL the mechanism and
// user ("SASL scramSha256 as 'app'"), never the password.
std::string describe_authentication(const KafkaSinkSettings& settings);

// Rules across kafka-sink settings, checked at create/reconfigure/validate time: SASL needs
// credentials, a client key needs its certificate, pass-through properties must exist and may
// not weaken delivery or security, key extraction needs a usable expression.
std::vector<connector::FieldViolation> check_settings(const KafkaSinkSettings& settings);
// The same, for the descriptor (SinkDescriptor::check): the map parsed with the table.
std::vector<connector::FieldViolation> check_settings_map(const connector::Settings& settings);

}  // namespace sinkhost::kafka_sink
