#include "commands.hpp"

#include <fcntl.h>
#include <termios.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <iostream>

#include "sinkhost/management_api/auth.hpp"
#include "sinkhost/runtime/dir_lock.hpp"
#include "sinkhost/runtime/plugin_registry.hpp"
#include "sinkhost/runtime/secrets/data_protection.hpp"
#include "sinkhost/runtime/secrets/token.hpp"
#include "sinkhost/runtime/state_store.hpp"
#include "sinkhost/version.hpp"

namespace sinkhost::daemon {

namespace fs = std::filesystem;

namespace {

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
  if (error.empty() && out.length == 0)
    error = "the password is empty (it is read from the first line of standard input)";
  return error;
}

int user_command_failed(const std::string& message) {
  std::cerr << "sinkhost: " << message << "\n";
  return 1;
}

int token_command_failed(const std::string& message) {
  std::cerr << "sinkhost: " << message << "\n";
  return 1;
}

}  // namespace

int run_user_add(const std::string& users_file, const std::string& name) {
  // The name first: no point asking for a password for a name that cannot be used.
  if (auto valid = management_api::validate_user_name(name); !valid.ok())
    return user_command_failed(valid.error().message);
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

std::optional<runtime::SecretBytes> take_token_from_environment() {
  char* value = std::getenv(kTokenEnvironment);
  if (value == nullptr) return std::nullopt;
  runtime::SecretBytes token{std::string_view(value)};
  runtime::wipe(value, std::strlen(value));
  ::unsetenv(kTokenEnvironment);
  return token;
}

std::string lock_data_dir(const std::string& data_dir) {
  const auto path = (fs::path(data_dir) / "sinkhost.lock").string();
  runtime::DirLock lock(path, runtime::DirLock::Target::lock_file, runtime::DirLock::Wait::fail_if_held);
  if (lock.failed_step() == runtime::DirLock::Step::open) {
    return "cannot open " + path + ": " + std::strerror(lock.error_number());
  }
  if (lock.held_elsewhere()) return "another sinkhost process is using the data directory " + data_dir;
  if (!lock.locked()) return "cannot lock " + path + ": " + std::strerror(lock.error_number());
  lock.keep_until_exit();  // the lock is the process's from here on
  return "";
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

}  // namespace sinkhost::daemon
