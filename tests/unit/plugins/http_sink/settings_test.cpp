// http-sink's settings through PUT /connector-plugins/http-sink/config/validate, as a user
// meets them: the 400 answers' field violations, and the warnings the resilience settings no
// longer get.
#include "management_api/api_fixture.hpp"

namespace sinkhost::management_api {
namespace {

class HttpSinkSettings : public ApiTest {
 protected:
  std::map<std::string, std::string> check(const json& settings) {
    auto response = call("PUT", "/connector-plugins/http-sink/config/validate", settings.dump());
    if (response.status == 200) return {};
    EXPECT_EQ(response.status, 400) << response.body;
    return violations(response);
  }
};

TEST_F(HttpSinkSettings, UrlIsRequiredAndItsPlaceholdersAreChecked) {
  EXPECT_TRUE(check({{"url", "http://127.0.0.1:19999/events/{stream}/{schema-subject}"}}).empty());
  EXPECT_TRUE(check(json::object()).contains("url"));
  auto v = check({{"url", "http://h/{category}"}});
  ASSERT_TRUE(v.contains("url"));
  EXPECT_NE(v["url"].find("unknown placeholder {category}"), std::string::npos) << v["url"];
  EXPECT_TRUE(check({{"url", "mailto:a@b"}}).contains("url"));
}

TEST_F(HttpSinkSettings, AuthenticationNeedsItsCredentials) {
  auto v = check({{"url", "http://h/"}, {"authentication:method", "basic"}});
  EXPECT_TRUE(v.contains("authentication:basic:username"));
  v = check({{"url", "http://h/"}, {"authentication:method", "Bearer"}});
  EXPECT_TRUE(v.contains("authentication:bearer:token"));
  EXPECT_TRUE(check({{"url", "http://h/"}, {"authentication:method", "Digest"}}).contains("authentication:method"));
}

TEST_F(HttpSinkSettings, HeadersLifetimeAndClientCertificatePairs) {
  auto v = check({{"url", "http://h/"},
                  {"defaultHeaders:Bad Name", "x"},
                  {"pooledConnectionLifetime", "5 minutes"},
                  {"authentication:tls:clientCertificate", "PEM"}});
  EXPECT_TRUE(v.contains("defaultHeaders:Bad Name"));
  EXPECT_TRUE(v.contains("pooledConnectionLifetime"));
  EXPECT_TRUE(v.contains("authentication:tls:clientKey"));
  EXPECT_TRUE(check({{"url", "http://h/"}, {"defaultHeaders:X-Api-Key", "k"}, {"method", "put"}}).empty());
}

TEST_F(HttpSinkSettings, ADeadLetterUrlIsRequiredFixedAndNotTheUrlItself) {
  EXPECT_TRUE(check({{"url", "http://h/"}, {"deadLetter:enabled", "true"}}).contains("deadLetter:url"));
  auto v = check({{"url", "http://h/"}, {"deadLetter:enabled", "true"}, {"deadLetter:url", "http://h/dl/{stream}"}});
  ASSERT_TRUE(v.contains("deadLetter:url"));
  EXPECT_NE(v["deadLetter:url"].find("placeholders"), std::string::npos) << v["deadLetter:url"];
  EXPECT_TRUE(check({{"url", "http://h/"}, {"deadLetter:enabled", "true"}, {"deadLetter:url", "http://h/"}})
                  .contains("deadLetter:url"));
  EXPECT_TRUE(check({{"url", "http://h/"}, {"deadLetter:enabled", "true"}, {"deadLetter:url", "ftp://h/"}})
                  .contains("deadLetter:url"));
  EXPECT_TRUE(check({{"url", "http://h/"}, {"deadLetter:maxRecords", "-1"}}).contains("deadLetter:maxRecords"));
  EXPECT_TRUE(
      check({{"url", "http://h/{stream}"}, {"deadLetter:enabled", "true"}, {"deadLetter:url", "http://h/dl"}}).empty());
}

TEST_F(HttpSinkSettings, ResilienceSettingsAreHttpSinksOwnWithDefaultsAndNoWarning) {
  auto response = call("PUT", "/connector-plugins/http-sink/config/validate",
                       json{{"url", "http://h/"}, {"resilience:firstDelayBound:delayMs", "250"}}.dump());
  ASSERT_EQ(response.status, 200) << response.body;
  EXPECT_EQ(response.body.find("no effect"), std::string::npos) << response.body;
  EXPECT_TRUE(check({{"url", "http://h/"}, {"resilience:maxRetries", "-2"}}).contains("resilience:maxRetries"));

  auto plugins = body(call("GET", "/connector-plugins"));
  for (const auto& plugin : plugins["items"]) {
    if (plugin["instanceTypeName"] != "http-sink") continue;
    EXPECT_EQ(plugin["aliases"], json({"HttpSink", "Kurrent.Connectors.Http.HttpSink"}));
    int listed = 0;
    for (const auto& s : plugin["settings"]) listed += s["name"] == "resilience:firstDelayBound:delayMs";
    EXPECT_EQ(listed, 1) << "a common row the plugin declares is listed once";
  }
}

}  // namespace
}  // namespace sinkhost::management_api
