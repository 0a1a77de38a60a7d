#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <string_view>

#include "sinkhost/management_api/http.hpp"

namespace sinkhost::management_api {

// The limits the server applies while it reads a request (HttpServer::Options has the same).
struct WireLimits {
  std::size_t body_limit = 16 * 1024 * 1024;  // larger bodies get 413
  std::size_t header_limit = 16 * 1024;       // larger headers get 431
};

// The server's request path without a socket: parses `bytes` as the requests one connection
// sends (keep-alive and pipelining included) with the parser, limits and conversions
// HttpServer uses, calls `handler` on each request as the server does (an exception becomes a
// 500), and returns the bytes the server would write back. Stops after a response that closes
// the connection, after a malformed request (answered as the server answers it), or at bytes
// that do not complete a request (where the server would wait for more). For fuzzing and tests.
std::string serve_bytes(std::string_view bytes, const std::function<HttpResponse(const HttpRequest&)>& handler,
                        const WireLimits& limits = {});

}  // namespace sinkhost::management_api
