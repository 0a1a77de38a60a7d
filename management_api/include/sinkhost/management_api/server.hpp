#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "sinkhost/connector/result.hpp"
#include "sinkhost/management_api/http.hpp"

namespace sinkhost::management_api {

// The HTTP/1.1 server (Boost.Beast). Beast stays inside server.cpp: this header is cheap to
// include.
class HttpServer {
 public:
  using Handler = std::function<HttpResponse(const HttpRequest&)>;

  struct Options {
    std::string host = "127.0.0.1";
    std::uint16_t port = 2113;                  // 0: any free port (see port())
    std::size_t body_limit = 16 * 1024 * 1024;  // larger bodies get 413
    std::size_t header_limit = 16 * 1024;       // larger headers get 431
    std::chrono::seconds io_timeout{30};        // a request must arrive (and a response leave) within this
    std::size_t handler_threads = 4;            // routes may block (a stop waits for a flush)
    // HTTPS only when both are set: PEM files (the certificate file may hold the chain, the key
    // must not be encrypted). TLS 1.2 or later; the handshake runs under io_timeout.
    std::string tls_cert_file;
    std::string tls_key_file;
    // Connections served at once. Past it a new connection is answered 503 (google.rpc.Status
    // UNAVAILABLE, "too many connections") and closed; the connections being served go on.
    std::size_t max_connections = 1000;
  };

  HttpServer(Handler handler, Options options);
  ~HttpServer();

  // Loads the TLS certificate and key (when set), binds and listens; fails with a clear message
  // when a file cannot be used or the address is taken.
  connector::Result<void> listen();
  bool https() const;
  std::uint16_t port() const;

  // Serves until SIGINT or SIGTERM arrives, or stop() is called.
  void run();
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace sinkhost::management_api
