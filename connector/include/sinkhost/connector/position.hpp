#pragma once

#include <compare>
#include <cstdint>

namespace sinkhost::connector {

// A place in the event log's global order. The first event has position 1; positions strictly
// increase with every appended event. Position 0 means "before the first event".
class LogPosition {
 public:
  constexpr LogPosition() = default;
  constexpr explicit LogPosition(std::uint64_t value) : value_(value) {}

  [[nodiscard]] constexpr std::uint64_t value() const { return value_; }
  [[nodiscard]] constexpr LogPosition next() const { return LogPosition(value_ + 1); }

  constexpr auto operator<=>(const LogPosition&) const = default;

 private:
  std::uint64_t value_ = 0;
};

}  // namespace sinkhost::connector
