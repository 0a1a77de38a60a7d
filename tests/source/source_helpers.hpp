#pragma once
// The KurrentDB source's tests (docs/kurrentdb-source.md): a "store" is a sinkhost process that
// serves KurrentDB's client protocol on its embedded log (--grpc-listen, positions = log
// ordinals, commit == prepare); a "source host" is a second sinkhost started with --source,
// whose connectors read that store over gRPC. What reaches Kafka is read back with kcat.
#include <signal.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "e2e_helpers.hpp"
#include "http_client.hpp"
#include "kafka.hpp"
#include "process.hpp"

namespace sinkhost::test {

using Clock = std::chrono::steady_clock;

inline double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

// True when something accepts TCP connections on 127.0.0.1:port.
inline bool accepts_connections(std::uint16_t port) {
  try {
    boost::asio::io_context io;
    boost::asio::ip::tcp::socket socket(io);
    socket.connect({boost::asio::ip::make_address("127.0.0.1"), port});
    return true;
  } catch (const std::exception&) {
    return false;
  }
}

// `sinkhost user add NAME --data-dir DIR` with the password on standard input.
inline void add_user(const std::string& data_dir, const std::string& name, const std::string& password) {
  int code = -1;
  auto out = run_command("printf '%s\\n' '" + password + "' | " SINKHOST_BINARY " user add " + name + " --data-dir '" +
                             data_dir + "' 2>&1",
                         &code);
  ASSERT_EQ(code, 0) << out;
}

// A CA and a server certificate for localhost / 127.0.0.1 signed by it, in `dir` (ca.pem,
// server.pem, server.key). `name` only changes the CA's subject.
inline void make_certificates(const std::string& dir, const std::string& name = "sinkhost test CA") {
  int code = -1;
  auto out = run_command(
      "(cd '" + dir +
          "' && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj '/CN=" + name +
          "' -keyout ca.key -out ca.pem"
          " && openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj /CN=localhost"
          " -keyout server.key -out server.csr"
          " && printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\\n' > san.ext"
          " && openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 -extfile san.ext"
          " -out server.pem) 2>&1",
      &code);
  ASSERT_EQ(code, 0) << "openssl could not make the certificates:\n" << out;
}

// The store: a sinkhost serving the KurrentDB client protocol on a fixed gRPC port, so that a
// restart (same data directory) comes back where the source host looks for it.
class Store {
 public:
  struct Options {
    std::string user;  // with a password: --auth basic with that one user
    std::string password;
    std::string tls_dir;  // with make_certificates() run in it: --tls-cert/--tls-key of both faces
  };

  explicit Store(std::string data_dir) : Store(std::move(data_dir), Options{}) {}
  Store(std::string data_dir, Options options)
      : data_dir_(std::move(data_dir)), options_(std::move(options)), grpc_port_(free_port()) {
    std::vector<std::string> args = {"--grpc-listen", "127.0.0.1:" + std::to_string(grpc_port_)};
    if (!options_.user.empty()) args.insert(args.end(), {"--auth", "basic"});
    if (!options_.tls_dir.empty()) {
      args.insert(args.end(),
                  {"--tls-cert", options_.tls_dir + "/server.pem", "--tls-key", options_.tls_dir + "/server.key"});
    }
    process_ = std::make_unique<SinkhostProcess>(data_dir_, args);
    if (!options_.tls_dir.empty()) {
      process_->set_ready_check([this](std::uint16_t port) {
        int code = -1;
        auto out = run_command("curl -s -o /dev/null -w '%{http_code}' --cacert '" + options_.tls_dir +
                                   "/ca.pem' https://127.0.0.1:" + std::to_string(port) + "/health",
                               &code);
        return out == "200";
      });
    }
  }
  ~Store() { resume(); }

  // Starts it (or starts it again on the same data directory and gRPC port) and waits until the
  // gRPC face takes connections too.
  void start() {
    if (!options_.user.empty() && !user_added_) {
      ASSERT_NO_FATAL_FAILURE(add_user(data_dir_, options_.user, options_.password));
      user_added_ = true;
    }
    ASSERT_NO_FATAL_FAILURE(process_->start());
    ASSERT_TRUE(eventually([&] { return accepts_connections(grpc_port_); }, std::chrono::seconds(20)))
        << "the store's gRPC face did not open:\n"
        << process_->log();
  }
  void kill_hard() { process_->kill_hard(); }
  int stop() { return process_->stop(); }
  void pause() {
    if (process_->pid() > 0 && !paused_) {
      ::kill(process_->pid(), SIGSTOP);
      paused_ = true;
    }
  }
  void resume() {
    if (process_->pid() > 0 && paused_) ::kill(process_->pid(), SIGCONT);
    paused_ = false;
  }

  std::uint16_t http_port() const { return process_->port(); }
  std::uint16_t grpc_port() const { return grpc_port_; }
  std::string address() const { return "127.0.0.1:" + std::to_string(grpc_port_); }
  std::string log() const { return process_->log(); }
  const Options& options() const { return options_; }

  // A connection string for this store; `query` without the leading '?'.
  std::string connection_string(const std::string& query = "tls=false", const std::string& credentials = "") const {
    return "kurrentdb://" + (credentials.empty() ? "" : credentials + "@") + address() + "?" + query;
  }

  // Appends a batch (the HTTP batch form, a JSON array of events) to `stream`; returns the
  // answer's JSON (firstPosition, lastPosition, ...). Throws when it is not 201. Plain HTTP only.
  nlohmann::json append(const std::string& stream, const nlohmann::json& events) const {
    return append_at(http_port(), stream, events);
  }
  // The same to the HTTP port given (a thread of the test that appends while the store restarts
  // keeps the port of the run it appends to).
  nlohmann::json append_at(std::uint16_t port, const std::string& stream, const nlohmann::json& events) const {
    std::map<std::string, std::string> headers;
    if (!options_.user.empty()) headers["Authorization"] = basic_authorization(options_.user, options_.password);
    auto response = http_request_with_headers(port, "POST", "/streams/" + stream, headers, events.dump(),
                                              "application/vnd.eventstore.events+json");
    if (response.status != 201)
      throw std::runtime_error("append failed: " + std::to_string(response.status) + " " + response.body);
    return nlohmann::json::parse(response.body);
  }

  // One event; returns its position.
  std::uint64_t append_one(const std::string& stream, const std::string& type, const nlohmann::json& data,
                           const nlohmann::json& metadata = nlohmann::json::object()) const {
    auto events =
        nlohmann::json::array({{{"eventId", new_uuid()}, {"eventType", type}, {"data", data}, {"metadata", metadata}}});
    return append(stream, events)["firstPosition"].get<std::uint64_t>();
  }

 private:
  std::string data_dir_;
  Options options_;
  std::uint16_t grpc_port_;
  std::unique_ptr<SinkhostProcess> process_;
  bool user_added_ = false;
  bool paused_ = false;
};

// The arguments of a host that reads `connection_string` (and serves no gRPC face).
inline std::vector<std::string> source_args(const std::string& connection_string) {
  return {"--grpc-listen", "none", "--source", connection_string};
}

// A kafka-sink connector's settings to `topic` on the test broker, from the first event, with a
// quick autocommit (the checkpoint shows up within ~100 ms of the acknowledgement).
inline nlohmann::json kafka_settings(const std::string& topic, const nlohmann::json& extra = nlohmann::json::object()) {
  nlohmann::json settings = {{"instanceTypeName", "kafka-sink"},
                             {"topic", topic},
                             {"bootstrapServers", kafka_bootstrap()},
                             {"subscription:initialPosition", "earliest"},
                             {"autocommit:interval", "100"}};
  settings.update(extra);
  return settings;
}

// GET /connectors/{id} that tolerates a host answering nothing yet (an empty object then).
inline nlohmann::json try_connector_view(std::uint16_t port, const std::string& id) {
  try {
    auto response = http_request(port, "GET", "/connectors/" + id);
    return nlohmann::json::parse(response.body, nullptr, false);
  } catch (const std::exception&) {
    return nlohmann::json::object();
  }
}

inline std::string health_of(const nlohmann::json& view) {
  if (!view.is_object() || !view.contains("source") || !view["source"].is_object()) return "<no source>";
  return view["source"].value("health", "<no health>");
}

inline std::uint64_t position_of(const nlohmann::json& view) {
  return view.is_object() && view.contains("position") && view["position"].is_number_unsigned()
             ? view["position"].get<std::uint64_t>()
             : 0;
}

// Polls a connector every 100 ms from a thread and keeps what each answer said, so that a test
// can tell afterwards whether the connector's state told the truth all along.
class ConnectorWatch {
 public:
  struct Sample {
    double at_s = 0;
    std::string state;
    std::string health;
    std::string warning_code;
    std::uint64_t position = 0;
  };

  ConnectorWatch(std::uint16_t port, std::string id) : port_(port), id_(std::move(id)), started_(Clock::now()) {
    thread_ = std::thread([this] {
      while (!stop_) {
        auto view = try_connector_view(port_.load(), id_);
        if (view.is_object() && view.contains("state")) {
          Sample s;
          s.at_s = seconds_since(started_);
          s.state = view.value("state", "");
          s.health = health_of(view);
          if (view.contains("warningDetails")) s.warning_code = view["warningDetails"].value("code", "<no code>");
          s.position = position_of(view);
          std::lock_guard lock(mutex_);
          samples_.push_back(std::move(s));
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
    });
  }
  ~ConnectorWatch() { finish(); }
  void finish() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }
  std::vector<Sample> samples() const {
    std::lock_guard lock(mutex_);
    return samples_;
  }
  // Every sample on one line each, for failure messages.
  std::string dump() const {
    std::string out;
    std::string last;
    for (const auto& s : samples()) {
      auto line = s.state + " " + s.health + (s.warning_code.empty() ? "" : " warning=" + s.warning_code);
      if (line == last) continue;  // only changes
      last = line;
      char at[32];
      std::snprintf(at, sizeof at, "%7.1f s ", s.at_s);
      out += at + line + " position=" + std::to_string(s.position) + "\n";
    }
    return out;
  }

 private:
  std::atomic<std::uint16_t> port_;
  std::string id_;
  Clock::time_point started_;
  mutable std::mutex mutex_;
  std::vector<Sample> samples_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace sinkhost::test
