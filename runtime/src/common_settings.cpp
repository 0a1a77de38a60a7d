#include "sinkhost/runtime/common_settings.hpp"

#include <vector>

namespace sinkhost::runtime {

using connector::SettingSpec;
using connector::SettingType;

namespace {
constexpr const char* kResilienceNote =
    "sinkhost's sinks retry with their own settings (kafka-sink: librdkafka's retries and "
    "resilience:reconnectBackoffMaxMs / resilience:messageSendMaxRetries), as KurrentDB's Kafka sink does";
}  // namespace

SettingsTables settings_tables(const connector::SinkDescriptor& descriptor) {
  return {common_settings(), descriptor.settings};
}

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
      // KurrentDB settings that mean nothing here: accepted so that its scripts run, and answered
      // with a warning (docs/kurrentdb-compatibility.md).
      {.name = "subscription:nodeAffinity",
       .type = SettingType::enumeration,
       .allowed_values = {"Leader", "Follower", "ReadOnlyReplica"},
       .doc = "KurrentDB: which cluster node a connector reads from. Accepted, without effect.",
       .no_effect = "a sinkhost host reads its own event log; there is no cluster node to choose"},
      {.name = "subscription:startPosition",
       .doc = "KurrentDB: a log position to start from. Accepted, without effect: use "
              "subscription:initialPosition, or POST /connectors/{id}/start/{logPosition}.",
       .no_effect = "use subscription:initialPosition, or POST /connectors/{id}/start/{logPosition}"},
      {.name = "resilience:enabled",
       .type = SettingType::boolean,
       .doc = "KurrentDB's generic retry phases (default true). Accepted, without effect: sinkhost's sinks "
              "retry with their own settings (kafka-sink: librdkafka's retries, as KurrentDB's Kafka sink).",
       .no_effect = kResilienceNote},
      {.name = "resilience:requestTimeoutMs",
       .type = SettingType::integer,
       .doc = "KurrentDB's generic request timeout (default 3000). Accepted, without effect.",
       .min = 0,
       .no_effect = kResilienceNote},
      {.name = "resilience:maxRetries",
       .type = SettingType::integer,
       .doc = "KurrentDB's generic retry count (default -1: unlimited). Accepted, without effect.",
       .min = -1,
       .no_effect = kResilienceNote},
      {.name = "resilience:transientErrorDelay",
       .doc = "KurrentDB's delay between retries of transient errors (a TimeSpan, default 00:00:00). Accepted, "
              "without effect.",
       .no_effect = kResilienceNote},
      {.name = "resilience:firstDelayBound:upperLimitMs",
       .type = SettingType::integer,
       .doc = "KurrentDB's first retry phase: until this long (default 60000 ms). Accepted, without effect.",
       .no_effect = kResilienceNote},
      {.name = "resilience:firstDelayBound:delayMs",
       .type = SettingType::integer,
       .doc = "KurrentDB's first retry phase: retry this often (default 5000 ms). Accepted, without effect.",
       .no_effect = kResilienceNote},
      {.name = "resilience:secondDelayBound:upperLimitMs",
       .type = SettingType::integer,
       .doc = "KurrentDB's second retry phase: until this long (default 3600000 ms). Accepted, without effect.",
       .no_effect = kResilienceNote},
      {.name = "resilience:secondDelayBound:delayMs",
       .type = SettingType::integer,
       .doc = "KurrentDB's second retry phase: retry this often (default 600000 ms). Accepted, without effect.",
       .no_effect = kResilienceNote},
      {.name = "resilience:thirdDelayBound:upperLimitMs",
       .type = SettingType::integer,
       .doc = "KurrentDB's third retry phase: until this long (default -1: forever). Accepted, without effect.",
       .no_effect = kResilienceNote},
      {.name = "resilience:thirdDelayBound:delayMs",
       .type = SettingType::integer,
       .doc = "KurrentDB's third retry phase: retry this often (default 3600000 ms). Accepted, without effect.",
       .no_effect = kResilienceNote},
  };
  return table;
}

}  // namespace sinkhost::runtime
