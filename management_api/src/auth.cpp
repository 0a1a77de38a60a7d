#include "sinkhost/management_api/auth.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
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

// Longer Authorization values are refused before decoding: no password needs more.
constexpr std::size_t kMaxCredentialsBase64 = 4096;

// libsodium is initialized once, by the secrets module.
bool sodium_ready() { return runtime::crypto_ready(); }

Error sodium_unavailable() { return make_error(ErrorCode::internal, "libsodium failed to initialize"); }

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

std::string how_to_create_a_user(const std::string& path) {
  return "create a user with: sinkhost user add NAME --users-file " + path +
         " (it reads the password from standard input)";
}

std::string path_of(std::string_view target) { return std::string(target.substr(0, target.find('?'))); }

}  // namespace

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

  mutable std::mutex mutex;                               // guards everything below
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
  auto dummy =
      hash_password(std::string_view(reinterpret_cast<const char*>(random_password.data()), random_password.size()));
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
      return make_error(ErrorCode::failed_precondition, "--auth basic needs a users file and " + users_file +
                                                            " does not exist; " + how_to_create_a_user(users_file));
    }
    return make_error(loaded.error().code, "--auth basic cannot use its users file: " + loaded.error().message + "; " +
                                               how_to_create_a_user(users_file));
  }
  if (loaded->empty()) {
    return make_error(ErrorCode::failed_precondition, "--auth basic needs at least one user and the users file " +
                                                          users_file + " has none; " +
                                                          how_to_create_a_user(users_file));
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
    return unauthorized_response(
        "the Authorization header must be HTTP Basic credentials: Basic base64(NAME:PASSWORD)");
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
    return unauthorized_response(
        "the Authorization header must be HTTP Basic credentials: Basic base64(NAME:PASSWORD)");
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
  return
      [authenticator = std::move(authenticator), next = std::move(next)](const HttpRequest& request) -> HttpResponse {
        if (!is_probe_request(request)) {
          std::optional<HttpResponse> denied;
          try {
            denied = authenticator->check(request);
          } catch (const std::exception& e) {
            // Out of memory, say: refuse rather than let the request through.
            spdlog::error("checking the credentials of {} {} failed: {}", request.method, path_of(request.target),
                          e.what());
            return error_response(make_error(ErrorCode::internal, "internal error; see the sinkhost log"));
          }
          if (denied) return std::move(*denied);
        }
        return next(request);
      };
}

}  // namespace sinkhost::management_api
