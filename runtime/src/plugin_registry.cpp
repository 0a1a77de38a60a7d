#include "sinkhost/runtime/plugin_registry.hpp"

#include <dlfcn.h>

#include <algorithm>
#include <filesystem>

namespace sinkhost::runtime {

using connector::ErrorCode;
using connector::iequals;
using connector::make_error;

namespace {
bool answers_to(const SinkDescriptor& d, std::string_view name) {
  return iequals(d.type_name, name) ||
         std::any_of(d.aliases.begin(), d.aliases.end(), [&](const auto& a) { return iequals(a, name); });
}
}  // namespace

Result<void> PluginRegistry::add(const SinkDescriptor* descriptor, const std::string& origin) {
  if (descriptor == nullptr || descriptor->type_name.empty() || descriptor->create == nullptr) {
    return make_error(ErrorCode::internal, "plugin " + origin + " has an incomplete descriptor");
  }
  std::vector<std::string> names = descriptor->aliases;
  names.push_back(descriptor->type_name);
  for (std::size_t i = 0; i < descriptors_.size(); ++i) {
    for (const auto& name : names) {
      if (answers_to(*descriptors_[i], name)) {
        return make_error(ErrorCode::already_exists, "plugin " + origin + " registers '" + name + "', which " +
                                                         origins_[i] + " already registered");
      }
    }
  }
  descriptors_.push_back(descriptor);
  origins_.push_back(origin);
  return {};
}

Result<void> PluginRegistry::load_directory(const std::string& directory) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::is_directory(directory, ec)) {
    return make_error(ErrorCode::not_found, "plugins directory " + directory + " does not exist");
  }
  std::vector<fs::path> libraries;
  for (const auto& entry : fs::directory_iterator(directory, ec)) {
    if (entry.is_regular_file() && entry.path().extension() == ".so") libraries.push_back(entry.path());
  }
  std::sort(libraries.begin(), libraries.end());  // a stable order makes duplicate errors repeatable
  for (const auto& path : libraries) {
    // Plugins stay loaded for the life of the process: descriptors and sinks point into them.
    void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (handle == nullptr) {
      return make_error(ErrorCode::internal, "cannot load plugin " + path.string() + ": " + dlerror());
    }
    using Entry = const SinkDescriptor* (*)();
    auto entry = reinterpret_cast<Entry>(dlsym(handle, SINKHOST_PLUGIN_ENTRY_SYMBOL));
    if (entry == nullptr) {
      return make_error(ErrorCode::internal, "plugin " + path.string() + " does not export " +
                                                 SINKHOST_PLUGIN_ENTRY_SYMBOL +
                                                 " (built for another sinkhost version?)");
    }
    if (auto added = add(entry(), path.string()); !added) return added;
  }
  return {};
}

const SinkDescriptor* PluginRegistry::find(std::string_view name) const {
  for (const auto* d : descriptors_) {
    if (answers_to(*d, name)) return d;
  }
  return nullptr;
}

}  // namespace sinkhost::runtime
