#include "options.hpp"

#include <filesystem>

namespace sinkhost::daemon {

namespace fs = std::filesystem;

// Both the build tree and an installation put the plugins there.
std::string default_plugins_dir() {
  std::error_code ec;
  auto exe = fs::read_symlink("/proc/self/exe", ec);
  if (ec) return SINKHOST_PLUGIN_SUBDIR;
  return (exe.parent_path().parent_path() / SINKHOST_PLUGIN_SUBDIR).string();
}

void add_daemon_options(CLI::App& app, Options& o) {
  // The config file and the environment come before the command line (config_sources.hpp): the
  // last value given wins.
  app.option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  app.add_option("--config", o.config_file,
                 "YAML file of these options, keys named as the flags without dashes (listen: 127.0.0.1:2113); "
                 "also SINKHOST_CONFIG. Precedence: flag > SINKHOST_* environment > file > default "
                 "(docs/operations.md)");
  app.add_option("--listen", o.listen, "HOST:PORT for the HTTP API")->capture_default_str();
  app.add_option("--grpc-listen", o.grpc_listen,
                 "HOST:PORT for the KurrentDB client protocol (gRPC) on the embedded log, or none; same --auth, "
                 "--tls-cert and --tls-key as the HTTP API (docs/kurrentdb-clients.md)")
      ->capture_default_str()
      ->each([&o](const std::string&) { o.grpc_listen_given = true; });
  app.add_option("--source", o.source,
                 "Where connectors read events: embedded (the embedded log) or a KurrentDB connection string, "
                 "kurrentdb://USER:PASSWORD@HOST:2113?tls=true&tlsCaFile=... (docs/kurrentdb-source.md)")
      ->capture_default_str();
  app.add_option("--source-file", o.source_file,
                 "A file holding the --source connection string, so that its password is not on the command line");
  app.add_option("--data-dir", o.data_dir, "Directory for the event log and connector state")->capture_default_str();
  app.add_option("--plugins-dir", o.plugins_dir, "Directory of sink plugin libraries (*.so)")->capture_default_str();
  app.add_option("--log-level", o.log_level, "debug, info, warn or error")
      ->check(CLI::IsMember({"debug", "info", "warn", "error"}))
      ->capture_default_str();
  app.add_option("--log-format", o.log_format, "text, or json: one JSON object per line (docs/operations.md)")
      ->check(CLI::IsMember({"text", "json"}))
      ->capture_default_str();
  app.add_option("--durability", o.durability,
                 "process-crash: an acknowledged append survives a crash of sinkhost; power-loss: it also "
                 "survives a power loss or OS crash (fsync at every commit, slower)")
      ->check(CLI::IsMember({"process-crash", "power-loss"}))
      ->capture_default_str();
  app.add_option("--delivery-nice", o.delivery_nice,
                 "Nice value of connector delivery threads (0-19): under full CPU the management API and the "
                 "event log's writer run first; 0 gives delivery the same priority as everything else")
      ->check(CLI::Range(0, 19))
      ->capture_default_str();
  app.add_option("--max-body-bytes", o.max_body_bytes, "Largest HTTP request body; larger ones get 413")
      ->check(CLI::Range(std::size_t{1024}, std::size_t{1} << 31))
      ->capture_default_str();
  app.add_option("--max-event-bytes", o.api.max_event_bytes, "Largest event (data + metadata); larger ones get 413")
      ->check(CLI::Range(std::size_t{1}, std::size_t{1} << 31))
      ->capture_default_str();
  app.add_option("--max-batch-events", o.api.max_batch_events, "Most events in one append; more get 413")
      ->check(CLI::Range(std::size_t{1}, std::size_t{1000000}))
      ->capture_default_str();
  app.add_option("--auth", o.auth,
                 "none: no access control (only on a loopback --listen address unless --insecure); basic: "
                 "HTTP Basic credentials of a user in --users-file for every request but GET /health and /ready")
      ->check(CLI::IsMember({"none", "basic"}))
      ->capture_default_str();
  app.add_flag("--insecure", o.insecure, "Allow --auth none on an address that is not loopback");
  app.add_option("--users-file", o.users_file,
                 "Users of --auth basic (default: DATA_DIR/users); see `sinkhost user add`");
  app.add_option("--tls-cert", o.tls_cert,
                 "PEM certificate (chain) file: serve the API over HTTPS only (with --tls-key)");
  app.add_option("--tls-key", o.tls_key, "PEM private key file of --tls-cert (unencrypted)");
  app.add_option("--max-connections", o.max_connections,
                 "Connections served at once; past it new connections get 503 and are closed")
      ->check(CLI::Range(std::size_t{1}, std::size_t{1000000}))
      ->capture_default_str();
  app.add_option("--request-timeout-seconds", o.request_timeout_seconds,
                 "A request (and the TLS handshake) must arrive, and a response leave, within this; idle "
                 "connections close after it")
      ->check(CLI::Range(1u, 3600u))
      ->capture_default_str();
  app.add_option("--data-protection-token-file", o.token_file,
                 "File holding the data protection token that encrypts secret connector settings (default: the "
                 "environment variable SINKHOST_DATA_PROTECTION_TOKEN; see `sinkhost token generate`)");
  app.add_option("--cluster", o.cluster,
                 "kafka://HOST:PORT[,HOST:PORT...]: run as one host of a cluster that shares its connectors, "
                 "coordinated through this Kafka cluster; needs --cluster-group and an external --source "
                 "(docs/cluster.md)");
  app.add_option("--cluster-group", o.cluster_group,
                 "The cluster's name: its hosts' consumer group, and the prefix of its topics (sinkhost-NAME-*)");
  app.add_option("--cluster-host-id", o.cluster_host_id,
                 "This host's name in the cluster, shown as the host of its connectors (default: the machine's "
                 "host name and the --listen port, HOSTNAME:PORT)");
  app.add_option("--cluster-slots", o.cluster_slots,
                 "Partitions of the assignment topic, each a slot of connectors; fixed when the cluster's first "
                 "host creates it")
      ->check(CLI::Range(1, 10000))
      ->capture_default_str();
  app.add_option("--cluster-session-timeout-ms", o.cluster_session_timeout_ms,
                 "A host that stops answering loses its connectors to the others after this long (the broker's "
                 "group.min.session.timeout.ms bounds it, 6000 by default)")
      ->check(CLI::Range(1000, 300000))
      ->capture_default_str();
  app.add_option("--cluster-kafka-option", o.cluster_kafka_options,
                 "KEY=VALUE: a librdkafka property of the cluster's Kafka clients (security.protocol, sasl.*, "
                 "ssl.*); repeat for each")
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  app.add_option("--cluster-kafka-config", o.cluster_kafka_config,
                 "A file of librdkafka properties for the cluster's Kafka clients, KEY=VALUE per line (# comments), "
                 "as Kafka's client.properties; --cluster-kafka-option wins over it");
  app.add_flag("--settings-reference", o.print_settings_reference,
               "Print the settings reference of every loaded plugin (Markdown) and exit");
  app.add_flag("--version", o.print_version,
               "Print the version of sinkhost and of the libraries its plugins run on, and exit");
}

std::unique_ptr<CLI::App> daemon_options_parser() {
  struct Parser : CLI::App {
    Options options;
    Parser() { add_daemon_options(*this, options); }
  };
  return std::make_unique<Parser>();
}

void add_commands(CLI::App& app, Options& o, Commands& c) {
  // sinkhost user add|remove NAME [--users-file PATH | --data-dir DIR]
  auto* user_command = app.add_subcommand("user", "Manage the users of --auth basic (the users file)");
  user_command->require_subcommand(1);
  c.user_add = user_command->add_subcommand(
      "add", "Create or replace a user; the password is the first line of standard input (not echoed on a terminal)");
  c.user_remove = user_command->add_subcommand("remove", "Remove a user");
  for (auto* command : {c.user_add, c.user_remove}) {
    command->add_option("NAME", c.user_name, "1-64 characters of A-Z a-z 0-9 _ . -")->required();
    auto* file = command->add_option("--users-file", o.users_file, "The users file (default: DATA_DIR/users)");
    command->add_option("--data-dir", o.data_dir, "The data directory whose users file to change")->excludes(file);
  }
  // sinkhost token generate [--output FILE] | token rotate --data-dir DIR --old-token-file F --new-token-file F
  auto* token_command = app.add_subcommand("token", "Manage the data protection token of secret connector settings");
  token_command->require_subcommand(1);
  c.token_generate = token_command->add_subcommand(
      "generate", "Print a new random token (or write it to a new file, mode 0600, with --output)");
  c.token_generate->add_option("--output", c.token_output, "Write the token to this new file instead");
  c.token_rotate = token_command->add_subcommand(
      "rotate",
      "Re-encrypt every stored secret setting from the old token to the new one, all or nothing; "
      "sinkhost must not be running on the data directory");
  c.token_rotate->add_option("--data-dir", o.data_dir, "The data directory whose secrets to re-encrypt")->required();
  c.token_rotate->add_option("--old-token-file", c.old_token_file, "File holding the current token")->required();
  c.token_rotate->add_option("--new-token-file", c.new_token_file, "File holding the new token")->required();
  // sinkhost [--config FILE] config check
  auto* config_command = app.add_subcommand("config", "Check the configuration");
  config_command->require_subcommand(1);
  c.config_check = config_command->add_subcommand(
      "check",
      "Check the flags, the SINKHOST_* environment and the --config file as a start would, and print the "
      "effective configuration (secrets masked); exit status 1 when sinkhost would refuse to start");
}

}  // namespace sinkhost::daemon
