#pragma once

#include <span>

#include "sinkhost/connector/settings.hpp"

namespace sinkhost::runtime {

// Settings every connector accepts whatever its sink type (KurrentDB's shared settings).
std::span<const connector::SettingSpec> common_settings();

}  // namespace sinkhost::runtime
