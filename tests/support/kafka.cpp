#include "kafka.hpp"

#include <signal.h>

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "process.hpp"

namespace sinkhost::test {

std::map<std::string, std::string> kafka_env() {
  const char* path = std::getenv("SINKHOST_TEST_KAFKA_ENV");
  std::map<std::string, std::string> env;
  if (path == nullptr) {
    ADD_FAILURE() << "SINKHOST_TEST_KAFKA_ENV is not set: run this test through ctest, whose "
                     "kafka_broker fixture starts the broker";
    return env;
  }
  std::ifstream in(path);
  if (!in) {
    ADD_FAILURE() << "cannot read " << path << ": did the kafka_broker fixture start the broker?";
    return env;
  }
  std::string line;
  while (std::getline(in, line)) {
    auto eq = line.find('=');
    if (eq == std::string::npos || line.starts_with('#')) continue;
    env[line.substr(0, eq)] = line.substr(eq + 1);
  }
  return env;
}

std::string kafka_bootstrap() {
  auto env = kafka_env();
  auto it = env.find("KAFKA_BOOTSTRAP");
  if (it == env.end()) {
    ADD_FAILURE() << "the Kafka env file has no KAFKA_BOOTSTRAP";
    return "127.0.0.1:1";
  }
  return it->second;
}

std::string ConsumedMessage::header(const std::string& name) const {
  for (const auto& [n, v] : headers) {
    if (n == name) return v;
  }
  return "<missing header " + name + ">";
}

std::vector<ConsumedMessage> consume(const std::string& topic, std::size_t count, std::chrono::seconds timeout) {
  return consume_from(kafka_bootstrap(), topic, count, timeout);
}

std::vector<ConsumedMessage> consume_from(const std::string& bootstrap, const std::string& topic, std::size_t count,
                                          std::chrono::seconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::vector<ConsumedMessage> messages;
  while (std::chrono::steady_clock::now() < deadline) {
    // -e: exit at the end of every partition; -J: one JSON envelope per message.
    auto output = run_command("timeout 60 " SINKHOST_KCAT " -b " + bootstrap + " -C -t " + topic +
                              " -o beginning -e -J -q 2>/dev/null");
    messages.clear();
    std::istringstream lines(output);
    std::string line;
    while (std::getline(lines, line)) {
      auto j = nlohmann::json::parse(line, nullptr, false);
      if (!j.is_object()) continue;
      ConsumedMessage m;
      m.partition = j.value("partition", -1);
      m.offset = j.value("offset", -1LL);
      m.timestamp_ms = j.value("ts", -1LL);
      if (j.contains("key") && j["key"].is_string()) {
        m.key = j["key"].get<std::string>();
        m.has_key = true;
      }
      if (j.contains("payload") && j["payload"].is_string()) m.value = j["payload"].get<std::string>();
      if (j.contains("headers") && j["headers"].is_array()) {
        const auto& h = j["headers"];
        for (std::size_t i = 0; i + 1 < h.size(); i += 2) {
          m.headers.emplace_back(h[i].get<std::string>(), h[i + 1].is_string() ? h[i + 1].get<std::string>() : "");
        }
      }
      messages.push_back(std::move(m));
    }
    if (messages.size() >= count) return messages;
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
  return messages;
}

std::string unique_topic(const std::string& prefix) {
  static std::atomic<int> counter{0};
  return prefix + "-" + std::to_string(::getpid()) + "-" + std::to_string(counter++) + "-" +
         std::to_string(std::chrono::steady_clock::now().time_since_epoch().count() % 1000000);
}

void create_topic(const std::string& name, int partitions, const std::vector<std::string>& configs) {
  auto env = kafka_env();
  std::string command = "KAFKA_STATE_DIR=" + env["KAFKA_STATE_DIR"] + " bash " + SINKHOST_SOURCE_DIR +
                        "/deploy/kafka/kafka.sh create-topic " + name + " " + std::to_string(partitions);
  for (const auto& config : configs) command += " " + config;
  int exit_code = -1;
  auto output = run_command(command + " 2>&1", &exit_code);
  ASSERT_EQ(exit_code, 0) << "creating topic " << name << " failed:\n" << output;
}

std::string describe_topic(const std::string& name) {
  auto env = kafka_env();
  const std::string command = "KAFKA_STATE_DIR=" + env["KAFKA_STATE_DIR"] + " bash " + SINKHOST_SOURCE_DIR +
                              "/deploy/kafka/kafka.sh describe-topic " + name;
  int exit_code = -1;
  auto output = run_command(command + " 2>&1", &exit_code);
  EXPECT_EQ(exit_code, 0) << "describing topic " << name << " failed:\n" << output;
  return output;
}

std::string kafka_file(const std::string& env_key) {
  auto env = kafka_env();
  std::ifstream in(env[env_key]);
  std::stringstream text;
  text << in.rdbuf();
  if (text.str().empty()) ADD_FAILURE() << env_key << " names no readable file: " << env[env_key];
  return text.str();
}

}  // namespace sinkhost::test

namespace sinkhost::test {

OwnKafkaBroker::OwnKafkaBroker(std::string state_dir) : state_dir_(std::move(state_dir)) {
  // Six ports from the shared broker's first + 50: free by construction of the port plan
  // (tests/CMakeLists.txt gives each build directory its own base, 100 apart).
  const auto shared = kafka_bootstrap();
  port_base_ = std::atoi(shared.substr(shared.rfind(':') + 1).c_str()) + 50;
}

OwnKafkaBroker::~OwnKafkaBroker() {
  resume();  // a paused JVM would not hear SIGTERM
  stop();
}

std::string OwnKafkaBroker::command(const std::string& args) const {
  const auto p = [this](int offset) { return std::to_string(port_base_ + offset); };
  return "KAFKA_STATE_DIR=" + state_dir_ + " KAFKA_PLAINTEXT_PORT=" + p(0) + " KAFKA_CONTROLLER_PORT=" + p(1) +
         " KAFKA_SASL_PLAINTEXT_PORT=" + p(2) + " KAFKA_SSL_PORT=" + p(3) + " KAFKA_MTLS_PORT=" + p(4) +
         " KAFKA_SASL_SSL_PORT=" + p(5) + " bash " + SINKHOST_SOURCE_DIR + "/deploy/kafka/kafka.sh " + args + " 2>&1";
}

void OwnKafkaBroker::start(bool keep_data) {
  int exit_code = -1;
  auto output = run_command((keep_data ? "KAFKA_KEEP_DATA=1 " : "") + command("start"), &exit_code);
  ASSERT_EQ(exit_code, 0) << "the test's own broker did not start:\n" << output;
}

void OwnKafkaBroker::stop() { (void)run_command(command("stop")); }

int OwnKafkaBroker::pid() const {
  std::ifstream in(state_dir_ + "/kafka.pid");
  int pid = -1;
  in >> pid;
  return pid;
}

void OwnKafkaBroker::kill_hard() {
  const int p = pid();
  ASSERT_GT(p, 0) << "no broker pid in " << state_dir_;
  ::kill(p, SIGKILL);
  // Wait until the process is gone, so that a restart finds its ports free.
  for (int i = 0; i < 200 && ::kill(p, 0) == 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(50));
}

void OwnKafkaBroker::pause() {
  if (pid() > 0) ::kill(pid(), SIGSTOP);
}

void OwnKafkaBroker::resume() {
  if (pid() > 0) ::kill(pid(), SIGCONT);
}

std::string OwnKafkaBroker::bootstrap() const { return "127.0.0.1:" + std::to_string(port_base_); }

void OwnKafkaBroker::create_topic(const std::string& name, int partitions) const {
  int exit_code = -1;
  auto output = run_command(command("create-topic " + name + " " + std::to_string(partitions)), &exit_code);
  ASSERT_EQ(exit_code, 0) << "creating topic " << name << " failed:\n" << output;
}

}  // namespace sinkhost::test
