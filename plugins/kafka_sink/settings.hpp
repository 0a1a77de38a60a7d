#pragma once

#include <vector>

#include "sinkhost/connector/settings.hpp"

namespace sinkhost::kafka_sink {

// The kafka-sink settings table: validation, defaults, docs and masking all come from it.
const std::vector<connector::SettingSpec>& settings_table();

}  // namespace sinkhost::kafka_sink
