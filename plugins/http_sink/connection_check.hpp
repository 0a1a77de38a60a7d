#pragma once

#include <chrono>

#include "sinkhost/connector/plugin.hpp"

namespace sinkhost::http_sink {

// Tries http-sink settings (defaults applied) against the real server, sending no record:
// connect (and shake hands for https), then a HEAD request to the URL's fixed part (the part
// before the first placeholder) with the configured headers and authentication. Any answer
// below 500 other than 401, 403 and 407 counts as reachable.
connector::ConnectionCheck check_connection(const connector::Settings& settings, std::chrono::milliseconds timeout);

}  // namespace sinkhost::http_sink
