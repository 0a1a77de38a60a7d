#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "sinkhost/connector/settings.hpp"
#include "sinkhost/connector/typed_settings.hpp"

namespace sinkhost::http_sink {

enum class AuthMethod { none, basic, bearer };
enum class BatchFormat { json_array, ndjson };

// KurrentDB's three-phase backoff (resilience:*): while a request keeps failing, retry every
// first.delay until first.upper_limit has passed since the first failure, then every
// second.delay until second.upper_limit, then every third.delay (until third.upper_limit, or
// forever when it is negative).
struct DelayBound {
  std::int64_t upper_limit_ms = 0;
  std::int64_t delay_ms = 0;
};

struct ResilienceSettings {
  bool enabled = true;
  std::int64_t request_timeout_ms = 0;
  std::int64_t max_retries = -1;
  DelayBound first;
  DelayBound second;
  DelayBound third;
};

// An http-sink connector's settings as the code reads them. Every field comes from a row of
// settings_schema() (http_settings.cpp), which holds its name, default, doc and checks.
struct HttpSinkSettings {
  std::string url;
  std::string method;
  std::map<std::string, std::string> default_headers;  // header name -> value
  std::string pooled_connection_lifetime;              // a .NET TimeSpan, "00:05:00"

  AuthMethod auth_method = AuthMethod::none;
  std::string basic_username;
  std::string basic_password;
  std::string bearer_token;

  std::optional<std::string> ca_certificate;
  std::optional<std::string> client_certificate;
  std::optional<std::string> client_key;
  bool verify_certificates = true;

  std::int64_t max_connections = 0;
  std::int64_t max_pending_records = 0;
  std::int64_t batch_max_records = 0;
  BatchFormat batch_format = BatchFormat::json_array;

  bool dead_letter_enabled = false;
  std::string dead_letter_url;
  std::int64_t dead_letter_max_records = 0;

  ResilienceSettings resilience;

  static HttpSinkSettings from(const connector::Settings& settings);
};

const connector::SettingsSchema<HttpSinkSettings>& settings_schema();
const std::vector<connector::SettingSpec>& settings_table();

// Rules across settings and checks of values the table cannot express (the URL, TimeSpans,
// header names, credentials the chosen authentication needs). One violation per problem.
std::vector<connector::FieldViolation> check_settings(const HttpSinkSettings& settings);
std::vector<connector::FieldViolation> check_settings_map(const connector::Settings& settings);

// A .NET TimeSpan ("00:05:00", "1.02:00:00", "00:00:30.5") as milliseconds; nullopt when it
// does not parse.
std::optional<std::chrono::milliseconds> parse_timespan(const std::string& text);

// True for an HTTP header name (an RFC 9110 token).
bool is_header_name(const std::string& name);

}  // namespace sinkhost::http_sink
