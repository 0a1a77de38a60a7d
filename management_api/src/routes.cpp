#include "sinkhost/management_api/routes.hpp"

#include <iterator>

namespace sinkhost::management_api {

namespace {

// Ordered by path, methods as a 405's Allow header lists them.
constexpr RouteSpec kRoutes[] = {
    {"GET", "/health"},
    {"GET", "/ready"},
    {"GET", "/metrics"},
    {"GET", "/openapi.json"},
    {"GET", "/streams/{stream}"},
    {"POST", "/streams/{stream}"},
    {"GET", "/connectors"},
    {"GET", "/connectors/{id}"},
    {"POST", "/connectors/{id}"},
    {"PUT", "/connectors/{id}"},
    {"DELETE", "/connectors/{id}"},
    {"GET", "/connectors/{id}/settings"},
    {"PUT", "/connectors/{id}/settings"},
    {"GET", "/connectors/{id}/configuration"},
    {"PUT", "/connectors/{id}/configuration"},
    {"PUT", "/connectors/{id}/rename"},
    {"POST", "/connectors/{id}/start"},
    {"POST", "/connectors/{id}/start/{logPosition}"},
    {"POST", "/connectors/{id}/stop"},
    {"POST", "/connectors/{id}/reset"},
    {"POST", "/connectors/{id}/reset/{logPosition}"},
    {"GET", "/connector-plugins"},
    {"PUT", "/connector-plugins/{type}/config/validate"},
    {"GET", "/ui/"},  // also /ui, which redirects here: empty segments do not count
    {"HEAD", "/ui/"},
    {"GET", "/ui/{file}"},
    {"HEAD", "/ui/{file}"},
};

bool path_matches(std::string_view path, const std::vector<std::string>& segments) {
  std::size_t index = 0;
  std::size_t pos = 1;  // after the leading '/'
  while (pos <= path.size()) {
    auto end = path.find('/', pos);
    if (end == std::string_view::npos) end = path.size();
    const auto part = path.substr(pos, end - pos);
    pos = end + 1;
    if (part.empty()) continue;  // as parse_target: "/ui/" is the one segment "ui"
    if (index >= segments.size()) return false;
    if (!part.starts_with('{') && part != segments[index]) return false;
    ++index;
  }
  return index == segments.size();
}

}  // namespace

std::span<const RouteSpec> http_routes() { return kRoutes; }

std::vector<std::string_view> allowed_methods(const std::vector<std::string>& segments) {
  std::vector<std::string_view> out;
  for (const auto& route : kRoutes) {
    if (path_matches(route.path, segments)) out.push_back(route.method);
  }
  return out;
}

}  // namespace sinkhost::management_api
