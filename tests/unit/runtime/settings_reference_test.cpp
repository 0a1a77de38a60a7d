#include "sinkhost/runtime/settings_reference.hpp"

#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

namespace sinkhost::runtime {
namespace {

TEST(SettingsReference, DocsSettingsMdMatchesTheSettingsTables) {
  PluginRegistry plugins;
  ASSERT_TRUE(plugins.load_directory(SINKHOST_PLUGIN_DIR).ok());
  std::ifstream in(std::string(SINKHOST_SOURCE_DIR) + "/docs/settings.md");
  std::stringstream committed;
  committed << in.rdbuf();
  EXPECT_EQ(committed.str(), settings_reference_markdown(plugins))
      << "docs/settings.md is stale: run build/bin/sinkhost --settings-reference > docs/settings.md";
}

}  // namespace
}  // namespace sinkhost::runtime
