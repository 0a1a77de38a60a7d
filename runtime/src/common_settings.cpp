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
      {.name = "subscription:filter:scope",
       .type = SettingType::enumeration,
       .allowed_values = {"unspecified", "stream", "record"},
       .doc = "What the filter expression matches: stream = the stream id, record = the event type. Without "
              "an expression, setting a scope includes system events ('$' streams and event types)."},
      {.name = "subscription:filter:filterType",
       .type = SettingType::enumeration,
       .allowed_values = {"streamId", "regex", "prefix", "eventType", "jsonPath"},
       .doc = "streamId: the stream id equals the expression; eventType: the event type equals one of the "
              "comma-separated entries; prefix: starts with one of the comma-separated prefixes; regex: an RE2 "
              "regular expression matches anywhere (anchor with ^...$). Without it the expression is a regex. "
              "jsonPath is not supported yet."},
      {.name = "subscription:filter:expression",
       .doc = "The filter's pattern. Empty: every event except system events."},
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
      {.name = "transformer:enabled",
       .type = SettingType::boolean,
       .default_value = "false",
       .doc = "Run transformer:function on every JSON record before the sink sees it (docs/transforms.md)."},
      {.name = "transformer:function",
       .doc = "Base64 of JavaScript that defines function transform(record), which edits the record in place: "
              "its value, headers and key. Returning false drops the record. Checked when the connector is "
              "created or reconfigured."},
      {.name = "transformer:timeout",
       .type = SettingType::integer,
       .default_value = "1000",
       .doc = "How long (milliseconds) the transform may run on one record before the connector stops with an "
              "error naming the record (not in KurrentDB).",
       .min = 1,
       .max = 60000},
      {.name = "logging:enabled",
       .type = SettingType::boolean,
       .default_value = "true",
       .doc = "Write this connector's log lines."},
  };
  return table;
}

}  // namespace sinkhost::runtime
