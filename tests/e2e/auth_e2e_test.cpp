// Access control, HTTPS and the connection cap against the sinkhost binary
// (docs/access-control.md). No broker: none of these suites may be named Kafka*.
#include <sys/stat.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "e2e_helpers.hpp"

namespace sinkhost::test {
namespace {

namespace fs = std::filesystem;

const std::string kBinary = SINKHOST_BINARY;

// `sinkhost user add NAME --data-dir DIR` with the password piped on standard input.
int user_add(const std::string& data_dir, const std::string& name, const std::string& password,
             std::string* output = nullptr) {
  int code = -1;
  auto out = run_command(
      "printf '%s\\n' '" + password + "' | " + kBinary + " user add " + name + " --data-dir '" + data_dir + "' 2>&1",
      &code);
  if (output) *output = out;
  return code;
}

void expect_json_error(const HttpResult& response, int status, int code) {
  EXPECT_EQ(response.status, status) << response.body;
  EXPECT_EQ(response.headers.count("content-type") ? response.headers.at("content-type") : "", "application/json");
  auto body = nlohmann::json::parse(response.body, nullptr, false);
  ASSERT_TRUE(body.is_object()) << "error bodies are google.rpc.Status JSON: " << response.body;
  EXPECT_EQ(body["code"], code) << response.body;
  ASSERT_TRUE(body["message"].is_string()) << response.body;
  EXPECT_FALSE(body["message"].get<std::string>().empty());
  EXPECT_EQ(body["details"], nlohmann::json::array()) << response.body;
}

void expect_unauthorized(const HttpResult& response) {
  expect_json_error(response, 401, 16);
  ASSERT_EQ(response.headers.count("www-authenticate"), 1u) << "a 401 must say which scheme to use";
  EXPECT_EQ(response.headers.at("www-authenticate"), "Basic realm=\"sinkhost\"");
}

std::map<std::string, std::string> credentials(const std::string& name, const std::string& password) {
  return {{"Authorization", basic_authorization(name, password)}};
}

// ---------------------------------------------------------------------------------------------

class AccessControlE2E : public ::testing::Test {
 protected:
  TempDir dir_;
  std::string data_ = dir_.path() + "/data";
};

TEST_F(AccessControlE2E, BasicAuthRefusesMissingAndWrongCredentialsAndLetsTheRightOnesAndProbesThrough) {
  std::string output;
  ASSERT_EQ(user_add(data_, "alice", "correct-horse-42", &output), 0) << output;
  EXPECT_EQ(output, "user 'alice' added to " + data_ + "/users\n");
  EXPECT_EQ(output.find("correct-horse-42"), std::string::npos) << "the password is never printed";
  struct stat st {};
  ASSERT_EQ(::stat((data_ + "/users").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);

  SinkhostProcess host(data_, {"--auth", "basic"});
  host.start();  // the readiness check itself shows GET /health needs no credentials
  const auto port = host.port();

  auto health = http_request(port, "GET", "/health");
  EXPECT_EQ(health.status, 200) << health.body;
  EXPECT_EQ(nlohmann::json::parse(health.body)["status"], "ok");
  EXPECT_NE(http_request(port, "GET", "/ready").status, 401) << "the readiness probe is open too";

  expect_unauthorized(http_request(port, "GET", "/connectors"));
  auto wrong = http_request_with_headers(port, "GET", "/connectors", credentials("alice", "correct-horse-43"));
  expect_unauthorized(wrong);
  auto unknown = http_request_with_headers(port, "GET", "/connectors", credentials("mallory", "correct-horse-42"));
  expect_unauthorized(unknown);
  EXPECT_EQ(wrong.body, unknown.body) << "the answers must not tell which user names exist";
  expect_unauthorized(http_request_with_headers(port, "GET", "/connectors", {{"Authorization", "Bearer xyz"}}));
  expect_unauthorized(http_request(port, "POST", "/health"));  // only GET is a probe

  // Refused writes change nothing.
  expect_unauthorized(http_request(port, "POST", "/streams/s-1",
                                   R"([{"eventId": "0f9a1f2c-5a6b-4c7d-8e9f-0a1b2c3d4e5f", "eventType": "E"}])"));

  for (int i = 0; i < 3; ++i) {  // the first is a cache miss, then cache hits: the same answer
    auto right = http_request_with_headers(port, "GET", "/connectors", credentials("alice", "correct-horse-42"));
    EXPECT_EQ(right.status, 200) << right.body;
    EXPECT_EQ(nlohmann::json::parse(right.body)["totalSize"], 0);
  }
  auto all = http_request_with_headers(port, "GET", "/streams/$all", credentials("alice", "correct-horse-42"));
  EXPECT_EQ(all.status, 200) << all.body;
  EXPECT_EQ(nlohmann::json::parse(all.body)["headPosition"], 0) << "the refused append wrote nothing";

  EXPECT_EQ(host.stop(), 0);
  const auto log = host.log();
  EXPECT_EQ(log.find("correct-horse"), std::string::npos) << "passwords are never logged:\n" << log;
  EXPECT_EQ(log.find(basic_authorization("alice", "correct-horse-42").substr(6)), std::string::npos)
      << "Authorization headers are never logged:\n"
      << log;
}

TEST_F(AccessControlE2E, UsersAddedReplacedAndRemovedWhileRunningTakeEffectWithoutARestart) {
  ASSERT_EQ(user_add(data_, "alice", "pw-one"), 0);
  SinkhostProcess host(data_, {"--auth", "basic"});
  host.start();
  const auto port = host.port();
  EXPECT_EQ(http_request_with_headers(port, "GET", "/connectors", credentials("alice", "pw-one")).status, 200);

  std::string output;
  ASSERT_EQ(user_add(data_, "bob", "pw-bob"), 0);
  ASSERT_EQ(user_add(data_, "alice", "pw-two", &output), 0);
  EXPECT_EQ(output, "user 'alice' replaced in " + data_ + "/users\n");
  EXPECT_EQ(http_request_with_headers(port, "GET", "/connectors", credentials("bob", "pw-bob")).status, 200);
  expect_unauthorized(http_request_with_headers(port, "GET", "/connectors", credentials("alice", "pw-one")));
  EXPECT_EQ(http_request_with_headers(port, "GET", "/connectors", credentials("alice", "pw-two")).status, 200);

  int code = -1;
  output = run_command(kBinary + " user remove bob --users-file '" + data_ + "/users' 2>&1", &code);
  ASSERT_EQ(code, 0) << output;
  EXPECT_EQ(output, "user 'bob' removed from " + data_ + "/users\n");
  expect_unauthorized(http_request_with_headers(port, "GET", "/connectors", credentials("bob", "pw-bob")));
  EXPECT_EQ(http_request_with_headers(port, "GET", "/connectors", credentials("alice", "pw-two")).status, 200);
  EXPECT_EQ(host.stop(), 0) << host.log();
}

TEST_F(AccessControlE2E, BasicAuthWithoutUsersRefusesToStartSayingHowToCreateOne) {
  SinkhostProcess missing(data_, {"--auth", "basic"});
  EXPECT_NE(missing.run_expecting_exit(), 0);
  EXPECT_NE(missing.log().find("does not exist"), std::string::npos) << missing.log();
  EXPECT_NE(missing.log().find("sinkhost user add NAME --users-file " + data_ + "/users"), std::string::npos)
      << missing.log();

  fs::create_directories(data_);
  std::ofstream(data_ + "/users") << "";
  SinkhostProcess empty(data_, {"--auth", "basic"});
  EXPECT_NE(empty.run_expecting_exit(), 0);
  EXPECT_NE(empty.log().find("has none"), std::string::npos) << empty.log();

  std::ofstream(data_ + "/other-users") << "alice:plaintext\n";
  SinkhostProcess malformed(data_, {"--auth", "basic", "--users-file", data_ + "/other-users"});
  EXPECT_NE(malformed.run_expecting_exit(), 0);
  EXPECT_NE(malformed.log().find(data_ + "/other-users line 1"), std::string::npos) << malformed.log();
  EXPECT_EQ(malformed.log().find("plaintext"), std::string::npos) << "the line is not echoed";
}

TEST_F(AccessControlE2E, UserCommandRefusesBadNamesEmptyPasswordsAndUnknownUsers) {
  std::string output;
  EXPECT_NE(user_add(data_, "'bad name'", "pw", &output), 0) << output;
  EXPECT_NE(output.find("1 to 64 characters"), std::string::npos) << output;
  EXPECT_NE(user_add(data_, std::string(65, 'a'), "pw", &output), 0) << output;
  EXPECT_NE(user_add(data_, "alice", "", &output), 0) << output;
  EXPECT_NE(output.find("empty"), std::string::npos) << output;
  EXPECT_FALSE(fs::exists(data_ + "/users")) << "refused commands write nothing";

  int code = -1;
  output = run_command(kBinary + " user add alice --data-dir '" + data_ + "' --users-file x </dev/null 2>&1", &code);
  EXPECT_NE(code, 0) << "--users-file and --data-dir exclude each other: " << output;

  ASSERT_EQ(user_add(data_, "alice", "pw"), 0);
  output = run_command(kBinary + " user remove ghost --data-dir '" + data_ + "' 2>&1", &code);
  EXPECT_NE(code, 0);
  EXPECT_NE(output.find("no user 'ghost'"), std::string::npos) << output;
}

TEST_F(AccessControlE2E, AuthNoneOnANonLoopbackGrpcAddressNeedsInsecureToo) {
  SinkhostProcess refused(data_, {"--grpc-listen", "0.0.0.0:" + std::to_string(free_port())});
  EXPECT_NE(refused.run_expecting_exit(), 0);
  const auto log = refused.log();
  EXPECT_NE(log.find("refusing to start"), std::string::npos) << log;
  EXPECT_NE(log.find("(--grpc-listen 0.0.0.0:"), std::string::npos) << log;
  EXPECT_FALSE(fs::exists(data_ + "/events.db")) << "a refused start opens nothing";
}

TEST_F(AccessControlE2E, AuthNoneOnANonLoopbackAddressNeedsInsecure) {
  SinkhostProcess refused(data_);
  refused.set_listen_host("0.0.0.0");
  EXPECT_NE(refused.run_expecting_exit(), 0);
  const auto log = refused.log();
  EXPECT_NE(log.find("refusing to start"), std::string::npos) << log;
  EXPECT_NE(log.find("only when --listen is a loopback address (127.0.0.0/8 or ::1) or --insecure is given"),
            std::string::npos)
      << log;
  EXPECT_FALSE(fs::exists(data_ + "/events.db")) << "a refused start opens nothing";

  SinkhostProcess insecure(data_, {"--insecure"});
  insecure.set_listen_host("0.0.0.0");
  insecure.start();
  EXPECT_EQ(http_request(insecure.port(), "GET", "/connectors").status, 200) << "no credentials needed";
  EXPECT_NE(insecure.log().find("has no access control"), std::string::npos) << insecure.log();
  EXPECT_EQ(insecure.stop(), 0);

  SinkhostProcess explicit_none(data_, {"--auth", "none"});  // 127.0.0.1: allowed as is
  explicit_none.start();
  EXPECT_EQ(http_request(explicit_none.port(), "GET", "/connectors").status, 200);
}

// ---------------------------------------------------------------------------------------------

class HttpsE2E : public ::testing::Test {
 protected:
  void SetUp() override {
    int code = -1;
    // A throwaway self-signed certificate for 127.0.0.1 and localhost (EC: quick to make).
    auto out = run_command(
        "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 "
        "-subj /CN=localhost -addext 'subjectAltName=DNS:localhost,IP:127.0.0.1' "
        "-keyout '" +
            key_ + "' -out '" + cert_ + "' 2>&1",
        &code);
    ASSERT_EQ(code, 0) << "openssl could not make a certificate:\n" << out;
  }

  // curl's status code and body: "<body>\n<code>"; code 0 when curl failed (no HTTP answer).
  std::pair<int, std::string> curl(const std::string& args, int* exit_code = nullptr) {
    int code = -1;
    auto out = run_command("curl -sS -w '\\n%{http_code}' " + args + " 2>&1", &code);
    if (exit_code) *exit_code = code;
    auto newline = out.rfind('\n');
    if (newline == std::string::npos) return {0, out};
    int status = 0;
    try {
      status = std::stoi(out.substr(newline + 1));
    } catch (const std::exception&) {
    }
    return {status, out.substr(0, newline)};
  }

  void start(SinkhostProcess& host) {
    host.set_ready_check([this](std::uint16_t port) {
      return curl("-k https://127.0.0.1:" + std::to_string(port) + "/health").first == 200;
    });
    host.start();
  }

  std::string url(std::uint16_t port, const std::string& path) {
    return "https://127.0.0.1:" + std::to_string(port) + path;
  }

  TempDir dir_;
  std::string data_ = dir_.path() + "/data";
  std::string cert_ = dir_.path() + "/cert.pem";
  std::string key_ = dir_.path() + "/key.pem";
};

TEST_F(HttpsE2E, CurlWithTheCaCertificateGets200AndPlainHttpIsRefused) {
  ASSERT_EQ(user_add(data_, "alice", "tls-pw"), 0);
  SinkhostProcess host(data_, {"--auth", "basic", "--tls-cert", cert_, "--tls-key", key_, "--max-body-bytes", "1024"});
  start(host);
  const auto port = host.port();
  const auto cacert = "--cacert '" + cert_ + "' ";

  auto [health_status, health_body] = curl(cacert + url(port, "/health"));
  EXPECT_EQ(health_status, 200) << health_body;
  EXPECT_NE(health_body.find("\"status\":\"ok\""), std::string::npos) << health_body;

  auto [anonymous_status, anonymous_body] = curl(cacert + url(port, "/connectors"));
  EXPECT_EQ(anonymous_status, 401) << anonymous_body;
  EXPECT_NE(anonymous_body.find("\"code\":16"), std::string::npos) << anonymous_body;
  auto [user_status, user_body] = curl(cacert + "-u alice:tls-pw " + url(port, "/connectors"));
  EXPECT_EQ(user_status, 200) << user_body;
  EXPECT_NE(user_body.find("\"totalSize\":0"), std::string::npos) << user_body;

  // The certificate is verified: without the CA, curl refuses it (exit 60).
  int exit_code = -1;
  auto [unverified_status, unverified_out] = curl(url(port, "/health"), &exit_code);
  EXPECT_EQ(exit_code, 60) << unverified_out;

  // The limits hold over TLS as well (the same session code serves both).
  std::ofstream(dir_.path() + "/big.json") << std::string(4096, ' ') << "[]";
  auto [big_status, big_body] = curl(cacert + "-u alice:tls-pw -H 'Content-Type: application/json' --data-binary @'" +
                                     dir_.path() + "/big.json' " + url(port, "/streams/s-1"));
  EXPECT_EQ(big_status, 413) << big_body;
  auto [header_status, header_body] =
      curl(cacert + "-H 'X-Big: " + std::string(20000, 'a') + "' " + url(port, "/health"));
  EXPECT_EQ(header_status, 431) << header_body;

  // Plain HTTP on the HTTPS port gets a plain 400 saying so, then the connection closes.
  auto plain = http_request(port, "GET", "/health");
  expect_json_error(plain, 400, 3);
  EXPECT_NE(plain.body.find("HTTPS only"), std::string::npos) << plain.body;

  // TLS 1.2 and 1.3 are accepted; 1.1 is not, even when the client would allow it.
  const auto s_client = "openssl s_client -connect 127.0.0.1:" + std::to_string(port) + " </dev/null >/dev/null 2>&1 ";
  int tls12 = -1, tls13 = -1, tls11 = -1;
  run_command(s_client + "-tls1_2", &tls12);
  run_command(s_client + "-tls1_3", &tls13);
  run_command(s_client + "-tls1_1 -cipher 'DEFAULT@SECLEVEL=0'", &tls11);
  EXPECT_EQ(tls12, 0);
  EXPECT_EQ(tls13, 0);
  EXPECT_NE(tls11, 0) << "TLS 1.1 must be refused";

  auto [after_status, after_body] = curl(cacert + url(port, "/health"));
  EXPECT_EQ(after_status, 200) << "still serving: " << after_body;
  EXPECT_EQ(host.stop(), 0);
}

TEST_F(HttpsE2E, UnusableCertificateOrKeyRefusesToStart) {
  const auto garbage = dir_.path() + "/garbage.pem";
  std::ofstream(garbage) << "this is not PEM\n";
  struct Case {
    std::vector<std::string> args;
    std::string message;
  };
  const std::vector<Case> cases = {
      {{"--tls-cert", cert_}, "--tls-cert and --tls-key go together"},
      {{"--tls-key", key_}, "--tls-cert and --tls-key go together"},
      {{"--tls-cert", garbage, "--tls-key", key_}, "cannot load the TLS certificate " + garbage},
      {{"--tls-cert", cert_, "--tls-key", garbage}, "cannot load the TLS key " + garbage},
      {{"--tls-cert", dir_.path() + "/missing.pem", "--tls-key", key_},
       "cannot read the TLS certificate " + dir_.path() + "/missing.pem: No such file or directory"},
      {{"--tls-cert", key_, "--tls-key", key_}, "cannot load the TLS certificate " + key_},
  };
  for (const auto& c : cases) {
    SinkhostProcess host(data_, c.args);
    EXPECT_NE(host.run_expecting_exit(), 0);
    EXPECT_NE(host.log().find(c.message), std::string::npos) << "expected: " << c.message << "\nlog:\n" << host.log();
  }

  // A key that belongs to another certificate.
  int code = -1;
  auto out = run_command(
      "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 "
      "-subj /CN=other -keyout '" +
          dir_.path() + "/other-key.pem' -out '" + dir_.path() + "/other-cert.pem' 2>&1",
      &code);
  ASSERT_EQ(code, 0) << out;
  SinkhostProcess mismatched(data_, {"--tls-cert", cert_, "--tls-key", dir_.path() + "/other-key.pem"});
  EXPECT_NE(mismatched.run_expecting_exit(), 0);
  EXPECT_NE(mismatched.log().find("does not belong to the certificate"), std::string::npos) << mismatched.log();
}

// ---------------------------------------------------------------------------------------------

class ConnectionLimitE2E : public ::testing::Test {
 protected:
  TempDir dir_;
  std::string data_ = dir_.path() + "/data";
};

TEST_F(ConnectionLimitE2E, PastTheCapNewConnectionsGet503AndServedOnesGoOn) {
  SinkhostProcess host(data_, {"--max-connections", "2"});
  host.start();
  const auto port = host.port();

  // Two connections that stay open. The readiness check's own connection may still be counted
  // for a moment after it closed, so retry until both are served.
  std::unique_ptr<HttpConnection> first, second;
  ASSERT_TRUE(eventually(
      [&] {
        first = std::make_unique<HttpConnection>(port);
        second = std::make_unique<HttpConnection>(port);
        try {
          return first->request("GET", "/health").status == 200 && second->request("GET", "/health").status == 200;
        } catch (const std::exception&) {
          return false;  // one of them was the third
        }
      },
      std::chrono::seconds(10)));

  // A third connection is answered at once, before it sends anything, and closed.
  HttpConnection third(port);
  bool closed = false;
  auto answer = third.read_until_close(std::chrono::seconds(5), &closed);
  EXPECT_TRUE(closed) << "the server closes a connection over the cap";
  ASSERT_TRUE(answer.starts_with("HTTP/1.1 503")) << answer;
  auto body_start = answer.find("\r\n\r\n");
  ASSERT_NE(body_start, std::string::npos) << answer;
  auto body = nlohmann::json::parse(answer.substr(body_start + 4), nullptr, false);
  ASSERT_TRUE(body.is_object()) << answer;
  EXPECT_EQ(body["code"], 14);
  EXPECT_TRUE(body["message"].get<std::string>().starts_with("too many connections")) << answer;

  // A client that sends its request gets the same answer as an HTTP response.
  auto refused = http_request(port, "GET", "/connectors");
  expect_json_error(refused, 503, 14);
  EXPECT_NE(refused.body.find("too many connections"), std::string::npos) << refused.body;
  EXPECT_EQ(refused.headers.count("retry-after"), 1u);

  // The connections being served are unaffected.
  EXPECT_EQ(first->request("GET", "/connectors").status, 200);
  EXPECT_EQ(second->request("GET", "/health").status, 200);

  // Once one closes, new connections are served again.
  second->close();
  EXPECT_TRUE(eventually(
      [&] {
        try {
          return http_request(port, "GET", "/health").status == 200;
        } catch (const std::exception&) {
          return false;
        }
      },
      std::chrono::seconds(10)))
      << host.log();
  EXPECT_EQ(first->request("GET", "/health").status, 200);
  EXPECT_NE(host.log().find("(--max-connections)"), std::string::npos) << "reaching the cap is logged";
  // A clean exit with a connection still open (and, under the sanitizers, no leak or error).
  EXPECT_EQ(host.stop(), 0) << host.log();
}

TEST_F(ConnectionLimitE2E, AnIdleConnectionIsClosedAfterTheRequestTimeout) {
  SinkhostProcess host(data_, {"--request-timeout-seconds", "1"});
  host.start();
  HttpConnection idle(host.port());
  const auto started = std::chrono::steady_clock::now();
  bool closed = false;
  auto answer = idle.read_until_close(std::chrono::seconds(10), &closed);
  const auto waited = std::chrono::steady_clock::now() - started;
  EXPECT_TRUE(closed) << "the server closes a connection that sends nothing";
  EXPECT_TRUE(answer.empty()) << "nothing to answer for a request never sent: " << answer;
  EXPECT_GE(waited, std::chrono::milliseconds(800));
  EXPECT_LT(waited, std::chrono::seconds(5));

  // Half a request, then silence: closed after the timeout too, unanswered.
  HttpConnection slow(host.port());
  slow.send_raw("GET /health HTTP/1.1\r\nHost: x\r\n");
  answer = slow.read_until_close(std::chrono::seconds(10), &closed);
  EXPECT_TRUE(closed);
  EXPECT_TRUE(answer.empty()) << answer;
  EXPECT_EQ(http_request(host.port(), "GET", "/health").status, 200);
  EXPECT_EQ(host.stop(), 0) << host.log();
}

}  // namespace
}  // namespace sinkhost::test
