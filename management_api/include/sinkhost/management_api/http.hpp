#pragma once

#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "sinkhost/connector/result.hpp"

namespace sinkhost::management_api {

// A request as the routes see it: no sockets, no Beast types, so routes are plain functions
// that tests (and fuzzers) call directly.
struct HttpRequest {
  std::string method;                          // "GET", "POST", ...
  std::string target;                          // as received: "/connectors?state=x"
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string body;

  std::string header(std::string_view lower_name) const;
};

struct HttpResponse {
  int status = 200;
  std::string content_type = "application/json";
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
};

// The path split into percent-decoded segments, and the query parameters (repeatable).
struct Target {
  std::vector<std::string> segments;
  std::multimap<std::string, std::string> query;
};

// Returns an invalid_argument Error for a malformed target (bad percent-encoding, no leading '/').
connector::Result<Target> parse_target(std::string_view target);

// The google.rpc.Status JSON body and the HTTP status for an error.
HttpResponse error_response(const connector::Error& error);
int http_status(connector::ErrorCode code);

HttpResponse json_response(int status, std::string body);

}  // namespace sinkhost::management_api
