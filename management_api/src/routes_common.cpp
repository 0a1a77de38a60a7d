#include "routes_common.hpp"

#include <cctype>

namespace sinkhost::management_api::detail {

using connector::ErrorCode;
using connector::make_error;
using nlohmann::json;

HttpResponse ok_empty() { return json_response(200, "{}"); }

HttpResponse bad_request(std::string message, std::vector<connector::FieldViolation> violations) {
  return error_response(make_error(ErrorCode::invalid_argument, std::move(message), std::move(violations)));
}

HttpResponse with_status(HttpResponse response, int status) {
  response.status = status;
  return response;
}

HttpResponse method_not_allowed(const HttpRequest& request, const std::string& allowed) {
  auto response = with_status(
      error_response(make_error(ErrorCode::invalid_argument, request.method + " is not allowed here; use " + allowed)),
      405);
  response.headers.emplace_back("Allow", allowed);
  return response;
}

std::optional<bool> parse_bool(std::string text) {
  for (auto& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (text == "true" || text == "1") return true;
  if (text == "false" || text == "0") return false;
  return std::nullopt;
}

std::string media_type(const HttpRequest& request) {
  auto value = request.header("content-type");
  auto semicolon = value.find(';');
  if (semicolon != std::string::npos) value.resize(semicolon);
  while (!value.empty() && value.back() == ' ') value.pop_back();
  for (auto& c : value) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return value;
}

bool valid_utf8(std::string_view text) {
  std::size_t i = 0;
  while (i < text.size()) {
    auto c = static_cast<unsigned char>(text[i]);
    std::size_t extra;
    std::uint32_t code;
    if (c < 0x80) {
      ++i;
      continue;
    }
    if ((c & 0xE0) == 0xC0) {
      extra = 1;
      code = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      extra = 2;
      code = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      extra = 3;
      code = c & 0x07;
    } else
      return false;
    if (i + extra >= text.size()) return false;  // truncated sequence
    for (std::size_t k = 1; k <= extra; ++k) {
      auto cc = static_cast<unsigned char>(text[i + k]);
      if ((cc & 0xC0) != 0x80) return false;
      code = (code << 6) | (cc & 0x3F);
    }
    // Overlong forms, surrogates and values past U+10FFFF are not UTF-8.
    if ((extra == 1 && code < 0x80) || (extra == 2 && code < 0x800) || (extra == 3 && code < 0x10000) ||
        (code >= 0xD800 && code <= 0xDFFF) || code > 0x10FFFF) {
      return false;
    }
    i += extra + 1;
  }
  return true;
}

bool too_deep(std::string_view text) {
  int depth = 0;
  bool in_string = false, escaped = false;
  for (char c : text) {
    if (in_string) {
      if (escaped)
        escaped = false;
      else if (c == '\\')
        escaped = true;
      else if (c == '"')
        in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > kMaxJsonDepth) return true;
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return false;
}

bool is_uuid(std::string_view text) {
  if (text.size() != 36) return false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? text[i] != '-' : !std::isxdigit(static_cast<unsigned char>(text[i]))) return false;
  }
  return true;
}

connector::Result<json> parse_json_body(std::string_view body) {
  if (too_deep(body)) {
    return make_error(ErrorCode::invalid_argument,
                      "the JSON body nests deeper than " + std::to_string(kMaxJsonDepth) + " levels");
  }
  try {
    return json::parse(body);
  } catch (const json::parse_error& e) {
    // Only the position: nlohmann's message quotes a fragment of the body, which may hold a secret.
    return make_error(ErrorCode::invalid_argument,
                      "the body is not valid JSON (syntax error at byte " + std::to_string(e.byte) + ")");
  } catch (const json::out_of_range&) {
    // A number past the range of a double (1e999): nlohmann throws out_of_range, not a parse
    // error. Found by the settings fuzzer; it used to be a 500 that quoted the body in the log.
    return make_error(ErrorCode::invalid_argument, "the body is not valid JSON (a number is out of range)");
  }
}

connector::Result<json> parse_json_request(const HttpRequest& request) {
  if (media_type(request) != "application/json") {
    return make_error(ErrorCode::invalid_argument,
                      "send the body as JSON with the header 'Content-Type: application/json'");
  }
  return parse_json_body(request.body);
}

std::string dump(const json& value) { return value.dump(-1, ' ', false, json::error_handler_t::replace); }

std::string percent_encode_segment(std::string_view segment) {
  static constexpr char hex[] = "0123456789ABCDEF";
  std::string out;
  for (char ch : segment) {
    auto c = static_cast<unsigned char>(ch);
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~' || c == '$' || c == ':' || c == '@') {
      out.push_back(ch);
    } else {
      out.push_back('%');
      out.push_back(hex[c >> 4]);
      out.push_back(hex[c & 15]);
    }
  }
  return out;
}

}  // namespace sinkhost::management_api::detail
