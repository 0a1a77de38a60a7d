#include "sinkhost/management_api/api.hpp"

#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>

#include "routes_common.hpp"
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

}  // namespace

Api::Api(runtime::EventLog& log, runtime::ConnectorService& connectors, ApiOptions options)
    : log_(log), connectors_(connectors), options_(std::move(options)) {}

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

  if (s.size() == 1 && s[0] == "health") {
    if (m != "GET") return method_not_allowed(request, "GET");
    return json_response(200, nlohmann::json{{"status", "ok"}, {"version", options_.version}}.dump());
  }
  if (s.size() == 2 && s[0] == "streams") {
    if (m == "POST") return append(request, s[1]);
    if (m == "GET") return read(target, s[1]);
    return method_not_allowed(request, "GET, POST");
  }
  if (s.size() == 1 && s[0] == "ready") {
    if (m != "GET") return method_not_allowed(request, "GET");
    if (!connectors_.restored()) {
      return error_response(make_error(ErrorCode::unavailable, "starting: connectors are being restored"));
    }
    return json_response(200, R"({"status":"ready"})");
  }
  if (s.size() == 1 && s[0] == "metrics") {
    if (m != "GET") return method_not_allowed(request, "GET");
    return metrics();
  }
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
