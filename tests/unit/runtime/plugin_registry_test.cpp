// The plugin registry on its own: descriptors by type name and alias (case-insensitive), no
// name taken twice, and the plugins of the build tree loaded from their directory.
#include "sinkhost/runtime/plugin_registry.hpp"

#include <gtest/gtest.h>

#include "process.hpp"

namespace sinkhost::runtime {
namespace {

connector::Result<std::unique_ptr<connector::Sink>> no_sink(connector::SinkContext) {
  return connector::make_error(connector::ErrorCode::internal, "a test descriptor");
}

connector::SinkDescriptor descriptor(std::string name, std::vector<std::string> aliases) {
  connector::SinkDescriptor d;
  d.type_name = std::move(name);
  d.aliases = std::move(aliases);
  d.create = &no_sink;
  return d;
}

TEST(PluginRegistry, FindsByTypeNameOrAliasIgnoringCase) {
  static const auto a = descriptor("alpha-sink", {"AlphaSink", "Vendor.Alpha"});
  PluginRegistry registry;
  ASSERT_TRUE(registry.add(&a, "test").ok());
  EXPECT_EQ(registry.find("alpha-sink"), &a);
  EXPECT_EQ(registry.find("ALPHASINK"), &a);
  EXPECT_EQ(registry.find("vendor.alpha"), &a);
  EXPECT_EQ(registry.find("beta-sink"), nullptr);
  EXPECT_EQ(registry.all().size(), 1u);
}

TEST(PluginRegistry, AnIncompleteDescriptorIsRefused) {
  static const auto no_create = [] {
    auto d = descriptor("delta-sink", {});
    d.create = nullptr;
    return d;
  }();
  PluginRegistry registry;
  EXPECT_FALSE(registry.add(&no_create, "test").ok());
  EXPECT_FALSE(registry.add(nullptr, "test").ok());
}

TEST(PluginRegistry, ANameOrAliasTakenTwiceIsRefused) {
  static const auto a = descriptor("alpha-sink", {"AlphaSink"});
  static const auto same_name = descriptor("Alpha-Sink", {});
  static const auto same_alias = descriptor("gamma-sink", {"alphasink"});
  PluginRegistry registry;
  ASSERT_TRUE(registry.add(&a, "first").ok());
  EXPECT_FALSE(registry.add(&same_name, "second").ok());
  EXPECT_FALSE(registry.add(&same_alias, "third").ok());
  EXPECT_EQ(registry.all().size(), 1u) << "a refused plugin is not half-added";
}

TEST(PluginRegistry, LoadsThePluginsOfTheBuildTree) {
  PluginRegistry registry;
  auto loaded = registry.load_directory(SINKHOST_PLUGIN_DIR);
  ASSERT_TRUE(loaded.ok()) << loaded.error().message;
  ASSERT_NE(registry.find("kafka-sink"), nullptr);
  EXPECT_NE(registry.find("Kurrent.Connectors.Kafka.KafkaSink"), nullptr);
  EXPECT_NE(registry.find("serilog-sink"), nullptr);
  EXPECT_FALSE(registry.load_directory(SINKHOST_PLUGIN_DIR).ok())
      << "loading the same plugins again takes their names twice";
}

TEST(PluginRegistry, AMissingDirectoryIsAnError) {
  test::TempDir dir;
  PluginRegistry registry;
  EXPECT_FALSE(registry.load_directory(dir.path() + "/none").ok());
}

}  // namespace
}  // namespace sinkhost::runtime
