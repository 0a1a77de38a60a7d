#include "sinkhost/connector/encoding.hpp"

#include <gtest/gtest.h>

namespace sinkhost::connector {
namespace {

TEST(Encoding, Base64IsStandardWithPadding) {
  EXPECT_EQ(base64_encode(""), "");
  EXPECT_EQ(base64_encode("f"), "Zg==");
  EXPECT_EQ(base64_encode("fo"), "Zm8=");
  EXPECT_EQ(base64_encode("foo"), "Zm9v");
  EXPECT_EQ(base64_encode(std::string("\xff\x00\x10", 3)), "/wAQ");
}

TEST(Encoding, FormatsTimesAsRfc3339UtcWithMillisecondsAcrossSecondBoundaries) {
  EXPECT_EQ(format_rfc3339(0), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(format_rfc3339(1700000000999), "2023-11-14T22:13:20.999Z");
  EXPECT_EQ(format_rfc3339(1700000001000), "2023-11-14T22:13:21.000Z") << "the next second, not a stale one";
  EXPECT_EQ(format_rfc3339(1700000000005), "2023-11-14T22:13:20.005Z");
  EXPECT_EQ(format_rfc3339(951782400000), "2000-02-29T00:00:00.000Z");
  EXPECT_EQ(format_rfc3339(-1), "1969-12-31T23:59:59.999Z");
}

}  // namespace
}  // namespace sinkhost::connector
