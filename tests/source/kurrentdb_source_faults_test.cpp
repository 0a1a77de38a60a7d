// KurrentDB as the event source, under faults of the store (docs/kurrentdb-source.md, "When
// the store fails"): killed and restarted mid-stream, paused for longer than the keep-alive,
// not there yet when the connector starts, a wrong password, a CA that did not sign its
// certificate. Each streaming case reads the whole topic back with kcat and checks it against
// what was appended (tests/support/delivery_check.hpp): every event at least once, order kept
// per key, duplicates bounded by the checkpoint window; and it watches the connector all along:
// RUNNING throughout, the source RECONNECTING (with warningDetails UNAVAILABLE) while the store
// is gone, HEALTHY again after. Each prints a FAULT-RESULT line.
#include <algorithm>
#include <filesystem>
#include <sstream>

#include <gtest/gtest.h>

#include "delivery_check.hpp"
#include "source_helpers.hpp"

namespace sinkhost::test {
namespace {

using nlohmann::json;

constexpr int kKeys = 10;
constexpr std::size_t kEvents = 30000;
// Records acknowledged but not yet covered by a committed checkpoint are sent again when the
// subscription resumes from the checkpoint: at most the autocommit threshold plus the
// connector's in-flight window (10,000).
constexpr std::size_t kDuplicateBound = 1000 + 10000;
// The source retries with a backoff from 250 ms doubling to a 5 s cap: once the store answers
// again, the connector is subscribed within the cap plus the time to connect and subscribe.
constexpr double kReconnectBoundSeconds = 5.0 + 3.0;
// The keep-alive of these tests' connection strings: a silent store is noticed within ~2 s.
const std::string kKeepAlive = "tls=false&keepAliveInterval=1000&keepAliveTimeout=1000";

class SourceFaults : public ::testing::Test {
 protected:
  void SetUp() override {
    run_ = "f" + std::to_string(::getpid()) + std::to_string(Clock::now().time_since_epoch().count() % 1000000);
    topic_ = unique_topic("src-fault");
    create_topic(topic_, 3);
  }
  void TearDown() override {
    stop_appending_ = true;
    if (appender_.joinable()) appender_.join();
    store_.resume();
  }

  void start_host(const std::string& connection_string) {
    host_ = std::make_unique<SinkhostProcess>(dir_.path() + "/host", source_args(connection_string));
    ASSERT_NO_FATAL_FAILURE(host_->start());
  }

  // Appends events 0..total-1 to the store in batches of 250, about 10,000 a second, from a
  // thread. A batch that fails (the store is down) or hangs (paused) is sent again until it is
  // acknowledged: its event ids make the resend idempotent, so the store holds every event once.
  void start_appending(std::size_t total) {
    appender_ = std::thread([this, total] {
      for (std::size_t first = 0; first < total && !stop_appending_;) {
        auto events = json::array();
        const auto count = std::min<std::size_t>(250, total - first);
        for (std::size_t i = 0; i < count; ++i) {
          const auto n = first + i;
          char id[40];
          std::snprintf(id, sizeof id, "5a017000-0000-4000-8000-%012zu", n);
          events.push_back(
              {{"eventId", id}, {"eventType", "Numbered"}, {"data", {{"n", n}, {"k", std::to_string(n % kKeys)}}}});
        }
        try {
          const std::uint16_t port = store_port_;
          auto answer = port == 0 ? json() : store_.append_at(port, run_ + "-batch", events);
          if (answer.is_object()) {
            last_position_ = std::max(last_position_.load(), answer["lastPosition"].get<std::uint64_t>());
            first += count;
            std::this_thread::sleep_for(std::chrono::milliseconds(25));
            continue;
          }
        } catch (const std::exception&) {
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(50));  // the store is down
      }
    });
  }
  void store_started() { store_port_ = store_.http_port(); }
  void store_gone() { store_port_ = 0; }

  void create_connector() {
    ASSERT_NO_FATAL_FAILURE(
        create_and_start_connector(host_->port(), "faulty",
                                   kafka_settings(topic_, {{"subscription:filter:filterType", "prefix"},
                                                           {"subscription:filter:expression", run_ + "-"},
                                                           // The key is the event number modulo kKeys, from its data.
                                                           {"partitionKeyExtraction:enabled", "true"},
                                                           {"partitionKeyExtraction:source", "data"},
                                                           {"partitionKeyExtraction:expression", "/k"},
                                                           {"autocommit:interval", "1000"},
                                                           {"autocommit:recordsThreshold", "1000"}})));
  }

  json connector() { return try_connector_view(host_->port(), "faulty"); }
  bool position_reaches(std::uint64_t target, std::chrono::seconds timeout) {
    return eventually([&] { return position_of(connector()) >= target; }, timeout);
  }
  // Waits until the connector's source shows `health`; false after `timeout`.
  bool health_becomes(const std::string& health, std::chrono::seconds timeout) {
    return eventually([&] { return health_of(connector()) == health; }, timeout);
  }

  // Every event appended, then delivered: the checkpoint reaches the last one, the source is
  // HEALTHY with no lag and no warning; then kcat reads the topic.
  void finish_and_check(const std::string& name, Clock::time_point recovery_start) {
    if (appender_.joinable()) appender_.join();
    const auto last = last_position_.load();
    ASSERT_TRUE(position_reaches(last, std::chrono::seconds(90)))
        << "never caught up with " << last << ": " << connector().dump() << "\n"
        << host_->log();
    const double recovery = seconds_since(recovery_start);
    ASSERT_TRUE(eventually([&] {
      auto c = connector();
      return health_of(c) == "HEALTHY" && c.contains("source") && c["source"].value("lag", -1ll) == 0 &&
             !c.contains("warningDetails");
    })) << connector().dump();
    auto c = connector();
    EXPECT_EQ(c["state"], "CONNECTOR_STATE_RUNNING") << c.dump();
    EXPECT_EQ(c["source"].value("headPosition", 0ull), last) << c.dump();

    auto check = check_delivery(consume(topic_, kEvents, std::chrono::seconds(60)), kEvents, kKeys);
    std::printf("FAULT-RESULT case=%s %s recovery_s=%.1f\n", name.c_str(), check.summary().c_str(), recovery);
    std::fflush(stdout);
    EXPECT_TRUE(check.lossless_and_ordered()) << check.summary();
    EXPECT_EQ(check.distinct, check.expected) << check.summary();
    EXPECT_LE(check.duplicates, kDuplicateBound) << check.summary();
  }

  // The watch's verdict: RUNNING in every sample; HEALTHY before the fault; RECONNECTING seen,
  // with warningDetails UNAVAILABLE whenever RECONNECTING; HEALTHY at the end.
  void expect_truthful(const ConnectorWatch& watch, bool healthy_first = true) {
    auto samples = watch.samples();
    ASSERT_FALSE(samples.empty());
    std::size_t reconnecting = 0, without_warning = 0, not_running = 0;
    for (const auto& s : samples) {
      if (s.state != "CONNECTOR_STATE_RUNNING") ++not_running;
      if (s.health == "RECONNECTING") {
        ++reconnecting;
        if (s.warning_code != "UNAVAILABLE") ++without_warning;
      }
    }
    EXPECT_EQ(not_running, 0u) << "the connector keeps running while the store is away:\n" << watch.dump();
    EXPECT_GT(reconnecting, 0u) << "RECONNECTING was never shown:\n" << watch.dump();
    EXPECT_EQ(without_warning, 0u) << "RECONNECTING without warningDetails UNAVAILABLE:\n" << watch.dump();
    if (healthy_first) {
      // Caught up and streaming before the fault: HEALTHY right up to it.
      std::string before = "<none>";
      for (const auto& s : samples) {
        if (s.health == "RECONNECTING") break;
        before = s.health;
      }
      EXPECT_EQ(before, "HEALTHY") << watch.dump();
    }
    EXPECT_EQ(samples.back().health, "HEALTHY") << watch.dump();
    EXPECT_EQ(samples.back().warning_code, "") << watch.dump();
  }

  TempDir dir_;
  Store store_{dir_.path() + "/store"};
  std::unique_ptr<SinkhostProcess> host_;
  std::string run_;
  std::string topic_;
  std::atomic<std::uint16_t> store_port_{0};
  std::atomic<std::uint64_t> last_position_{0};
  std::thread appender_;
  std::atomic<bool> stop_appending_{false};

 public:
  // The host's log lines about the source (reconnects), for failure messages.
  std::string source_log() const {
    std::string out, line;
    std::istringstream in(host_ ? host_->log() : "");
    while (std::getline(in, line)) {
      if (line.find("KurrentDB") != std::string::npos) out += line + "\n";
    }
    return out;
  }
};

TEST_F(SourceFaults, StoreKilledMidStreamAndRestartedLosesNothing) {
  ASSERT_NO_FATAL_FAILURE(store_.start());
  store_started();
  ASSERT_NO_FATAL_FAILURE(start_host(store_.connection_string(kKeepAlive)));
  ASSERT_NO_FATAL_FAILURE(create_connector());
  ConnectorWatch watch(host_->port(), "faulty");
  start_appending(kEvents);
  ASSERT_TRUE(position_reaches(8000, std::chrono::seconds(60))) << connector().dump() << host_->log();

  const auto at_kill = position_of(connector());
  store_gone();
  store_.kill_hard();
  const auto killed = Clock::now();
  ASSERT_TRUE(health_becomes("RECONNECTING", std::chrono::seconds(15)))
      << "the store is gone: " << connector().dump() << "\n"
      << host_->log();
  auto c = connector();
  EXPECT_EQ(c["state"], "CONNECTOR_STATE_RUNNING") << c.dump();
  ASSERT_TRUE(c.contains("warningDetails")) << c.dump();
  EXPECT_EQ(c["warningDetails"]["code"], "UNAVAILABLE") << c.dump();
  ASSERT_TRUE(c["source"].contains("lastError")) << c.dump();
  EXPECT_FALSE(c["source"]["lastError"].value("message", "").empty()) << c.dump();
  std::this_thread::sleep_for(std::chrono::seconds(3) - (Clock::now() - killed));  // down for 3 s

  ASSERT_NO_FATAL_FAILURE(store_.start());  // same data directory, same gRPC port
  store_started();
  const auto restarted = Clock::now();
  ASSERT_TRUE(health_becomes("HEALTHY", std::chrono::seconds(30))) << connector().dump();
  const double back = seconds_since(restarted);
  std::printf("killed at checkpoint %llu; HEALTHY again %.1f s after the restart\n",
              static_cast<unsigned long long>(at_kill), back);
  EXPECT_LE(back, kReconnectBoundSeconds) << "the backoff is capped at 5 s:\n" << source_log();
  ASSERT_NO_FATAL_FAILURE(finish_and_check("store-sigkill", restarted));
  watch.finish();
  expect_truthful(watch);
}

TEST_F(SourceFaults, StorePausedLongerThanTheKeepAliveLosesNothing) {
  ASSERT_NO_FATAL_FAILURE(store_.start());
  store_started();
  ASSERT_NO_FATAL_FAILURE(start_host(store_.connection_string(kKeepAlive)));
  ASSERT_NO_FATAL_FAILURE(create_connector());
  ConnectorWatch watch(host_->port(), "faulty");
  start_appending(kEvents);
  ASSERT_TRUE(position_reaches(8000, std::chrono::seconds(60))) << connector().dump() << host_->log();

  store_.pause();  // SIGSTOP: the connection stays open, nothing answers
  const auto paused = Clock::now();
  ASSERT_TRUE(health_becomes("RECONNECTING", std::chrono::seconds(10)))
      << "a silent store is noticed by the keep-alive (1 s + 1 s): " << connector().dump() << "\n"
      << host_->log();
  const double noticed = seconds_since(paused);
  EXPECT_EQ(connector()["state"], "CONNECTOR_STATE_RUNNING");
  std::this_thread::sleep_for(std::chrono::seconds(5) - (Clock::now() - paused));  // 5 s > keep-alive
  store_.resume();
  const auto resumed = Clock::now();
  ASSERT_TRUE(health_becomes("HEALTHY", std::chrono::seconds(30))) << connector().dump();
  const double back = seconds_since(resumed);
  std::printf("pause noticed after %.1f s; HEALTHY again %.1f s after SIGCONT\n", noticed, back);
  EXPECT_LE(back, kReconnectBoundSeconds) << "the backoff is capped at 5 s:\n" << source_log();
  ASSERT_NO_FATAL_FAILURE(finish_and_check("store-sigstop", resumed));
  watch.finish();
  expect_truthful(watch);
}

TEST_F(SourceFaults, StoreUnreachableAtStartIsWaitedFor) {
  // The source host and its connector first; the store is not there.
  ASSERT_NO_FATAL_FAILURE(start_host(store_.connection_string(kKeepAlive)));
  ASSERT_NO_FATAL_FAILURE(create_connector());
  ConnectorWatch watch(host_->port(), "faulty");
  ASSERT_TRUE(health_becomes("RECONNECTING", std::chrono::seconds(10))) << connector().dump() << host_->log();
  auto c = connector();
  EXPECT_EQ(c["state"], "CONNECTOR_STATE_RUNNING") << c.dump();
  EXPECT_EQ(c.value("warningDetails", json::object()).value("code", ""), "UNAVAILABLE") << c.dump();
  ASSERT_TRUE(c["source"].contains("lastError")) << c.dump();
  std::this_thread::sleep_for(std::chrono::seconds(4));  // a few backoff rounds
  EXPECT_EQ(health_of(connector()), "RECONNECTING") << connector().dump();

  ASSERT_NO_FATAL_FAILURE(store_.start());
  store_started();
  const auto up = Clock::now();
  start_appending(kEvents);
  ASSERT_TRUE(health_becomes("HEALTHY", std::chrono::seconds(30))) << connector().dump();
  const double back = seconds_since(up);
  std::printf("HEALTHY %.1f s after the store came up\n", back);
  EXPECT_LE(back, kReconnectBoundSeconds) << "the backoff is capped at 5 s:\n" << source_log();
  ASSERT_NO_FATAL_FAILURE(finish_and_check("store-unreachable-at-start", up));
  watch.finish();
  expect_truthful(watch, /*healthy_first=*/false);
}

// Permanent errors stop the connector with errorDetails, promptly, and it stays stopped.
class SourceRefusals : public ::testing::Test {
 protected:
  void SetUp() override {
    topic_ = unique_topic("src-refused");
    create_topic(topic_, 1);
  }
  // Starts a host on `connection_string` and a connector on it; returns the host.
  std::unique_ptr<SinkhostProcess> host_with_connector(const std::string& name, const std::string& connection_string) {
    auto host = std::make_unique<SinkhostProcess>(dir_.path() + "/" + name, source_args(connection_string));
    host->start();
    if (!HasFatalFailure()) {
      auto created =
          http_request(host->port(), "POST", "/connectors/refused", json{{"settings", kafka_settings(topic_)}}.dump());
      EXPECT_EQ(created.status, 200) << created.body;
      // The answer comes once the connector runs or failed; both are fine here.
      http_request(host->port(), "POST", "/connectors/refused/start");
    }
    return host;
  }
  // The connector stops within 15 s of its start with `code` and a message holding `words`,
  // stays stopped for 3 s more, and delivered nothing.
  void expect_stopped_with(SinkhostProcess& host, const std::string& code, const std::string& words) {
    const auto started = Clock::now();
    ASSERT_TRUE(eventually(
        [&] { return try_connector_view(host.port(), "refused").value("state", "") == "CONNECTOR_STATE_STOPPED"; },
        std::chrono::seconds(15)))
        << try_connector_view(host.port(), "refused").dump() << "\n"
        << host.log();
    std::printf("stopped %.1f s after the start\n", seconds_since(started));
    auto c = try_connector_view(host.port(), "refused");
    ASSERT_TRUE(c.contains("errorDetails")) << c.dump();
    EXPECT_EQ(c["errorDetails"]["code"], code) << c.dump();
    EXPECT_EQ(health_of(c), "FAILED") << c.dump();
    const auto message = c["errorDetails"].value("message", "");
    EXPECT_NE(message.find(words), std::string::npos) << "'" << message << "' should say '" << words << "'";
    std::this_thread::sleep_for(std::chrono::seconds(3));
    c = try_connector_view(host.port(), "refused");
    EXPECT_EQ(c["state"], "CONNECTOR_STATE_STOPPED") << "no retry loop: " << c.dump();
    EXPECT_EQ(c.value("errorDetails", json::object()).value("code", ""), code) << c.dump();
    EXPECT_EQ(consume(topic_, 1, std::chrono::seconds(1)).size(), 0u) << "nothing was delivered";
  }

  TempDir dir_;
  std::string topic_;
};

TEST_F(SourceRefusals, WrongPasswordStopsTheConnectorWithPermissionDenied) {
  Store store(dir_.path() + "/store", {.user = "alice", .password = "right-secret"});
  ASSERT_NO_FATAL_FAILURE(store.start());
  store.append_one("order-1", "OrderPlaced", {{"n", 1}});
  auto host = host_with_connector("wrong", store.connection_string(kKeepAlive, "alice:wrong-secret"));
  ASSERT_FALSE(HasFatalFailure());
  ASSERT_NO_FATAL_FAILURE(expect_stopped_with(*host, "PERMISSION_DENIED", "credentials"));
  EXPECT_EQ(host->log().find("wrong-secret"), std::string::npos) << "the password is not logged:\n" << host->log();

  // The same store and user with the right password: delivered (so the password was the cause).
  auto good = host_with_connector("right", store.connection_string(kKeepAlive, "alice:right-secret"));
  ASSERT_FALSE(HasFatalFailure());
  EXPECT_EQ(consume(topic_, 1).size(), 1u) << good->log();
  EXPECT_EQ(try_connector_view(good->port(), "refused").value("state", ""), "CONNECTOR_STATE_RUNNING");
}

TEST_F(SourceRefusals, UntrustedCertificateStopsTheConnectorWithFailedPrecondition) {
  const auto tls = dir_.path() + "/tls";
  const auto other = dir_.path() + "/other-ca";
  std::filesystem::create_directories(tls);
  std::filesystem::create_directories(other);
  ASSERT_NO_FATAL_FAILURE(make_certificates(tls));
  ASSERT_NO_FATAL_FAILURE(make_certificates(other, "some other CA"));
  Store store(dir_.path() + "/store", {.user = "alice", .password = "tls-secret", .tls_dir = tls});
  ASSERT_NO_FATAL_FAILURE(store.start());
  int code = -1;
  auto out = run_command("curl -sS --cacert '" + tls +
                             "/ca.pem' -u alice:tls-secret -H 'Content-Type: application/json' "
                             "-d '[{\"eventId\":\"" +
                             new_uuid() +
                             "\",\"eventType\":\"OrderPlaced\",\"data\":{\"n\":1}}]' "
                             "https://127.0.0.1:" +
                             std::to_string(store.http_port()) + "/streams/order-1 2>&1",
                         &code);
  ASSERT_EQ(code, 0) << out;
  ASSERT_NE(out.find("firstPosition"), std::string::npos) << out;

  auto host = host_with_connector(
      "untrusted",
      store.connection_string("tls=true&tlsCaFile=" + other + "/ca.pem&keepAliveInterval=1000&keepAliveTimeout=1000",
                              "alice:tls-secret"));
  ASSERT_FALSE(HasFatalFailure());
  ASSERT_NO_FATAL_FAILURE(expect_stopped_with(*host, "FAILED_PRECONDITION", "certificate"));

  // The CA that signed it, TLS and Basic auth together: delivered.
  auto good = host_with_connector("trusted",
                                  store.connection_string("tls=true&tlsCaFile=" + tls + "/ca.pem", "alice:tls-secret"));
  ASSERT_FALSE(HasFatalFailure());
  auto messages = consume(topic_, 1);
  ASSERT_EQ(messages.size(), 1u) << good->log();
  EXPECT_EQ(messages[0].value, R"({"n":1})");
  auto c = try_connector_view(good->port(), "refused");
  EXPECT_EQ(c.value("state", ""), "CONNECTOR_STATE_RUNNING") << c.dump();
  EXPECT_EQ(health_of(c), "HEALTHY") << c.dump();
}

}  // namespace
}  // namespace sinkhost::test
