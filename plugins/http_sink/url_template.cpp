#include "url_template.hpp"

#include <cctype>

namespace sinkhost::http_sink {

using connector::ErrorCode;
using connector::make_error;
using connector::Result;

namespace {

bool is_unreserved(unsigned char c) { return std::isalnum(c) != 0 || c == '-' || c == '.' || c == '_' || c == '~'; }

Result<UrlTemplate> bad(const std::string& why) { return make_error(ErrorCode::invalid_argument, why, {{"url", why}}); }

}  // namespace

std::string percent_encode(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size());
  for (unsigned char c : text) {
    if (is_unreserved(c)) {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0x0f]);
    }
  }
  return out;
}

Result<UrlTemplate> UrlTemplate::parse(const std::string& url) {
  UrlTemplate out;
  std::string_view rest(url);
  auto lower_starts = [&](std::string_view prefix) {
    if (rest.size() < prefix.size()) return false;
    for (std::size_t i = 0; i < prefix.size(); ++i) {
      if (std::tolower(static_cast<unsigned char>(rest[i])) != prefix[i]) return false;
    }
    return true;
  };
  if (lower_starts("https://")) {
    out.tls_ = true;
    rest.remove_prefix(8);
  } else if (lower_starts("http://")) {
    rest.remove_prefix(7);
  } else {
    return bad("must start with http:// or https://, got '" + url + "'");
  }
  const auto authority_end = rest.find_first_of("/?#");
  std::string_view authority = rest.substr(0, authority_end);
  std::string_view target = authority_end == std::string_view::npos ? std::string_view() : rest.substr(authority_end);
  if (authority.find('{') != std::string_view::npos || authority.find('}') != std::string_view::npos) {
    return bad("placeholders may only appear in the path and query, not in the host: '" + url + "'");
  }
  if (authority.find('@') != std::string_view::npos) {
    return bad("user information in the URL is not supported; use authentication:method Basic");
  }
  out.port_ = out.tls_ ? "443" : "80";
  if (!authority.empty() && authority.front() == '[') {  // [IPv6]:port
    const auto close = authority.find(']');
    if (close == std::string_view::npos) return bad("unclosed '[' in the host of '" + url + "'");
    out.host_ = std::string(authority.substr(1, close - 1));
    authority.remove_prefix(close + 1);
    if (!authority.empty()) {
      if (authority.front() != ':') return bad("unexpected text after the host in '" + url + "'");
      out.port_ = std::string(authority.substr(1));
    }
  } else {
    const auto colon = authority.rfind(':');
    out.host_ = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) out.port_ = std::string(authority.substr(colon + 1));
  }
  if (out.host_.empty()) return bad("has no host: '" + url + "'");
  if (out.port_.empty() || out.port_.size() > 5 || out.port_.find_first_not_of("0123456789") != std::string::npos ||
      std::stoi(out.port_) == 0 || std::stoi(out.port_) > 65535) {
    return bad("has an invalid port '" + out.port_ + "'");
  }
  if (const auto hash = target.find('#'); hash != std::string_view::npos) target = target.substr(0, hash);
  std::string literal = target.empty() || target.front() != '/' ? "/" : "";
  while (!target.empty()) {
    const auto open = target.find_first_of("{}");
    if (open == std::string_view::npos) {
      literal += target;
      break;
    }
    if (target[open] == '}') return bad("has a '}' without its '{' in '" + url + "'");
    literal += target.substr(0, open);
    const auto close = target.find('}', open);
    if (close == std::string_view::npos) return bad("has an unclosed placeholder in '" + url + "'");
    const auto name = target.substr(open + 1, close - open - 1);
    Part part;
    if (name == "schema-subject" || name == "event-type") {
      part = Part::schema_subject;
    } else if (name == "stream") {
      part = Part::stream;
    } else {
      return bad("unknown placeholder {" + std::string(name) +
                 "}; the url may use {schema-subject}, {event-type} and {stream}");
    }
    if (!literal.empty()) out.target_.push_back({Part::literal, std::move(literal)});
    literal.clear();
    out.target_.push_back({part, {}});
    target.remove_prefix(close + 1);
  }
  if (!literal.empty()) out.target_.push_back({Part::literal, std::move(literal)});
  for (const auto& piece : out.target_) {
    for (unsigned char c : piece.text) {
      if (c <= 0x20 || c == 0x7f) return bad("has a space or control character; percent-encode it");
    }
  }
  return out;
}

std::string UrlTemplate::host_header() const {
  std::string host = host_.find(':') != std::string::npos ? "[" + host_ + "]" : host_;
  if (port_ != (tls_ ? "443" : "80")) host += ":" + port_;
  return host;
}

std::string UrlTemplate::origin() const { return std::string(tls_ ? "https://" : "http://") + host_header(); }

bool UrlTemplate::templated() const {
  for (const auto& piece : target_) {
    if (piece.part != Part::literal) return true;
  }
  return false;
}

std::string UrlTemplate::target(const connector::Record& record) const {
  std::string out;
  for (const auto& piece : target_) {
    switch (piece.part) {
      case Part::literal: out += piece.text; break;
      case Part::schema_subject: out += percent_encode(record.schema_subject); break;
      case Part::stream: out += percent_encode(record.stream_id); break;
    }
  }
  return out;
}

std::string UrlTemplate::fixed_target() const {
  std::string out;
  for (const auto& piece : target_) {
    if (piece.part != Part::literal) break;
    out += piece.text;
  }
  return out.empty() ? "/" : out;
}

}  // namespace sinkhost::http_sink
