#pragma once

#include <array>
#include <chrono>
#include <cstdint>
#include <span>
#include <string>

#include "sinkhost/connector/plugin.hpp"
#include "sinkhost/connector/settings.hpp"
#include "sinkhost/connector/typed_settings.hpp"

namespace sinkhost::runtime {

// subscription:filter:* (the enumerations keep the table's spelling; empty: not given).
struct FilterSettings {
  std::string scope;        // unspecified, stream, record
  std::string filter_type;  // streamId, regex, prefix, eventType, jsonPath
  std::string expression;
};

// autocommit:*
struct AutocommitSettings {
  bool enabled = false;
  std::chrono::milliseconds interval{};
  std::int64_t records_threshold = 0;
};

// transformer:*
struct TransformSettings {
  bool enabled = false;
  std::string function;  // base64 of the JavaScript
  std::chrono::milliseconds timeout{};
};

// autoRestart:*: restarting a connector that an error which may clear has stopped.
struct AutoRestartSettings {
  std::int64_t max_attempts = 0;  // consecutive tries; 0: never (KurrentDB's behaviour)
  std::chrono::milliseconds first_delay{};
  std::chrono::milliseconds max_delay{};
};

enum class InitialPosition { latest, earliest };

// The settings every connector shares, as the code reads them. Each field comes from a row of
// the common table (common_settings.cpp), which holds its name, default, doc and checks.
struct CommonSettings {
  std::string instance_type_name;
  FilterSettings filter;
  InitialPosition initial_position = InitialPosition::latest;
  AutocommitSettings autocommit;
  bool ignore_system_headers = false;
  TransformSettings transformer;
  bool logging_enabled = false;
  AutoRestartSettings auto_restart;

  // A connector's settings map (validated; keys of the plugin's table are ignored) as the
  // struct, every setting it does not give taken from the table's default.
  static CommonSettings from(const connector::Settings& settings);
  // Every field at its table default (the settings of a connector that gives none).
  static const CommonSettings& defaults();
};

// The common table, each row bound to its field of CommonSettings.
const connector::SettingsSchema<CommonSettings>& common_settings_schema();

// Settings every connector accepts whatever its sink type (KurrentDB's shared settings): the
// plain rows of common_settings_schema().
std::span<const connector::SettingSpec> common_settings();

// The tables a connector of this type is checked against: the plugin's, then the common one. A
// key is checked against the first row that matches it, so a plugin may declare a common row
// itself (http-sink: resilience:*, which it honours) and its row, default and doc win.
using SettingsTables = std::array<std::span<const connector::SettingSpec>, 2>;
SettingsTables settings_tables(const connector::SinkDescriptor& descriptor);

}  // namespace sinkhost::runtime
