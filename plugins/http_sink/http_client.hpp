#pragma once

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "http_settings.hpp"
#include "sinkhost/connector/record.hpp"
#include "sinkhost/connector/result.hpp"
#include "url_template.hpp"

namespace sinkhost::http_sink {

// One request as the sink sends it.
struct Request {
  std::string method;
  std::string target;
  std::vector<connector::Header> headers;
  std::string body;
};

// What came back: a status (with Retry-After and the start of the body), or a transport error
// (no status: connection refused, reset, timed out, TLS refused).
struct Response {
  int status = 0;
  std::string reason;
  std::optional<std::string> retry_after;
  std::string body;
  std::string transport_error;  // non-empty when status == 0
  bool tls_error = false;       // OpenSSL refused the handshake (certificate, protocol): permanent
};

class TlsContext;

// The TLS settings as an OpenSSL context, shared by every connection of a sink. An
// invalid_argument error names the setting whose PEM text does not load.
connector::Result<std::shared_ptr<TlsContext>> make_tls_context(const HttpSinkSettings& settings);

// One kept-alive HTTP/1.1 connection to the URL's host, used by one thread at a time. It
// reconnects when the server closed it, and after `lifetime`. Every step is bounded by the
// request timeout. stop() (from any thread) aborts what it is doing.
class Connection {
 public:
  Connection(const UrlTemplate& url, std::shared_ptr<TlsContext> tls, std::chrono::milliseconds timeout,
             std::chrono::milliseconds lifetime);
  ~Connection();
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;

  Response send(const Request& request);
  void close();
  void stop();

 private:
  struct State;
  std::unique_ptr<State> state_;
};

}  // namespace sinkhost::http_sink
