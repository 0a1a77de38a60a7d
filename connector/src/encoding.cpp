#include "sinkhost/connector/encoding.hpp"

#include <climits>
#include <cstdint>
#include <ctime>

namespace sinkhost::connector {

namespace {

void digits(unsigned value, int count, char* out) {
  for (int i = count - 1; i >= 0; --i, value /= 10) out[i] = static_cast<char>('0' + value % 10);
}

}  // namespace

void format_rfc3339(std::int64_t epoch_ms, std::string& out) {
  struct Cache {
    std::int64_t second = INT64_MIN;
    char text[24];
  };
  thread_local Cache cache;
  std::int64_t second = epoch_ms >= 0 ? epoch_ms / 1000 : (epoch_ms - 999) / 1000;
  if (second != cache.second) {
    std::time_t t = static_cast<std::time_t>(second);
    std::tm utc{};
    gmtime_r(&t, &utc);
    digits(static_cast<unsigned>(utc.tm_year + 1900), 4, cache.text);
    cache.text[4] = '-';
    digits(static_cast<unsigned>(utc.tm_mon + 1), 2, cache.text + 5);
    cache.text[7] = '-';
    digits(static_cast<unsigned>(utc.tm_mday), 2, cache.text + 8);
    cache.text[10] = 'T';
    digits(static_cast<unsigned>(utc.tm_hour), 2, cache.text + 11);
    cache.text[13] = ':';
    digits(static_cast<unsigned>(utc.tm_min), 2, cache.text + 14);
    cache.text[16] = ':';
    digits(static_cast<unsigned>(utc.tm_sec), 2, cache.text + 17);
    cache.text[19] = '.';
    cache.text[23] = 'Z';
    cache.second = second;
  }
  digits(static_cast<unsigned>(epoch_ms - second * 1000), 3, cache.text + 20);
  out.assign(cache.text, sizeof cache.text);
}

std::string format_rfc3339(std::int64_t epoch_ms) {
  std::string out;
  format_rfc3339(epoch_ms, out);
  return out;
}

std::string base64_encode(std::string_view bytes) {
  static constexpr char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  std::uint32_t buffer = 0;
  int bits = 0;
  for (unsigned char c : bytes) {
    buffer = (buffer << 8) | c;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out.push_back(alphabet[(buffer >> bits) & 63]);
    }
  }
  if (bits > 0) out.push_back(alphabet[(buffer << (6 - bits)) & 63]);
  while (out.size() % 4 != 0) out.push_back('=');
  return out;
}

}  // namespace sinkhost::connector
