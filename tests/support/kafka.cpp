#include "kafka.hpp"

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
  const auto bootstrap = kafka_bootstrap();
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::vector<ConsumedMessage> messages;
  while (std::chrono::steady_clock::now() < deadline) {
    // -e: exit at the end of every partition; -J: one JSON envelope per message.
    auto output = run_command("timeout 20 kcat -b " + bootstrap + " -C -t " + topic + " -o beginning -e -J -q 2>/dev/null");
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

std::string kafka_file(const std::string& env_key) {
  auto env = kafka_env();
  std::ifstream in(env[env_key]);
  std::stringstream text;
  text << in.rdbuf();
  if (text.str().empty()) ADD_FAILURE() << env_key << " names no readable file: " << env[env_key];
  return text.str();
}

}  // namespace sinkhost::test
