#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "http_settings.hpp"
#include "sinkhost/connector/record.hpp"

namespace sinkhost::http_sink {

// What an HTTP answer means for the records a request carried.
enum class Verdict {
  delivered,  // 2xx: the checkpoint may move past them
  retry,      // 408, 429, 5xx: send again after the backoff
  permanent,  // any other status: sending again cannot help; the connector stops
};

Verdict classify_status(int status);

// Whether a permanent answer is about the record (a 4xx: 400, 404, 413, 422, ...), so that it may
// go to the dead-letter URL, rather than about the sink's credentials (401, 403, 407) or URL
// (3xx), which every record would get: those stop the connector.
bool is_record_refusal(int status);

// A Retry-After value (delta-seconds or an HTTP-date) as a wait from `now`; nullopt when it
// does not parse. Never negative; capped at one hour.
std::optional<std::chrono::milliseconds> parse_retry_after(std::string_view value,
                                                           std::chrono::system_clock::time_point now);

// How long to wait before the next attempt of a request that has failed `failures` times
// (1 after the first failure), the first failure `elapsed` ago; nullopt: give up.
std::optional<std::chrono::milliseconds> next_retry_delay(const ResilienceSettings& resilience,
                                                          std::chrono::milliseconds elapsed, std::int64_t failures);

// The request headers of one record, in order: Content-Type (application/json for JSON
// records, application/octet-stream otherwise), the record's esdb-* headers (its metadata as
// esdb-record-headers-<name>), then the defaultHeaders (Accept-Encoding: * unless given), then
// Authorization. Headers whose name is not a token are left out; CR, LF and NUL in values
// become spaces, so a metadata value cannot add headers of its own.
std::vector<connector::Header> request_headers(const connector::Record& record, const HttpSinkSettings& settings);

// The Authorization header's value for the settings' authentication, or nullopt (None).
std::optional<std::string> authorization(const HttpSinkSettings& settings);

std::string base64(std::string_view bytes);

// A header value safe to send: CR, LF and NUL replaced with spaces.
std::string header_value(std::string_view value);

// At most `limit` bytes of a response body for an error message, printable, on one line.
std::string body_excerpt(std::string_view body, std::size_t limit = 512);

}  // namespace sinkhost::http_sink
