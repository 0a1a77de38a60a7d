// Hostile clients against the real daemon: malformed, truncated, oversized and deeply nested
// requests, invalid UTF-8, slow clients and a thousand connections at once. Each case checks
// what the client sees (a status and a google.rpc.Status body, or a closed connection, never a
// hang) and that the daemon keeps serving well-formed requests during and after the attack.
#include <sys/resource.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/buffer.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <gtest/gtest.h>

#include "e2e_helpers.hpp"

namespace sinkhost::test {
namespace {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using asio::ip::tcp;
using namespace std::chrono_literals;

// What a raw exchange gave: the first response (status 0 when there was none) and whether the
// server closed the connection within the deadline.
struct RawAnswer {
  int status = 0;
  std::string body;
  std::string raw;
  bool closed = false;
};

RawAnswer parse_answer(std::string raw, bool closed) {
  RawAnswer answer{.status = 0, .body = {}, .raw = std::move(raw), .closed = closed};
  http::response_parser<http::string_body> parser;
  parser.eager(true);
  boost::beast::error_code ec;
  parser.put(asio::buffer(answer.raw), ec);
  if (!ec && parser.is_done()) {
    answer.status = static_cast<int>(parser.get().result_int());
    answer.body = parser.get().body();
  }
  return answer;
}

// Sends `bytes` (the server may close before taking them all) and reads until the server
// closes or `deadline` passes.
RawAnswer exchange_raw(std::uint16_t port, const std::string& bytes, std::chrono::milliseconds deadline = 10s) {
  HttpConnection connection(port);
  try {
    connection.send_raw(bytes);
  } catch (const std::exception&) {
    // The server answered and closed early (a 413 or 431): the answer is still to be read.
  }
  bool closed = false;
  auto raw = connection.read_until_close(deadline, &closed);
  return parse_answer(std::move(raw), closed);
}

bool is_status_body(const std::string& body, int code) {
  auto json = nlohmann::json::parse(body, nullptr, false);
  return json.is_object() && json["code"] == code && json["message"].is_string() &&
         !json["message"].get<std::string>().empty() && json["details"].is_array();
}

// A user's error: the status, a google.rpc.Status body with `code`, and the connection closed.
void expect_refused(const RawAnswer& answer, int status, int code, const std::string& what) {
  EXPECT_EQ(answer.status, status) << what << ": " << answer.raw.substr(0, 600);
  EXPECT_TRUE(is_status_body(answer.body, code)) << what << ": " << answer.body.substr(0, 600);
}

std::string post(const std::string& target, const std::string& body,
                 const std::string& content_type = "application/json", const std::string& extra_headers = "") {
  return "POST " + target + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: " + content_type +
         "\r\nContent-Length: " + std::to_string(body.size()) + "\r\n" + extra_headers + "\r\n" + body;
}

std::string one_event(const std::string& id = new_uuid(), const std::string& type = "E",
                      const std::string& data = "{}") {
  return "[{\"eventId\":\"" + id + "\",\"eventType\":\"" + type + "\",\"data\":" + data + "}]";
}

// Every file descriptor the test process may have: a thousand connections need more than
// Debian's default soft limit of 1024. The daemon, a child, inherits the raised limit.
void raise_descriptor_limit() {
  rlimit limit{};
  ASSERT_EQ(::getrlimit(RLIMIT_NOFILE, &limit), 0);
  if (limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    ASSERT_EQ(::setrlimit(RLIMIT_NOFILE, &limit), 0);
  }
  ASSERT_GE(limit.rlim_cur, rlim_t{3000}) << "the hard descriptor limit is too low for a thousand connections";
}

class HostileClient : public ::testing::Test {
 protected:
  void start(std::vector<std::string> args = {}) {
    host_ = std::make_unique<SinkhostProcess>(dir_.path() + "/data", std::move(args));
    host_->start();
    port_ = host_->port();
  }

  // The daemon is alive and does real work: an append, then reading it back.
  void expect_serving(const std::string& when) {
    ASSERT_TRUE(host_->running()) << when;
    EXPECT_EQ(::kill(host_->pid(), 0), 0) << "the daemon is gone " << when << "\n" << host_->log();
    const auto stream = "alive-" + std::to_string(++checks_);
    std::uint64_t position = 0;
    try {
      position = append_event(port_, stream, "Alive", {{"check", checks_}});
    } catch (const std::exception& e) {
      FAIL() << "an append failed " << when << ": " << e.what() << "\n" << host_->log();
    }
    auto read = get_json(port_, "/streams/" + stream);
    ASSERT_EQ(read["events"].size(), 1u) << when << ": " << read.dump();
    EXPECT_EQ(read["events"][0]["position"], position) << when;
    EXPECT_EQ(http_request(port_, "GET", "/health").status, 200) << when;
  }

  TempDir dir_;
  std::unique_ptr<SinkhostProcess> host_;
  std::uint16_t port_ = 0;
  int checks_ = 0;
};

TEST_F(HostileClient, MalformedAndTruncatedRequestsAreRefusedOrClosedAndServingGoesOn) {
  start({"--request-timeout-seconds", "2"});
  const std::vector<std::pair<std::string, std::string>> malformed = {
      {"not HTTP at all", "THIS IS NOT HTTP\r\n\r\n"},
      {"binary garbage", std::string("\x00\x01\x02\xff\xfe\r\n\r\n", 9)},
      {"an unknown HTTP version", "GET /health HTTP/9.9\r\nHost: x\r\n\r\n"},
      {"a header line without a colon", "GET /health HTTP/1.1\r\nHost x\r\n\r\n"},
      {"a bad Content-Length", "POST /streams/s HTTP/1.1\r\nHost: x\r\nContent-Length: ten\r\n\r\n"},
      {"two Content-Lengths",
       "POST /streams/s HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n[]"},
      {"a bad chunk size", "POST /streams/s HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nZZ\r\n"},
      {"a space in the method", "GE T /health HTTP/1.1\r\nHost: x\r\n\r\n"},
  };
  for (const auto& [what, bytes] : malformed) {
    auto answer = exchange_raw(port_, bytes);
    expect_refused(answer, 400, 3, what);
    EXPECT_TRUE(answer.closed) << what << ": the connection is closed after a malformed request";
  }

  // Parsed as HTTP, refused by the routes: the connection stays usable, so only the answer counts.
  const std::vector<std::pair<std::string, std::string>> bad_targets = {
      {"a relative target", "GET health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"},
      {"a broken percent-encoding", "GET /streams/%zz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"},
      {"a truncated percent-encoding", "GET /streams/a% HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"},
  };
  for (const auto& [what, bytes] : bad_targets) expect_refused(exchange_raw(port_, bytes), 400, 3, what);
  expect_serving("after malformed requests");

  // Truncated: the client stops mid-request and waits. The server gives up after the request
  // timeout and closes without an answer (there is no request to answer).
  for (const std::string& truncated :
       {std::string("POST /streams/s HTTP/1.1\r\nHost: x\r\nContent-Le"),
        std::string("POST /streams/s HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n[{")}) {
    auto answer = exchange_raw(port_, truncated, 15s);
    EXPECT_TRUE(answer.closed) << "a truncated request is closed, not held: " << truncated;
    EXPECT_TRUE(answer.raw.empty()) << answer.raw;
  }
  // Truncated and then closed by the client (half-close): a 400 or a plain close, never a hang.
  auto half_closed = raw_request(port_, "POST /streams/s HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n[{");
  if (!half_closed.empty()) expect_refused(parse_answer(half_closed, true), 400, 3, "a body cut short by the client");
  expect_serving("after truncated requests");
}

TEST_F(HostileClient, HugeHeadersAndBodiesGet431Or413WithoutHurtingTheDaemon) {
  start({"--max-body-bytes", "1048576", "--max-event-bytes", "100000", "--request-timeout-seconds", "5"});
  // One huge header, and many small ones: both past the 16 KiB header limit.
  expect_refused(
      exchange_raw(port_, "GET /health HTTP/1.1\r\nHost: x\r\nX-Big: " + std::string(1 << 20, 'a') + "\r\n\r\n"), 431,
      8, "a 1 MiB header");
  std::string many = "GET /health HTTP/1.1\r\nHost: x\r\n";
  for (int i = 0; i < 5000; ++i) many += "X-H" + std::to_string(i) + ": v\r\n";
  expect_refused(exchange_raw(port_, many + "\r\n"), 431, 8, "5000 headers");
  // A huge target is part of the header too.
  expect_refused(exchange_raw(port_, "GET /streams/" + std::string(100000, 'a') + " HTTP/1.1\r\nHost: x\r\n\r\n"), 431,
                 8, "a 100 kB target");

  // Bodies past --max-body-bytes: announced, actually sent, and chunked without end.
  expect_refused(exchange_raw(port_, post("/streams/big", std::string(2 << 20, '['))), 413, 8, "a 2 MiB body");
  std::string chunked =
      "POST /streams/big HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n";
  for (int i = 0; i < 40; ++i) chunked += "8000\r\n" + std::string(0x8000, ' ') + "\r\n";
  expect_refused(exchange_raw(port_, chunked), 413, 8, "a chunked body past the limit");
  // Under the body limit, over the event limit: the route says which event.
  auto big_event =
      http_request(port_, "POST", "/streams/big", one_event(new_uuid(), "E", "\"" + std::string(1000000, 'x') + "\""));
  EXPECT_EQ(big_event.status, 413) << big_event.body;
  EXPECT_TRUE(is_status_body(big_event.body, 3)) << big_event.body;
  EXPECT_EQ(get_json(port_, "/streams/$all")["headPosition"], 0) << "nothing was appended";
  expect_serving("after huge headers and bodies");
}

TEST_F(HostileClient, DeepJsonNestingIsRefusedOnEveryRouteThatParsesJson) {
  start();
  const std::string deep_arrays(100000, '[');
  std::string deep_objects;
  for (int i = 0; i < 30000; ++i) deep_objects += "{\"a\":";
  const std::string nested_in_event = one_event(new_uuid(), "E", std::string(5000, '[') + std::string(5000, ']'));

  struct Case {
    std::string what, method, target, body, content_type;
  };
  const std::vector<Case> cases = {
      {"an append of 100k '['", "POST", "/streams/deep", deep_arrays, "application/json"},
      {"an append of 30k nested objects", "POST", "/streams/deep", deep_objects,
       "application/vnd.eventstore.events+json"},
      {"event data nested 5000 deep", "POST", "/streams/deep", nested_in_event, "application/json"},
      {"single-event JSON data", "POST", "/streams/deep", deep_arrays, "application/json"},
      {"a connector", "POST", "/connectors/deep", deep_objects, "application/json"},
      {"a reconfiguration", "PUT", "/connectors/deep/settings", deep_arrays, "application/json"},
      {"a validation", "PUT", "/connector-plugins/logger-sink/config/validate", deep_objects, "application/json"},
      {"a list filter", "GET", "/connectors", deep_arrays, "application/json"},
  };
  for (const auto& c : cases) {
    std::map<std::string, std::string> headers;
    if (c.what == "single-event JSON data") headers = {{"ES-EventType", "Deep"}, {"ES-EventId", new_uuid()}};
    auto response = http_request_with_headers(port_, c.method, c.target, headers, c.body, c.content_type);
    EXPECT_EQ(response.status, 400) << c.what << ": " << response.body;
    EXPECT_TRUE(is_status_body(response.body, 3)) << c.what << ": " << response.body;
  }
  EXPECT_EQ(get_json(port_, "/streams/$all")["headPosition"], 0) << "nothing was appended";
  EXPECT_EQ(get_json(port_, "/connectors")["totalSize"], 0) << "no connector was created";
  expect_serving("after deeply nested JSON");
}

TEST_F(HostileClient, InvalidUtf8IsRefusedOrEscapedNeverEchoedRaw) {
  start();
  const std::string bad = "\xff\xfe\xc3\x28";
  const std::string id = new_uuid();
  // In JSON strings of a body: the JSON parser refuses it.
  expect_refused(exchange_raw(port_, post("/streams/s", one_event(id, "Type" + bad))), 400, 3, "an event type");
  expect_refused(exchange_raw(port_, post("/streams/s", one_event(id, "E", "\"" + bad + "\""))), 400, 3, "event data");
  expect_refused(exchange_raw(port_, post("/streams/s", "[{\"eventId\":\"" + bad + "\",\"eventType\":\"E\"}]")), 400, 3,
                 "an event id");
  expect_refused(
      exchange_raw(port_, post("/connectors/c", "{\"settings\":{\"instanceTypeName\":\"logger-sink" + bad + "\"}}")),
      400, 3, "a setting value");
  // In headers of the single-event form.
  expect_refused(exchange_raw(port_, post("/streams/s", "x", "application/octet-stream",
                                          "ES-EventType: T" + bad + "\r\nES-EventId: " + new_uuid() + "\r\n")),
                 400, 3, "an ES-EventType header");
  expect_refused(exchange_raw(port_, post("/streams/s", "x", "application/octet-stream",
                                          "ES-EventType: T\r\nES-EventId: " + bad + "\r\n")),
                 400, 3, "an ES-EventId header");
  // In stream names and connector ids, percent-encoded and raw.
  expect_refused(exchange_raw(port_, post("/streams/bad%FF%FE", one_event())), 400, 3, "a percent-encoded stream name");
  auto raw_name = exchange_raw(port_, post("/streams/bad" + bad, one_event()));
  EXPECT_TRUE(raw_name.status == 400) << raw_name.raw;
  EXPECT_TRUE(is_status_body(raw_name.body, 3)) << raw_name.body;
  auto read = exchange_raw(port_, "GET /streams/x%FF HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  expect_refused(read, 400, 3, "reading a stream named with invalid UTF-8");
  // An unknown connector id with invalid UTF-8: 404, and the JSON answer stays valid UTF-8.
  auto missing = exchange_raw(port_, "GET /connectors/c%FF%C3 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  EXPECT_EQ(missing.status, 404) << missing.raw;
  EXPECT_TRUE(is_status_body(missing.body, 5)) << "the id is echoed escaped, so the body parses: " << missing.body;
  auto created = exchange_raw(port_, post("/connectors/c%FF", R"({"settings":{"instanceTypeName":"logger-sink"}})"));
  EXPECT_EQ(created.status, 400) << "a connector id must be UTF-8: " << created.raw;
  EXPECT_TRUE(is_status_body(created.body, 3)) << created.body;
  // Bytes in a non-JSON event are data, not text: stored and read back as base64.
  auto blob = exchange_raw(port_, post("/streams/blob", bad, "application/octet-stream",
                                       "ES-EventType: Blob\r\nES-EventId: " + new_uuid() + "\r\n"));
  EXPECT_EQ(blob.status, 201) << blob.raw;
  EXPECT_EQ(get_json(port_, "/streams/blob")["events"][0]["dataBase64"], "//7DKA==");
  auto list = http_request(port_, "GET", "/connectors");
  EXPECT_EQ(nlohmann::json::parse(list.body)["totalSize"], 0);
  expect_serving("after invalid UTF-8");
}

TEST_F(HostileClient, SlowClientsAreCutOffAtTheRequestTimeoutWhileOthersAreServed) {
  constexpr int kTimeoutSeconds = 2;
  start({"--request-timeout-seconds", std::to_string(kTimeoutSeconds)});
  // Slowloris: 50 connections each trickling one header byte at a time, and 50 that send their
  // headers and an unfinished body, then nothing. The request timeout covers a whole request,
  // so the trickle does not keep a connection open.
  const std::string header =
      "POST /streams/slow HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nX-Pad: " + std::string(200, 'p') +
      "\r\n";
  struct Slow {
    std::unique_ptr<HttpConnection> connection;
    std::size_t sent = 0;
    bool closed = false;
    std::string answer;
  };
  std::vector<Slow> trickling(50), unfinished(50);
  for (auto& s : trickling) s.connection = std::make_unique<HttpConnection>(port_);
  for (auto& s : unfinished) {
    s.connection = std::make_unique<HttpConnection>(port_);
    s.connection->send_raw(
        "POST /streams/slow HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        "Content-Length: 100000\r\n\r\n[{\"eventId\":");
  }
  const auto started = std::chrono::steady_clock::now();
  // Well past the timeout, with room for a loaded machine; the server must have closed them all.
  const auto deadline = started + std::chrono::seconds(kTimeoutSeconds * 10);
  int served_during = 0;
  auto open_count = [&] {
    int open = 0;
    for (auto* group : {&trickling, &unfinished}) {
      for (auto& s : *group) open += s.closed ? 0 : 1;
    }
    return open;
  };
  while (open_count() > 0 && std::chrono::steady_clock::now() < deadline) {
    for (auto& s : trickling) {
      if (s.closed) continue;
      try {
        s.connection->send_raw(std::string(1, header[s.sent % header.size()]));
        ++s.sent;
      } catch (const std::exception&) {
        // The server closed it: read_until_close below says so.
      }
    }
    for (auto* group : {&trickling, &unfinished}) {
      for (auto& s : *group) {
        if (!s.closed) s.answer += s.connection->read_until_close(1ms, &s.closed);
      }
    }
    // A well-formed client is served all along.
    if (http_request(port_, "GET", "/health").status == 200) ++served_during;
    std::this_thread::sleep_for(100ms);
  }
  const auto waited = std::chrono::steady_clock::now() - started;
  EXPECT_EQ(open_count(), 0) << "every slow connection is closed by the server";
  EXPECT_GE(waited, std::chrono::milliseconds(kTimeoutSeconds * 1000 - 200)) << "not before the request timeout";
  for (auto* group : {&trickling, &unfinished}) {
    for (auto& s : *group) EXPECT_TRUE(s.answer.empty()) << "a request never finished gets no answer: " << s.answer;
  }
  EXPECT_GT(served_during, 0) << "the daemon answered other clients during the attack";
  for (auto& s : trickling) EXPECT_GE(s.sent, 2u) << "the connection was still trickling when it was closed";
  expect_serving("after slow clients");
}

// Connects `count` sockets, then sends each its request and reads each answer, all at once.
// Returns the status of each answer (0: none within the deadline).
std::vector<int> concurrent_requests(std::uint16_t port, const std::vector<std::string>& requests,
                                     std::chrono::seconds deadline) {
  asio::io_context io;
  std::vector<std::unique_ptr<tcp::socket>> sockets;
  std::vector<std::string> answers(requests.size());
  std::vector<int> statuses(requests.size(), 0);
  const tcp::endpoint endpoint(asio::ip::make_address("127.0.0.1"), port);
  for (std::size_t i = 0; i < requests.size(); ++i) {
    sockets.push_back(std::make_unique<tcp::socket>(io));
    sockets.back()->connect(endpoint);
  }
  for (std::size_t i = 0; i < requests.size(); ++i) {
    asio::async_write(*sockets[i], asio::buffer(requests[i]), [&, i](boost::system::error_code ec, std::size_t) {
      if (ec) return;
      asio::async_read(*sockets[i], asio::dynamic_buffer(answers[i]), [&, i](boost::system::error_code, std::size_t) {
        statuses[i] = parse_answer(answers[i], true).status;
      });
    });
  }
  io.run_for(deadline);
  return statuses;
}

TEST_F(HostileClient, AThousandConcurrentConnectionsAreAllServed) {
  raise_descriptor_limit();
  start({"--max-connections", "1100"});
  constexpr int kClients = 1000;
  std::vector<std::string> requests;
  for (int i = 0; i < kClients; ++i) {
    requests.push_back(post("/streams/crowd-" + std::to_string(i % 10),
                            one_event(new_uuid(), "Crowd", std::to_string(i)),
                            "application/vnd.eventstore.events+json"));
  }
  auto statuses = concurrent_requests(port_, requests, 90s);
  int created = 0;
  for (int status : statuses) created += status == 201 ? 1 : 0;
  EXPECT_EQ(created, kClients) << "every one of the thousand appends is answered 201";
  EXPECT_EQ(get_json(port_, "/streams/$all")["headPosition"], kClients);
  expect_serving("after a thousand connections");
  EXPECT_EQ(host_->stop(), 0) << host_->log();
}

TEST_F(HostileClient, PastTheConnectionCapClientsGet503OrACloseNeverAHang) {
  raise_descriptor_limit();
  constexpr int kCap = 1000;
  start({"--max-connections", std::to_string(kCap)});
  // Fill every slot with idle connections (the readiness check's connection may still hold a
  // slot for a moment, so the last ones can be refused: that is fine).
  std::vector<std::unique_ptr<HttpConnection>> idle;
  for (int i = 0; i < kCap; ++i) idle.push_back(std::make_unique<HttpConnection>(port_));
  // Then 300 more, over the cap: each is answered 503 or closed at once, not left hanging.
  std::vector<std::unique_ptr<HttpConnection>> extra;
  for (int i = 0; i < 300; ++i) extra.push_back(std::make_unique<HttpConnection>(port_));
  int answered_503 = 0;
  for (auto& connection : extra) {
    bool closed = false;
    auto answer = parse_answer(connection->read_until_close(10s, &closed), closed);
    EXPECT_TRUE(closed) << "a connection over the cap is closed";
    if (answer.status == 503) {
      ++answered_503;
      EXPECT_TRUE(is_status_body(answer.body, 14)) << answer.body;
    } else {
      EXPECT_TRUE(answer.raw.empty()) << answer.raw;
    }
  }
  EXPECT_GT(answered_503, 0) << "at least the first ones over the cap are told why";
  // A well-formed client meanwhile is refused quickly (503 with Retry-After, or a close).
  auto refused = exchange_raw(port_, "GET /health HTTP/1.1\r\nHost: x\r\n\r\n", 10s);
  EXPECT_TRUE(refused.closed);
  if (refused.status != 0) {
    EXPECT_EQ(refused.status, 503) << refused.raw;
    EXPECT_NE(refused.raw.find("Retry-After"), std::string::npos) << refused.raw;
  }
  // The served connections still work, and once they close new clients are served again.
  EXPECT_EQ(idle.front()->request("GET", "/health").status, 200);
  idle.clear();
  EXPECT_TRUE(eventually(
      [&] {
        try {
          return http_request(port_, "GET", "/health").status == 200;
        } catch (const std::exception&) {
          return false;
        }
      },
      20s))
      << host_->log();
  expect_serving("after the connection flood");
}

}  // namespace
}  // namespace sinkhost::test
