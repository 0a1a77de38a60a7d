#pragma once
// The daemon's log line formats: text (the default) and JSON lines for log shippers.

#include <memory>

#include <spdlog/formatter.h>

namespace sinkhost::daemon {

// One JSON object per line, fields in this order:
//   time       UTC, ISO 8601 with milliseconds ("2026-12-06T01:02:03.456Z")
//   level      debug, info, warning, error or critical
//   connector  the connector the line is about, when it is about one
//   message    the whole message
//   error      for warnings and errors that report a failure ("stopped: Kafka ..."), the failure:
//              the text after the message's first ": "
// Secret values are masked before formatting, as in text lines.
std::unique_ptr<spdlog::formatter> json_log_formatter();

}  // namespace sinkhost::daemon
