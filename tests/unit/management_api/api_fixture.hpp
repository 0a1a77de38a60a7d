#pragma once
// A management API wired to a real event log, state store and the plugins of the build tree,
// called in-process (no sockets, no broker).

#include <chrono>
#include <cstdio>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "process.hpp"
#include "sinkhost/management_api/api.hpp"
#include "sinkhost/runtime/connector_service.hpp"
#include "sinkhost/runtime/embedded_log/event_log.hpp"
#include "sinkhost/runtime/plugin_registry.hpp"
#include "sinkhost/runtime/state_store.hpp"

namespace sinkhost::management_api {

using nlohmann::json;

constexpr const char* kEventId = "0f9a1f2c-5a6b-4c7d-8e9f-0a1b2c3d4e5f";

class ApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(plugins_.load_directory(SINKHOST_PLUGIN_DIR).ok());
    auto log = runtime::EventLog::open(dir_.path() + "/events.db");
    ASSERT_TRUE(log.ok());
    log_ = std::move(log).value();
    auto store = runtime::StateStore::open(dir_.path() + "/state.db");
    ASSERT_TRUE(store.ok());
    store_ = std::move(store).value();
    service_ = std::make_unique<runtime::ConnectorService>(*log_, *store_, plugins_);
    api_ = std::make_unique<Api>(*log_, *service_, ApiOptions{.version = "test"});
  }

  HttpResponse call(const std::string& method, const std::string& target, const std::string& body = "",
                    const std::string& content_type = "application/json") {
    HttpRequest request{.method = method, .target = target, .headers = {}, .body = body};
    if (!content_type.empty()) request.headers["content-type"] = content_type;
    return api_->handle(request);
  }

  static json body(const HttpResponse& response) { return json::parse(response.body); }

  // Asserts the google.rpc.Status shape and returns the field violations as field -> description.
  static std::map<std::string, std::string> violations(const HttpResponse& response) {
    auto j = body(response);
    EXPECT_TRUE(j["code"].is_number_integer());
    EXPECT_TRUE(j["message"].is_string());
    EXPECT_FALSE(j["message"].get<std::string>().empty());
    std::map<std::string, std::string> out;
    for (const auto& detail : j["details"]) {
      EXPECT_EQ(detail["@type"], "type.googleapis.com/google.rpc.BadRequest");
      for (const auto& v : detail["fieldViolations"]) out[v["field"]] = v["description"];
    }
    return out;
  }

  // A connector that appends each record as a JSON line to a file, so tests can see deliveries.
  std::string logger_settings(const std::string& file, const std::string& extra = "") {
    return R"({"settings": {"instanceTypeName": "logger-sink", "output": "file", "path": ")" + dir_.path() + "/" +
           file + R"(", "subscription:initialPosition": "earliest", "autocommit:interval": "20")" + extra + "}}";
  }

  // The JSON lines a logger-sink wrote to `file`.
  std::vector<json> lines(const std::string& file) {
    std::vector<json> out;
    std::ifstream in(dir_.path() + "/" + file);
    std::string line;
    while (std::getline(in, line)) out.push_back(json::parse(line));
    return out;
  }

  void append(const std::string& stream, const std::string& type, const json& data = json::object()) {
    static int n = 0;
    char id[40];
    std::snprintf(id, sizeof id, "aaaaaaaa-0000-4000-8000-%012d", ++n);
    auto response = call("POST", "/streams/" + stream,
                         json::array({{{"eventId", id}, {"eventType", type}, {"data", data}}}).dump());
    ASSERT_EQ(response.status, 201) << response.body;
  }

  static bool eventually(const std::function<bool()>& condition,
                         std::chrono::seconds timeout = std::chrono::seconds(10)) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      if (condition()) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return condition();
  }

  json connector(const std::string& id) { return body(call("GET", "/connectors/" + id, "", "")); }

  std::string kafka_settings(const std::string& extra = "") {
    return R"({"settings": {"instanceTypeName": "kafka-sink", "topic": "orders", "bootstrapServers": "127.0.0.1:1")" +
           extra + "}}";
  }

  test::TempDir dir_;
  runtime::PluginRegistry plugins_;
  std::unique_ptr<runtime::EventLog> log_;
  std::unique_ptr<runtime::StateStore> store_;
  std::unique_ptr<runtime::ConnectorService> service_;
  std::unique_ptr<Api> api_;
};

}  // namespace sinkhost::management_api
