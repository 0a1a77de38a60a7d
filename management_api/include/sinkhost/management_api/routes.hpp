#pragma once
// The HTTP API's routes as data, and its OpenAPI description.

#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace sinkhost::management_api {

// One route: a method and a path template whose {name} segments match any one segment.
struct RouteSpec {
  std::string_view method;  // "GET", "POST", "PUT", "DELETE"
  std::string_view path;    // "/connectors/{id}/start/{logPosition}"
};

// Every route the API serves. Api::handle answers 404 (no such path) or 405 (not this method)
// from this table before any route runs, so a route missing here is never served; and the
// OpenAPI description must describe each of them (tests/unit/management_api/openapi_test.cpp).
std::span<const RouteSpec> http_routes();

// What the table says about a request path (percent-decoded segments): the methods allowed,
// in table order; empty when no route has that path.
std::vector<std::string_view> allowed_methods(const std::vector<std::string>& segments);

// The OpenAPI 3.1 description of these routes (management_api/openapi/openapi.json, compiled
// in), as served at GET /openapi.json.
std::string_view openapi_json();

}  // namespace sinkhost::management_api
