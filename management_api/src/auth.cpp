#include "sinkhost/management_api/auth.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <map>
#include <mutex>
#include <set>

#include <nlohmann/json.hpp>
#include <sodium.h>
#include <spdlog/spdlog.h>

#include "sinkhost/runtime/secrets/secret_bytes.hpp"

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
// Longer Authorization values are refused before decoding: no password needs more.
constexpr std::size_t kMaxCredentialsBase64 = 4096;

// libsodium is initialized once, by the secrets module.
bool sodium_ready() { return runtime::crypto_ready(); }

Error sodium_unavailable() { return make_error(ErrorCode::internal, "libsodium failed to initialize"); }

std::string errno_text(int error) { return std::strerror(error); }

bool valid_name_char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' ||
         c == '-';
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

// What identifies one version of the users file: a rewrite by `sinkhost user add` is a rename,
// so the inode changes; an edit in place changes the size or the times.
struct FileStamp {
  dev_t device = 0;
  ino_t inode = 0;
  off_t size = -1;
  timespec modified{};
  timespec changed{};

  static FileStamp of(const struct stat& st) {
    return FileStamp{st.st_dev, st.st_ino, st.st_size, st.st_mtim, st.st_ctim};
  }
  bool operator==(const FileStamp& o) const {
    return device == o.device && inode == o.inode && size == o.size && modified.tv_sec == o.modified.tv_sec &&
           modified.tv_nsec == o.modified.tv_nsec && changed.tv_sec == o.changed.tv_sec &&
           changed.tv_nsec == o.changed.tv_nsec;
  }
};

FileStamp stamp_of(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return FileStamp{};  // missing: compares unequal to any real file
  return FileStamp::of(st);
}

std::string parent_directory(const std::string& path) {
  auto parent = fs::path(path).parent_path();
  return parent.empty() ? std::string(".") : parent.string();
}

// An exclusive flock on the users file's directory for the read-modify-write of add/remove.
// Locking the directory, not the file, because the file is replaced by rename.
class DirectoryLock {
 public:
  explicit DirectoryLock(const std::string& directory) {
    fd_ = ::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd_ < 0) {
      error_ = "cannot open the directory " + directory + ": " + errno_text(errno);
      return;
    }
    while (::flock(fd_, LOCK_EX) != 0) {
      if (errno != EINTR) {
        error_ = "cannot lock the directory " + directory + ": " + errno_text(errno);
        return;
      }
    }
  }
  ~DirectoryLock() {
    if (fd_ >= 0) ::close(fd_);  // closing releases the lock
  }
  DirectoryLock(const DirectoryLock&) = delete;
  DirectoryLock& operator=(const DirectoryLock&) = delete;
  const std::string& error() const { return error_; }

 private:
  int fd_ = -1;
  std::string error_;
};

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

std::string how_to_create_a_user(const std::string& path) {
  return "create a user with: sinkhost user add NAME --users-file " + path +
         " (it reads the password from standard input)";
}

std::string path_of(std::string_view target) { return std::string(target.substr(0, target.find('?'))); }

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
  if (ec) return make_error(ErrorCode::failed_precondition, "cannot create the directory " + directory + ": " + ec.message());
  DirectoryLock lock(directory);
  if (!lock.error().empty()) return make_error(ErrorCode::failed_precondition, lock.error());

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
  DirectoryLock lock(directory);
  if (!lock.error().empty()) return make_error(ErrorCode::failed_precondition, lock.error());
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


bool is_loopback_address(std::string_view host) {
  std::string text(host);
  if (text.size() >= 2 && text.front() == '[' && text.back() == ']') text = text.substr(1, text.size() - 2);
  in_addr v4{};
  if (::inet_pton(AF_INET, text.c_str(), &v4) == 1) return (ntohl(v4.s_addr) >> 24) == 127;
  in6_addr v6{};
  if (::inet_pton(AF_INET6, text.c_str(), &v6) == 1) {
    const auto* b = v6.s6_addr;
    bool zeros_to_10 = true;
    for (int i = 0; i < 10; ++i) zeros_to_10 = zeros_to_10 && b[i] == 0;
    if (!zeros_to_10) return false;
    bool loopback = b[10] == 0 && b[11] == 0 && b[12] == 0 && b[13] == 0 && b[14] == 0 && b[15] == 1;  // ::1
    bool mapped_loopback = b[10] == 0xff && b[11] == 0xff && b[12] == 127;  // ::ffff:127.x.y.z
    return loopback || mapped_loopback;
  }
  return false;
}

HttpResponse unauthorized_response(std::string message) {
  nlohmann::json body = {{"code", 16}, {"message", std::move(message)}, {"details", nlohmann::json::array()}};
  auto response = json_response(401, body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
  response.headers.emplace_back("WWW-Authenticate", "Basic realm=\"sinkhost\"");
  return response;
}

// ---------------------------------------------------------------------------------------------

struct Authenticator::State {
  struct Verified {
    std::string hash;  // the stored hash the password was verified against
    std::array<unsigned char, crypto_generichash_BYTES> digest{};
  };

  std::string path;  // empty: a fixed list of users (from_entries)
  std::array<unsigned char, crypto_generichash_KEYBYTES> key{};
  std::string dummy_hash;  // verified against for unknown users, so they cost the same time
  std::atomic<std::uint64_t> slow_verifications{0};

  mutable std::mutex mutex;  // guards everything below
  std::map<std::string, std::string, std::less<>> users;  // name -> hash
  std::map<std::string, Verified, std::less<>> verified;
  FileStamp loaded_stamp;
  std::optional<FileStamp> rejected_stamp;  // a changed file that failed to load: logged once

  void set_users(const std::vector<UserEntry>& entries) {
    users.clear();
    for (const auto& e : entries) users[e.name] = e.hash;
    // Forget verifications of users whose hash changed or who are gone; verify() also compares
    // the hash, this only keeps the map small.
    std::erase_if(verified, [&](const auto& item) {
      auto user = users.find(item.first);
      return user == users.end() || user->second != item.second.hash;
    });
  }

  // Reloads the users file when it changed since it was loaded.
  void refresh() {
    if (path.empty()) return;
    const auto now = stamp_of(path);
    std::lock_guard lock(mutex);
    if (now == loaded_stamp || (rejected_stamp && now == *rejected_stamp)) return;
    auto loaded = load_users_file(path);
    if (!loaded.ok()) {
      rejected_stamp = now;
      spdlog::error("the users file changed but cannot be used; the {} users loaded before stay: {}", users.size(),
                    loaded.error().message);
      return;
    }
    set_users(*loaded);
    loaded_stamp = now;
    rejected_stamp.reset();
    if (users.empty()) {
      spdlog::warn("users file {} reloaded: it has no users, so every request but the probes gets 401", path);
    } else {
      spdlog::info("users file {} reloaded: {} users", path, users.size());
    }
  }
};

Authenticator::Authenticator(std::unique_ptr<State> state) : state_(std::move(state)) {}
Authenticator::~Authenticator() = default;

Result<std::unique_ptr<Authenticator::State>> Authenticator::make_state(std::string path,
                                                                       const std::vector<UserEntry>& users) {
  if (!sodium_ready()) return sodium_unavailable();
  auto state = std::make_unique<Authenticator::State>();
  state->path = std::move(path);
  randombytes_buf(state->key.data(), state->key.size());
  std::array<unsigned char, 32> random_password{};
  randombytes_buf(random_password.data(), random_password.size());
  auto dummy = hash_password(std::string_view(reinterpret_cast<const char*>(random_password.data()), random_password.size()));
  sodium_memzero(random_password.data(), random_password.size());
  if (!dummy.ok()) return std::move(dummy).take_error();
  state->dummy_hash = std::move(dummy).value();
  state->set_users(users);
  return state;
}

Result<std::unique_ptr<Authenticator>> Authenticator::open(const std::string& users_file) {
  const auto stamp = stamp_of(users_file);
  auto loaded = load_users_file(users_file);
  if (!loaded.ok()) {
    if (loaded.error().code == ErrorCode::not_found) {
      return make_error(ErrorCode::failed_precondition,
                        "--auth basic needs a users file and " + users_file + " does not exist; " +
                            how_to_create_a_user(users_file));
    }
    return make_error(loaded.error().code,
                      "--auth basic cannot use its users file: " + loaded.error().message + "; " +
                          how_to_create_a_user(users_file));
  }
  if (loaded->empty()) {
    return make_error(ErrorCode::failed_precondition, "--auth basic needs at least one user and the users file " +
                                                          users_file + " has none; " + how_to_create_a_user(users_file));
  }
  struct stat st {};
  if (::stat(users_file.c_str(), &st) == 0 && (st.st_mode & 077) != 0) {
    spdlog::warn("the users file {} can be read by other users of this machine; chmod 600 it", users_file);
  }
  auto state = make_state(users_file, *loaded);
  if (!state.ok()) return std::move(state).take_error();
  (*state)->loaded_stamp = stamp;
  return std::unique_ptr<Authenticator>(new Authenticator(std::move(state).value()));
}

Result<std::unique_ptr<Authenticator>> Authenticator::from_entries(std::vector<UserEntry> users) {
  // The same checks as a file: names, hashes, duplicates.
  auto checked = parse_users(format_users(users), "users");
  if (!checked.ok()) return std::move(checked).take_error();
  auto state = make_state("", *checked);
  if (!state.ok()) return std::move(state).take_error();
  return std::unique_ptr<Authenticator>(new Authenticator(std::move(state).value()));
}

bool Authenticator::verify(std::string_view name, std::string_view password) {
  auto& s = *state_;
  s.refresh();
  std::array<unsigned char, crypto_generichash_BYTES> digest{};
  crypto_generichash(digest.data(), digest.size(), reinterpret_cast<const unsigned char*>(password.data()),
                     password.size(), s.key.data(), s.key.size());
  std::string hash;
  {
    std::lock_guard lock(s.mutex);
    if (auto user = s.users.find(name); user != s.users.end()) {
      hash = user->second;
      auto cached = s.verified.find(name);
      if (cached != s.verified.end() && cached->second.hash == hash &&
          sodium_memcmp(cached->second.digest.data(), digest.data(), digest.size()) == 0) {
        sodium_memzero(digest.data(), digest.size());
        return true;
      }
    }
  }
  // Cache miss: the slow path, outside the lock so other requests are not held up.
  const bool known = !hash.empty();
  ++s.slow_verifications;
  const bool matches =
      crypto_pwhash_str_verify(known ? hash.c_str() : s.dummy_hash.c_str(), password.data(), password.size()) == 0;
  const bool ok = known && matches;
  if (ok) {
    std::lock_guard lock(s.mutex);
    // Remember it only if the file did not change the user's hash in the meantime.
    if (auto user = s.users.find(name); user != s.users.end() && user->second == hash) {
      auto& entry = s.verified[std::string(name)];
      entry.hash = hash;
      entry.digest = digest;
    }
  }
  sodium_memzero(digest.data(), digest.size());
  return ok;
}

std::optional<HttpResponse> Authenticator::check(const HttpRequest& request) {
  auto header = request.headers.find("authorization");
  if (header == request.headers.end() || header->second.empty()) {
    spdlog::debug("401 for {} {}: no credentials", request.method, path_of(request.target));
    return unauthorized_response(
        "authentication required: send the HTTP Basic credentials of a sinkhost user (curl -u NAME:PASSWORD)");
  }
  // "Basic" (any case), blanks, then base64(name ":" password) (RFC 7617).
  std::string_view value = header->second;
  while (!value.empty() && (value.back() == ' ' || value.back() == '\t')) value.remove_suffix(1);
  bool is_basic = value.size() > 6 && (value[5] == ' ' || value[5] == '\t');
  for (std::size_t i = 0; is_basic && i < 5; ++i) {
    is_basic = std::tolower(static_cast<unsigned char>(value[i])) == "basic"[i];
  }
  if (is_basic) {
    value.remove_prefix(6);
    while (!value.empty() && (value.front() == ' ' || value.front() == '\t')) value.remove_prefix(1);
  }
  if (!is_basic || value.empty() || value.size() > kMaxCredentialsBase64) {
    spdlog::debug("401 for {} {}: the Authorization header is not Basic credentials", request.method,
                  path_of(request.target));
    return unauthorized_response("the Authorization header must be HTTP Basic credentials: Basic base64(NAME:PASSWORD)");
  }
  // Allocated once at its final size (no reallocation leaves a copy behind), wiped when it goes.
  runtime::SecretBytes decoded(value.size());
  std::size_t decoded_size = 0;
  const char* end = nullptr;
  const bool decoded_ok =
      sodium_base642bin(reinterpret_cast<unsigned char*>(decoded.data()), decoded.size(), value.data(), value.size(),
                        nullptr, &decoded_size, &end, sodium_base64_VARIANT_ORIGINAL) == 0 &&
      end == value.data() + value.size();
  const auto credentials = decoded.view().substr(0, decoded_ok ? decoded_size : 0);
  const auto colon = credentials.find(':');
  if (!decoded_ok || colon == std::string_view::npos) {
    spdlog::debug("401 for {} {}: malformed Basic credentials", request.method, path_of(request.target));
    return unauthorized_response("the Authorization header must be HTTP Basic credentials: Basic base64(NAME:PASSWORD)");
  }
  if (!verify(credentials.substr(0, colon), credentials.substr(colon + 1))) {
    // Neither the name nor the password is logged: people type passwords into name fields.
    spdlog::warn("401 for {} {}: wrong user name or password", request.method, path_of(request.target));
    return unauthorized_response("the user name or password is wrong");
  }
  return std::nullopt;
}

std::uint64_t Authenticator::slow_verifications() const { return state_->slow_verifications.load(); }

std::size_t Authenticator::user_count() const {
  std::lock_guard lock(state_->mutex);
  return state_->users.size();
}

bool is_probe_request(const HttpRequest& request) {
  if (request.method != "GET") return false;
  const auto path = std::string_view(request.target).substr(0, request.target.find('?'));
  return path == "/health" || path == "/ready";
}

RequestHandler with_basic_auth(std::shared_ptr<Authenticator> authenticator, RequestHandler next) {
  return [authenticator = std::move(authenticator), next = std::move(next)](const HttpRequest& request) -> HttpResponse {
    if (!is_probe_request(request)) {
      std::optional<HttpResponse> denied;
      try {
        denied = authenticator->check(request);
      } catch (const std::exception& e) {
        // Out of memory, say: refuse rather than let the request through.
        spdlog::error("checking the credentials of {} {} failed: {}", request.method, path_of(request.target), e.what());
        return error_response(make_error(ErrorCode::internal, "internal error; see the sinkhost log"));
      }
      if (denied) return std::move(*denied);
    }
    return next(request);
  };
}

}  // namespace sinkhost::management_api
