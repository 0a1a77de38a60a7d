#include "sinkhost/management_api/http.hpp"

#include <nlohmann/json.hpp>

namespace sinkhost::management_api {

using connector::ErrorCode;
using connector::make_error;

std::string HttpRequest::header(std::string_view lower_name) const {
  auto it = headers.find(std::string(lower_name));
  return it == headers.end() ? std::string() : it->second;
}

namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool percent_decode(std::string_view in, bool plus_is_space, std::string& out) {
  out.clear();
  for (std::size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (c == '%') {
      if (i + 2 >= in.size()) return false;
      int hi = hex_value(in[i + 1]), lo = hex_value(in[i + 2]);
      if (hi < 0 || lo < 0) return false;
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else if (c == '+' && plus_is_space) {
      out.push_back(' ');
    } else {
      out.push_back(c);
    }
  }
  return true;
}

// google.rpc.Code numbers.
int grpc_code(ErrorCode code) {
  switch (code) {
    case ErrorCode::invalid_argument: return 3;
    case ErrorCode::not_found: return 5;
    case ErrorCode::already_exists: return 6;
    case ErrorCode::permission_denied: return 7;
    case ErrorCode::resource_exhausted: return 8;
    case ErrorCode::failed_precondition: return 9;
    case ErrorCode::internal: return 13;
    case ErrorCode::unavailable: return 14;
  }
  return 2;  // UNKNOWN
}

}  // namespace

connector::Result<Target> parse_target(std::string_view target) {
  if (target.empty() || target.front() != '/') {
    return make_error(ErrorCode::invalid_argument, "the request target must be an absolute path");
  }
  Target out;
  auto query_start = target.find('?');
  std::string_view path = target.substr(0, query_start);
  std::string decoded;
  std::size_t pos = 1;
  while (pos <= path.size()) {
    auto end = path.find('/', pos);
    if (end == std::string_view::npos) end = path.size();
    auto segment = path.substr(pos, end - pos);
    if (!segment.empty()) {
      if (!percent_decode(segment, false, decoded)) {
        return make_error(ErrorCode::invalid_argument, "the request path has a malformed percent-encoding");
      }
      out.segments.push_back(decoded);
    }
    pos = end + 1;
  }
  if (query_start != std::string_view::npos) {
    auto query = target.substr(query_start + 1);
    std::size_t qpos = 0;
    while (qpos <= query.size()) {
      auto end = query.find('&', qpos);
      if (end == std::string_view::npos) end = query.size();
      auto pair = query.substr(qpos, end - qpos);
      if (!pair.empty()) {
        auto eq = pair.find('=');
        std::string key, value;
        if (!percent_decode(pair.substr(0, eq), true, key) ||
            (eq != std::string_view::npos && !percent_decode(pair.substr(eq + 1), true, value))) {
          return make_error(ErrorCode::invalid_argument, "the query string has a malformed percent-encoding");
        }
        out.query.emplace(std::move(key), std::move(value));
      }
      qpos = end + 1;
    }
  }
  return out;
}

int http_status(ErrorCode code) {
  switch (code) {
    case ErrorCode::invalid_argument: return 400;
    case ErrorCode::not_found: return 404;
    case ErrorCode::already_exists: return 409;
    case ErrorCode::failed_precondition: return 409;
    case ErrorCode::permission_denied: return 403;
    case ErrorCode::resource_exhausted: return 429;
    case ErrorCode::unavailable: return 503;
    case ErrorCode::internal: return 500;
  }
  return 500;
}

HttpResponse json_response(int status, std::string body) {
  HttpResponse response;
  response.status = status;
  response.body = std::move(body);
  return response;
}

HttpResponse error_response(const connector::Error& error) {
  nlohmann::json body = {
      {"code", grpc_code(error.code)}, {"message", error.message}, {"details", nlohmann::json::array()}};
  if (!error.field_violations.empty()) {
    auto violations = nlohmann::json::array();
    for (const auto& v : error.field_violations) {
      violations.push_back({{"field", v.field}, {"description", v.description}});
    }
    body["details"].push_back(
        {{"@type", "type.googleapis.com/google.rpc.BadRequest"}, {"fieldViolations", violations}});
  }
  // Replace, not throw, on invalid UTF-8 echoed from user input.
  return json_response(http_status(error.code), body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

}  // namespace sinkhost::management_api
