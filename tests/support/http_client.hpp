#pragma once

#include <cstdint>
#include <map>
#include <string>

namespace sinkhost::test {

struct HttpResult {
  int status = 0;
  std::map<std::string, std::string> headers;  // names lower-cased
  std::string body;
};

// A blocking HTTP/1.1 client for tests: one connection per request.
HttpResult http_request(std::uint16_t port, const std::string& method, const std::string& target,
                        const std::string& body = "", const std::string& content_type = "application/json");

// Sends raw bytes and returns what the server answered before closing (for malformed requests).
std::string raw_request(std::uint16_t port, const std::string& bytes);

}  // namespace sinkhost::test
