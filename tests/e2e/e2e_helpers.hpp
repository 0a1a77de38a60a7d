#pragma once

#include <chrono>
#include <functional>
#include <string>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "http_client.hpp"
#include "process.hpp"

namespace sinkhost::test {

inline std::string new_uuid() {
  static int n = 0;
  char buffer[40];
  std::snprintf(buffer, sizeof buffer, "00000000-0000-4000-8000-%012d", ++n);
  return buffer;
}

// Appends one event through the HTTP API; returns its log position.
inline std::uint64_t append_event(std::uint16_t port, const std::string& stream, const std::string& type,
                                  const nlohmann::json& data,
                                  const nlohmann::json& metadata = nlohmann::json::object()) {
  nlohmann::json body =
      nlohmann::json::array({{{"eventId", new_uuid()}, {"eventType", type}, {"data", data}, {"metadata", metadata}}});
  auto response =
      http_request(port, "POST", "/streams/" + stream, body.dump(), "application/vnd.eventstore.events+json");
  if (response.status != 201)
    throw std::runtime_error("append failed: " + std::to_string(response.status) + " " + response.body);
  return nlohmann::json::parse(response.body)["firstPosition"].get<std::uint64_t>();
}

inline nlohmann::json get_json(std::uint16_t port, const std::string& target) {
  auto response = http_request(port, "GET", target);
  return nlohmann::json::parse(response.body);
}

// GET /connectors/{id}, parsed.
inline nlohmann::json connector_view(std::uint16_t port, const std::string& id) {
  return get_json(port, "/connectors/" + id);
}

// Creates connector `id` with `settings` and starts it; fails the test on any other status.
inline void create_and_start_connector(std::uint16_t port, const std::string& id, const nlohmann::json& settings) {
  auto created = http_request(port, "POST", "/connectors/" + id, nlohmann::json{{"settings", settings}}.dump());
  ASSERT_EQ(created.status, 200) << created.body;
  auto started = http_request(port, "POST", "/connectors/" + id + "/start");
  ASSERT_EQ(started.status, 200) << started.body;
}

// Polls `condition` until it holds or `timeout` passes.
inline bool eventually(const std::function<bool()>& condition,
                       std::chrono::seconds timeout = std::chrono::seconds(30)) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return condition();
}

// True once connector `id`'s committed checkpoint is at or past `position` (within 30 s).
inline bool checkpoint_reaches(std::uint16_t port, const std::string& id, std::uint64_t position) {
  return eventually([&] {
    auto c = connector_view(port, id);
    return c.contains("position") && c["position"].get<std::uint64_t>() >= position;
  });
}

}  // namespace sinkhost::test
