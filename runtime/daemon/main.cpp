// The sinkhost daemon: opens the data directory, loads the plugins, restores the connectors
// and serves the HTTP API until SIGINT or SIGTERM. `sinkhost user add/remove` manage the users
// of --auth basic; `sinkhost token generate/rotate` the data protection token.
#include <fcntl.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <termios.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>

#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>

#include "sinkhost/management_api/api.hpp"
#include "sinkhost/management_api/auth.hpp"
#include "sinkhost/management_api/server.hpp"
#include "sinkhost/runtime/connector_service.hpp"
#include "sinkhost/runtime/embedded_log/event_log.hpp"
#include "sinkhost/runtime/plugin_registry.hpp"
#include "sinkhost/runtime/secrets/data_protection.hpp"
#include "sinkhost/runtime/secrets/redaction.hpp"
#include "sinkhost/runtime/secrets/token.hpp"
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

// A password as typed: a fixed buffer (no reallocation leaves copies behind), wiped at the end.
struct PasswordBuffer {
  std::array<char, 4096> bytes{};
  std::size_t length = 0;
  PasswordBuffer() = default;
  PasswordBuffer(const PasswordBuffer&) = delete;
  PasswordBuffer& operator=(const PasswordBuffer&) = delete;
  ~PasswordBuffer() { runtime::wipe(bytes.data(), bytes.size()); }
  std::string_view view() const { return {bytes.data(), length}; }
};

// Reads the first line of standard input, one byte at a time so nothing past the line is
// consumed and no library buffer keeps a copy. On a terminal, `prompt` goes to standard error
// and echo is off while the password is typed. Returns an error message, or "".
std::string read_password_line(const char* prompt, PasswordBuffer& out) {
  const bool terminal = ::isatty(STDIN_FILENO) == 1;
  termios saved{};
  bool echo_off = false;
  if (terminal) {
    std::cerr << prompt << std::flush;
    if (::tcgetattr(STDIN_FILENO, &saved) == 0) {
      termios quiet = saved;
      quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
      echo_off = ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet) == 0;
    }
  }
  std::string error;
  bool too_long = false;
  out.length = 0;
  for (;;) {
    char c = 0;
    auto n = ::read(STDIN_FILENO, &c, 1);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      error = std::string("cannot read the password from standard input: ") + std::strerror(errno);
      break;
    }
    if (n == 0 || c == '\n') break;
    if (out.length < out.bytes.size()) {
      out.bytes[out.length++] = c;
    } else {
      too_long = true;
    }
    c = 0;
  }
  if (echo_off) {
    ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved);
    std::cerr << "\n";
  }
  if (out.length > 0 && out.bytes[out.length - 1] == '\r') --out.length;
  if (error.empty() && too_long) error = "the password is longer than 4096 bytes";
  if (error.empty() && out.length == 0) error = "the password is empty (it is read from the first line of standard input)";
  return error;
}

int user_command_failed(const std::string& message) {
  std::cerr << "sinkhost: " << message << "\n";
  return 1;
}

int run_user_add(const std::string& users_file, const std::string& name) {
  // The name first: no point asking for a password for a name that cannot be used.
  if (auto valid = management_api::validate_user_name(name); !valid.ok()) return user_command_failed(valid.error().message);
  PasswordBuffer password;
  if (auto error = read_password_line(("Password for " + name + ": ").c_str(), password); !error.empty()) {
    return user_command_failed(error);
  }
  if (::isatty(STDIN_FILENO) == 1) {
    PasswordBuffer again;
    if (auto error = read_password_line("Repeat it: ", again); !error.empty()) return user_command_failed(error);
    if (again.view() != password.view()) return user_command_failed("the two passwords differ; nothing changed");
  }
  auto added = management_api::add_user(users_file, name, password.view());
  if (!added.ok()) return user_command_failed(added.error().message);
  std::cout << "user '" << name << "' " << (*added ? "replaced in " : "added to ") << users_file << "\n";
  return 0;
}

int run_user_remove(const std::string& users_file, const std::string& name) {
  if (auto removed = management_api::remove_user(users_file, name); !removed.ok()) {
    return user_command_failed(removed.error().message);
  }
  std::cout << "user '" << name << "' removed from " << users_file << "\n";
  return 0;
}

// --- The data protection token (docs/security.md) ---

constexpr const char* kTokenEnvironment = "SINKHOST_DATA_PROTECTION_TOKEN";

// The token from the environment, if set. Its value is then wiped in the environment block
// itself (which is what /proc/PID/environ shows) and the variable removed, so it neither
// lingers in this process's memory nor passes to a child.
std::optional<runtime::SecretBytes> take_token_from_environment() {
  char* value = std::getenv(kTokenEnvironment);
  if (value == nullptr) return std::nullopt;
  runtime::SecretBytes token{std::string_view(value)};
  runtime::wipe(value, std::strlen(value));
  ::unsetenv(kTokenEnvironment);
  return token;
}

// An exclusive lock on DATA_DIR/sinkhost.lock, held until the process exits: two hosts on one
// data directory would overwrite each other's state, and `token rotate` must not re-encrypt
// the secrets under a running host, which would go on writing with the old key. Returns an
// error message, or "".
std::string lock_data_dir(const std::string& data_dir) {
  const auto path = (fs::path(data_dir) / "sinkhost.lock").string();
  const int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd < 0) return "cannot open " + path + ": " + std::strerror(errno);
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const int error = errno;
    ::close(fd);
    if (error == EWOULDBLOCK) return "another sinkhost process is using the data directory " + data_dir;
    return "cannot lock " + path + ": " + std::strerror(error);
  }
  return "";  // the descriptor stays open (and locked) for the life of the process
}

int token_command_failed(const std::string& message) {
  std::cerr << "sinkhost: " << message << "\n";
  return 1;
}

// `sinkhost token generate [--output FILE]`: a new token on standard output, or in a new file
// only its owner can read.
int run_token_generate(const std::string& output) {
  auto token = runtime::generate_token();
  if (token.empty()) return token_command_failed("libsodium failed to initialize");
  if (output.empty()) {
    std::cout << token.view() << "\n" << std::flush;
    return 0;
  }
  const int fd = ::open(output.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    const int error = errno;
    return token_command_failed("cannot create " + output + ": " + std::strerror(error) +
                                (error == EEXIST ? " (a token file is never overwritten)" : ""));
  }
  runtime::SecretBytes line(token.size() + 1);
  std::memcpy(line.data(), token.view().data(), token.size());
  line.data()[token.size()] = '\n';
  std::size_t written = 0;
  int error = 0;
  while (written < line.size()) {
    auto n = ::write(fd, line.data() + written, line.size() - written);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      error = errno;
      break;
    }
    written += static_cast<std::size_t>(n);
  }
  if (error == 0 && ::fsync(fd) != 0) error = errno;
  ::close(fd);
  if (error != 0) {
    ::unlink(output.c_str());
    return token_command_failed("cannot write " + output + ": " + std::strerror(error));
  }
  std::cerr << "a new data protection token is in " << output << " (mode 0600)\n";
  return 0;
}

// `sinkhost token rotate`: re-encrypts every stored secret from the old token to the new one,
// all or nothing, with no host running on the data directory.
int run_token_rotate(const std::string& data_dir, const std::string& old_file, const std::string& new_file) {
  std::string old_warning;
  std::string new_warning;
  auto old_token = runtime::read_token_file(old_file, &old_warning);
  if (!old_token.ok()) return token_command_failed(old_token.error().message);
  auto new_token = runtime::read_token_file(new_file, &new_warning);
  if (!new_token.ok()) return token_command_failed(new_token.error().message);
  for (const auto& warning : {old_warning, new_warning}) {
    if (!warning.empty()) std::cerr << "sinkhost: warning: " << warning << "\n";
  }
  const auto state_path = (fs::path(data_dir) / "state.db").string();
  if (!fs::exists(state_path)) return token_command_failed("no " + state_path + ": is --data-dir right?");
  if (auto locked = lock_data_dir(data_dir); !locked.empty()) {
    return token_command_failed(locked + "; stop it before rotating the token");
  }
  auto store = runtime::StateStore::open(state_path);
  if (!store.ok()) return token_command_failed(store.error().message);
  auto count = runtime::rotate_token(**store, old_token->view(), new_token->view());
  if (!count.ok()) {
    const bool committed = count.error().code == connector::ErrorCode::unavailable &&
                           count.error().message.find("were re-encrypted") != std::string::npos;
    return token_command_failed(count.error().message + (committed ? "" : "; nothing changed"));
  }
  std::cout << "re-encrypted " << *count << " secret settings in " << state_path
            << " under the new token; start sinkhost with the new token (the old one no longer opens them)\n";
  return 0;
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
    spdlog::warn("--max-connections {} needs about {} file descriptors but the limit is {}; raise it (ulimit -n) "
                 "or lower --max-connections",
                 max_connections, wanted, raised.rlim_cur);
  }
}

// `sinkhost --version`: the host's version, then each plugin with the libraries it runs on.
int run_print_version(const std::string& plugins_dir) {
  std::cout << "sinkhost " << SINKHOST_VERSION << "\n";
  runtime::PluginRegistry plugins;
  if (auto loaded = plugins.load_directory(plugins_dir); !loaded.ok()) {
    std::cout << "plugins: not loaded (" << loaded.error().message << ")\n";
    return 0;
  }
  for (const auto* d : plugins.all()) {
    std::cout << d->type_name;
    if (d->library_versions != nullptr) std::cout << ": " << d->library_versions();
    std::cout << "\n";
  }
  return 0;
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
  int delivery_nice = 10;
  app.add_option("--delivery-nice", delivery_nice,
                 "Nice value of connector delivery threads (0-19): under full CPU the management API and the "
                 "event log's writer run first; 0 gives delivery the same priority as everything else")
      ->check(CLI::Range(0, 19))
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
  std::string auth = "none";
  bool insecure = false;
  std::string users_file;  // default: <data-dir>/users
  std::string tls_cert;
  std::string tls_key;
  std::size_t max_connections = 1000;
  unsigned request_timeout_seconds = 30;
  app.add_option("--auth", auth,
                 "none: no access control (only on a loopback --listen address unless --insecure); basic: "
                 "HTTP Basic credentials of a user in --users-file for every request but GET /health and /ready")
      ->check(CLI::IsMember({"none", "basic"}))
      ->capture_default_str();
  app.add_flag("--insecure", insecure, "Allow --auth none on an address that is not loopback");
  app.add_option("--users-file", users_file, "Users of --auth basic (default: DATA_DIR/users); see `sinkhost user add`");
  app.add_option("--tls-cert", tls_cert, "PEM certificate (chain) file: serve the API over HTTPS only (with --tls-key)");
  app.add_option("--tls-key", tls_key, "PEM private key file of --tls-cert (unencrypted)");
  app.add_option("--max-connections", max_connections,
                 "Connections served at once; past it new connections get 503 and are closed")
      ->check(CLI::Range(std::size_t{1}, std::size_t{1000000}))
      ->capture_default_str();
  app.add_option("--request-timeout-seconds", request_timeout_seconds,
                 "A request (and the TLS handshake) must arrive, and a response leave, within this; idle "
                 "connections close after it")
      ->check(CLI::Range(1u, 3600u))
      ->capture_default_str();

  // sinkhost user add|remove NAME [--users-file PATH | --data-dir DIR]
  std::string user_name;
  auto* user_command = app.add_subcommand("user", "Manage the users of --auth basic (the users file)");
  user_command->require_subcommand(1);
  auto* user_add = user_command->add_subcommand(
      "add", "Create or replace a user; the password is the first line of standard input (not echoed on a terminal)");
  auto* user_remove = user_command->add_subcommand("remove", "Remove a user");
  for (auto* command : {user_add, user_remove}) {
    command->add_option("NAME", user_name, "1-64 characters of A-Z a-z 0-9 _ . -")->required();
    auto* file = command->add_option("--users-file", users_file, "The users file (default: DATA_DIR/users)");
    command->add_option("--data-dir", data_dir, "The data directory whose users file to change")->excludes(file);
  }

  std::string token_file;
  app.add_option("--data-protection-token-file", token_file,
                 "File holding the data protection token that encrypts secret connector settings (default: the "
                 "environment variable SINKHOST_DATA_PROTECTION_TOKEN; see `sinkhost token generate`)");

  // sinkhost token generate [--output FILE] | token rotate --data-dir DIR --old-token-file F --new-token-file F
  std::string token_output;
  std::string old_token_file;
  std::string new_token_file;
  auto* token_command = app.add_subcommand("token", "Manage the data protection token of secret connector settings");
  token_command->require_subcommand(1);
  auto* token_generate = token_command->add_subcommand(
      "generate", "Print a new random token (or write it to a new file, mode 0600, with --output)");
  token_generate->add_option("--output", token_output, "Write the token to this new file instead");
  auto* token_rotate = token_command->add_subcommand(
      "rotate", "Re-encrypt every stored secret setting from the old token to the new one, all or nothing; "
                "sinkhost must not be running on the data directory");
  token_rotate->add_option("--data-dir", data_dir, "The data directory whose secrets to re-encrypt")->required();
  token_rotate->add_option("--old-token-file", old_token_file, "File holding the current token")->required();
  token_rotate->add_option("--new-token-file", new_token_file, "File holding the new token")->required();

  bool print_settings_reference = false;
  app.add_flag("--settings-reference", print_settings_reference,
               "Print the settings reference of every loaded plugin (Markdown) and exit");
  bool print_version = false;
  app.add_flag("--version", print_version, "Print the version of sinkhost and of the libraries its plugins run on, and exit");
  CLI11_PARSE(app, argc, argv);
  if (print_version) return run_print_version(plugins_dir);
  runtime::set_delivery_niceness(delivery_nice);

  // Every log line passes the redactor, so a running connector's secret values never reach it.
  runtime::install_redacting_logger();
  spdlog::set_level(spdlog::level::from_str(log_level));
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ %v");

  if (users_file.empty()) users_file = (fs::path(data_dir) / "users").string();
  if (*user_add) return run_user_add(users_file, user_name);
  if (*user_remove) return run_user_remove(users_file, user_name);
  if (*token_generate) return run_token_generate(token_output);
  if (*token_rotate) return run_token_rotate(data_dir, old_token_file, new_token_file);

  // The token is read before anything is opened, so a bad one changes nothing.
  auto environment_token = take_token_from_environment();
  std::optional<runtime::SecretBytes> token;
  if (!token_file.empty()) {
    std::string warning;
    auto read = runtime::read_token_file(token_file, &warning);
    if (!read.ok()) return fail("refusing to start: " + read.error().message);
    if (!warning.empty()) spdlog::warn("{}", warning);
    if (environment_token) spdlog::info("--data-protection-token-file is used; {} is ignored", kTokenEnvironment);
    token = std::move(read).value();
  } else if (environment_token) {
    if (auto valid = runtime::check_token(environment_token->view()); !valid.ok()) {
      return fail(std::string("refusing to start: ") + kTokenEnvironment + ": " + valid.error().message);
    }
    token = std::move(environment_token);
  }
  environment_token.reset();

  std::string host;
  std::uint16_t port = 0;
  if (!split_listen(listen, host, port)) return fail("--listen must be HOST:PORT, got '" + listen + "'");
  if (tls_cert.empty() != tls_key.empty()) {
    return fail("--tls-cert and --tls-key go together: give both for HTTPS, or neither for HTTP");
  }

  // Access control is decided before anything is opened, so a refused start changes nothing.
  const bool loopback = management_api::is_loopback_address(host);
  std::shared_ptr<management_api::Authenticator> authenticator;
  if (auth == "none") {
    if (!loopback && !insecure) {
      return fail("refusing to start: --auth none leaves the API open to anyone who can reach " + host +
                  ", and it is allowed only when --listen is a loopback address (127.0.0.0/8 or ::1) or "
                  "--insecure is given; use --auth basic (see `sinkhost user add`) or --insecure");
    }
    if (!loopback) spdlog::warn("the API on {} has no access control (--auth none --insecure)", host);
  } else {
    auto opened = management_api::Authenticator::open(users_file);
    if (!opened.ok()) return fail(opened.error().message);
    authenticator = std::move(opened).value();
    spdlog::info("--auth basic: {} users in {}", authenticator->user_count(), users_file);
    if (!loopback && tls_cert.empty()) {
      spdlog::warn("--auth basic without --tls-cert on {}: passwords cross the network in clear text", host);
    }
  }
  ensure_descriptor_limit(max_connections);

  std::error_code ec;
  fs::create_directories(data_dir, ec);
  if (ec) return fail("cannot create the data directory " + data_dir + ": " + ec.message());
  if (auto locked = lock_data_dir(data_dir); !locked.empty()) return fail("refusing to start: " + locked);

  runtime::PluginRegistry plugins;
  if (auto loaded = plugins.load_directory(plugins_dir); !loaded.ok()) return fail(loaded.error().message);
  if (print_settings_reference) {
    std::cout << runtime::settings_reference_markdown(plugins);
    return 0;
  }
  for (const auto* d : plugins.all()) {
    if (d->library_versions != nullptr) {
      spdlog::info("plugin loaded: {} on {}", d->type_name, d->library_versions());
    } else {
      spdlog::info("plugin loaded: {}", d->type_name);
    }
  }

  auto log = runtime::EventLog::open((fs::path(data_dir) / "events.db").string(),
                                     durability == "power-loss" ? runtime::Durability::power_loss
                                                                : runtime::Durability::process_crash);
  if (!log.ok()) return fail(log.error().message);
  auto store = runtime::StateStore::open((fs::path(data_dir) / "state.db").string());
  if (!store.ok()) return fail(store.error().message);
  // A wrong token stops the start here, instead of a host running with settings it cannot
  // decrypt. The token itself is wiped once the key is derived.
  auto secrets = runtime::open_data_protection(**store, token ? &*token : nullptr);
  token.reset();
  if (!secrets.ok()) return fail("refusing to start: " + secrets.error().message);
  if (!*secrets) {
    spdlog::info("no data protection token: connectors with secret settings are refused (see docs/security.md)");
  }

  runtime::ConnectorService connectors(**log, **store, plugins, *secrets);
  management_api::Api api(**log, connectors, api_options);
  management_api::RequestHandler handler = [&api](const management_api::HttpRequest& r) { return api.handle(r); };
  if (authenticator) handler = management_api::with_basic_auth(authenticator, std::move(handler));
  management_api::HttpServer server(std::move(handler), {.host = host,
                                                         .port = port,
                                                         .body_limit = max_body_bytes,
                                                         .io_timeout = std::chrono::seconds(request_timeout_seconds),
                                                         .tls_cert_file = tls_cert,
                                                         .tls_key_file = tls_key,
                                                         .max_connections = max_connections});
  if (auto listening = server.listen(); !listening.ok()) return fail(listening.error().message);
  if (auto restored = connectors.restore(); !restored.ok()) return fail(restored.error().message);

  spdlog::info("sinkhost {} listening on {}://{}:{} (data directory {}, --auth {})", SINKHOST_VERSION,
               server.https() ? "https" : "http", host.find(':') != std::string::npos ? "[" + host + "]" : host,
               server.port(), data_dir, auth);
  server.run();
  connectors.shutdown();
  spdlog::info("sinkhost stopped");
  return 0;
}
