#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sinkhost/connector/result.hpp"
#include "sinkhost/management_api/http.hpp"

// Access control for the HTTP API: the users file, password hashes and HTTP Basic checks.
// libsodium stays inside auth.cpp: this header is cheap to include. See docs/access-control.md.
namespace sinkhost::management_api {

// A user name: 1-64 characters of [A-Za-z0-9_.-]. The set excludes ':' (the separator in the
// users file and in Basic credentials) and anything a terminal or a log could misread.
connector::Result<void> validate_user_name(std::string_view name);

// One line of the users file: `name:<crypto_pwhash_str hash>` (Argon2id).
struct UserEntry {
  std::string name;
  std::string hash;

  bool operator==(const UserEntry&) const = default;
};

// Parses the text of a users file. Empty lines are skipped; any other line must be a valid
// entry, and a name may appear once. Errors name `source` and the line number but never echo
// the line (it holds a hash, and a hand-edited file may hold worse).
connector::Result<std::vector<UserEntry>> parse_users(std::string_view text, std::string_view source);
std::string format_users(const std::vector<UserEntry>& users);

// Reads and parses a users file; a missing file is a not_found error.
connector::Result<std::vector<UserEntry>> load_users_file(const std::string& path);

// Replaces the file atomically: a temporary file (mode 0600) in the same directory, fsync,
// rename, fsync of the directory. A reader sees the old file or the new one, never a mix.
connector::Result<void> save_users_file(const std::string& path, const std::vector<UserEntry>& users);

// An Argon2id hash (crypto_pwhash_str, OPSLIMIT_INTERACTIVE / MEMLIMIT_INTERACTIVE).
connector::Result<std::string> hash_password(std::string_view password);

// `sinkhost user add` / `user remove`: read-modify-write of the users file under an exclusive
// lock on its directory, so two commands at once do not lose each other's change. The parent
// directory is created when missing. add_user returns true when it replaced an existing user.
connector::Result<bool> add_user(const std::string& path, std::string_view name, std::string_view password);
connector::Result<void> remove_user(const std::string& path, std::string_view name);

// True for 127.0.0.0/8, ::1 and ::ffff:127.0.0.0/104; false for anything else, names included.
bool is_loopback_address(std::string_view host);

// The 401 answer: google.rpc.Status UNAUTHENTICATED (16) and `WWW-Authenticate: Basic realm="sinkhost"`.
HttpResponse unauthorized_response(std::string message);

// Checks HTTP Basic credentials against a users file. Thread-safe.
//
// crypto_pwhash_str_verify costs ~50-100 ms and 64 MiB on purpose, so it does not run per
// request: a successful verification is remembered per user as a keyed BLAKE2b digest of the
// password (the key is random per process, so the cache is useless outside it) together with
// the hash it was verified against; a later request compares digests in constant time. A wrong
// password is never cached and always pays the slow verification, and so does an unknown user
// (against a dummy hash), so response times do not tell which user names exist.
//
// The users file is re-read when it changes (checked with stat at each request), so `sinkhost
// user add/remove` takes effect without a restart; a changed file that cannot be read or parsed
// is ignored, with an error in the log, and the users loaded before stay.
class Authenticator {
 public:
  // Refuses a missing, unreadable, malformed or empty users file with a message that says how
  // to create a user.
  static connector::Result<std::unique_ptr<Authenticator>> open(const std::string& users_file);
  // A fixed list of users, no file (tests).
  static connector::Result<std::unique_ptr<Authenticator>> from_entries(std::vector<UserEntry> users);
  ~Authenticator();

  Authenticator(const Authenticator&) = delete;
  Authenticator& operator=(const Authenticator&) = delete;

  bool verify(std::string_view name, std::string_view password);

  // std::nullopt when the request carries valid credentials; otherwise the 401 response.
  std::optional<HttpResponse> check(const HttpRequest& request);

  // How many times the slow crypto_pwhash_str_verify ran (the cache misses), for tests.
  std::uint64_t slow_verifications() const;
  std::size_t user_count() const;

 private:
  struct State;
  static connector::Result<std::unique_ptr<State>> make_state(std::string path, const std::vector<UserEntry>& users);
  explicit Authenticator(std::unique_ptr<State> state);
  std::unique_ptr<State> state_;
};

// GET /health and GET /ready: liveness and readiness probes, open without credentials.
bool is_probe_request(const HttpRequest& request);

// Wraps a handler so that every request but the probes needs valid credentials.
using RequestHandler = std::function<HttpResponse(const HttpRequest&)>;
RequestHandler with_basic_auth(std::shared_ptr<Authenticator> authenticator, RequestHandler next);

}  // namespace sinkhost::management_api
