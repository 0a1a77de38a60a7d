#include "http_settings.hpp"

#include <cctype>
#include <cstring>

#include "url_template.hpp"

namespace sinkhost::http_sink {

using connector::enumeration;
using connector::field;
using connector::path;
using connector::SettingType;
using S = HttpSinkSettings;
using R = ResilienceSettings;

namespace {
// A member three levels down (resilience:firstDelayBound:delayMs).
connector::MemberPath<S, std::int64_t> at(std::int64_t& (*access)(S&)) { return {access}; }
}  // namespace

const connector::SettingsSchema<HttpSinkSettings>& settings_schema() {
  static const connector::SettingsSchema<HttpSinkSettings> table({
      field(&S::url,
            {.name = "url",
             .required = true,
             .doc = "The http:// or https:// URL every record is sent to. The path and query may hold the "
                    "placeholders {schema-subject} (or {event-type}: the event type) and {stream} (the stream id), "
                    "filled per record and percent-encoded."}),
      field(&S::method, {.name = "method",
                         .type = SettingType::enumeration,
                         .default_value = "POST",
                         .allowed_values = {"POST", "PUT", "PATCH", "DELETE", "GET"},
                         .doc = "The HTTP method of every request."}),
      field(&S::default_headers,
            {.name = "defaultHeaders:",
             .doc = "A static header added to every request: defaultHeaders:<Name> = value. Accept-Encoding: * is "
                    "sent unless defaultHeaders:Accept-Encoding says otherwise.",
             .prefix = true}),
      field(&S::pooled_connection_lifetime,
            {.name = "pooledConnectionLifetime",
             .default_value = "00:05:00",
             .doc = "How long (a TimeSpan, hh:mm:ss) a kept-alive connection is used before a new one is opened, so "
                    "that DNS changes and load balancers take effect."}),

      enumeration(&S::auth_method,
                  {.name = "authentication:method",
                   .default_value = "None",
                   .doc = "None; Basic (authentication:basic:username and password); Bearer "
                          "(authentication:bearer:token)."},
                  {{"None", AuthMethod::none}, {"Basic", AuthMethod::basic}, {"Bearer", AuthMethod::bearer}}),
      field(&S::basic_username,
            {.name = "authentication:basic:username", .doc = "The user name for Basic authentication."}),
      field(&S::basic_password,
            {.name = "authentication:basic:password", .secret = true, .doc = "The password for Basic authentication."}),
      field(&S::bearer_token, {.name = "authentication:bearer:token",
                               .secret = true,
                               .doc = "The token sent as Authorization: Bearer <token>."}),
      field(&S::ca_certificate,
            {.name = "authentication:tls:caCertificate",
             .doc = "PEM text of the CA certificate(s) that signed the server's certificate (https). Default: the "
                    "system's trusted CAs."}),
      field(&S::client_certificate,
            {.name = "authentication:tls:clientCertificate",
             .doc = "PEM text of the client certificate, for servers that require one (mTLS)."}),
      field(&S::client_key,
            {.name = "authentication:tls:clientKey",
             .secret = true,
             .doc = "PEM text of the client certificate's private key (unencrypted PKCS#8 or PKCS#1)."}),
      field(&S::verify_certificates,
            {.name = "authentication:tls:verifyCertificates",
             .default_value = "true",
             .doc = "Check the server's certificate and host name (https). Turn off only for tests: without it "
                    "anyone on the path can read and change the traffic."}),

      field(&S::max_connections,
            {.name = "maxConnections",
             .default_value = "4",
             .doc = "How many requests may be in flight at once, each on its own kept-alive connection (not in "
                    "KurrentDB). Records of one stream are never in flight together: order is kept per stream.",
             .min = 1,
             .max = 64}),
      field(&S::max_pending_records,
            {.name = "maxPendingRecords",
             .default_value = "10000",
             .doc = "How many records may wait for their answer before the connector pauses reading (not in "
                    "KurrentDB).",
             .min = 1,
             .max = 1000000}),
      field(&S::batch_max_records,
            {.name = "batching:maxRecords",
             .default_value = "1",
             .doc = "Up to this many consecutive records of one stream (with the same URL) in one request (not in "
                    "KurrentDB). 1: one record per request, as KurrentDB sends them.",
             .min = 1,
             .max = 10000}),
      enumeration(&S::batch_format,
                  {.name = "batching:format",
                   .default_value = "JsonArray",
                   .doc = "A batch's body: JsonArray (the records' JSON values in a JSON array, Content-Type "
                          "application/json) or Ndjson (one value per line, application/x-ndjson). Records that are "
                          "not JSON are sent alone."},
                  {{"JsonArray", BatchFormat::json_array}, {"Ndjson", BatchFormat::ndjson}}),

      field(&S::dead_letter_enabled,
            {.name = "deadLetter:enabled",
             .default_value = "false",
             .doc = "Send a record the endpoint refuses for good (a 4xx other than 401, 403, 407, 408 and 429) or "
                    "that the transform throws on to deadLetter:url, with sinkhost-dead-letter-* headers that say "
                    "why, and move on, instead of stopping the connector (not in KurrentDB)."}),
      field(&S::dead_letter_url,
            {.name = "deadLetter:url",
             .doc = "The http:// or https:// URL dead letters are POSTed to (required with deadLetter:enabled; no "
                    "placeholders). They carry the record's body and headers, Authorization included: the "
                    "authentication and TLS settings apply to it as to url."}),
      field(&S::dead_letter_max_records,
            {.name = "deadLetter:maxRecords",
             .default_value = "100",
             .doc = "The most records one run sends to deadLetter:url; the next stops the connector "
                    "(FAILED_PRECONDITION), so that a broken endpoint does not turn every record into a dead letter. "
                    "0: no limit.",
             .min = 0}),

      field(path(&S::resilience, &R::enabled),
            {.name = "resilience:enabled",
             .default_value = "true",
             .doc = "Retry requests that failed for a reason that may pass (connection errors, timeouts, 408, 429, "
                    "5xx) with the three-phase backoff below. false: the first such failure stops the connector."}),
      field(path(&S::resilience, &R::request_timeout_ms),
            {.name = "resilience:requestTimeoutMs",
             .default_value = "3000",
             .doc = "How long one attempt (connect, send, answer) may take, in milliseconds; 0: no limit.",
             .min = 0,
             .max = 3600000}),
      field(path(&S::resilience, &R::max_retries),
            {.name = "resilience:maxRetries",
             .default_value = "-1",
             .doc = "How many times one request is retried before the connector stops; -1: no limit.",
             .min = -1}),
      connector::info<S>({.name = "resilience:transientErrorDelay",
                          .doc = "KurrentDB's delay between retries of transient errors (a TimeSpan). Accepted, "
                                 "without effect: http-sink waits as the delay bounds say.",
                          .no_effect = "http-sink waits as the resilience delay bounds say"}),
      field(at([](S& s) -> std::int64_t& { return s.resilience.first.upper_limit_ms; }),
            {.name = "resilience:firstDelayBound:upperLimitMs",
             .default_value = "60000",
             .doc = "First retry phase: from the first failure of a request until this long (ms) ...",
             .min = 0}),
      field(at([](S& s) -> std::int64_t& { return s.resilience.first.delay_ms; }),
            {.name = "resilience:firstDelayBound:delayMs",
             .default_value = "5000",
             .doc = "... retry it this often (ms).",
             .min = 0,
             .max = 86400000}),
      field(at([](S& s) -> std::int64_t& { return s.resilience.second.upper_limit_ms; }),
            {.name = "resilience:secondDelayBound:upperLimitMs",
             .default_value = "3600000",
             .doc = "Second retry phase: until this long (ms) after the first failure ...",
             .min = 0}),
      field(at([](S& s) -> std::int64_t& { return s.resilience.second.delay_ms; }),
            {.name = "resilience:secondDelayBound:delayMs",
             .default_value = "600000",
             .doc = "... retry this often (ms).",
             .min = 0,
             .max = 86400000}),
      field(at([](S& s) -> std::int64_t& { return s.resilience.third.upper_limit_ms; }),
            {.name = "resilience:thirdDelayBound:upperLimitMs",
             .default_value = "-1",
             .doc = "Third retry phase: until this long (ms) after the first failure, then the connector stops; "
                    "-1: forever ...",
             .min = -1}),
      field(at([](S& s) -> std::int64_t& { return s.resilience.third.delay_ms; }),
            {.name = "resilience:thirdDelayBound:delayMs",
             .default_value = "3600000",
             .doc = "... retry this often (ms).",
             .min = 0,
             .max = 86400000}),
  });
  return table;
}

const std::vector<connector::SettingSpec>& settings_table() { return settings_schema().specs(); }

HttpSinkSettings HttpSinkSettings::from(const connector::Settings& settings) {
  return settings_schema().parse_valid(settings);
}

std::optional<std::chrono::milliseconds> parse_timespan(const std::string& text) {
  // [-][d.]hh:mm:ss[.fffffff]
  long long days = 0, hours = 0, minutes = 0, seconds = 0;
  double fraction = 0;
  std::string rest = text;
  auto take_number = [](std::string& s, long long& out) {
    std::size_t i = 0;
    while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i])) != 0) ++i;
    if (i == 0 || i > 9) return false;
    out = std::stoll(s.substr(0, i));
    s.erase(0, i);
    return true;
  };
  long long first = 0;
  if (!take_number(rest, first)) return std::nullopt;
  if (!rest.empty() && rest.front() == '.') {
    days = first;
    rest.erase(0, 1);
    if (!take_number(rest, hours)) return std::nullopt;
  } else {
    hours = first;
  }
  if (rest.empty() || rest.front() != ':') return std::nullopt;
  rest.erase(0, 1);
  if (!take_number(rest, minutes)) return std::nullopt;
  if (!rest.empty()) {
    if (rest.front() != ':') return std::nullopt;
    rest.erase(0, 1);
    if (!take_number(rest, seconds)) return std::nullopt;
    if (!rest.empty()) {
      if (rest.front() != '.' || rest.size() < 2 || rest.size() > 8) return std::nullopt;
      for (std::size_t i = 1; i < rest.size(); ++i) {
        if (std::isdigit(static_cast<unsigned char>(rest[i])) == 0) return std::nullopt;
      }
      fraction = std::stod("0" + rest);
    }
  }
  if (hours > 23 || minutes > 59 || seconds > 59) return std::nullopt;
  const long long ms =
      (((days * 24 + hours) * 60 + minutes) * 60 + seconds) * 1000 + static_cast<long long>(fraction * 1000);
  return std::chrono::milliseconds(ms);
}

bool is_header_name(const std::string& name) {
  if (name.empty()) return false;
  for (unsigned char c : name) {
    if (std::isalnum(c) != 0) continue;
    if (std::strchr("!#$%&'*+-.^_`|~", c) == nullptr || c == 0) return false;
  }
  return true;
}

namespace {

void check_dead_letter(const HttpSinkSettings& s, std::vector<connector::FieldViolation>& out) {
  if (!s.dead_letter_enabled) return;
  if (s.dead_letter_url.empty()) {
    out.push_back({"deadLetter:url", "is required when deadLetter:enabled is true"});
    return;
  }
  auto url = UrlTemplate::parse(s.dead_letter_url);
  if (!url.ok()) {
    out.push_back({"deadLetter:url", url.error().message});
  } else if (url->templated()) {
    out.push_back({"deadLetter:url", "may not hold placeholders: every dead letter goes to one URL"});
  } else if (s.dead_letter_url == s.url) {
    out.push_back({"deadLetter:url",
                   "must not be url itself: it would refuse the dead letters as it refused the "
                   "records"});
  }
}

}  // namespace

std::vector<connector::FieldViolation> check_settings(const HttpSinkSettings& s) {
  std::vector<connector::FieldViolation> out;
  if (!s.url.empty()) {
    if (auto url = UrlTemplate::parse(s.url); !url.ok()) out.push_back({"url", url.error().message});
  }
  if (!parse_timespan(s.pooled_connection_lifetime)) {
    out.push_back({"pooledConnectionLifetime",
                   "must be a TimeSpan such as 00:05:00 (hh:mm:ss), got '" + s.pooled_connection_lifetime + "'"});
  }
  for (const auto& [name, value] : s.default_headers) {
    if (!is_header_name(name)) {
      out.push_back({"defaultHeaders:" + name, "'" + name + "' is not a valid HTTP header name"});
    } else if (value.find_first_of(std::string("\r\n\0", 3)) != std::string::npos) {
      out.push_back({"defaultHeaders:" + name, "a header value may not contain line breaks"});
    }
  }
  if (s.auth_method == AuthMethod::basic && s.basic_username.empty()) {
    out.push_back({"authentication:basic:username", "is required when authentication:method is Basic"});
  }
  if (s.auth_method == AuthMethod::basic && s.basic_username.find(':') != std::string::npos) {
    out.push_back({"authentication:basic:username", "may not contain ':' (Basic authentication)"});
  }
  if (s.auth_method == AuthMethod::bearer && s.bearer_token.empty()) {
    out.push_back({"authentication:bearer:token", "is required when authentication:method is Bearer"});
  }
  check_dead_letter(s, out);
  if (s.client_certificate.has_value() != s.client_key.has_value()) {
    out.push_back({s.client_certificate ? "authentication:tls:clientKey" : "authentication:tls:clientCertificate",
                   "a client certificate needs both authentication:tls:clientCertificate and "
                   "authentication:tls:clientKey"});
  }
  return out;
}

std::vector<connector::FieldViolation> check_settings_map(const connector::Settings& settings) {
  return check_settings(HttpSinkSettings::from(settings));
}

}  // namespace sinkhost::http_sink
