// The OpenAPI description (management_api/openapi/openapi.json) and the routes the server has:
// every route of the table is described, every described operation is a route of the table,
// and Api::handle really serves each (no 404 "no route", no 405).
#include <algorithm>
#include <cctype>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "management_api/api_fixture.hpp"
#include "sinkhost/management_api/routes.hpp"

namespace sinkhost::management_api {
namespace {

constexpr const char* kMethods[] = {"get", "put", "post", "delete", "options", "head", "patch", "trace"};

std::string upper(std::string text) {
  for (auto& c : text) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return text;
}

std::vector<std::string> segments_of(const std::string& path) {
  std::vector<std::string> out;
  std::size_t pos = 1;
  while (pos <= path.size()) {
    auto end = path.find('/', pos);
    if (end == std::string::npos) end = path.size();
    if (end > pos) out.push_back(path.substr(pos, end - pos));  // as parse_target: no empty segments
    pos = end + 1;
  }
  return out;
}

// "GET /connectors/{id}" for every operation of the description.
std::set<std::string> described_operations() {
  const auto document = json::parse(openapi_json());
  std::set<std::string> out;
  for (const auto& [path, item] : document.at("paths").items()) {
    for (const auto* method : kMethods) {
      if (item.contains(method)) out.insert(upper(method) + " " + path);
    }
  }
  return out;
}

// A described path with sample values for its parameters.
std::string sample_target(const std::string& path) {
  std::string out;
  for (const auto& segment : segments_of(path)) {
    std::string value = segment;
    if (segment == "{id}") value = "probe-sink";
    if (segment == "{stream}") value = "probe-1";
    if (segment == "{logPosition}") value = "1";
    if (segment == "{type}") value = "logger-sink";
    if (segment == "{file}") value = "app.js";
    out += "/" + value;
  }
  return path.ends_with('/') ? out + "/" : out;
}

TEST(OpenApiDescription, DescribesEveryRouteTheServerHas) {
  const auto described = described_operations();
  std::vector<std::string> undescribed;
  for (const auto& route : http_routes()) {
    const auto name = std::string(route.method) + " " + std::string(route.path);
    if (!described.contains(name)) undescribed.push_back(name);
  }
  EXPECT_TRUE(undescribed.empty()) << "served but not described in management_api/openapi/openapi.json: "
                                   << testing::PrintToString(undescribed);
}

TEST(OpenApiDescription, DescribesOnlyRoutesTheServerHas) {
  std::vector<std::string> unserved;
  for (const auto& operation : described_operations()) {
    const auto space = operation.find(' ');
    const auto method = operation.substr(0, space);
    auto segments = segments_of(operation.substr(space + 1));
    // A concrete path (/streams/$all) is served by the route whose template matches it.
    const auto allowed = allowed_methods(segments);
    if (std::find(allowed.begin(), allowed.end(), method) == allowed.end()) unserved.push_back(operation);
  }
  EXPECT_TRUE(unserved.empty() && !described_operations().empty())
      << "described in management_api/openapi/openapi.json but not in the route table (routes.cpp): "
      << testing::PrintToString(unserved);
}

TEST(OpenApiDescription, IsOpenApi31) {
  const auto document = json::parse(openapi_json());
  EXPECT_TRUE(document.at("openapi").get<std::string>().starts_with("3.1.")) << document.at("openapi");
  EXPECT_TRUE(document.at("components").at("schemas").contains("Status"));
}

class OpenApiRoutes : public ApiTest {};

// Each described operation reaches its route: the answer is not the route table's 404 or 405
// (a 404 for the unknown connector "probe-sink" is the route's own answer).
TEST_F(OpenApiRoutes, EveryDescribedOperationIsServed) {
  for (const auto& operation : described_operations()) {
    const auto space = operation.find(' ');
    const auto method = operation.substr(0, space);
    const auto target = sample_target(operation.substr(space + 1));
    const auto response = call(method, target, method == "GET" || method == "HEAD" || method == "DELETE" ? "" : "{}");
    EXPECT_NE(response.status, 405) << operation << ": " << response.body;
    if (response.status == 404) {
      EXPECT_EQ(body(response)["message"].get<std::string>().find("no route"), std::string::npos)
          << operation << ": " << response.body;
    }
  }
}

TEST_F(OpenApiRoutes, OtherMethodsAndPathsAreRefused) {
  const auto described = described_operations();
  for (const auto& operation : described) {
    const auto path = operation.substr(operation.find(' ') + 1);
    for (const auto* method : {"GET", "PUT", "POST", "DELETE", "PATCH"}) {
      if (described.contains(std::string(method) + " " + path)) continue;
      // /streams/$all is read-only because POST /streams/{stream} refuses system streams (403).
      if (path == "/streams/$all" && std::string(method) == "POST") continue;
      const auto response = call(method, sample_target(path), "{}");
      EXPECT_EQ(response.status, 405) << method << " " << path << ": " << response.body;
      EXPECT_FALSE(response.headers.empty()) << "a 405 names the allowed methods (Allow)";
    }
  }
  for (const auto* target : {"/", "/nothing-here", "/users", "/connectors/probe-sink/stop/1",
                             "/connector-plugins/logger-sink", "/openapi.yaml", "/streams/probe-1/0"}) {
    EXPECT_EQ(call("GET", target, "", "").status, 404) << target;
  }
}

TEST_F(OpenApiRoutes, ServesTheDescriptionWithTheHostsVersion) {
  const auto response = call("GET", "/openapi.json", "", "");
  ASSERT_EQ(response.status, 200) << response.body;
  EXPECT_EQ(response.content_type, "application/json");
  auto served = body(response);
  EXPECT_EQ(served["info"]["version"], "test");
  auto file = json::parse(openapi_json());
  file["info"]["version"] = "test";
  EXPECT_EQ(served, file);
}

}  // namespace
}  // namespace sinkhost::management_api
