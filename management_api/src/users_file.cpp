#include "sinkhost/management_api/auth.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <set>

#include <sodium.h>

#include "sinkhost/runtime/dir_lock.hpp"
#include "sinkhost/runtime/secrets/secret_bytes.hpp"

// The users file of the management API: its format, reading and writing it safely, and the
// `sinkhost user add|remove` edits (auth.hpp declares them; auth.cpp checks requests against it).
namespace sinkhost::management_api {

namespace fs = std::filesystem;
using connector::Error;
using connector::ErrorCode;
using connector::make_error;
using connector::Result;

namespace {

constexpr std::size_t kMaxUserName = 64;
// Far above any sane file of users; a bigger file is a mistake (a log pointed at by accident).
constexpr std::size_t kMaxUsersFileBytes = 1024 * 1024;

// libsodium is initialized once, by the secrets module.
bool sodium_ready() { return runtime::crypto_ready(); }

Error sodium_unavailable() { return make_error(ErrorCode::internal, "libsodium failed to initialize"); }

std::string errno_text(int error) { return std::strerror(error); }

bool valid_name_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-';
}

// What crypto_pwhash_str writes for Argon2id: "$argon2id$v=19$m=...,t=...,p=...$salt$hash", shorter
// than crypto_pwhash_STRBYTES (which counts the terminating NUL), printable, no ':' or spaces.
bool plausible_argon2id_hash(std::string_view hash) {
  if (!hash.starts_with(crypto_pwhash_argon2id_STRPREFIX) || hash.size() >= crypto_pwhash_STRBYTES) return false;
  for (char c : hash) {
    if (c <= ' ' || c > '~' || c == ':') return false;
  }
  return true;
}

std::string parent_directory(const std::string& path) {
  auto parent = fs::path(path).parent_path();
  return parent.empty() ? std::string(".") : parent.string();
}

// An exclusive flock on the users file's directory for the read-modify-write of add/remove.
// Locking the directory, not the file, because the file is replaced by rename.
std::string lock_failure(const runtime::DirLock& lock, const std::string& directory) {
  if (lock.locked()) return "";
  const char* step = lock.failed_step() == runtime::DirLock::Step::open ? "open" : "lock";
  return std::string("cannot ") + step + " the directory " + directory + ": " + errno_text(lock.error_number());
}

bool write_all(int fd, std::string_view data) {
  while (!data.empty()) {
    auto n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    data.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

}  // namespace

Result<void> validate_user_name(std::string_view name) {
  bool ok = !name.empty() && name.size() <= kMaxUserName;
  for (char c : name) ok = ok && valid_name_char(c);
  if (!ok) {
    // The name is not echoed: a mistyped command line can put a password here.
    return make_error(ErrorCode::invalid_argument,
                      "a user name must be 1 to 64 characters of A-Z, a-z, 0-9, '_', '.' and '-'");
  }
  return {};
}

Result<std::vector<UserEntry>> parse_users(std::string_view text, std::string_view source) {
  std::vector<UserEntry> users;
  std::set<std::string, std::less<>> seen;
  std::size_t line_number = 0;
  std::size_t pos = 0;
  while (pos < text.size()) {
    auto end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    auto line = text.substr(pos, end - pos);
    pos = end + 1;
    ++line_number;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) continue;
    const std::string where = std::string(source) + " line " + std::to_string(line_number) + ": ";
    auto colon = line.find(':');
    if (colon == std::string_view::npos) {
      return make_error(ErrorCode::invalid_argument, where + "expected NAME:HASH (one user per line)");
    }
    auto name = line.substr(0, colon);
    auto hash = line.substr(colon + 1);
    if (auto valid = validate_user_name(name); !valid.ok()) {
      return make_error(ErrorCode::invalid_argument, where + valid.error().message);
    }
    if (!plausible_argon2id_hash(hash)) {
      return make_error(ErrorCode::invalid_argument,
                        where + "the password hash of user '" + std::string(name) +
                            "' is not an Argon2id hash ($argon2id$...); create users with `sinkhost user add`");
    }
    if (!seen.emplace(name).second) {
      return make_error(ErrorCode::invalid_argument, where + "user '" + std::string(name) + "' appears twice");
    }
    users.push_back(UserEntry{std::string(name), std::string(hash)});
  }
  return users;
}

std::string format_users(const std::vector<UserEntry>& users) {
  std::string out;
  for (const auto& user : users) out += user.name + ":" + user.hash + "\n";
  return out;
}

Result<std::vector<UserEntry>> load_users_file(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    const int error = errno;
    if (error == ENOENT) return make_error(ErrorCode::not_found, "the users file " + path + " does not exist");
    return make_error(ErrorCode::failed_precondition, "cannot read the users file " + path + ": " + errno_text(error));
  }
  struct stat st {};
  std::string text;
  std::string failure;
  if (::fstat(fd, &st) != 0) {
    failure = errno_text(errno);
  } else if (!S_ISREG(st.st_mode)) {
    failure = "not a regular file";
  } else if (static_cast<std::size_t>(st.st_size) > kMaxUsersFileBytes) {
    failure = "larger than 1 MiB";
  } else {
    std::array<char, 8192> chunk;
    for (;;) {
      auto n = ::read(fd, chunk.data(), chunk.size());
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) {
        failure = errno_text(errno);
        break;
      }
      if (n == 0) break;
      text.append(chunk.data(), static_cast<std::size_t>(n));
      if (text.size() > kMaxUsersFileBytes) {
        failure = "larger than 1 MiB";
        break;
      }
    }
  }
  ::close(fd);
  if (!failure.empty()) {
    return make_error(ErrorCode::failed_precondition, "cannot read the users file " + path + ": " + failure);
  }
  return parse_users(text, path);
}

Result<void> save_users_file(const std::string& path, const std::vector<UserEntry>& users) {
  const std::string directory = parent_directory(path);
  std::string temp = (fs::path(directory) / ("." + fs::path(path).filename().string() + ".tmp-XXXXXX")).string();
  int fd = ::mkstemp(temp.data());  // mode 0600, O_EXCL
  if (fd < 0) {
    return make_error(ErrorCode::failed_precondition,
                      "cannot create a temporary file in " + directory + ": " + errno_text(errno));
  }
  std::string failure;
  const auto text = format_users(users);
  if (::fchmod(fd, 0600) != 0) {
    failure = "chmod: " + errno_text(errno);
  } else if (!write_all(fd, text)) {
    failure = "write: " + errno_text(errno);
  } else if (::fsync(fd) != 0) {
    failure = "fsync: " + errno_text(errno);
  }
  if (::close(fd) != 0 && failure.empty()) failure = "close: " + errno_text(errno);
  if (failure.empty() && ::rename(temp.c_str(), path.c_str()) != 0) failure = "rename: " + errno_text(errno);
  if (!failure.empty()) {
    ::unlink(temp.c_str());
    return make_error(ErrorCode::failed_precondition, "cannot write the users file " + path + ": " + failure);
  }
  // The rename is only durable once the directory entry is on disk.
  int dir_fd = ::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir_fd >= 0) {
    ::fsync(dir_fd);
    ::close(dir_fd);
  }
  return {};
}

Result<std::string> hash_password(std::string_view password) {
  if (!sodium_ready()) return sodium_unavailable();
  std::array<char, crypto_pwhash_STRBYTES> out{};
  if (crypto_pwhash_str_alg(out.data(), password.data(), password.size(), crypto_pwhash_OPSLIMIT_INTERACTIVE,
                            crypto_pwhash_MEMLIMIT_INTERACTIVE, crypto_pwhash_ALG_ARGON2ID13) != 0) {
    return make_error(ErrorCode::resource_exhausted, "hashing the password failed: Argon2id needs 64 MiB of memory");
  }
  return std::string(out.data());
}

Result<bool> add_user(const std::string& path, std::string_view name, std::string_view password) {
  if (auto valid = validate_user_name(name); !valid.ok()) return std::move(valid).take_error();
  if (password.empty()) return make_error(ErrorCode::invalid_argument, "the password is empty");
  // Hash before taking the lock: it is the slow part and does not depend on the file.
  auto hash = hash_password(password);
  if (!hash.ok()) return std::move(hash).take_error();

  const std::string directory = parent_directory(path);
  std::error_code ec;
  fs::create_directories(directory, ec);
  if (ec)
    return make_error(ErrorCode::failed_precondition, "cannot create the directory " + directory + ": " + ec.message());
  runtime::DirLock lock(directory, runtime::DirLock::Target::directory, runtime::DirLock::Wait::until_free);
  if (!lock.locked()) return make_error(ErrorCode::failed_precondition, lock_failure(lock, directory));

  std::vector<UserEntry> users;
  auto loaded = load_users_file(path);
  if (loaded.ok()) {
    users = std::move(loaded).value();
  } else if (loaded.error().code != ErrorCode::not_found) {
    // Rewriting a file we cannot parse would silently drop its other users.
    return make_error(loaded.error().code, loaded.error().message + " (fix or remove the file first)");
  }
  bool replaced = false;
  for (auto& user : users) {
    if (user.name == name) {
      user.hash = *hash;
      replaced = true;
    }
  }
  if (!replaced) users.push_back(UserEntry{std::string(name), std::move(hash).value()});
  if (auto saved = save_users_file(path, users); !saved.ok()) return std::move(saved).take_error();
  return replaced;
}

Result<void> remove_user(const std::string& path, std::string_view name) {
  if (auto valid = validate_user_name(name); !valid.ok()) return std::move(valid).take_error();
  const std::string directory = parent_directory(path);
  runtime::DirLock lock(directory, runtime::DirLock::Target::directory, runtime::DirLock::Wait::until_free);
  if (!lock.locked()) return make_error(ErrorCode::failed_precondition, lock_failure(lock, directory));
  auto loaded = load_users_file(path);
  if (!loaded.ok()) return std::move(loaded).take_error();
  auto users = std::move(loaded).value();
  auto before = users.size();
  std::erase_if(users, [&](const UserEntry& user) { return user.name == name; });
  if (users.size() == before) {
    return make_error(ErrorCode::not_found, "there is no user '" + std::string(name) + "' in " + path);
  }
  return save_users_file(path, users);
}

}  // namespace sinkhost::management_api
