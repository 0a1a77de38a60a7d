// The sinkhost daemon: opens the data directory, loads the plugins, restores the connectors
// and serves the HTTP API until SIGINT or SIGTERM.
#include <unistd.h>

#include <filesystem>
#include <iostream>

#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include "sinkhost/management_api/api.hpp"
#include "sinkhost/management_api/server.hpp"
#include "sinkhost/runtime/connector_service.hpp"
#include "sinkhost/runtime/event_log.hpp"
#include "sinkhost/runtime/plugin_registry.hpp"
#include "sinkhost/runtime/settings_reference.hpp"
#include "sinkhost/runtime/state_store.hpp"
#include "sinkhost/version.hpp"

namespace fs = std::filesystem;
using namespace sinkhost;

namespace {

// The plugins directory when none is given: ../lib/sinkhost/plugins beside the executable,
// which is where both the build tree and an installation put them.
std::string default_plugins_dir() {
  std::error_code ec;
  auto exe = fs::read_symlink("/proc/self/exe", ec);
  if (ec) return SINKHOST_PLUGIN_SUBDIR;
  return (exe.parent_path().parent_path() / SINKHOST_PLUGIN_SUBDIR).string();
}

bool split_listen(const std::string& listen, std::string& host, std::uint16_t& port) {
  auto colon = listen.rfind(':');
  if (colon == std::string::npos) return false;
  host = listen.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  try {
    auto value = std::stoul(listen.substr(colon + 1));
    if (value > 65535) return false;
    port = static_cast<std::uint16_t>(value);
  } catch (const std::exception&) {
    return false;
  }
  return !host.empty();
}

int fail(const std::string& message) {
  spdlog::critical("{}", message);
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"sinkhost: a sink connector host. Reads events from its embedded event log and "
               "delivers them through sink plugins (kafka-sink, ...), managed over HTTP."};
  std::string listen = "127.0.0.1:2113";
  std::string data_dir = "./data";
  std::string plugins_dir = default_plugins_dir();
  std::string log_level = "info";
  std::string durability = "process-crash";
  std::size_t max_body_bytes = 16 * 1024 * 1024;
  management_api::ApiOptions api_options{.version = SINKHOST_VERSION};
  app.add_option("--listen", listen, "HOST:PORT for the HTTP API")->capture_default_str();
  app.add_option("--data-dir", data_dir, "Directory for the event log and connector state")->capture_default_str();
  app.add_option("--plugins-dir", plugins_dir, "Directory of sink plugin libraries (*.so)")->capture_default_str();
  app.add_option("--log-level", log_level, "debug, info, warn or error")
      ->check(CLI::IsMember({"debug", "info", "warn", "error"}))
      ->capture_default_str();
  app.add_option("--durability", durability,
                 "process-crash: an acknowledged append survives a crash of sinkhost; power-loss: it also "
                 "survives a power loss or OS crash (fsync at every commit, slower)")
      ->check(CLI::IsMember({"process-crash", "power-loss"}))
      ->capture_default_str();
  app.add_option("--max-body-bytes", max_body_bytes, "Largest HTTP request body; larger ones get 413")
      ->check(CLI::Range(std::size_t{1024}, std::size_t{1} << 31))
      ->capture_default_str();
  app.add_option("--max-event-bytes", api_options.max_event_bytes,
                 "Largest event (data + metadata); larger ones get 413")
      ->check(CLI::Range(std::size_t{1}, std::size_t{1} << 31))
      ->capture_default_str();
  app.add_option("--max-batch-events", api_options.max_batch_events, "Most events in one append; more get 413")
      ->check(CLI::Range(std::size_t{1}, std::size_t{1000000}))
      ->capture_default_str();
  bool print_settings_reference = false;
  app.add_flag("--settings-reference", print_settings_reference,
               "Print the settings reference of every loaded plugin (Markdown) and exit");
  app.set_version_flag("--version", std::string("sinkhost ") + SINKHOST_VERSION);
  CLI11_PARSE(app, argc, argv);

  spdlog::set_level(spdlog::level::from_str(log_level));
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");

  std::string host;
  std::uint16_t port = 0;
  if (!split_listen(listen, host, port)) return fail("--listen must be HOST:PORT, got '" + listen + "'");

  std::error_code ec;
  fs::create_directories(data_dir, ec);
  if (ec) return fail("cannot create the data directory " + data_dir + ": " + ec.message());

  runtime::PluginRegistry plugins;
  if (auto loaded = plugins.load_directory(plugins_dir); !loaded.ok()) return fail(loaded.error().message);
  if (print_settings_reference) {
    std::cout << runtime::settings_reference_markdown(plugins);
    return 0;
  }
  for (const auto* d : plugins.all()) spdlog::info("plugin loaded: {}", d->type_name);

  auto log = runtime::EventLog::open((fs::path(data_dir) / "events.db").string(),
                                     durability == "power-loss" ? runtime::Durability::power_loss
                                                                : runtime::Durability::process_crash);
  if (!log.ok()) return fail(log.error().message);
  auto store = runtime::StateStore::open((fs::path(data_dir) / "state.db").string());
  if (!store.ok()) return fail(store.error().message);

  runtime::ConnectorService connectors(**log, **store, plugins);
  management_api::Api api(**log, connectors, api_options);
  management_api::HttpServer server([&api](const management_api::HttpRequest& r) { return api.handle(r); },
                                    {.host = host, .port = port, .body_limit = max_body_bytes});
  if (auto listening = server.listen(); !listening.ok()) return fail(listening.error().message);
  if (auto restored = connectors.restore(); !restored.ok()) return fail(restored.error().message);

  spdlog::info("sinkhost {} listening on {}:{} (data directory {})", SINKHOST_VERSION, host, server.port(), data_dir);
  server.run();
  connectors.shutdown();
  spdlog::info("sinkhost stopped");
  return 0;
}
