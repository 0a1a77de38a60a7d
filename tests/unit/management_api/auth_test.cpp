// Access control: users file, password checks, the Basic-auth wrapper (see docs/access-control.md).
#include "sinkhost/management_api/auth.hpp"

#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "http_client.hpp"
#include "process.hpp"

namespace sinkhost::management_api {
namespace {

namespace fs = std::filesystem;
using test::basic_authorization;
using test::TempDir;

// Hashing is deliberately slow (Argon2id, 64 MiB): make each hash once for the whole suite.
const std::string& hash_of(const std::string& password) {
  static std::map<std::string, std::string> hashes;
  auto it = hashes.find(password);
  if (it == hashes.end()) {
    auto hash = hash_password(password);
    EXPECT_TRUE(hash.ok()) << hash.error().message;
    it = hashes.emplace(password, hash.ok() ? *hash : std::string()).first;
  }
  return it->second;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream out;
  out << in.rdbuf();
  return out.str();
}

void write_file(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::trunc);
  out << text;
}

HttpRequest get(const std::string& target, const std::string& authorization = "") {
  HttpRequest request;
  request.method = "GET";
  request.target = target;
  if (!authorization.empty()) request.headers["authorization"] = authorization;
  return request;
}

void expect_unauthorized(const std::optional<HttpResponse>& response) {
  ASSERT_TRUE(response.has_value()) << "expected a 401 answer, the request was let through";
  EXPECT_EQ(response->status, 401);
  EXPECT_EQ(response->content_type, "application/json");
  ASSERT_EQ(response->headers.size(), 1u);
  EXPECT_EQ(response->headers[0].first, "WWW-Authenticate");
  EXPECT_EQ(response->headers[0].second, "Basic realm=\"sinkhost\"");
  auto body = nlohmann::json::parse(response->body, nullptr, false);
  ASSERT_TRUE(body.is_object()) << response->body;
  EXPECT_EQ(body["code"], 16);
  EXPECT_FALSE(body["message"].get<std::string>().empty());
  EXPECT_EQ(body["details"], nlohmann::json::array());
}

TEST(UserNames, AcceptOneToSixtyFourOfTheAllowedCharacters) {
  EXPECT_TRUE(validate_user_name("alice").ok());
  EXPECT_TRUE(validate_user_name("A-z_0.9").ok());
  EXPECT_TRUE(validate_user_name("x").ok());
  EXPECT_TRUE(validate_user_name(std::string(64, 'a')).ok());
}

TEST(UserNames, RefuseEverythingElseWithoutEchoingTheName) {
  for (std::string bad : {"", "a b", "a:b", "tab\there", "ünï", "semi;colon", "slash/x", "new\nline", "dollar$"}) {
    auto result = validate_user_name(bad);
    ASSERT_FALSE(result.ok()) << "accepted '" << bad << "'";
    EXPECT_EQ(result.error().code, connector::ErrorCode::invalid_argument);
    EXPECT_NE(result.error().message.find("1 to 64 characters"), std::string::npos) << result.error().message;
  }
  EXPECT_FALSE(validate_user_name(std::string(65, 'a')).ok());
  auto secret = validate_user_name("hunter2 is my password");
  ASSERT_FALSE(secret.ok());
  EXPECT_EQ(secret.error().message.find("hunter2"), std::string::npos) << "a rejected name must not be echoed";
}

TEST(UsersFile, FormatAndParseRoundTrip) {
  std::vector<UserEntry> users = {{"alice", hash_of("pw-alice")}, {"bob.ops", hash_of("pw-bob")}};
  auto text = format_users(users);
  EXPECT_EQ(text, "alice:" + users[0].hash + "\nbob.ops:" + users[1].hash + "\n");
  auto parsed = parse_users(text, "users");
  ASSERT_TRUE(parsed.ok()) << parsed.error().message;
  EXPECT_EQ(*parsed, users);
  // Blank lines and CRLF line ends (an editor on another system) are fine.
  auto loose = parse_users("\nalice:" + users[0].hash + "\r\n\r\nbob.ops:" + users[1].hash, "users");
  ASSERT_TRUE(loose.ok()) << loose.error().message;
  EXPECT_EQ(*loose, users);
  auto empty = parse_users("", "users");
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->empty());
}

TEST(UsersFile, MalformedLinesAreRefusedNamingTheLine) {
  const auto good = hash_of("pw-alice");
  struct Case {
    std::string text;
    std::string expected;
  };
  const std::vector<Case> cases = {
      {"alice:" + good + "\nno-colon-here\n", "/etc/users line 2: expected NAME:HASH"},
      {":" + good + "\n", "/etc/users line 1: a user name must be"},
      {"bad name:" + good + "\n", "/etc/users line 1: a user name must be"},
      {"alice:plaintext-password\n", "/etc/users line 1: the password hash of user 'alice' is not an Argon2id hash"},
      {"alice:$argon2i$v=19$m=4096,t=3,p=1$c2FsdA$aGFzaA\n", "is not an Argon2id hash"},
      {"alice:" + good + " \n", "is not an Argon2id hash"},
      {"alice:\n", "is not an Argon2id hash"},
      {"\n\nalice:" + good + "\nalice:" + good + "\n", "/etc/users line 4: user 'alice' appears twice"},
  };
  for (const auto& c : cases) {
    auto parsed = parse_users(c.text, "/etc/users");
    ASSERT_FALSE(parsed.ok()) << "accepted: " << c.text;
    EXPECT_EQ(parsed.error().code, connector::ErrorCode::invalid_argument);
    EXPECT_NE(parsed.error().message.find(c.expected), std::string::npos)
        << "message: " << parsed.error().message << "\nexpected to contain: " << c.expected;
  }
  auto leaked = parse_users("alice:my-secret-password\n", "users");
  ASSERT_FALSE(leaked.ok());
  EXPECT_EQ(leaked.error().message.find("my-secret-password"), std::string::npos) << "the line must not be echoed";
}

TEST(UsersFile, AddReplaceRemoveOnDisk) {
  TempDir dir;
  const auto path = dir.path() + "/nested/users";  // the directory is created
  auto missing = load_users_file(path);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().code, connector::ErrorCode::not_found);

  auto added = add_user(path, "alice", "first password");
  ASSERT_TRUE(added.ok()) << added.error().message;
  EXPECT_FALSE(*added) << "a new user is not a replacement";
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u) << "the users file must be private";
  EXPECT_EQ(read_file(path).find("first password"), std::string::npos) << "the password itself is never written";

  ASSERT_TRUE(add_user(path, "bob", "bob's password").ok());
  auto replaced = add_user(path, "alice", "second password");
  ASSERT_TRUE(replaced.ok()) << replaced.error().message;
  EXPECT_TRUE(*replaced);

  auto users = load_users_file(path);
  ASSERT_TRUE(users.ok()) << users.error().message;
  ASSERT_EQ(users->size(), 2u);
  EXPECT_EQ((*users)[0].name, "alice");  // a replacement keeps its place
  EXPECT_EQ((*users)[1].name, "bob");
  auto auth = Authenticator::from_entries(*users);
  ASSERT_TRUE(auth.ok()) << auth.error().message;
  EXPECT_TRUE((*auth)->verify("alice", "second password"));
  EXPECT_FALSE((*auth)->verify("alice", "first password"));
  EXPECT_TRUE((*auth)->verify("bob", "bob's password"));

  ASSERT_TRUE(remove_user(path, "bob").ok());
  auto ghost = remove_user(path, "bob");
  ASSERT_FALSE(ghost.ok());
  EXPECT_EQ(ghost.error().code, connector::ErrorCode::not_found);
  EXPECT_NE(ghost.error().message.find("no user 'bob'"), std::string::npos) << ghost.error().message;
  users = load_users_file(path);
  ASSERT_TRUE(users.ok());
  ASSERT_EQ(users->size(), 1u);
  EXPECT_EQ((*users)[0].name, "alice");

  for (const auto& entry : fs::directory_iterator(fs::path(path).parent_path())) {
    EXPECT_EQ(entry.path().filename(), "users") << "a temporary file was left behind: " << entry.path();
  }
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST(UsersFile, AddRefusesBadInputAndABrokenFile) {
  TempDir dir;
  const auto path = dir.path() + "/users";
  EXPECT_FALSE(add_user(path, "bad name", "pw").ok());
  auto empty = add_user(path, "alice", "");
  ASSERT_FALSE(empty.ok());
  EXPECT_NE(empty.error().message.find("empty"), std::string::npos);
  EXPECT_FALSE(fs::exists(path)) << "nothing is written for refused input";

  write_file(path, "alice:not-a-hash\n");
  auto broken = add_user(path, "bob", "pw");
  ASSERT_FALSE(broken.ok()) << "rewriting an unparsable file would drop its users";
  EXPECT_NE(broken.error().message.find("line 1"), std::string::npos) << broken.error().message;
  EXPECT_EQ(read_file(path), "alice:not-a-hash\n");
}

TEST(Authenticator, VerifiesRightAndWrongPasswords) {
  auto auth = Authenticator::from_entries({{"alice", hash_of("pw-alice")}, {"bob", hash_of("pw-bob")}});
  ASSERT_TRUE(auth.ok()) << auth.error().message;
  auto& a = **auth;
  EXPECT_EQ(a.user_count(), 2u);
  EXPECT_TRUE(a.verify("alice", "pw-alice"));
  EXPECT_TRUE(a.verify("bob", "pw-bob"));
  EXPECT_FALSE(a.verify("alice", "pw-bob")) << "another user's password";
  EXPECT_FALSE(a.verify("alice", "pw-alic"));
  EXPECT_FALSE(a.verify("alice", "pw-alice "));
  EXPECT_FALSE(a.verify("alice", ""));
  EXPECT_FALSE(a.verify("carol", "pw-alice")) << "unknown user";
  EXPECT_FALSE(a.verify("", ""));
}

TEST(Authenticator, CacheHitGivesTheSameAnswerWithoutTheSlowVerification) {
  auto auth = Authenticator::from_entries({{"alice", hash_of("pw-alice")}, {"bob", hash_of("pw-bob")}});
  ASSERT_TRUE(auth.ok()) << auth.error().message;
  auto& a = **auth;
  ASSERT_EQ(a.slow_verifications(), 0u);
  EXPECT_TRUE(a.verify("alice", "pw-alice"));
  EXPECT_EQ(a.slow_verifications(), 1u) << "the first check is a cache miss";
  for (int i = 0; i < 20; ++i) EXPECT_TRUE(a.verify("alice", "pw-alice"));
  EXPECT_EQ(a.slow_verifications(), 1u) << "later checks of the same password are cache hits";

  // A wrong password is never a hit (not even after the right one was cached) and never cached.
  EXPECT_FALSE(a.verify("alice", "wrong"));
  EXPECT_EQ(a.slow_verifications(), 2u);
  EXPECT_FALSE(a.verify("alice", "wrong"));
  EXPECT_EQ(a.slow_verifications(), 3u);
  // Alice's cached password is not bob's.
  EXPECT_FALSE(a.verify("bob", "pw-alice"));
  EXPECT_EQ(a.slow_verifications(), 4u);
  // Unknown users pay the slow verification too (against a dummy hash): timing does not tell
  // which names exist.
  EXPECT_FALSE(a.verify("carol", "pw-alice"));
  EXPECT_EQ(a.slow_verifications(), 5u);
  EXPECT_TRUE(a.verify("alice", "pw-alice"));
  EXPECT_EQ(a.slow_verifications(), 5u);
}

TEST(Authenticator, OpenRefusesAMissingEmptyOrMalformedFileSayingHowToCreateAUser) {
  TempDir dir;
  const auto path = dir.path() + "/users";
  auto missing = Authenticator::open(path);
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message.find("does not exist"), std::string::npos) << missing.error().message;
  EXPECT_NE(missing.error().message.find("sinkhost user add NAME --users-file " + path), std::string::npos)
      << missing.error().message;

  write_file(path, "\n");
  auto empty = Authenticator::open(path);
  ASSERT_FALSE(empty.ok());
  EXPECT_NE(empty.error().message.find("has none"), std::string::npos) << empty.error().message;
  EXPECT_NE(empty.error().message.find("sinkhost user add"), std::string::npos) << empty.error().message;

  write_file(path, "alice:oops\n");
  auto malformed = Authenticator::open(path);
  ASSERT_FALSE(malformed.ok());
  EXPECT_NE(malformed.error().message.find("line 1"), std::string::npos) << malformed.error().message;
  EXPECT_NE(malformed.error().message.find("sinkhost user add"), std::string::npos) << malformed.error().message;

  write_file(path, "alice:" + hash_of("pw-alice") + "\n");
  ::chmod(path.c_str(), 0);
  if (::geteuid() != 0) {  // root reads anything
    auto unreadable = Authenticator::open(path);
    ASSERT_FALSE(unreadable.ok());
    EXPECT_NE(unreadable.error().message.find("cannot read"), std::string::npos) << unreadable.error().message;
  }
  ::chmod(path.c_str(), 0600);
  auto good = Authenticator::open(path);
  ASSERT_TRUE(good.ok()) << good.error().message;
  EXPECT_TRUE((*good)->verify("alice", "pw-alice"));
}

TEST(Authenticator, FollowsChangesOfTheUsersFileAndForgetsReplacedPasswords) {
  TempDir dir;
  const auto path = dir.path() + "/users";
  ASSERT_TRUE(add_user(path, "alice", "first").ok());
  auto opened = Authenticator::open(path);
  ASSERT_TRUE(opened.ok()) << opened.error().message;
  auto& a = **opened;
  EXPECT_TRUE(a.verify("alice", "first"));
  EXPECT_TRUE(a.verify("alice", "first"));  // cached

  ASSERT_TRUE(add_user(path, "alice", "second").ok());
  ASSERT_TRUE(add_user(path, "bob", "bobs").ok());
  EXPECT_FALSE(a.verify("alice", "first")) << "the cached verification belongs to the replaced hash";
  EXPECT_TRUE(a.verify("alice", "second"));
  EXPECT_TRUE(a.verify("bob", "bobs")) << "a user added while running";

  ASSERT_TRUE(remove_user(path, "bob").ok());
  EXPECT_FALSE(a.verify("bob", "bobs")) << "a removed user, even with a cached verification";

  // A broken edit is ignored: the users loaded before stay.
  write_file(path, "garbage\n");
  EXPECT_TRUE(a.verify("alice", "second"));
  EXPECT_EQ(a.user_count(), 1u);
}

TEST(Authenticator, CheckAnswers401ForMissingMalformedAndWrongCredentials) {
  auto auth = Authenticator::from_entries({{"alice", hash_of("pa:ss word")}});
  ASSERT_TRUE(auth.ok()) << auth.error().message;
  auto& a = **auth;
  EXPECT_FALSE(a.check(get("/connectors", basic_authorization("alice", "pa:ss word"))).has_value())
      << "a password may hold ':' and spaces";
  EXPECT_FALSE(a.check(get("/connectors", "basic " + basic_authorization("alice", "pa:ss word").substr(6))).has_value())
      << "the scheme is case-insensitive";

  expect_unauthorized(a.check(get("/connectors")));
  expect_unauthorized(a.check(get("/connectors", "Basic")));
  expect_unauthorized(a.check(get("/connectors", "Basic !!!not-base64!!!")));
  expect_unauthorized(a.check(get("/connectors", "Basic YWxpY2U=")));  // "alice": no ':'
  expect_unauthorized(a.check(get("/connectors", "Bearer abc.def.ghi")));
  expect_unauthorized(a.check(get("/connectors", "Basic " + std::string(5000, 'A'))));

  auto wrong_password = a.check(get("/connectors", basic_authorization("alice", "nope")));
  auto unknown_user = a.check(get("/connectors", basic_authorization("mallory", "pa:ss word")));
  expect_unauthorized(wrong_password);
  expect_unauthorized(unknown_user);
  ASSERT_TRUE(wrong_password && unknown_user);
  EXPECT_EQ(wrong_password->body, unknown_user->body) << "the answer must not tell which user names exist";
}

TEST(BasicAuthWrapper, ProbesAreOpenEverythingElseNeedsCredentials) {
  auto auth = Authenticator::from_entries({{"alice", hash_of("pw-alice")}});
  ASSERT_TRUE(auth.ok()) << auth.error().message;
  int calls = 0;
  auto handler = with_basic_auth(std::move(auth).value(), [&calls](const HttpRequest&) {
    ++calls;
    return json_response(200, "{}");
  });
  EXPECT_EQ(handler(get("/health")).status, 200);
  EXPECT_EQ(handler(get("/ready")).status, 200);
  EXPECT_EQ(handler(get("/health?verbose=1")).status, 200);
  EXPECT_EQ(calls, 3);

  for (const auto& target : {"/connectors", "/health/x", "/healthz", "/streams/%24all", "//health"}) {
    auto response = handler(get(target));
    EXPECT_EQ(response.status, 401) << target;
  }
  HttpRequest post = get("/health");
  post.method = "POST";
  EXPECT_EQ(handler(post).status, 401) << "only GET is a probe";
  EXPECT_EQ(calls, 3) << "refused requests never reach the routes";

  auto allowed = handler(get("/connectors", basic_authorization("alice", "pw-alice")));
  EXPECT_EQ(allowed.status, 200);
  EXPECT_EQ(calls, 4);
}

TEST(Loopback, OnlyLoopbackAddressesCount) {
  for (const auto* host : {"127.0.0.1", "127.1.2.3", "127.255.255.255", "::1", "[::1]", "::ffff:127.0.0.1"}) {
    EXPECT_TRUE(is_loopback_address(host)) << host;
  }
  for (const auto* host : {"0.0.0.0", "::", "10.0.0.1", "128.0.0.1", "126.255.255.255", "192.168.1.1", "::2",
                           "::ffff:10.0.0.1", "fe80::1", "localhost", "", "127.0.0.1.example.com"}) {
    EXPECT_FALSE(is_loopback_address(host)) << host;
  }
}

}  // namespace
}  // namespace sinkhost::management_api
