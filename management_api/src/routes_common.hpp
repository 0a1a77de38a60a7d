#pragma once
// Helpers shared by the route files. Internal to management_api.

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "sinkhost/management_api/http.hpp"

namespace sinkhost::management_api::detail {

// Deeper JSON than this is refused before it is parsed (a recursive parser must not be driven
// into a stack overflow by a hostile body).
inline constexpr int kMaxJsonDepth = 64;

HttpResponse ok_empty();
HttpResponse bad_request(std::string message, std::vector<connector::FieldViolation> violations = {});
HttpResponse with_status(HttpResponse response, int status);
HttpResponse method_not_allowed(const HttpRequest& request, const std::string& allowed);

// The media type without parameters, lower-cased.
std::string media_type(const HttpRequest& request);

// "true"/"1"/"false"/"0", any case; nullopt for anything else.
std::optional<bool> parse_bool(std::string text);

bool valid_utf8(std::string_view text);
bool too_deep(std::string_view json_text);
bool is_uuid(std::string_view text);

connector::Result<nlohmann::json> parse_json_body(std::string_view body);
// Requires Content-Type: application/json.
connector::Result<nlohmann::json> parse_json_request(const HttpRequest& request);

// JSON text that never throws on invalid UTF-8 (it is replaced).
std::string dump(const nlohmann::json& value);

std::string percent_encode_segment(std::string_view segment);

}  // namespace sinkhost::management_api::detail
