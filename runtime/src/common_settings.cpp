#include "sinkhost/runtime/common_settings.hpp"

#include <vector>

namespace sinkhost::runtime {

using connector::SettingSpec;
using connector::SettingType;

std::span<const SettingSpec> common_settings() {
  static const std::vector<SettingSpec> table = {
      {.name = "instanceTypeName",
       .required = true,
       .doc = "The sink type: a plugin's type name or alias (case-insensitive), e.g. kafka-sink."},
      {.name = "subscription:initialPosition",
       .type = SettingType::enumeration,
       .default_value = "latest",
       .allowed_values = {"latest", "earliest"},
       .doc = "Where a connector without a checkpoint starts reading: earliest = the first event in "
              "the log, latest = only events appended after it starts."},
      {.name = "autocommit:enabled",
       .type = SettingType::boolean,
       .default_value = "true",
       .doc = "Commit the checkpoint periodically while running. Stopping always commits."},
      {.name = "autocommit:interval",
       .type = SettingType::integer,
       .default_value = "5000",
       .doc = "Commit the checkpoint at least this often (milliseconds) while records are acknowledged.",
       .min = 1},
      {.name = "autocommit:recordsThreshold",
       .type = SettingType::integer,
       .default_value = "1000",
       .doc = "Also commit after this many acknowledged records.",
       .min = 1},
      {.name = "headers:ignoreSystem",
       .type = SettingType::boolean,
       .default_value = "true",
       .doc = "Drop event metadata entries whose name starts with '$' instead of forwarding them "
              "as esdb-record-headers-<name>."},
      {.name = "logging:enabled",
       .type = SettingType::boolean,
       .default_value = "true",
       .doc = "Write this connector's log lines."},
  };
  return table;
}

}  // namespace sinkhost::runtime
