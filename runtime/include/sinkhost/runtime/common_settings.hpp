#pragma once

#include <array>
#include <span>

#include "sinkhost/connector/plugin.hpp"
#include "sinkhost/connector/settings.hpp"

namespace sinkhost::runtime {

// Settings every connector accepts whatever its sink type (KurrentDB's shared settings).
std::span<const connector::SettingSpec> common_settings();

// The tables a connector of this type is checked against: the common one, then the plugin's.
using SettingsTables = std::array<std::span<const connector::SettingSpec>, 2>;
SettingsTables settings_tables(const connector::SinkDescriptor& descriptor);

}  // namespace sinkhost::runtime
