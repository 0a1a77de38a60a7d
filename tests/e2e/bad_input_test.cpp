// Bad input over a real socket: each gets a 400-class JSON error and the daemon keeps serving.
#include <gtest/gtest.h>

#include "e2e_helpers.hpp"

namespace sinkhost::test {
namespace {

class BadInput : public ::testing::Test {
 protected:
  void SetUp() override { host_.start(); }

  void expect_error(const HttpResult& response, int status) {
    EXPECT_EQ(response.status, status) << response.body;
    auto body = nlohmann::json::parse(response.body, nullptr, false);
    ASSERT_TRUE(body.is_object()) << "error bodies are JSON: " << response.body;
    EXPECT_TRUE(body["code"].is_number_integer());
    EXPECT_FALSE(body["message"].get<std::string>().empty());
    EXPECT_EQ(response.headers.at("content-type"), "application/json");
  }

  TempDir dir_;
  SinkhostProcess host_{dir_.path() + "/data"};
};

TEST_F(BadInput, MalformedJsonUnknownTypeAndMissingTopicAre400AndChangeNothing) {
  const auto port = host_.port();
  expect_error(http_request(port, "POST", "/connectors/my-sink", "{\"settings\": {"), 400);
  expect_error(http_request(port, "POST", "/connectors/my-sink", R"({"settings": {"instanceTypeName": "s3-sink"}})"),
               400);
  expect_error(http_request(port, "POST", "/connectors/my-sink", R"({"settings": {"instanceTypeName": "kafka-sink"}})"),
               400);
  expect_error(http_request(port, "POST", "/streams/order-1", "[{\"eventId\": 1}", "application/json"), 400);
  EXPECT_EQ(get_json(port, "/connectors")["totalSize"], 0);
  EXPECT_EQ(http_request(port, "GET", "/health").status, 200);
}

TEST_F(BadInput, BadAppendsAre4xxWithAJsonErrorAndAppendNothing) {
  const auto port = host_.port();
  const std::string id = "0f9a1f2c-5a6b-4c7d-8e9f-0a1b2c3d4e5f";
  expect_error(http_request(port, "POST", "/streams/s-1", "[{\"eventId\": \"" + id + "\"}]"), 400);  // no eventType
  expect_error(http_request(port, "POST", "/streams/s-1", "[{\"eventId\": \"not-a-uuid\", \"eventType\": \"E\"}]"),
               400);
  expect_error(http_request(port, "POST", "/streams/s-1", "[{\"eventId\": 7, \"eventType\": [\"E\"]}]"),
               400);                                                                               // wrong types
  expect_error(http_request(port, "POST", "/streams/s-1", "{\"eventId\": \"" + id + "\"}"), 400);  // not an array
  expect_error(
      http_request(port, "POST", "/streams/bad%FFname", "[{\"eventId\": \"" + id + "\", \"eventType\": \"E\"}]"), 400);
  expect_error(http_request(port, "POST", "/streams/s-1",
                            "[{\"eventId\": \"" + id + "\", \"eventType\": \"E\", \"data\": \"" +
                                std::string(2 * 1024 * 1024, 'x') + "\"}]"),
               413);
  expect_error(http_request(port, "POST", "/streams/s-1", "[1]", "text/csv"), 415);
  EXPECT_EQ(get_json(port, "/streams/$all")["headPosition"], 0) << "nothing was appended";
  EXPECT_EQ(http_request(port, "GET", "/health").status, 200);
}

TEST_F(BadInput, MalformedHttpIsAnsweredAndTheDaemonKeepsServing) {
  auto garbage = raw_request(host_.port(), "THIS IS NOT HTTP\r\n\r\n");
  EXPECT_TRUE(garbage.starts_with("HTTP/1.1 400")) << garbage;
  auto truncated = raw_request(host_.port(), "POST /streams/s-1 HTTP/1.1\r\nContent-Length: 10\r\n\r\n[");
  (void)truncated;  // the client gave up mid-body: the server must simply close
  auto oversized = raw_request(host_.port(),
                               "POST /streams/s-1 HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                               "Content-Length: 999999999\r\n\r\n[");
  EXPECT_TRUE(oversized.starts_with("HTTP/1.1 413")) << oversized;
  auto huge_header =
      raw_request(host_.port(), "GET /health HTTP/1.1\r\nX-Big: " + std::string(20000, 'a') + "\r\n\r\n");
  EXPECT_TRUE(huge_header.starts_with("HTTP/1.1 431")) << huge_header;
  EXPECT_EQ(http_request(host_.port(), "GET", "/health").status, 200);
}

}  // namespace
}  // namespace sinkhost::test
