// http-sink's pure rules: URL templates, request headers, which answers are retried, the
// three-phase backoff, Retry-After and TimeSpans.
#include "http_sink/delivery_rules.hpp"

#include <gtest/gtest.h>

#include <set>

#include "http_sink/http_settings.hpp"
#include "http_sink/url_template.hpp"

namespace sinkhost::http_sink {
namespace {

using std::chrono::milliseconds;

connector::Record record(const std::string& stream, const std::string& type) {
  connector::Record r;
  r.stream_id = stream;
  r.schema_subject = type;
  r.data = R"({"n":1})";
  r.headers = {{"esdb-record-stream-id", stream}, {"esdb-record-schema-subject", type}};
  return r;
}

TEST(HttpSinkUrl, FillsPlaceholdersPerRecordPercentEncoded) {
  auto url = UrlTemplate::parse("http://hooks.example:8080/in/{stream}/{schema-subject}?type={event-type}");
  ASSERT_TRUE(url.ok()) << url.error().message;
  EXPECT_FALSE(url->tls());
  EXPECT_EQ(url->host(), "hooks.example");
  EXPECT_EQ(url->port(), "8080");
  EXPECT_EQ(url->host_header(), "hooks.example:8080");
  EXPECT_TRUE(url->templated());
  EXPECT_EQ(url->target(record("order-1", "OrderPlaced")), "/in/order-1/OrderPlaced?type=OrderPlaced");
  EXPECT_EQ(url->target(record("a/b c?$", "Type&x=1")), "/in/a%2Fb%20c%3F%24/Type%26x%3D1?type=Type%26x%3D1");
  EXPECT_EQ(url->fixed_target(), "/in/");
}

TEST(HttpSinkUrl, DefaultsPortAndPathAndKeepsQuery) {
  auto https = UrlTemplate::parse("HTTPS://api.example.com");
  ASSERT_TRUE(https.ok());
  EXPECT_TRUE(https->tls());
  EXPECT_EQ(https->port(), "443");
  EXPECT_EQ(https->host_header(), "api.example.com");
  EXPECT_EQ(https->target(record("s", "t")), "/");
  auto query = UrlTemplate::parse("http://[::1]:9000?x=1#frag");
  ASSERT_TRUE(query.ok());
  EXPECT_EQ(query->host(), "::1");
  EXPECT_EQ(query->host_header(), "[::1]:9000");
  EXPECT_EQ(query->target(record("s", "t")), "/?x=1");
  EXPECT_FALSE(query->templated());
}

TEST(HttpSinkUrl, RefusesWhatCannotBeSentNamingTheProblem) {
  auto message = [](const std::string& url) {
    auto parsed = UrlTemplate::parse(url);
    EXPECT_FALSE(parsed.ok()) << url;
    return parsed.ok() ? std::string() : parsed.error().message;
  };
  EXPECT_NE(message("http://h/{category}").find("unknown placeholder {category}"), std::string::npos);
  EXPECT_NE(message("http://h/{category}").find("{schema-subject}"), std::string::npos);
  EXPECT_NE(message("http://h/{stream").find("unclosed"), std::string::npos);
  EXPECT_NE(message("ftp://h/").find("http://"), std::string::npos);
  EXPECT_NE(message("http://{stream}.example/").find("host"), std::string::npos);
  EXPECT_NE(message("http:///path").find("no host"), std::string::npos);
  EXPECT_NE(message("http://h:99999/").find("port"), std::string::npos);
  EXPECT_NE(message("http://user:pw@h/").find("Basic"), std::string::npos);
  EXPECT_NE(message("http://h/a b").find("space"), std::string::npos);
}

TEST(HttpSinkHeaders, RecordHeadersThenDefaultsThenAuthorizationWithoutInjection) {
  HttpSinkSettings settings = HttpSinkSettings::from({{"url", "http://h/"}});
  settings.default_headers = {{"X-Team", "payments"}};
  settings.auth_method = AuthMethod::basic;
  settings.basic_username = "alice";
  settings.basic_password = "s3cret";
  auto r = record("order-1", "OrderPlaced");
  r.headers.push_back({"esdb-record-headers-note", "one\r\nX-Evil: yes"});
  r.headers.push_back({"esdb-record-headers-bad name", "dropped"});
  auto headers = request_headers(r, settings);
  std::vector<std::string> lines;
  for (const auto& h : headers) lines.push_back(h.name + ": " + h.value);
  EXPECT_EQ(lines, (std::vector<std::string>{
                       "Content-Type: application/json",
                       "esdb-record-stream-id: order-1",
                       "esdb-record-schema-subject: OrderPlaced",
                       "esdb-record-headers-note: one  X-Evil: yes",
                       "X-Team: payments",
                       "Accept-Encoding: *",
                       "Authorization: Basic YWxpY2U6czNjcmV0",
                   }));
  settings.auth_method = AuthMethod::bearer;
  settings.bearer_token = "tok";
  settings.default_headers = {{"accept-encoding", "identity"}};
  r.schema_type = connector::SchemaType::bytes;
  headers = request_headers(r, settings);
  EXPECT_EQ(headers.front().value, "application/octet-stream");
  EXPECT_EQ(headers.back().name, "Authorization");
  EXPECT_EQ(headers.back().value, "Bearer tok");
  int accept = 0;
  for (const auto& h : headers) accept += h.name == "Accept-Encoding" || h.name == "accept-encoding";
  EXPECT_EQ(accept, 1) << "defaultHeaders:Accept-Encoding replaces the default";
}

TEST(HttpSinkHeaders, Base64) {
  EXPECT_EQ(base64(""), "");
  EXPECT_EQ(base64("f"), "Zg==");
  EXPECT_EQ(base64("fo"), "Zm8=");
  EXPECT_EQ(base64("foo"), "Zm9v");
  EXPECT_EQ(base64("foob"), "Zm9vYg==");
}

TEST(HttpSinkRetry, TwoHundredsDeliverTimeoutsThrottlingAndServerErrorsRetryOtherStatusesStop) {
  for (int s : {200, 201, 202, 204, 299}) EXPECT_EQ(classify_status(s), Verdict::delivered) << s;
  for (int s : {408, 429, 500, 502, 503, 504, 599}) EXPECT_EQ(classify_status(s), Verdict::retry) << s;
  for (int s : {100, 301, 302, 400, 401, 403, 404, 405, 409, 410, 413, 415, 422}) {
    EXPECT_EQ(classify_status(s), Verdict::permanent) << s;
  }
}

TEST(HttpSinkRetry, OnlyA4xxAboutTheRecordMayGoToTheDeadLetterUrl) {
  for (int s : {400, 404, 405, 409, 410, 413, 415, 422, 499}) EXPECT_TRUE(is_record_refusal(s)) << s;
  // Credentials and URLs are the sink's, not the record's; retried answers are not refusals.
  for (int s : {200, 301, 302, 401, 403, 407, 408, 429, 500, 503}) EXPECT_FALSE(is_record_refusal(s)) << s;
}

TEST(HttpSinkRetry, ThreePhaseBackoffAsKurrentDbDefaults) {
  const auto r = HttpSinkSettings::from({}).resilience;
  EXPECT_TRUE(r.enabled);
  EXPECT_EQ(r.request_timeout_ms, 3000);
  EXPECT_EQ(next_retry_delay(r, milliseconds(0), 1), milliseconds(5000));
  EXPECT_EQ(next_retry_delay(r, milliseconds(59999), 12), milliseconds(5000));
  EXPECT_EQ(next_retry_delay(r, milliseconds(60000), 13), milliseconds(600000));
  EXPECT_EQ(next_retry_delay(r, milliseconds(3600000), 20), milliseconds(3600000));
  EXPECT_EQ(next_retry_delay(r, milliseconds(360000000), 200), milliseconds(3600000)) << "third phase: forever";

  auto limited = r;
  limited.max_retries = 2;
  EXPECT_TRUE(next_retry_delay(limited, milliseconds(0), 2).has_value());
  EXPECT_FALSE(next_retry_delay(limited, milliseconds(0), 3).has_value());
  limited = r;
  limited.third.upper_limit_ms = 7200000;
  EXPECT_FALSE(next_retry_delay(limited, milliseconds(7200000), 30).has_value());
  limited.enabled = false;
  EXPECT_FALSE(next_retry_delay(limited, milliseconds(0), 1).has_value());
}

TEST(HttpSinkRetry, RetryAfterInSecondsOrAsADate) {
  const auto now = std::chrono::system_clock::from_time_t(1445412480);  // Wed, 21 Oct 2015 07:28:00 GMT
  EXPECT_EQ(parse_retry_after("2", now), milliseconds(2000));
  EXPECT_EQ(parse_retry_after(" 0 ", now), milliseconds(0));
  EXPECT_EQ(parse_retry_after("Wed, 21 Oct 2015 07:28:30 GMT", now), milliseconds(30000));
  EXPECT_EQ(parse_retry_after("Wed, 21 Oct 2015 07:00:00 GMT", now), milliseconds(0));
  EXPECT_EQ(parse_retry_after("999999999", now), milliseconds(3600000)) << "capped at an hour";
  EXPECT_FALSE(parse_retry_after("soon", now).has_value());
  EXPECT_FALSE(parse_retry_after("-1", now).has_value());
}

TEST(HttpSinkSettingsTable, KurrentDbNamesAndDefaults) {
  auto s = HttpSinkSettings::from({{"url", "http://h/"}});
  EXPECT_EQ(s.method, "POST");
  EXPECT_EQ(s.pooled_connection_lifetime, "00:05:00");
  EXPECT_EQ(s.auth_method, AuthMethod::none);
  EXPECT_TRUE(s.verify_certificates);
  EXPECT_EQ(s.batch_max_records, 1) << "batching is off by default";
  std::set<std::string> names;
  for (const auto& spec : settings_table()) names.insert(spec.name);
  for (const char* name : {"url", "method", "defaultHeaders:", "pooledConnectionLifetime", "authentication:method",
                           "authentication:basic:username", "authentication:basic:password",
                           "authentication:bearer:token", "resilience:enabled", "resilience:requestTimeoutMs",
                           "resilience:maxRetries", "resilience:firstDelayBound:upperLimitMs",
                           "resilience:firstDelayBound:delayMs", "resilience:thirdDelayBound:delayMs"}) {
    EXPECT_TRUE(names.contains(name)) << name;
  }
  for (const auto& spec : settings_table()) {
    const bool secret = spec.name == "authentication:basic:password" || spec.name == "authentication:bearer:token" ||
                        spec.name == "authentication:tls:clientKey";
    EXPECT_EQ(spec.secret, secret) << spec.name;
  }
}

TEST(HttpSinkSettingsTable, TimeSpans) {
  EXPECT_EQ(parse_timespan("00:05:00"), milliseconds(300000));
  EXPECT_EQ(parse_timespan("1.02:03:04"), milliseconds(((26 * 60 + 3) * 60 + 4) * 1000));
  EXPECT_EQ(parse_timespan("00:00:01.5"), milliseconds(1500));
  EXPECT_EQ(parse_timespan("00:10"), milliseconds(600000));
  for (const char* bad : {"", "5", "5m", "00:60:00", "24:00:00", "00:00:00.", "a:b:c", "00:00:00:00"}) {
    EXPECT_FALSE(parse_timespan(bad).has_value()) << bad;
  }
}

}  // namespace
}  // namespace sinkhost::http_sink
