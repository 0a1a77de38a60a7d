#pragma once

#include <string>
#include <string_view>

namespace sinkhost::connector {

// Standard base64 (RFC 4648, with padding): how binary event data is shown in JSON.
std::string base64_encode(std::string_view bytes);

}  // namespace sinkhost::connector
