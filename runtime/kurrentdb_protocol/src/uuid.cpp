#include "sinkhost/kurrentdb_protocol/uuid.hpp"

#include <cstdio>

namespace sinkhost::kurrentdb_protocol {

void format_uuid(std::int64_t most_significant_bits, std::int64_t least_significant_bits, std::string& out) {
  const auto msb = static_cast<std::uint64_t>(most_significant_bits);
  const auto lsb = static_cast<std::uint64_t>(least_significant_bits);
  char text[40];
  std::snprintf(text, sizeof text, "%08llx-%04llx-%04llx-%04llx-%012llx", static_cast<unsigned long long>(msb >> 32),
                static_cast<unsigned long long>((msb >> 16) & 0xffff), static_cast<unsigned long long>(msb & 0xffff),
                static_cast<unsigned long long>(lsb >> 48), static_cast<unsigned long long>(lsb & 0xffffffffffffULL));
  out.assign(text);
}

}  // namespace sinkhost::kurrentdb_protocol
