#pragma once
// The status page's files (management_api/ui), compiled in by management_api/ui/embed.cmake.

#include <span>
#include <string_view>

#include "sinkhost/management_api/http.hpp"

namespace sinkhost::management_api::detail {

struct UiAsset {
  std::string_view name;  // "index.html"
  std::string_view content_type;
  std::string_view body;
};

std::span<const UiAsset> ui_assets();

// GET /ui (a redirect to /ui/), /ui/ (index.html) and /ui/FILE: the status page
// (docs/status-page.md). Other methods: 405; unknown files: 404.
HttpResponse ui_route(const HttpRequest& request, const Target& target);

}  // namespace sinkhost::management_api::detail
