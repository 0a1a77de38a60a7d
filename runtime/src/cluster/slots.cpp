#include "sinkhost/runtime/cluster/slots.hpp"

namespace sinkhost::runtime::cluster {

namespace {

constexpr std::uint32_t kSeed = 0x9747b28cU;
constexpr std::uint32_t kMultiplier = 0x5bd1e995U;
constexpr int kShift = 24;

std::uint32_t byte_at(std::string_view bytes, std::size_t index) {
  return static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[index]));
}

std::uint32_t little_endian_word(std::string_view bytes, std::size_t index) {
  return byte_at(bytes, index) | (byte_at(bytes, index + 1) << 8) | (byte_at(bytes, index + 2) << 16) |
         (byte_at(bytes, index + 3) << 24);
}

}  // namespace

std::uint32_t murmur2(std::string_view bytes) {
  const std::size_t length = bytes.size();
  std::uint32_t hash = kSeed ^ static_cast<std::uint32_t>(length);
  const std::size_t whole_words = length / 4;
  for (std::size_t word = 0; word < whole_words; ++word) {
    std::uint32_t k = little_endian_word(bytes, word * 4);
    k *= kMultiplier;
    k ^= k >> kShift;
    k *= kMultiplier;
    hash *= kMultiplier;
    hash ^= k;
  }
  // The last one to three bytes.
  const std::size_t tail = whole_words * 4;
  switch (length % 4) {
    case 3: hash ^= byte_at(bytes, tail + 2) << 16; [[fallthrough]];
    case 2: hash ^= byte_at(bytes, tail + 1) << 8; [[fallthrough]];
    case 1:
      hash ^= byte_at(bytes, tail);
      hash *= kMultiplier;
      break;
    default: break;
  }
  hash ^= hash >> 13;
  hash *= kMultiplier;
  hash ^= hash >> 15;
  return hash;
}

int slot_of(std::string_view connector_id, int slots) {
  if (slots < 1) return 0;
  const std::uint32_t positive = murmur2(connector_id) & 0x7fffffffU;
  return static_cast<int>(positive % static_cast<std::uint32_t>(slots));
}

}  // namespace sinkhost::runtime::cluster
