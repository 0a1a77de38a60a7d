#pragma once

#include <cstdint>
#include <string>

namespace sinkhost::kurrentdb_protocol {

// The text form (8-4-4-4-12 lowercase hex digits) of a UUID the protocol sends as two 64-bit
// halves (`UUID.structured`), into `out` (its storage reused). Shared by the gRPC face and the
// KurrentDB source.
void format_uuid(std::int64_t most_significant_bits, std::int64_t least_significant_bits, std::string& out);

}  // namespace sinkhost::kurrentdb_protocol
