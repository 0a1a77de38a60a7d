#include "sinkhost/runtime/common_settings.hpp"

#include <vector>

namespace sinkhost::runtime {

using connector::enumeration;
using connector::field;
using connector::info;
using connector::path;
using connector::SettingSpec;
using connector::SettingType;
using S = CommonSettings;

namespace {
constexpr const char* kResilienceNote =
    "this sink type retries with its own settings (kafka-sink: librdkafka's retries and "
    "resilience:reconnectBackoffMaxMs / resilience:messageSendMaxRetries, as KurrentDB's Kafka sink does); "
    "http-sink declares and honours the resilience settings itself";
}  // namespace

SettingsTables settings_tables(const connector::SinkDescriptor& descriptor) {
  return {descriptor.settings, common_settings()};
}

std::span<const SettingSpec> common_settings() { return common_settings_schema().specs(); }

CommonSettings CommonSettings::from(const connector::Settings& settings) {
  return common_settings_schema().parse_valid(settings);
}

const CommonSettings& CommonSettings::defaults() {
  static const CommonSettings settings = from({});
  return settings;
}

const connector::SettingsSchema<CommonSettings>& common_settings_schema() {
  static const connector::SettingsSchema<CommonSettings> table({
      field(&S::instance_type_name,
            {.name = "instanceTypeName",
             .required = true,
             .doc = "The sink type: a plugin's type name or alias (case-insensitive), e.g. kafka-sink."}),
      field(path(&S::filter, &FilterSettings::scope),
            {.name = "subscription:filter:scope",
             .type = SettingType::enumeration,
             .allowed_values = {"unspecified", "stream", "record"},
             .doc = "What the filter expression matches: stream = the stream id, record = the event type. Without "
                    "an expression, setting a scope includes system events ('$' streams and event types)."}),
      field(path(&S::filter, &FilterSettings::filter_type),
            {.name = "subscription:filter:filterType",
             .type = SettingType::enumeration,
             .allowed_values = {"streamId", "regex", "prefix", "eventType", "jsonPath"},
             .doc = "streamId: the stream id equals the expression; eventType: the event type equals one of the "
                    "comma-separated entries; prefix: starts with one of the comma-separated prefixes; regex: an RE2 "
                    "regular expression matches anywhere (anchor with ^...$). Without it the expression is a regex. "
                    "jsonPath is not supported yet."}),
      field(path(&S::filter, &FilterSettings::expression),
            {.name = "subscription:filter:expression",
             .doc = "The filter's pattern. Empty: every event except system events."}),
      enumeration(&S::initial_position,
                  {.name = "subscription:initialPosition",
                   .default_value = "latest",
                   .doc = "Where a connector without a checkpoint starts reading: earliest = the first event in "
                          "the log, latest = only events appended after it starts."},
                  {{"latest", InitialPosition::latest}, {"earliest", InitialPosition::earliest}}),
      field(path(&S::autocommit, &AutocommitSettings::enabled),
            {.name = "autocommit:enabled",
             .default_value = "true",
             .doc = "Commit the checkpoint periodically while running. Stopping always commits."}),
      field(path(&S::autocommit, &AutocommitSettings::interval),
            {.name = "autocommit:interval",
             .default_value = "5000",
             .doc = "Commit the checkpoint at least this often (milliseconds) while records are acknowledged.",
             .min = 1}),
      field(path(&S::autocommit, &AutocommitSettings::records_threshold),
            {.name = "autocommit:recordsThreshold",
             .default_value = "1000",
             .doc = "Also commit after this many acknowledged records.",
             .min = 1}),
      field(&S::ignore_system_headers,
            {.name = "headers:ignoreSystem",
             .default_value = "true",
             .doc = "Drop event metadata entries whose name starts with '$' instead of forwarding them "
                    "as esdb-record-headers-<name>."}),
      field(path(&S::transformer, &TransformSettings::enabled),
            {.name = "transformer:enabled",
             .default_value = "false",
             .doc = "Run transformer:function on every JSON record before the sink sees it (docs/transforms.md)."}),
      field(path(&S::transformer, &TransformSettings::function),
            {.name = "transformer:function",
             .doc = "Base64 of JavaScript that defines function transform(record), which edits the record in place: "
                    "its value, headers and key. Returning false drops the record. Checked when the connector is "
                    "created or reconfigured."}),
      field(path(&S::transformer, &TransformSettings::timeout),
            {.name = "transformer:timeout",
             .default_value = "1000",
             .doc = "How long (milliseconds) the transform may run on one record before the connector stops with an "
                    "error naming the record (not in KurrentDB).",
             .min = 1,
             .max = 60000}),
      field(&S::logging_enabled,
            {.name = "logging:enabled", .default_value = "true", .doc = "Write this connector's log lines."}),
      field(path(&S::auto_restart, &AutoRestartSettings::max_attempts),
            {.name = "autoRestart:maxAttempts",
             .default_value = "0",
             .doc = "Restart the connector by itself this many times in a row after an error that may clear "
                    "(authentication or authorization refused, a topic or the broker not there, a limit hit), "
                    "waiting autoRestart:firstDelay, then twice as long each time up to autoRestart:maxDelay. 0: "
                    "never, the connector stays stopped with errorDetails (KurrentDB's behaviour). The count starts "
                    "again once a run has committed a checkpoint. Not in KurrentDB.",
             .min = 0,
             .max = 1000000}),
      field(path(&S::auto_restart, &AutoRestartSettings::first_delay),
            {.name = "autoRestart:firstDelay",
             .default_value = "1000",
             .doc = "How long (milliseconds) a connector waits before its first automatic restart.",
             .min = 1,
             .max = 86400000}),
      field(path(&S::auto_restart, &AutoRestartSettings::max_delay),
            {.name = "autoRestart:maxDelay",
             .default_value = "300000",
             .doc = "The longest wait (milliseconds) between automatic restarts; the delay doubles up to it.",
             .min = 1,
             .max = 86400000}),
      // KurrentDB settings that mean nothing here: accepted so that its scripts run, and answered
      // with a warning (docs/kurrentdb-compatibility.md).
      info<S>({.name = "subscription:nodeAffinity",
               .type = SettingType::enumeration,
               .allowed_values = {"Leader", "Follower", "ReadOnlyReplica"},
               .doc = "KurrentDB: which cluster node a connector reads from. Accepted, without effect.",
               .no_effect = "a sinkhost host reads its own event log; there is no cluster node to choose"}),
      info<S>({.name = "subscription:startPosition",
               .doc = "KurrentDB: a log position to start from. Accepted, without effect: use "
                      "subscription:initialPosition, or POST /connectors/{id}/start/{logPosition}.",
               .no_effect = "use subscription:initialPosition, or POST /connectors/{id}/start/{logPosition}"}),
      info<S>({.name = "resilience:enabled",
               .type = SettingType::boolean,
               .doc =
                   "KurrentDB's generic retry phases (default true). Accepted, without effect for sink types that do "
                   "not declare the resilience settings themselves (kafka-sink retries with librdkafka's retries, as "
                   "KurrentDB's Kafka sink; http-sink declares and honours them).",
               .no_effect = kResilienceNote}),
      info<S>({.name = "resilience:requestTimeoutMs",
               .type = SettingType::integer,
               .doc = "KurrentDB's generic request timeout (default 3000). Accepted, without effect.",
               .min = 0,
               .no_effect = kResilienceNote}),
      info<S>({.name = "resilience:maxRetries",
               .type = SettingType::integer,
               .doc = "KurrentDB's generic retry count (default -1: unlimited). Accepted, without effect.",
               .min = -1,
               .no_effect = kResilienceNote}),
      info<S>({.name = "resilience:transientErrorDelay",
               .doc = "KurrentDB's delay between retries of transient errors (a TimeSpan, default 00:00:00). Accepted, "
                      "without effect.",
               .no_effect = kResilienceNote}),
      info<S>({.name = "resilience:firstDelayBound:upperLimitMs",
               .type = SettingType::integer,
               .doc = "KurrentDB's first retry phase: until this long (default 60000 ms). Accepted, without effect.",
               .no_effect = kResilienceNote}),
      info<S>({.name = "resilience:firstDelayBound:delayMs",
               .type = SettingType::integer,
               .doc = "KurrentDB's first retry phase: retry this often (default 5000 ms). Accepted, without effect.",
               .no_effect = kResilienceNote}),
      info<S>({.name = "resilience:secondDelayBound:upperLimitMs",
               .type = SettingType::integer,
               .doc = "KurrentDB's second retry phase: until this long (default 3600000 ms). Accepted, without effect.",
               .no_effect = kResilienceNote}),
      info<S>({.name = "resilience:secondDelayBound:delayMs",
               .type = SettingType::integer,
               .doc = "KurrentDB's second retry phase: retry this often (default 600000 ms). Accepted, without effect.",
               .no_effect = kResilienceNote}),
      info<S>({.name = "resilience:thirdDelayBound:upperLimitMs",
               .type = SettingType::integer,
               .doc = "KurrentDB's third retry phase: until this long (default -1: forever). Accepted, without effect.",
               .no_effect = kResilienceNote}),
      info<S>({.name = "resilience:thirdDelayBound:delayMs",
               .type = SettingType::integer,
               .doc = "KurrentDB's third retry phase: retry this often (default 3600000 ms). Accepted, without effect.",
               .no_effect = kResilienceNote}),
  });
  return table;
}

}  // namespace sinkhost::runtime
