#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "sinkhost/connector/result.hpp"
#include "sinkhost/connector/settings.hpp"
#include "sinkhost/connector/sink.hpp"

namespace sinkhost::connector {

// One step of trying settings against the real destination ("connect", "authenticate", ...).
struct ConnectionStep {
  std::string name;
  bool ok = false;
  std::string detail;  // what was found, or why the step failed
};

// The outcome of trying settings for real. Steps run in order and stop at the first failure.
struct ConnectionCheck {
  std::vector<ConnectionStep> steps;
  std::vector<std::string> destinations;  // what the credentials can see (Kafka: topic names)
  bool ok() const {
    for (const auto& step : steps) {
      if (!step.ok) return false;
    }
    return !steps.empty();
  }
};

// Everything the host needs to know about a sink plugin: one declarative descriptor.
struct SinkDescriptor {
  std::string type_name;             // "kafka-sink"
  std::vector<std::string> aliases;  // other accepted names, matched case-insensitively
  std::string description;
  std::vector<SettingSpec> settings;  // the plugin's own settings (the runtime adds the shared ones)
  Result<std::unique_ptr<Sink>> (*create)(SinkContext context) = nullptr;
  // Rules that span settings ("path is required when output is file"), checked at create,
  // reconfigure and validate time on settings with defaults applied. Optional.
  std::vector<FieldViolation> (*check)(const Settings& settings) = nullptr;
  // Tries valid settings (defaults applied, secrets in clear) against the real destination
  // within `timeout`, without writing anything. Optional.
  ConnectionCheck (*check_connection)(const Settings& settings, std::chrono::milliseconds timeout) = nullptr;
  // The libraries the plugin runs on, with versions and build features, for `sinkhost --version`
  // and the start-up log ("librdkafka 2.8.0 (builtin.features: ...)"). Optional.
  std::string (*library_versions)() = nullptr;
};

}  // namespace sinkhost::connector

// A plugin shared library exports exactly this function. The version is in the symbol's name:
// a host refuses libraries built against another SDK version instead of misreading them.
// v2: Sink::partition_key and Record::key_from_transform (record transforms).
// v3: SinkDescriptor::library_versions.
#define SINKHOST_PLUGIN_ENTRY_SYMBOL "sinkhost_plugin_v4"
#define SINKHOST_DECLARE_PLUGIN(descriptor_function)                                             \
  extern "C" __attribute__((visibility("default"))) const ::sinkhost::connector::SinkDescriptor* \
  sinkhost_plugin_v4() {                                                                         \
    return &(descriptor_function)();                                                             \
  }
