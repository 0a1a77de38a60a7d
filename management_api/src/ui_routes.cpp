#include "ui_assets.hpp"

#include "routes_common.hpp"

namespace sinkhost::management_api::detail {

using connector::ErrorCode;
using connector::make_error;

namespace {

// The page loads only its own files and talks only to this server.
constexpr std::string_view kContentSecurityPolicy =
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; frame-ancestors 'none'";

std::string_view path_of(std::string_view target) { return target.substr(0, target.find('?')); }

}  // namespace

HttpResponse ui_route(const HttpRequest& request, const Target& target) {
  if (request.method != "GET" && request.method != "HEAD") return method_not_allowed(request, "GET, HEAD");
  const auto path = path_of(request.target);
  if (path == "/ui") {
    HttpResponse redirect{.status = 301, .content_type = "text/plain; charset=utf-8", .body = "see /ui/\n"};
    redirect.headers.emplace_back("Location", "/ui/");
    return redirect;
  }
  std::string_view name = "index.html";
  if (target.segments.size() == 2) {
    name = target.segments[1];
  } else if (target.segments.size() > 2) {
    name = "";
  }
  for (const auto& asset : ui_assets()) {
    if (asset.name != name) continue;
    HttpResponse response{
        .status = 200, .content_type = std::string(asset.content_type), .body = std::string(asset.body)};
    response.headers.emplace_back("Cache-Control", "no-cache");
    response.headers.emplace_back("Content-Security-Policy", std::string(kContentSecurityPolicy));
    response.headers.emplace_back("X-Content-Type-Options", "nosniff");
    return response;
  }
  return error_response(make_error(ErrorCode::not_found, "the status page has no file " + std::string(path)));
}

}  // namespace sinkhost::management_api::detail
