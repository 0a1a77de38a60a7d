#include "delivery_rules.hpp"

#include <algorithm>
#include <cctype>
#include <ctime>

namespace sinkhost::http_sink {

Verdict classify_status(int status) {
  if (status >= 200 && status < 300) return Verdict::delivered;
  if (status == 408 || status == 429 || (status >= 500 && status < 600)) return Verdict::retry;
  return Verdict::permanent;
}

bool is_record_refusal(int status) {
  return classify_status(status) == Verdict::permanent && status >= 400 && status < 500 && status != 401 &&
         status != 403 && status != 407;
}

std::optional<std::chrono::milliseconds> parse_retry_after(std::string_view value,
                                                           std::chrono::system_clock::time_point now) {
  constexpr auto kMax = std::chrono::milliseconds(std::chrono::hours(1));
  while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
  while (!value.empty() && value.back() == ' ') value.remove_suffix(1);
  if (value.empty()) return std::nullopt;
  if (std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    if (value.size() > 7) return kMax;
    return std::min(kMax, std::chrono::milliseconds(std::stoll(std::string(value)) * 1000));
  }
  // IMF-fixdate: "Wed, 21 Oct 2015 07:28:00 GMT"
  std::tm tm{};
  const std::string text(value);
  const char* end = ::strptime(text.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm);
  if (end == nullptr || *end != '\0') return std::nullopt;
  const auto when = std::chrono::system_clock::from_time_t(::timegm(&tm));
  if (when <= now) return std::chrono::milliseconds(0);
  return std::min(kMax, std::chrono::duration_cast<std::chrono::milliseconds>(when - now));
}

std::optional<std::chrono::milliseconds> next_retry_delay(const ResilienceSettings& r,
                                                          std::chrono::milliseconds elapsed, std::int64_t failures) {
  if (!r.enabled) return std::nullopt;
  if (r.max_retries >= 0 && failures > r.max_retries) return std::nullopt;
  const auto ms = elapsed.count();
  if (ms < r.first.upper_limit_ms) return std::chrono::milliseconds(r.first.delay_ms);
  if (ms < r.second.upper_limit_ms) return std::chrono::milliseconds(r.second.delay_ms);
  if (r.third.upper_limit_ms < 0 || ms < r.third.upper_limit_ms) return std::chrono::milliseconds(r.third.delay_ms);
  return std::nullopt;
}

std::string base64(std::string_view bytes) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    const auto n = (static_cast<unsigned char>(bytes[i]) << 16) | (static_cast<unsigned char>(bytes[i + 1]) << 8) |
                   static_cast<unsigned char>(bytes[i + 2]);
    out += kAlphabet[(n >> 18) & 63];
    out += kAlphabet[(n >> 12) & 63];
    out += kAlphabet[(n >> 6) & 63];
    out += kAlphabet[n & 63];
  }
  if (i + 1 == bytes.size()) {
    const auto n = static_cast<unsigned char>(bytes[i]) << 16;
    out += kAlphabet[(n >> 18) & 63];
    out += kAlphabet[(n >> 12) & 63];
    out += "==";
  } else if (i + 2 == bytes.size()) {
    const auto n = (static_cast<unsigned char>(bytes[i]) << 16) | (static_cast<unsigned char>(bytes[i + 1]) << 8);
    out += kAlphabet[(n >> 18) & 63];
    out += kAlphabet[(n >> 12) & 63];
    out += kAlphabet[(n >> 6) & 63];
    out += '=';
  }
  return out;
}

std::optional<std::string> authorization(const HttpSinkSettings& settings) {
  switch (settings.auth_method) {
    case AuthMethod::none: return std::nullopt;
    case AuthMethod::basic: return "Basic " + base64(settings.basic_username + ":" + settings.basic_password);
    case AuthMethod::bearer: return "Bearer " + header_value(settings.bearer_token);
  }
  return std::nullopt;
}

std::string header_value(std::string_view value) {
  std::string out(value);
  for (auto& c : out) {
    if (c == '\r' || c == '\n' || c == '\0') c = ' ';
  }
  return out;
}

std::vector<connector::Header> request_headers(const connector::Record& record, const HttpSinkSettings& settings) {
  std::vector<connector::Header> out;
  out.reserve(record.headers.size() + settings.default_headers.size() + 3);
  out.push_back({"Content-Type",
                 record.schema_type == connector::SchemaType::json ? "application/json" : "application/octet-stream"});
  for (const auto& h : record.headers) {
    if (is_header_name(h.name)) out.push_back({h.name, header_value(h.value)});
  }
  bool accept_encoding = false;
  for (const auto& [name, value] : settings.default_headers) {
    if (!is_header_name(name)) continue;
    std::string lower = name;
    std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
    if (lower == "accept-encoding") accept_encoding = true;
    out.push_back({name, header_value(value)});
  }
  if (!accept_encoding) out.push_back({"Accept-Encoding", "*"});
  if (auto auth = authorization(settings)) out.push_back({"Authorization", std::move(*auth)});
  return out;
}

std::string body_excerpt(std::string_view body, std::size_t limit) {
  std::string out;
  for (char c : body.substr(0, limit)) {
    const auto u = static_cast<unsigned char>(c);
    out.push_back(u == '\n' || u == '\r' || u == '\t' ? ' ' : (u < 0x20 || u == 0x7f ? '?' : c));
  }
  if (body.size() > limit) out += "...";
  return out;
}

}  // namespace sinkhost::http_sink
