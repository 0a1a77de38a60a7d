// http-sink against the sinkhost binary and a real HTTP server (tests/support/http_recorder.py,
// which records every request): what a webhook receiver sees, in what order, and what the
// connector shows when the receiver refuses.
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <thread>

#include "e2e_helpers.hpp"
#include "sinkhost/connector/encoding.hpp"
#include "token.hpp"

namespace sinkhost::test {
namespace {

using nlohmann::json;

// A port the kernel just handed out and took back: nothing listens there.
std::uint16_t unused_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof addr;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &length) != 0) {
    ::close(fd);
    throw std::runtime_error("cannot bind a port");
  }
  ::close(fd);
  return ntohs(addr.sin_port);
}

// True when something accepts TCP connections on 127.0.0.1:port.
bool listening(std::uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  const bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  ::close(fd);
  return ok;
}

// The recording webhook receiver, as a child process. `tls_args`: the recorder's --cert/--key
// (and --client-ca); `curl_args`: what curl needs to read its records then (a client certificate).
class Recorder {
 public:
  explicit Recorder(std::vector<std::string> tls_args = {}, std::string curl_args = "")
      : tls_(!tls_args.empty()), curl_args_(std::move(curl_args)) {
    // A port the kernel picks, which the recorder writes to a file: tests that run at once
    // (ctest -j) never share one.
    const std::string port_file = dir_.path() + "/port";
    const std::string script = std::string(SINKHOST_SOURCE_DIR) + "/tests/support/http_recorder.py";
    std::vector<std::string> args = {"python3", script, "0", "--port-file", port_file};
    args.insert(args.end(), tls_args.begin(), tls_args.end());
    pid_ = fork();
    if (pid_ == 0) {
      std::vector<char*> argv;
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      execvp("python3", argv.data());
      _exit(127);
    }
    if (!eventually([&] { return read_port(port_file) && listening(port_); }, std::chrono::seconds(20))) {
      stop();
      throw std::runtime_error("the HTTP recorder did not start");
    }
  }
  ~Recorder() { stop(); }
  std::uint16_t port() const { return port_; }
  std::string url(const std::string& path) const {
    return std::string(tls_ ? "https" : "http") + "://127.0.0.1:" + std::to_string(port_) + path;
  }
  json requests() const {
    if (tls_) {
      return json::parse(
          run_command("curl -sk " + curl_args_ + " https://127.0.0.1:" + std::to_string(port_) + "/__requests"));
    }
    return json::parse(http_request(port_, "GET", "/__requests").body);
  }
  // Requests answered 2xx, in the order answered.
  std::vector<json> delivered() const {
    std::vector<json> out;
    for (const auto& r : requests()) {
      if (r["status"].get<int>() / 100 == 2) out.push_back(r);
    }
    return out;
  }
  void behave(const json& behaviour) const {
    ASSERT_EQ(http_request(port_, "POST", "/__behave", behaviour.dump()).status, 200);
  }

 private:
  void stop() {
    if (pid_ <= 0) return;
    ::kill(pid_, SIGKILL);
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
  }

  bool read_port(const std::string& file) {
    std::ifstream in(file);
    int port = 0;
    if (!(in >> port) || port <= 0 || port > 65535) return false;
    port_ = static_cast<std::uint16_t>(port);
    return true;
  }

  TempDir dir_;
  std::uint16_t port_ = 0;
  bool tls_;
  std::string curl_args_;
  pid_t pid_ = -1;
};

std::string header(const json& request, const std::string& name) {
  for (const auto& h : request["headers"]) {
    std::string n = h[0];
    if (n.size() == name.size() && std::equal(n.begin(), n.end(), name.begin(), [](char a, char b) {
          return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b));
        })) {
      return h[1];
    }
  }
  return "<none>";
}

class HttpSinkTest : public ::testing::Test {
 protected:
  void SetUp() override { host_.start(); }

  json connector(const std::string& id) { return connector_view(host_.port(), id); }

  // An http-sink connector reading from the start, quick retries, autocommit every 100 ms.
  void start(const std::string& id, json settings) {
    settings["instanceTypeName"] = "http-sink";
    settings["subscription:initialPosition"] = "earliest";
    settings["autocommit:interval"] = "100";
    if (!settings.contains("resilience:firstDelayBound:delayMs"))
      settings["resilience:firstDelayBound:delayMs"] = "200";
    create_and_start_connector(host_.port(), id, settings);
  }

  TempDir dir_;
  SinkhostProcess host_{dir_.path() + "/data", {"--data-protection-token-file", write_token_file(dir_.path())}};
};

TEST_F(HttpSinkTest, EveryRecordArrivesOnceInOrderPerStreamWithItsHeadersAtItsTemplatedUrl) {
  Recorder server;
  std::uint64_t last = 0;
  for (int n = 0; n < 20; ++n) {
    for (const char* stream : {"order-1", "order-2", "user@7"}) {
      last = append_event(host_.port(), stream, n % 2 ? "OrderShipped" : "OrderPlaced", {{"stream", stream}, {"n", n}},
                          {{"tenant", "acme"}});
    }
  }
  server.behave({{"delayMs", 5}});  // long enough for requests of different streams to overlap
  start("hooks", {{"url", server.url("/in/{stream}?type={event-type}")},
                  {"subscription:filter:scope", "stream"},
                  {"subscription:filter:filterType", "prefix"},
                  {"subscription:filter:expression", "order-,user@"},
                  {"defaultHeaders:X-Team", "payments"},
                  {"maxConnections", "3"}});
  ASSERT_TRUE(eventually([&] { return server.delivered().size() >= 60; })) << server.requests().dump();
  ASSERT_TRUE(checkpoint_reaches(host_.port(), "hooks", last)) << connector("hooks").dump();
  const auto requests = server.delivered();
  EXPECT_EQ(requests.size(), 60u) << "each record once";

  std::map<std::string, int> next;  // stream -> the n expected next
  for (const auto& r : requests) {
    EXPECT_EQ(r["method"], "POST");
    const auto body = json::parse(r["body"].get<std::string>());
    const std::string stream = body["stream"];
    EXPECT_EQ(body["n"], next[stream]++) << "in order within " << stream;
    const std::string type = body["n"].get<int>() % 2 ? "OrderShipped" : "OrderPlaced";
    const std::string encoded = stream == "user@7" ? "user%407" : stream;
    EXPECT_EQ(r["path"], "/in/" + encoded + "?type=" + type);
    EXPECT_EQ(header(r, "Content-Type"), "application/json");
    EXPECT_EQ(header(r, "esdb-record-stream-id"), stream);
    EXPECT_EQ(header(r, "esdb-record-schema-subject"), type);
    EXPECT_EQ(header(r, "esdb-record-schema-type"), "Json");
    EXPECT_EQ(header(r, "esdb-connector-id"), "hooks");
    EXPECT_EQ(header(r, "esdb-record-headers-tenant"), "acme") << "metadata as headers";
    EXPECT_EQ(header(r, "X-Team"), "payments");
    EXPECT_EQ(header(r, "Authorization"), "<none>");
  }
  EXPECT_EQ(next, (std::map<std::string, int>{{"order-1", 20}, {"order-2", 20}, {"user@7", 20}}));

  // Never two requests in flight for one stream; different streams concurrently, over at most
  // maxConnections kept-alive connections.
  std::map<std::string, double> stream_busy_until;
  int overlapping = 0;
  std::set<int> peers;
  for (std::size_t i = 0; i < requests.size(); ++i) {
    const auto& r = requests[i];
    const std::string stream = header(r, "esdb-record-stream-id");
    EXPECT_GE(r["time"].get<double>(), stream_busy_until[stream]) << "a request of " << stream << " overlapped";
    stream_busy_until[stream] = r["end"].get<double>();
    for (std::size_t j = 0; j < requests.size(); ++j) {
      if (j != i && requests[j]["time"].get<double>() < r["end"].get<double>() &&
          requests[j]["end"].get<double>() > r["time"].get<double>()) {
        ++overlapping;
        break;
      }
    }
    peers.insert(r["peer"].get<int>());
  }
  EXPECT_GT(overlapping, 0) << "streams are sent concurrently";
  EXPECT_LE(peers.size(), 3u) << "maxConnections kept-alive connections";
  EXPECT_EQ(connector("hooks")["state"], "CONNECTOR_STATE_RUNNING");
}

TEST_F(HttpSinkTest, BasicAndBearerAuthenticationAndSecretsStayMasked) {
  Recorder server;
  append_event(host_.port(), "auth-1", "Ping", {{"n", 1}});
  start("basic", {{"url", server.url("/basic")},
                  {"authentication:method", "Basic"},
                  {"authentication:basic:username", "alice"},
                  {"authentication:basic:password", "wonder land"}});
  start("bearer", {{"url", server.url("/bearer")},
                   {"authentication:method", "Bearer"},
                   {"authentication:bearer:token", "tok-123"}});
  ASSERT_TRUE(eventually([&] { return server.delivered().size() >= 2; })) << server.requests().dump();
  std::map<std::string, std::string> authorization;  // path -> Authorization
  for (const auto& r : server.delivered()) authorization[r["path"]] = header(r, "Authorization");
  EXPECT_EQ(authorization, (std::map<std::string, std::string>{{"/basic", "Basic YWxpY2U6d29uZGVyIGxhbmQ="},
                                                               {"/bearer", "Bearer tok-123"}}));
  const auto shown = get_json(host_.port(), "/connectors/basic?includeSettings=true").dump() +
                     get_json(host_.port(), "/connectors/bearer?includeSettings=true").dump();
  EXPECT_EQ(shown.find("wonder land"), std::string::npos) << shown;
  EXPECT_EQ(shown.find("tok-123"), std::string::npos) << shown;
}

TEST_F(HttpSinkTest, ConnectionsAreRenewedAfterTheirLifetimeAndSecretsSurviveATokenRotation) {
  Recorder server;
  append_event(host_.port(), "rotate-1", "Ping", {{"n", 1}});
  start("renewing", {{"url", server.url("/hook")},
                     {"authentication:method", "Basic"},
                     {"authentication:basic:username", "hook-user"},
                     {"authentication:basic:password", "p4ss-before-rotation"},
                     {"pooledConnectionLifetime", "00:00:01"},
                     {"maxConnections", "1"}});
  const std::string expected_auth = "Basic " + connector::base64_encode("hook-user:p4ss-before-rotation");
  ASSERT_TRUE(eventually([&] { return server.delivered().size() >= 1; })) << server.requests().dump();
  std::this_thread::sleep_for(std::chrono::milliseconds(1500));  // past the connection's lifetime
  const auto second = append_event(host_.port(), "rotate-1", "Ping", {{"n", 2}});
  ASSERT_TRUE(checkpoint_reaches(host_.port(), "renewing", second)) << connector("renewing");

  // A new data protection token: the stored password is re-encrypted and still sent as it was.
  ASSERT_EQ(host_.stop(), 0);
  const auto new_token =
      write_token_file(dir_.path(), "sinkhost-dpt1-HxAdHBsaGRgXFhUUExIREA8ODQwLCgkIBwYFBAMCAQA", "new-token");
  int code = -1;
  const auto rotated =
      run_command(std::string(SINKHOST_BINARY) + " token rotate --data-dir '" + dir_.path() +
                      "/data' --old-token-file '" + dir_.path() + "/token' --new-token-file '" + new_token + "' 2>&1",
                  &code);
  ASSERT_EQ(code, 0) << rotated;
  SinkhostProcess after(dir_.path() + "/data", {"--data-protection-token-file", new_token});
  after.start();
  const auto third = append_event(after.port(), "rotate-1", "Ping", {{"n", 3}});
  ASSERT_TRUE(checkpoint_reaches(after.port(), "renewing", third)) << connector_view(after.port(), "renewing");

  const auto delivered = server.delivered();
  ASSERT_EQ(delivered.size(), 3u) << server.requests().dump();
  std::set<int> peers;
  for (const auto& r : delivered) {
    EXPECT_EQ(header(r, "Authorization"), expected_auth);
    peers.insert(r["peer"].get<int>());
  }
  EXPECT_EQ(peers.size(), 3u) << "one connection, renewed after its lifetime, and a new one after the restart";
}

TEST_F(HttpSinkTest, AServerAnswering503ForSecondsLosesNothingAndKeepsOrder) {
  Recorder server;
  std::uint64_t last = 0;
  for (int n = 0; n < 10; ++n) last = append_event(host_.port(), "retry-1", "Tick", {{"n", n}});
  server.behave({{"status", 503}, {"seconds", 5}, {"body", "maintenance"}});
  start("retrying", {{"url", server.url("/hook")}});
  // While the server refuses, the connector runs and says why in warningDetails.
  ASSERT_TRUE(eventually([&] { return connector("retrying").contains("warningDetails"); }, std::chrono::seconds(4)))
      << connector("retrying").dump();
  const std::string warning = connector("retrying")["warningDetails"]["message"];
  EXPECT_NE(warning.find("answered 503"), std::string::npos) << warning;
  EXPECT_NE(warning.find("maintenance"), std::string::npos) << warning;
  ASSERT_TRUE(eventually([&] { return server.delivered().size() >= 10; })) << server.requests().dump();
  ASSERT_TRUE(checkpoint_reaches(host_.port(), "retrying", last));
  const auto all = server.requests();
  int refused = 0;
  for (const auto& r : all) refused += r["status"] == 503;
  EXPECT_GE(refused, 3) << "retried while the server answered 503 (every 200 ms for 5 s)";
  const auto delivered = server.delivered();
  ASSERT_EQ(delivered.size(), 10u);
  for (int n = 0; n < 10; ++n) EXPECT_EQ(json::parse(delivered[n]["body"].get<std::string>())["n"], n);
  auto c = connector("retrying");
  EXPECT_EQ(c["state"], "CONNECTOR_STATE_RUNNING");
  EXPECT_FALSE(c.contains("errorDetails")) << c.dump();
  EXPECT_FALSE(c.contains("warningDetails")) << "the condition is over: " << c.dump();
  // Retries are counted: each refused request carried one record (of the first stream's first).
  EXPECT_EQ(c["retriedRecords"], refused) << c.dump();
  const auto metrics = http_request(host_.port(), "GET", "/metrics").body;
  EXPECT_NE(metrics.find(R"(sinkhost_connector_records_retried_total{connector="retrying",type="http-sink"} )" +
                         std::to_string(refused) + "\n"),
            std::string::npos)
      << metrics;
}

TEST_F(HttpSinkTest, StoppingDuringABackoffDoesNotWaitForTheRetry) {
  Recorder server;
  server.behave({{"status", 503}});
  append_event(host_.port(), "waiting-1", "Tick", {{"n", 1}});
  start("waiting", {{"url", server.url("/hook")}, {"resilience:firstDelayBound:delayMs", "60000"}});
  ASSERT_TRUE(eventually([&] { return connector("waiting").contains("warningDetails"); })) << connector("waiting");
  const auto asked = std::chrono::steady_clock::now();
  ASSERT_EQ(http_request(host_.port(), "POST", "/connectors/waiting/stop").status, 200);
  ASSERT_TRUE(eventually([&] { return connector("waiting")["state"] == "CONNECTOR_STATE_STOPPED"; }));
  const auto took = std::chrono::steady_clock::now() - asked;
  // The sink's close waits up to 10 s for records in flight; a record waiting a minute for its
  // retry is not in flight: it is sent again at the next start.
  EXPECT_LT(took, std::chrono::seconds(5)) << std::chrono::duration<double>(took).count() << " s";
  EXPECT_FALSE(connector("waiting").contains("position")) << "nothing delivered, nothing checkpointed";
}

TEST_F(HttpSinkTest, TooManyRequestsWaitsAsRetryAfterSays) {
  Recorder server;
  server.behave({{"status", 429}, {"count", 1}, {"retryAfter", "2"}});
  append_event(host_.port(), "throttled-1", "Tick", {{"n", 1}});
  start("throttled", {{"url", server.url("/hook")}, {"resilience:firstDelayBound:delayMs", "50"}});
  ASSERT_TRUE(eventually([&] { return server.delivered().size() >= 1; })) << server.requests().dump();
  const auto all = server.requests();
  ASSERT_EQ(all.size(), 2u) << all.dump();
  EXPECT_EQ(all[0]["status"], 429);
  EXPECT_EQ(all[1]["status"], 200);
  const double waited = all[1]["time"].get<double>() - all[0]["time"].get<double>();
  EXPECT_GE(waited, 1.9) << "Retry-After: 2, not the 50 ms backoff";
  EXPECT_LT(waited, 10.0);
}

TEST_F(HttpSinkTest, ABadRequestStopsTheConnectorWithTheStatusAndTheBodyInErrorDetails) {
  Recorder server;
  server.behave({{"status", 400}, {"body", "field customerId is missing"}});
  append_event(host_.port(), "bad-1", "OrderPlaced", {{"n", 1}});
  append_event(host_.port(), "bad-1", "OrderPlaced", {{"n", 2}});
  start("refused", {{"url", server.url("/orders")}});
  ASSERT_TRUE(eventually([&] { return connector("refused").contains("errorDetails"); })) << connector("refused").dump();
  auto c = connector("refused");
  EXPECT_EQ(c["state"], "CONNECTOR_STATE_STOPPED");
  EXPECT_EQ(c["errorDetails"]["code"], "INVALID_ARGUMENT");
  const std::string message = c["errorDetails"]["message"];
  EXPECT_NE(message.find("answered 400 Bad Request"), std::string::npos) << message;
  EXPECT_NE(message.find("field customerId is missing"), std::string::npos) << message;
  EXPECT_NE(message.find("/orders"), std::string::npos) << message;
  EXPECT_FALSE(c.contains("position")) << "nothing checkpointed: the refused record is sent again at the next start";
  EXPECT_EQ(server.requests().size(), 1u) << "not retried, and nothing after it sent";
}

TEST_F(HttpSinkTest, ARecordTheEndpointRefusesGoesToTheDeadLetterUrlUntilMaxRecords) {
  Recorder server;
  Recorder dead_letters;
  server.behave({{"status", 422}, {"body", "customerId is missing"}, {"bodyContains", "poison"}});
  std::vector<std::uint64_t> positions;
  for (int n = 1; n <= 6; ++n) {
    const bool poison = n == 3 || n == 5;
    positions.push_back(
        append_event(host_.port(), "dl-1", "OrderPlaced", poison ? json{{"n", n}, {"poison", true}} : json{{"n", n}}));
  }
  start("dead-lettering", {{"url", server.url("/orders")},
                           {"deadLetter:enabled", "true"},
                           {"deadLetter:url", dead_letters.url("/dead")},
                           {"deadLetter:maxRecords", "1"}});
  // The first refused record goes to the dead-letter URL and delivery goes on; the second is
  // one more than deadLetter:maxRecords allows: the connector stops.
  ASSERT_TRUE(eventually([&] { return connector("dead-lettering")["state"] == "CONNECTOR_STATE_STOPPED"; }))
      << connector("dead-lettering").dump();
  auto c = connector("dead-lettering");
  EXPECT_EQ(c["errorDetails"]["code"], "FAILED_PRECONDITION") << c.dump();
  const std::string error = c["errorDetails"]["message"];
  EXPECT_NE(error.find("deadLetter:maxRecords"), std::string::npos) << error;
  EXPECT_NE(error.find("customerId is missing"), std::string::npos) << error;
  EXPECT_EQ(c["deadLetteredRecords"], 1);
  ASSERT_TRUE(eventually([&] { return connector("dead-lettering").value("position", 0ull) == positions[3]; }))
      << "the checkpoint passes the dead letter and stops before the second refused record: "
      << connector("dead-lettering").dump();

  const auto delivered = server.delivered();
  ASSERT_EQ(delivered.size(), 3u) << server.requests().dump();
  for (std::size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(json::parse(delivered[i]["body"].get<std::string>())["n"], std::vector<int>({1, 2, 4})[i]);
  }
  const auto letters = dead_letters.delivered();
  ASSERT_EQ(letters.size(), 1u) << dead_letters.requests().dump();
  const auto& letter = letters[0];
  EXPECT_EQ(letter["method"], "POST");
  EXPECT_EQ(letter["path"], "/dead");
  EXPECT_EQ(json::parse(letter["body"].get<std::string>()), json({{"n", 3}, {"poison", true}}));
  EXPECT_EQ(header(letter, "sinkhost-dead-letter-reason"), "HTTP_422");
  EXPECT_NE(header(letter, "sinkhost-dead-letter-message").find("customerId is missing"), std::string::npos);
  EXPECT_EQ(header(letter, "sinkhost-dead-letter-url"), server.url("/orders"));
  EXPECT_EQ(header(letter, "sinkhost-dead-letter-connector"), "dead-lettering");
  EXPECT_EQ(header(letter, "sinkhost-dead-letter-log-position"), std::to_string(positions[2]));
  EXPECT_EQ(header(letter, "esdb-record-stream-id"), "dl-1") << "the record's own headers come along";
  EXPECT_EQ(header(letter, "Content-Type"), "application/json");
}

TEST_F(HttpSinkTest, ARecordTheTransformThrowsOnGoesToTheDeadLetterUrlUntransformed) {
  Recorder server;
  Recorder dead_letters;
  std::uint64_t last = 0;
  for (int n = 0; n < 4; ++n) last = append_event(host_.port(), "dlt-1", "OrderPlaced", {{"n", n}});
  start("dead-letter-transform",
        {{"url", server.url("/orders")},
         {"deadLetter:enabled", "true"},
         {"deadLetter:url", dead_letters.url("/dead")},
         {"transformer:enabled", "true"},
         {"transformer:function", connector::base64_encode("function transform(r) { if (r.value.n % 2) throw new "
                                                           "Error('odd ' + r.value.n); r.value.even = true; }")}});
  ASSERT_TRUE(checkpoint_reaches(host_.port(), "dead-letter-transform", last)) << connector("dead-letter-transform");
  const auto delivered = server.delivered();
  ASSERT_EQ(delivered.size(), 2u) << server.requests().dump();
  EXPECT_EQ(delivered[0]["body"], R"({"n":0,"even":true})");
  EXPECT_EQ(delivered[1]["body"], R"({"n":2,"even":true})");
  const auto letters = dead_letters.delivered();
  ASSERT_EQ(letters.size(), 2u) << dead_letters.requests().dump();
  EXPECT_EQ(letters[0]["body"], R"({"n":1})") << "as it was before the transform";
  EXPECT_EQ(header(letters[0], "sinkhost-dead-letter-reason"), "TRANSFORM_ERROR");
  EXPECT_NE(header(letters[0], "sinkhost-dead-letter-message").find("odd 1"), std::string::npos);
  EXPECT_EQ(letters[1]["body"], R"({"n":3})");
  auto c = connector("dead-letter-transform");
  EXPECT_EQ(c["state"], "CONNECTOR_STATE_RUNNING");
  EXPECT_EQ(c["deadLetteredRecords"], 2);
}

TEST_F(HttpSinkTest, AnUnknownPlaceholderIsRefusedAtCreate) {
  auto created = http_request(
      host_.port(), "POST", "/connectors/typo-hook",
      json{{"settings", {{"instanceTypeName", "HttpSink"}, {"url", "http://127.0.0.1:19560/{eventType}"}}}}.dump());
  EXPECT_EQ(created.status, 400) << created.body;
  EXPECT_NE(created.body.find("unknown placeholder {eventType}"), std::string::npos) << created.body;
}

TEST_F(HttpSinkTest, ValidateWithCheckConnectionTriesTheUrl) {
  Recorder server;
  auto ok = http_request(host_.port(), "PUT", "/connector-plugins/http-sink/config/validate?checkConnection=true",
                         json{{"url", server.url("/in/{stream}")}}.dump());
  ASSERT_EQ(ok.status, 200) << ok.body;
  auto answer = json::parse(ok.body);
  EXPECT_EQ(answer["connection"]["ok"], true) << ok.body;
  ASSERT_EQ(server.requests().size(), 1u);
  EXPECT_EQ(server.requests()[0]["method"], "HEAD");
  EXPECT_EQ(server.requests()[0]["path"], "/in/");

  const auto closed = unused_port();
  auto refused = http_request(host_.port(), "PUT", "/connector-plugins/http-sink/config/validate?checkConnection=true",
                              json{{"url", "http://127.0.0.1:" + std::to_string(closed) + "/"}}.dump());
  ASSERT_EQ(refused.status, 200) << refused.body;
  answer = json::parse(refused.body);
  EXPECT_EQ(answer["connection"]["ok"], false) << refused.body;
  EXPECT_EQ(answer["connection"]["failedStep"], "connect") << refused.body;
}

TEST_F(HttpSinkTest, BatchesCarryConsecutiveRecordsOfOneStreamAsAJsonArray) {
  Recorder server;
  std::uint64_t last = 0;
  for (int n = 0; n < 7; ++n) last = append_event(host_.port(), "batch-1", "Tick", {{"n", n}});
  start("batched", {{"url", server.url("/batch")}, {"batching:maxRecords", "3"}});
  ASSERT_TRUE(checkpoint_reaches(host_.port(), "batched", last)) << connector("batched").dump();
  std::vector<int> seen;
  for (const auto& r : server.delivered()) {
    const auto body = json::parse(r["body"].get<std::string>());
    ASSERT_TRUE(body.is_array()) << body.dump();
    EXPECT_LE(body.size(), 3u);
    EXPECT_EQ(header(r, "esdb-batch-size"), std::to_string(body.size()));
    for (const auto& item : body) seen.push_back(item["n"]);
  }
  EXPECT_EQ(seen, (std::vector<int>{0, 1, 2, 3, 4, 5, 6}));
  EXPECT_LT(server.delivered().size(), 7u) << "fewer requests than records";

  start("ndjson", {{"url", server.url("/ndjson")}, {"batching:maxRecords", "4"}, {"batching:format", "Ndjson"}});
  ASSERT_TRUE(checkpoint_reaches(host_.port(), "ndjson", last)) << connector("ndjson").dump();
  seen.clear();
  for (const auto& r : server.delivered()) {
    if (r["path"] != "/ndjson") continue;
    EXPECT_EQ(header(r, "Content-Type"), "application/x-ndjson");
    std::istringstream lines(r["body"].get<std::string>());
    std::string line;
    int count = 0;
    while (std::getline(lines, line)) {
      seen.push_back(json::parse(line)["n"]);
      ++count;
    }
    EXPECT_LE(count, 4);
    EXPECT_EQ(header(r, "esdb-batch-size"), std::to_string(count));
  }
  EXPECT_EQ(seen, (std::vector<int>{0, 1, 2, 3, 4, 5, 6}));
}

TEST_F(HttpSinkTest, KilledMidStreamItResumesFromTheCheckpointLosingNothing) {
  Recorder server;
  server.behave({{"delayMs", 20}});  // slow enough to be killed mid-stream
  constexpr int kEvents = 200;
  std::uint64_t last = 0;
  for (int n = 0; n < kEvents; ++n) last = append_event(host_.port(), "kill-1", "Tick", {{"n", n}});
  start("killed", {{"url", server.url("/k")}, {"autocommit:recordsThreshold", "10"}});
  ASSERT_TRUE(eventually([&] { return server.delivered().size() >= 40; })) << connector("killed").dump();
  host_.kill_hard();
  const auto before = server.delivered().size();
  ASSERT_LT(before, static_cast<std::size_t>(kEvents)) << "killed mid-stream";
  host_.start();
  ASSERT_TRUE(checkpoint_reaches(host_.port(), "killed", last)) << connector("killed").dump();

  std::vector<int> seen;
  for (const auto& r : server.delivered()) seen.push_back(json::parse(r["body"].get<std::string>())["n"]);
  std::set<int> distinct(seen.begin(), seen.end());
  EXPECT_EQ(distinct.size(), static_cast<std::size_t>(kEvents)) << "every record arrived";
  EXPECT_EQ(*distinct.begin(), 0);
  EXPECT_EQ(*distinct.rbegin(), kEvents - 1);
  // In order, except once: after the restart the stream resumes at its checkpoint, at or
  // before where it was; duplicates are only what was sent since that checkpoint.
  int restarts = 0;
  for (std::size_t i = 1; i < seen.size(); ++i) {
    if (seen[i] != seen[i - 1] + 1) {
      ++restarts;
      EXPECT_LE(seen[i], seen[i - 1] + 1) << "nothing skipped";
      EXPECT_GE(seen[i], seen[i - 1] - 20) << "resent only since the last checkpoint (every 10 records)";
    }
  }
  EXPECT_LE(restarts, 1);
  EXPECT_LE(seen.size() - distinct.size(), 20u) << "duplicates only since the last checkpoint";
}

TEST_F(HttpSinkTest, HttpsWithTheTestCaAndRefusedWithoutIt) {
  const auto cert = dir_.path() + "/server.pem";
  const auto key = dir_.path() + "/server.key";
  int code = -1;
  auto out = run_command(
      "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 "
      "-subj /CN=localhost -addext 'subjectAltName=DNS:localhost,IP:127.0.0.1' -keyout '" +
          key + "' -out '" + cert + "' 2>&1",
      &code);
  ASSERT_EQ(code, 0) << out;
  Recorder server({"--cert", cert, "--key", key});
  append_event(host_.port(), "tls-1", "Tick", {{"n", 1}});
  start("trusted",
        {{"url", server.url("/tls")}, {"authentication:tls:caCertificate", run_command("cat '" + cert + "'")}});
  ASSERT_TRUE(eventually([&] { return server.delivered().size() >= 1; })) << connector("trusted").dump();
  EXPECT_EQ(json::parse(server.delivered()[0]["body"].get<std::string>())["n"], 1);

  // Without the CA the system's CAs do not know the server: retrying cannot help, the
  // connector stops saying why, and nothing reaches the server.
  start("untrusted", {{"url", server.url("/untrusted")}});
  ASSERT_TRUE(eventually([&] { return connector("untrusted").contains("errorDetails"); }))
      << connector("untrusted").dump();
  auto c = connector("untrusted");
  EXPECT_EQ(c["state"], "CONNECTOR_STATE_STOPPED");
  const std::string message = c["errorDetails"]["message"];
  EXPECT_NE(message.find("TLS handshake"), std::string::npos) << message;
  EXPECT_NE(message.find("certificate verify failed"), std::string::npos) << message;
  for (const auto& r : server.requests()) EXPECT_NE(r["path"], "/untrusted");
}

TEST_F(HttpSinkTest, MutualTlsWithAClientCertificateAndRefusedWithoutOne) {
  int code = -1;
  auto make = [&](const std::string& name, const std::string& cn) {
    auto out = run_command(
        "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 "
        "-subj /CN=" +
            cn + " -addext 'subjectAltName=DNS:localhost,IP:127.0.0.1' -keyout '" + dir_.path() + "/" + name +
            ".key' -out '" + dir_.path() + "/" + name + ".pem' 2>&1",
        &code);
    ASSERT_EQ(code, 0) << out;
  };
  make("server", "localhost");
  make("client", "sinkhost-client");
  const auto file = [&](const std::string& name) { return run_command("cat '" + dir_.path() + "/" + name + "'"); };
  Recorder server({"--cert", dir_.path() + "/server.pem", "--key", dir_.path() + "/server.key", "--client-ca",
                   dir_.path() + "/client.pem"},
                  "--cert '" + dir_.path() + "/client.pem' --key '" + dir_.path() + "/client.key'");
  append_event(host_.port(), "mtls-1", "Tick", {{"n", 1}});
  start("with-cert", {{"url", server.url("/mtls")},
                      {"authentication:tls:caCertificate", file("server.pem")},
                      {"authentication:tls:clientCertificate", file("client.pem")},
                      {"authentication:tls:clientKey", file("client.key")}});
  ASSERT_TRUE(eventually([&] { return server.delivered().size() >= 1; })) << connector("with-cert").dump();

  start("without-cert", {{"url", server.url("/no-cert")}, {"authentication:tls:caCertificate", file("server.pem")}});
  ASSERT_TRUE(eventually([&] { return connector("without-cert").contains("errorDetails"); }))
      << connector("without-cert").dump();
  const std::string message = connector("without-cert")["errorDetails"]["message"];
  EXPECT_NE(message.find("TLS"), std::string::npos) << message;
  for (const auto& r : server.requests()) EXPECT_NE(r["path"], "/no-cert");
}

}  // namespace
}  // namespace sinkhost::test
