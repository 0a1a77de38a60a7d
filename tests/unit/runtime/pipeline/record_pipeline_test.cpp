#include "pipeline/record_pipeline.hpp"

#include <gtest/gtest.h>

#include "../fakes.hpp"

namespace sinkhost::runtime {
namespace {

std::string b64(const std::string& text) {
  static const char* chars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  std::size_t i = 0;
  for (; i + 2 < text.size(); i += 3) {
    unsigned v = (unsigned char)text[i] << 16 | (unsigned char)text[i + 1] << 8 | (unsigned char)text[i + 2];
    for (int s = 18; s >= 0; s -= 6) out += chars[(v >> s) & 63];
  }
  if (i + 1 == text.size()) {
    unsigned v = (unsigned char)text[i] << 16;
    out += chars[(v >> 18) & 63];
    out += chars[(v >> 12) & 63];
    out += "==";
  } else if (i + 2 == text.size()) {
    unsigned v = (unsigned char)text[i] << 16 | (unsigned char)text[i + 1] << 8;
    out += chars[(v >> 18) & 63];
    out += chars[(v >> 12) & 63];
    out += chars[(v >> 6) & 63];
    out += '=';
  }
  return out;
}

SourceEvent event(std::uint64_t position, const std::string& data = R"({"n":1})") {
  SourceEvent e;
  e.position = SourcePosition{position, position};
  e.ordinal = LogPosition(position);
  e.event_id = "00000000-0000-4000-8000-000000000001";
  e.stream = "order-1";
  e.revision = 4;
  e.event_type = "OrderPlaced";
  e.data = data;
  e.metadata = R"({"tenant":"acme"})";
  e.created_ms = 1700000000000;
  return e;
}

std::unique_ptr<RecordTransform> transform(const std::string& js) {
  auto t = transform_from_settings({{"transformer:enabled", "true"}, {"transformer:function", b64(js)}});
  EXPECT_TRUE(t.ok()) << (t.ok() ? "" : t.error().message);
  return t.ok() ? std::move(t).value() : nullptr;
}

TEST(RecordPipeline, WithoutATransformBuildsTheRecordAndDispatchesIt) {
  RecordPipeline pipeline({.connector_id = "c1"});
  connector::Record r;
  auto verdict = pipeline.prepare(event(9), r);
  ASSERT_TRUE(verdict.ok());
  EXPECT_EQ(*verdict, RecordPipeline::Verdict::dispatch);
  EXPECT_EQ(r.position, LogPosition(9));
  EXPECT_EQ(r.data, R"({"n":1})");
  EXPECT_FALSE(r.key_from_transform) << "the sink extracts its own key";
  ASSERT_GE(r.headers.size(), 11u);
  EXPECT_EQ(r.headers[0].name, "esdb-connector-id");
  EXPECT_EQ(r.headers[0].value, "c1");
  EXPECT_EQ(r.headers.back().name, "esdb-record-headers-tenant");
}

TEST(RecordPipeline, ATransformSeesTheSinksKeyAndDecidesTheRecordsKeyAndValue) {
  auto shared = std::make_shared<test::FakeSink::Shared>();
  test::FakeSink sink(shared, nullptr);
  RecordPipeline pipeline({.connector_id = "c1",
                           .sink = &sink,
                           .transform = transform("function transform(r) { r.value.key = r.key; r.key = 'k2'; }")});
  connector::Record r;
  ASSERT_EQ(*pipeline.prepare(event(1), r), RecordPipeline::Verdict::dispatch);
  EXPECT_TRUE(r.key_from_transform);
  EXPECT_EQ(r.key, "k2");
  EXPECT_NE(r.data.find(R"("key":"key-of-order-1")"), std::string::npos) << r.data;
}

TEST(RecordPipeline, ADropIsASkipAndAThrowIsAnErrorNamingTheRecord) {
  auto metrics = std::make_shared<ConnectorMetrics>();
  RecordPipeline pipeline({.connector_id = "c1",
                           .transform = transform("function transform(r) { if (r.value.n === 2) return false;"
                                                  " if (r.value.n === 3) throw new Error('bad n'); }"),
                           .metrics = metrics});
  connector::Record r;
  EXPECT_EQ(*pipeline.prepare(event(1, R"({"n":1})"), r), RecordPipeline::Verdict::dispatch);
  EXPECT_EQ(*pipeline.prepare(event(2, R"({"n":2})"), r), RecordPipeline::Verdict::skip);
  auto failed = pipeline.prepare(event(3, R"({"n":3})"), r);
  ASSERT_FALSE(failed.ok());
  EXPECT_NE(failed.error().message.find("log position 3 (stream 'order-1', revision 4)"), std::string::npos)
      << failed.error().message;
  EXPECT_NE(failed.error().message.find("bad n"), std::string::npos) << failed.error().message;
  EXPECT_EQ(metrics->records_dropped.load(), 1u);
  EXPECT_EQ(metrics->transform_errors.load(), 1u);
}

TEST(RecordPipeline, ARecordBuiltAgainInTheSamePlaceKeepsItsStorage) {
  RecordPipeline pipeline({.connector_id = "c1"});
  connector::Record r;
  ASSERT_TRUE(pipeline.prepare(event(1, std::string(200, 'x')), r).ok());
  const char* data = r.data.data();
  const char* stream_header = r.headers[6].value.data();
  ASSERT_TRUE(pipeline.prepare(event(2, std::string(100, 'y')), r).ok());
  EXPECT_EQ(r.data.data(), data) << "no new allocation for a smaller value";
  EXPECT_EQ(r.headers[6].value.data(), stream_header);
  EXPECT_EQ(r.headers[8].value, "2") << "esdb-record-log-position";
}

}  // namespace
}  // namespace sinkhost::runtime
