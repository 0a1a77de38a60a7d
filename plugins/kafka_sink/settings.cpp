#include "settings.hpp"

namespace sinkhost::kafka_sink {

using connector::SettingSpec;

const std::vector<SettingSpec>& settings_table() {
  static const std::vector<SettingSpec> table = {
      {.name = "topic", .required = true, .doc = "The Kafka topic every record is produced to."},
      {.name = "bootstrapServers",
       .default_value = "localhost:9092",
       .doc = "Comma-separated host:port list of Kafka brokers to connect to first."},
  };
  return table;
}

}  // namespace sinkhost::kafka_sink
