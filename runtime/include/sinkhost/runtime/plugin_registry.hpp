#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "sinkhost/connector/plugin.hpp"

namespace sinkhost::runtime {

using connector::Result;
using connector::SinkDescriptor;

// The sink types this host can run, keyed by type name and aliases (case-insensitive).
// Filled once at start-up, read-only afterwards (so reads need no lock).
class PluginRegistry {
 public:
  // Adds a descriptor; a type name or alias already taken is an error.
  Result<void> add(const SinkDescriptor* descriptor, const std::string& origin);

  // Loads every `*.so` in `directory` that exports the plugin entry symbol. A library that
  // cannot be loaded, or a duplicate type name, is an error: a host silently missing a
  // plugin would fail later, and less clearly.
  Result<void> load_directory(const std::string& directory);

  const SinkDescriptor* find(std::string_view type_name_or_alias) const;
  const std::vector<const SinkDescriptor*>& all() const { return descriptors_; }

 private:
  std::vector<const SinkDescriptor*> descriptors_;
  std::vector<std::string> origins_;
};

}  // namespace sinkhost::runtime
