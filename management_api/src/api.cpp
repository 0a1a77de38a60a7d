#include "sinkhost/management_api/api.hpp"

#include <algorithm>

#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>

#include "routes_common.hpp"
#include "sinkhost/management_api/routes.hpp"
#include "ui_assets.hpp"
#include "sinkhost/runtime/connector_service.hpp"
#include "sinkhost/runtime/embedded_log/event_log.hpp"

namespace sinkhost::management_api {

using connector::ErrorCode;
using connector::make_error;
using namespace detail;

namespace {

HttpResponse not_found_route(const HttpRequest& request) {
  return error_response(make_error(ErrorCode::not_found, "no route for " + request.method + " " + request.target));
}

std::string join(const std::vector<std::string_view>& methods) {
  std::string out;
  for (const auto& method : methods) out += (out.empty() ? "" : ", ") + std::string(method);
  return out;
}

// The description as served: this host's version in info.version.
std::string served_openapi(const std::string& version) {
  auto document = nlohmann::ordered_json::parse(openapi_json());
  document["info"]["version"] = version;
  return document.dump();
}

}  // namespace

Api::Api(runtime::EventLog& log, runtime::ConnectorService& connectors, ApiOptions options)
    : log_(log), connectors_(connectors), options_(std::move(options)), openapi_(served_openapi(options_.version)) {}

Api::~Api() = default;

HttpResponse Api::handle(const HttpRequest& request) noexcept {
  try {
    auto target = parse_target(request.target);
    if (!target.ok()) return error_response(target.error());
    return route(request, *target);
  } catch (const std::exception& e) {
    // A bug, not bad input: answer 500 and keep serving.
    spdlog::error("{} {} failed: {}", request.method, request.target, e.what());
    return error_response(make_error(ErrorCode::internal, "internal error; see the sinkhost log"));
  } catch (...) {
    return error_response(make_error(ErrorCode::internal, "internal error; see the sinkhost log"));
  }
}

HttpResponse Api::route(const HttpRequest& request, const Target& target) {
  const auto& s = target.segments;
  const auto& m = request.method;

  // The route table (routes.cpp) decides 404 and 405 for every route; below, its routes run.
  const auto allowed = allowed_methods(s);
  if (allowed.empty()) return not_found_route(request);
  if (std::find(allowed.begin(), allowed.end(), m) == allowed.end()) return method_not_allowed(request, join(allowed));

  if (s.size() == 1 && s[0] == "health") {
    return json_response(200, nlohmann::json{{"status", "ok"}, {"version", options_.version}}.dump());
  }
  if (s.size() == 1 && s[0] == "openapi.json") return json_response(200, openapi_);
  if (s.size() == 2 && s[0] == "streams") {
    if (m == "POST") return append(request, s[1]);
    if (m == "GET") return read(target, s[1]);
    return method_not_allowed(request, "GET, POST");
  }
  if (s.size() == 1 && s[0] == "ready") {
    if (!connectors_.restored()) {
      return error_response(make_error(ErrorCode::unavailable, "starting: connectors are being restored"));
    }
    return json_response(200, R"({"status":"ready"})");
  }
  if (s.size() == 1 && s[0] == "metrics") return metrics();
  if (!s.empty() && s[0] == "connectors") return connectors(request, target);
  if (!s.empty() && s[0] == "connector-plugins") return connector_plugins(request, target);
  if (!s.empty() && s[0] == "ui") return ui_route(request, target);
  return not_found_route(request);
}

Api::BorrowedReader::BorrowedReader(Api& api, std::unique_ptr<runtime::EventLogReader> reader)
    : api_(api), reader_(std::move(reader)) {}

Api::BorrowedReader::BorrowedReader(BorrowedReader&& other) noexcept
    : api_(other.api_), reader_(std::move(other.reader_)) {}

Api::BorrowedReader::~BorrowedReader() {
  if (!reader_) return;
  std::lock_guard lock(api_.readers_mutex_);
  api_.idle_readers_.push_back(std::move(reader_));
}

Api::BorrowedReader Api::borrow_reader() {
  {
    std::lock_guard lock(readers_mutex_);
    if (!idle_readers_.empty()) {
      auto reader = std::move(idle_readers_.back());
      idle_readers_.pop_back();
      return BorrowedReader(*this, std::move(reader));
    }
  }
  auto reader = log_.open_reader();
  return BorrowedReader(*this, reader.ok() ? std::move(reader).value() : nullptr);
}

}  // namespace sinkhost::management_api
