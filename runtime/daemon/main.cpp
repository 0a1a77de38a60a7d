// The sinkhost daemon: opens the data directory, loads the plugins, restores the connectors
// and serves the HTTP API until SIGINT or SIGTERM. `sinkhost user add/remove` manage the users
// of --auth basic; `sinkhost token generate/rotate` the data protection token; `sinkhost config
// check` prints the effective configuration (flags, SINKHOST_* environment, --config file).
#include <sys/resource.h>
#include <unistd.h>

#include <cctype>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <optional>

#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include "sinkhost/management_api/api.hpp"
#include "sinkhost/management_api/auth.hpp"
#include "sinkhost/management_api/grpc_server.hpp"
#include "sinkhost/management_api/server.hpp"
#include "sinkhost/runtime/cluster/cluster_host.hpp"
#include "sinkhost/runtime/connector_service.hpp"
#include "sinkhost/runtime/embedded_log/event_log.hpp"
#include "sinkhost/runtime/kurrentdb_source/kurrentdb_source.hpp"
#include "sinkhost/runtime/plugin_registry.hpp"
#include "sinkhost/runtime/secrets/data_protection.hpp"
#include "sinkhost/runtime/secrets/redaction.hpp"
#include "sinkhost/runtime/secrets/token.hpp"
#include "sinkhost/runtime/settings_reference.hpp"
#include "sinkhost/runtime/state_store.hpp"
#include "sinkhost/version.hpp"

#include "commands.hpp"
#include "config_sources.hpp"
#include "log_format.hpp"
#include "options.hpp"
#include "systemd_notify.hpp"

namespace fs = std::filesystem;
using namespace sinkhost;
using namespace sinkhost::daemon;

namespace {

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

// Every connection is a file descriptor. Debian's default soft limit (1024) is barely above the
// default connection cap, so raise the soft limit towards the hard one when the cap needs it.
void ensure_descriptor_limit(std::size_t max_connections) {
  constexpr rlim_t kReserve = 256;  // SQLite, plugins, librdkafka's sockets, the listener
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) return;
  const rlim_t wanted = static_cast<rlim_t>(max_connections) + kReserve;
  if (limit.rlim_cur == RLIM_INFINITY || limit.rlim_cur >= wanted) return;
  rlimit raised = limit;
  raised.rlim_cur = (limit.rlim_max == RLIM_INFINITY || limit.rlim_max >= wanted) ? wanted : limit.rlim_max;
  if (::setrlimit(RLIMIT_NOFILE, &raised) != 0) raised = limit;
  if (raised.rlim_cur < wanted) {
    spdlog::warn(
        "--max-connections {} needs about {} file descriptors but the limit is {}; raise it (ulimit -n) "
        "or lower --max-connections",
        max_connections, wanted, raised.rlim_cur);
  }
}

// The exit code of the one-shot command given, if one was.
std::optional<int> run_command(const Options& o, const Commands& c) {
  if (*c.user_add) return run_user_add(o.users_file, c.user_name);
  if (*c.user_remove) return run_user_remove(o.users_file, c.user_name);
  if (*c.token_generate) return run_token_generate(c.token_output);
  if (*c.token_rotate) return run_token_rotate(o.data_dir, c.old_token_file, c.new_token_file);
  return std::nullopt;
}

void set_up_logging(const Options& o) {
  // Every log line passes the redactor, so a running connector's secret values never reach it.
  runtime::install_redacting_logger();
  spdlog::set_level(spdlog::level::from_str(o.log_level));
  if (o.log_format == "json") {
    spdlog::set_formatter(json_log_formatter());
  } else {
    spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");
  }
}

// The arguments of this run: the --config file's and the SINKHOST_* environment's values before
// the command line's (config_sources.hpp). Each value is checked on a parser of its own first.
connector::Result<GatheredArguments> all_arguments(const CLI::App& app, int argc, char** argv) {
  std::vector<std::string> command_line(argv + 1, argv + argc);
  return gather_arguments(app, command_line, process_environment(), &daemon_options_parser);
}

// The data protection token, from --data-protection-token-file or the environment (read before
// anything is opened, so a bad one changes nothing). Errors are the refusal to print.
connector::Result<std::optional<runtime::SecretBytes>> read_token(const Options& o) {
  auto environment_token = take_token_from_environment();
  if (!o.token_file.empty()) {
    std::string warning;
    auto read = runtime::read_token_file(o.token_file, &warning);
    if (!read.ok()) return connector::make_error(read.error().code, "refusing to start: " + read.error().message);
    if (!warning.empty()) spdlog::warn("{}", warning);
    if (environment_token) spdlog::info("--data-protection-token-file is used; {} is ignored", kTokenEnvironment);
    return std::optional<runtime::SecretBytes>(std::move(read).value());
  }
  if (!environment_token) return std::optional<runtime::SecretBytes>();
  if (auto valid = runtime::check_token(environment_token->view()); !valid.ok()) {
    return connector::make_error(valid.error().code,
                                 std::string("refusing to start: ") + kTokenEnvironment + ": " + valid.error().message);
  }
  return environment_token;
}

// Who may call the API (decided before anything is opened, so a refused start changes nothing):
// nullptr with --auth none.
connector::Result<std::shared_ptr<management_api::Authenticator>> access_control(const Options& o,
                                                                                 const std::string& host) {
  const bool loopback = management_api::is_loopback_address(host);
  if (o.auth == "none") {
    if (!loopback && !o.insecure) {
      return connector::make_error(
          connector::ErrorCode::failed_precondition,
          "refusing to start: --auth none leaves the API open to anyone who can reach " + host +
              ", and it is allowed only when --listen is a loopback address (127.0.0.0/8 or ::1) or "
              "--insecure is given; use --auth basic (see `sinkhost user add`) or --insecure");
    }
    if (!loopback) spdlog::warn("the API on {} has no access control (--auth none --insecure)", host);
    return std::shared_ptr<management_api::Authenticator>();
  }
  auto opened = management_api::Authenticator::open(o.users_file);
  if (!opened.ok()) return opened.error();
  std::shared_ptr<management_api::Authenticator> authenticator = std::move(opened).value();
  spdlog::info("--auth basic: {} users in {}", authenticator->user_count(), o.users_file);
  if (!loopback && o.tls_cert.empty()) {
    spdlog::warn("--auth basic without --tls-cert on {}: passwords cross the network in clear text", host);
  }
  return authenticator;
}

void log_plugins(const runtime::PluginRegistry& plugins) {
  for (const auto* d : plugins.all()) {
    if (d->library_versions != nullptr) {
      spdlog::info("plugin loaded: {} on {}", d->type_name, d->library_versions());
    } else {
      spdlog::info("plugin loaded: {}", d->type_name);
    }
  }
}

// Opens the data directory (event log, state store, data protection), restores the connectors
// and serves the API until SIGINT or SIGTERM.
// Where the HTTP API and the gRPC face listen (no grpc_host: no gRPC face).
struct Listeners {
  std::string host;
  std::uint16_t port = 0;
  std::optional<std::string> grpc_host;
  std::uint16_t grpc_port = 0;
};

connector::Result<Listeners> parse_listeners(const Options& o) {
  Listeners l;
  if (!split_listen(o.listen, l.host, l.port)) {
    return connector::make_error(connector::ErrorCode::invalid_argument,
                                 "--listen must be HOST:PORT, got '" + o.listen + "'");
  }
  if (o.grpc_listen == "none") return l;
  std::string grpc_host;
  if (!split_listen(o.grpc_listen, grpc_host, l.grpc_port)) {
    return connector::make_error(connector::ErrorCode::invalid_argument,
                                 "--grpc-listen must be HOST:PORT or none, got '" + o.grpc_listen + "'");
  }
  l.grpc_host = grpc_host;
  return l;
}

// The gRPC face on the embedded log, with the HTTP API's users and certificate.
connector::Result<std::unique_ptr<management_api::GrpcServer>> start_grpc(
    const Options& o, runtime::EventLog& log, std::shared_ptr<management_api::Authenticator> authenticator,
    const Listeners& l) {
  if (!l.grpc_host) return std::unique_ptr<management_api::GrpcServer>();
  auto server = std::make_unique<management_api::GrpcServer>(
      log, management_api::GrpcServer::Options{.host = *l.grpc_host,
                                               .port = l.grpc_port,
                                               .tls_cert_file = o.tls_cert,
                                               .tls_key_file = o.tls_key,
                                               .authenticator = std::move(authenticator),
                                               .max_message_bytes = o.max_body_bytes,
                                               .max_append_bytes = o.max_body_bytes,
                                               .max_event_bytes = o.api.max_event_bytes,
                                               .max_append_events = o.api.max_batch_events,
                                               .version = SINKHOST_VERSION});
  if (auto started = server->start(); !started.ok()) return started.error();
  spdlog::info("KurrentDB client protocol (gRPC) on {}:{} ({}): kurrentdb://{}:{}?tls={}", *l.grpc_host, server->port(),
               server->tls() ? "TLS" : "plaintext", *l.grpc_host, server->port(), server->tls() ? "true" : "false");
  return server;
}

// The connection string of --source, --source-file or SINKHOST_SOURCE; nullopt: the embedded log.
connector::Result<std::optional<runtime::KurrentDbConnection>> source_connection(const Options& o) {
  std::string text = o.source;
  if (!o.source_file.empty()) {
    std::ifstream in(o.source_file);
    if (!in)
      return connector::make_error(connector::ErrorCode::invalid_argument,
                                   "--source-file " + o.source_file + " cannot be read");
    std::getline(in, text);
    while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back()))) text.pop_back();
  }
  if (text.empty() || text == "embedded") return std::optional<runtime::KurrentDbConnection>();
  auto connection = runtime::parse_connection_string(text);
  if (!connection.ok()) return connection.error();
  // The password never reaches a log line or an error message.
  if (!connection->password.empty()) runtime::SecretRedactor::global().add("--source", connection->password);
  for (const auto& option : connection->ignored) {
    spdlog::info("--source: option {} has no effect on a reader of $all", option);
  }
  return std::optional(std::move(connection).value());
}

// The external store's source, or nullptr for the embedded log.
connector::Result<std::unique_ptr<runtime::EventSource>> open_source(
    const std::optional<runtime::KurrentDbConnection>& connection) {
  if (!connection) return std::unique_ptr<runtime::EventSource>();
  auto source = runtime::open_kurrentdb_source(*connection);
  if (!source.ok()) return source.error();
  spdlog::info("connectors read their events from {} (--source)", (*source)->describe());
  return source;
}

// The cluster this host joins (--cluster ...), or nullopt on a single host.
connector::Result<std::optional<runtime::cluster::ClusterHostOptions>> cluster_options(const Options& o,
                                                                                       std::uint16_t http_port) {
  if (o.cluster.empty()) {
    if (!o.cluster_group.empty()) {
      return connector::make_error(connector::ErrorCode::invalid_argument, "--cluster-group needs --cluster");
    }
    return std::optional<runtime::cluster::ClusterHostOptions>();
  }
  constexpr std::string_view kScheme = "kafka://";
  if (!o.cluster.starts_with(kScheme) || o.cluster.size() == kScheme.size()) {
    return connector::make_error(connector::ErrorCode::invalid_argument,
                                 "--cluster must be kafka://HOST:PORT[,HOST:PORT...], not '" + o.cluster + "'");
  }
  if (o.cluster_group.empty()) {
    return connector::make_error(connector::ErrorCode::invalid_argument, "--cluster needs --cluster-group NAME");
  }
  runtime::cluster::ClusterHostOptions options;
  options.client.bootstrap_servers = o.cluster.substr(kScheme.size());
  std::vector<std::pair<std::string, std::string>> lines;  // (where, KEY=VALUE)
  if (!o.cluster_kafka_config.empty()) {
    std::ifstream in(o.cluster_kafka_config);
    if (!in) {
      return connector::make_error(connector::ErrorCode::invalid_argument,
                                   "--cluster-kafka-config " + o.cluster_kafka_config + " cannot be read");
    }
    int number = 0;
    for (std::string line; std::getline(in, line);) {
      ++number;
      while (!line.empty() && std::isspace(static_cast<unsigned char>(line.back()))) line.pop_back();
      const auto first = line.find_first_not_of(" \t");
      if (first == std::string::npos || line[first] == '#' || line[first] == '!') continue;
      lines.emplace_back(o.cluster_kafka_config + " line " + std::to_string(number), line.substr(first));
    }
  }
  for (const auto& option : o.cluster_kafka_options) lines.emplace_back("--cluster-kafka-option", option);
  for (const auto& [where, line] : lines) {
    const auto equals = line.find('=');
    if (equals == std::string::npos || equals == 0) {
      // The line is not repeated: it may hold a password.
      return connector::make_error(connector::ErrorCode::invalid_argument, where + ": not KEY=VALUE");
    }
    auto value = line.substr(equals + 1);
    if (line.substr(0, equals).find("password") != std::string::npos) {
      runtime::SecretRedactor::global().add("--cluster-kafka-option", value);
    }
    options.client.properties.emplace_back(line.substr(0, equals), std::move(value));
  }
  options.group = o.cluster_group;
  options.host_id = o.cluster_host_id;
  if (options.host_id.empty()) {
    char name[256] = {};
    ::gethostname(name, sizeof name - 1);
    options.host_id = std::string(name) + ":" + std::to_string(http_port);
  }
  options.slots = o.cluster_slots;
  options.session_timeout = std::chrono::milliseconds(o.cluster_session_timeout_ms);
  return std::optional(std::move(options));
}

int serve(const Options& o, const std::optional<runtime::KurrentDbConnection>& source_store,
          const runtime::PluginRegistry& plugins, std::optional<runtime::SecretBytes> token,
          std::shared_ptr<management_api::Authenticator> authenticator, const Listeners& listeners) {
  const std::string& host = listeners.host;
  auto log = runtime::EventLog::open(
      (fs::path(o.data_dir) / "events.db").string(),
      o.durability == "power-loss" ? runtime::Durability::power_loss : runtime::Durability::process_crash);
  if (!log.ok()) return fail(log.error().message);
  auto store = runtime::StateStore::open((fs::path(o.data_dir) / "state.db").string());
  if (!store.ok()) return fail(store.error().message);
  // A wrong token stops the start here, instead of a host running with settings it cannot
  // decrypt. The token itself is wiped once the key is derived.
  auto cluster_wanted = cluster_options(o, listeners.port);
  if (!cluster_wanted.ok()) return fail(cluster_wanted.error().message);
  std::unique_ptr<runtime::cluster::ClusterHost> cluster;
  runtime::DefinitionStore* definitions = store->get();
  if (*cluster_wanted) {
    auto opened = runtime::cluster::ClusterHost::open(**cluster_wanted);
    if (!opened.ok()) return fail("cannot reach cluster '" + o.cluster_group + "': " + opened.error().message);
    cluster = std::move(*opened);
    definitions = &cluster->store();
  }
  // In a cluster, the cluster's key (the same on every host); otherwise the data directory's.
  auto secrets = cluster ? cluster->open_data_protection(token ? &*token : nullptr)
                         : runtime::open_data_protection(**store, token ? &*token : nullptr);
  token.reset();
  if (!secrets.ok()) return fail("refusing to start: " + secrets.error().message);
  if (!*secrets) {
    spdlog::info("no data protection token: connectors with secret settings are refused (see docs/security.md)");
  }

  auto source = open_source(source_store);
  if (!source.ok()) return fail(source.error().message);
  std::optional<runtime::ConnectorService> service;
  if (*source) {
    service.emplace(**source, *definitions, plugins, *secrets);
  } else {
    service.emplace(**log, *definitions, plugins, *secrets);
  }
  auto& connectors = *service;
  management_api::Api api(**log, connectors, o.api);
  management_api::RequestHandler handler = [&api](const management_api::HttpRequest& r) { return api.handle(r); };
  if (authenticator) handler = management_api::with_basic_auth(authenticator, std::move(handler));
  management_api::HttpServer server(std::move(handler), {.host = host,
                                                         .port = listeners.port,
                                                         .body_limit = o.max_body_bytes,
                                                         .io_timeout = std::chrono::seconds(o.request_timeout_seconds),
                                                         .tls_cert_file = o.tls_cert,
                                                         .tls_key_file = o.tls_key,
                                                         .max_connections = o.max_connections});
  if (auto listening = server.listen(); !listening.ok()) return fail(listening.error().message);
  auto grpc = start_grpc(o, **log, authenticator, listeners);
  if (!grpc.ok()) return fail(grpc.error().message);
  if (cluster) connectors.join_cluster(cluster->membership());
  if (auto restored = connectors.restore(); !restored.ok()) return fail(restored.error().message);
  if (cluster) {
    if (auto joined = cluster->join(connectors); !joined.ok()) {
      return fail("cannot join cluster '" + o.cluster_group + "': " + joined.error().message);
    }
  }

  spdlog::info("sinkhost {} listening on {}://{}:{} (data directory {}, --auth {})", SINKHOST_VERSION,
               server.https() ? "https" : "http", host.find(':') != std::string::npos ? "[" + host + "]" : host,
               server.port(), o.data_dir, o.auth);
  // Type=notify: systemd counts the service as started from here (deploy/debian/sinkhost.service).
  notify_service_manager("READY=1");
  server.run();
  notify_service_manager("STOPPING=1");
  if (grpc.value()) grpc.value()->stop();
  // Leaving the group hands this host's connectors to the others at once.
  if (cluster) cluster->close();
  connectors.shutdown();
  spdlog::info("sinkhost stopped");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "sinkhost: a sink connector host. Reads events from its embedded event log and "
      "delivers them through sink plugins (kafka-sink, ...), managed over HTTP."};
  Options options;
  Commands commands;
  add_daemon_options(app, options);
  add_commands(app, options, commands);
  auto arguments = all_arguments(app, argc, argv);
  if (!arguments.ok()) {
    std::cerr << "sinkhost: " << arguments.error().message << "\n";
    return 1;
  }
  try {
    std::vector<std::string> reversed(arguments->arguments.rbegin(), arguments->arguments.rend());
    app.parse(reversed);  // CLI11 takes a vector in reverse order
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  if (options.print_version) return run_print_version(options.plugins_dir);
  runtime::set_delivery_niceness(options.delivery_nice);
  set_up_logging(options);
  if (options.users_file.empty()) options.users_file = (fs::path(options.data_dir) / "users").string();
  if (auto exit_code = run_command(options, commands)) return *exit_code;

  auto token = read_token(options);
  if (!token.ok()) return fail(token.error().message);
  auto source_store = source_connection(options);
  if (!source_store.ok()) return fail(source_store.error().message);
  if (!options.cluster.empty() && !*source_store) {
    return fail(
        "--cluster needs an external event store (--source kurrentdb://...): every host of a cluster must "
        "read the same events, and each host's embedded log is its own");
  }
  if (*source_store) {
    // The gRPC face serves the embedded log, which such a host does not read.
    if (options.grpc_listen_given && options.grpc_listen != "none") {
      return fail(
          "--grpc-listen serves the embedded log; a host with --source reads an external store: append "
          "there, and leave --grpc-listen out (or none)");
    }
    options.grpc_listen = "none";
  }
  auto listeners = parse_listeners(options);
  if (!listeners.ok()) return fail(listeners.error().message);
  if (options.tls_cert.empty() != options.tls_key.empty()) {
    return fail("--tls-cert and --tls-key go together: give both for HTTPS, or neither for HTTP");
  }
  auto authenticator = access_control(options, listeners->host);
  if (!authenticator.ok()) return fail(authenticator.error().message);
  if (listeners->grpc_host && options.auth == "none") {
    if (auto grpc_access = access_control(options, *listeners->grpc_host); !grpc_access.ok()) {
      return fail(grpc_access.error().message + " (--grpc-listen " + options.grpc_listen + ")");
    }
  }
  if (*commands.config_check) {
    std::cout << effective_configuration(app, arguments->origins);
    return 0;
  }
  ensure_descriptor_limit(options.max_connections);

  std::error_code ec;
  fs::create_directories(options.data_dir, ec);
  if (ec) return fail("cannot create the data directory " + options.data_dir + ": " + ec.message());
  if (auto locked = lock_data_dir(options.data_dir); !locked.empty()) return fail("refusing to start: " + locked);

  runtime::PluginRegistry plugins;
  if (auto loaded = plugins.load_directory(options.plugins_dir); !loaded.ok()) return fail(loaded.error().message);
  if (options.print_settings_reference) {
    std::cout << runtime::settings_reference_markdown(plugins);
    return 0;
  }
  log_plugins(plugins);
  return serve(options, *source_store, plugins, std::move(token).value(), std::move(authenticator).value(),
               listeners.value());
}
