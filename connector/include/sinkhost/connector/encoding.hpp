#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace sinkhost::connector {

// Standard base64 (RFC 4648, with padding): how binary event data is shown in JSON.
std::string base64_encode(std::string_view bytes);

// Milliseconds since the Unix epoch as RFC 3339 UTC with millisecond precision
// ("2023-11-14T22:13:20.123Z"), as KurrentDB writes times. The second form writes into `out`,
// reusing its storage; the calendar part is computed once per second and thread.
std::string format_rfc3339(std::int64_t epoch_ms);
void format_rfc3339(std::int64_t epoch_ms, std::string& out);

}  // namespace sinkhost::connector
