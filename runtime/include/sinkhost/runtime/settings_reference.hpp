#pragma once

#include <string>

#include "sinkhost/runtime/plugin_registry.hpp"

namespace sinkhost::runtime {

// docs/settings.md, generated from the shared settings table and each plugin's table, so the
// reference can never drift from what validation accepts (`sinkhost --settings-reference`).
std::string settings_reference_markdown(const PluginRegistry& plugins);

}  // namespace sinkhost::runtime
