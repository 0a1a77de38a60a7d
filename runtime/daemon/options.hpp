#pragma once
// The daemon's flags and one-shot commands as CLI11 options, over one Options struct with every
// default written once. main.cpp composes the steps that use them.

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "sinkhost/management_api/api.hpp"
#include "sinkhost/version.hpp"

namespace sinkhost::daemon {

// The plugins directory when none is given: ../lib/sinkhost/plugins beside the executable.
std::string default_plugins_dir();

// Every flag of the daemon, with its default.
struct Options {
  std::string listen = "127.0.0.1:2113";
  std::string grpc_listen = "127.0.0.1:2114";  // "none": no gRPC face
  bool grpc_listen_given = false;
  std::string source = "embedded";  // or a KurrentDB connection string
  std::string source_file;          // a file holding the connection string
  std::string data_dir = "./data";
  std::string plugins_dir = default_plugins_dir();
  std::string log_level = "info";
  std::string log_format = "text";  // or json
  std::string config_file;          // --config: a YAML file of these options (config_sources.hpp)
  std::string durability = "process-crash";
  std::size_t max_body_bytes = 16 * 1024 * 1024;
  management_api::ApiOptions api{.version = SINKHOST_VERSION};
  int delivery_nice = 10;
  std::string auth = "none";
  bool insecure = false;
  std::string users_file;  // default: <data-dir>/users
  std::string tls_cert;
  std::string tls_key;
  std::size_t max_connections = 1000;
  unsigned request_timeout_seconds = 30;
  std::string token_file;
  // Cluster mode (docs/cluster.md): empty, or kafka://HOST:PORT[,HOST:PORT...].
  std::string cluster;
  std::string cluster_group;
  std::string cluster_host_id;  // default: the machine's host name and the --listen port
  int cluster_slots = 64;
  int cluster_session_timeout_ms = 6000;
  std::vector<std::string> cluster_kafka_options;  // KEY=VALUE librdkafka properties (security)
  std::string cluster_kafka_config;                // a file of such properties, one per line
  bool print_settings_reference = false;
  bool print_version = false;
};

// The one-shot commands (commands.hpp) and their arguments.
struct Commands {
  CLI::App* user_add = nullptr;
  CLI::App* user_remove = nullptr;
  CLI::App* token_generate = nullptr;
  CLI::App* token_rotate = nullptr;
  CLI::App* config_check = nullptr;
  std::string user_name;
  std::string token_output;
  std::string old_token_file;
  std::string new_token_file;
};

void add_daemon_options(CLI::App& app, Options& o);
// A parser of the daemon's flags alone, over an Options of its own (config_sources.hpp checks
// each file and environment value on one).
std::unique_ptr<CLI::App> daemon_options_parser();
void add_commands(CLI::App& app, Options& o, Commands& c);

}  // namespace sinkhost::daemon
