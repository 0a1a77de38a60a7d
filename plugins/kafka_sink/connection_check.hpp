#pragma once

#include <chrono>

#include "sinkhost/connector/plugin.hpp"

namespace sinkhost::kafka_sink {

// Tries kafka-sink settings (defaults applied) against the real brokers, producing nothing:
// configure the client, connect, authenticate, list the topics the credentials can see, and
// find the configured topic. Stops at the first step that fails, saying why.
connector::ConnectionCheck check_connection(const connector::Settings& settings, std::chrono::milliseconds timeout);

}  // namespace sinkhost::kafka_sink
