#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
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

// http_request with extra request headers (name -> value), e.g. Authorization.
HttpResult http_request_with_headers(std::uint16_t port, const std::string& method, const std::string& target,
                                     const std::map<std::string, std::string>& headers, const std::string& body = "",
                                     const std::string& content_type = "application/json");

// The value of an Authorization header with HTTP Basic credentials: "Basic base64(name:password)".
std::string basic_authorization(const std::string& name, const std::string& password);

// One connection held open across requests (keep-alive), for tests that need connections to
// stay open: connection limits, timeouts. Throws when it cannot connect.
class HttpConnection {
 public:
  explicit HttpConnection(std::uint16_t port);
  ~HttpConnection();
  HttpConnection(const HttpConnection&) = delete;
  HttpConnection& operator=(const HttpConnection&) = delete;

  // One request on this connection; throws when the server closed it.
  HttpResult request(const std::string& method, const std::string& target,
                     const std::map<std::string, std::string>& headers = {});
  // Sends bytes as they are (a partial request, say).
  void send_raw(const std::string& bytes);
  // Everything the server sends without being asked, until it closes the connection or
  // `timeout` passes; `closed` tells which.
  std::string read_until_close(std::chrono::milliseconds timeout, bool* closed = nullptr);
  void close();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace sinkhost::test
