// The JavaScript record transform on its own: compiling, what the function sees, what it may
// change, dropping, errors and the time limit.
#include "sinkhost/runtime/transform.hpp"

#include <optional>
#include <thread>

#include <gtest/gtest.h>

#include "sinkhost/connector/encoding.hpp"

namespace sinkhost::runtime {
namespace {

using namespace std::chrono_literals;
using connector::Header;
using connector::Record;

Record sample_record() {
  Record r;
  r.record_id = "0f9a1f2c-5a6b-4c7d-8e9f-0a1b2c3d4e5f";
  r.stream_id = "order-7";
  r.stream_revision = 3;
  r.position = connector::LogPosition(42);
  r.schema_subject = "OrderPlaced";
  r.schema_type = connector::SchemaType::json;
  r.data = R"({"orderId":"o-7","total":12.5,"lines":[1,2]})";
  r.headers = {{"esdb-record-stream-id", "order-7"}, {"esdb-record-headers-tenant", "acme"}};
  r.key = "o-7-extracted";
  return r;
}

std::unique_ptr<RecordTransform> compiled(const std::string& source, std::chrono::milliseconds limit = 1000ms) {
  auto t = RecordTransform::compile(source, limit);
  EXPECT_TRUE(t.ok()) << (t.ok() ? "" : t.error().field_violations.at(0).description);
  return t.ok() ? std::move(t).value() : nullptr;
}

// The description of the transformer:function violation a source gets.
std::string compile_error(const std::string& source) {
  auto t = RecordTransform::compile(source, 200ms);
  if (t.ok()) return "(compiled)";
  EXPECT_EQ(t.error().code, connector::ErrorCode::invalid_argument);
  EXPECT_EQ(t.error().field_violations.size(), 1u);
  EXPECT_EQ(t.error().field_violations.at(0).field, "transformer:function");
  return t.error().field_violations.at(0).description;
}

TEST(RecordTransform, RefusesSourceThatDoesNotCompileNamingTheLineAndColumn) {
  EXPECT_EQ(compile_error("function transform(record) {\n  record.value = ;\n}"),
            "the JavaScript does not compile: SyntaxError: unexpected token in expression: ';' (line 2, column 18)");
  EXPECT_EQ(compile_error("function transform(record) {\n  const { a, b } = record.value\n  return a +;\n}"),
            "the JavaScript does not compile: SyntaxError: unexpected token in expression: ';' (line 3, column 13)");
}

TEST(RecordTransform, RefusesSourceWithoutATransformFunction) {
  const std::string expected =
      "the JavaScript defines no function named transform: write function transform(record) { ... }";
  EXPECT_EQ(compile_error("function transfrom(record) {}"), expected);
  EXPECT_EQ(compile_error("var transform = 5;"), expected);
  EXPECT_EQ(compile_error(""), expected);
}

TEST(RecordTransform, RefusesTopLevelCodeThatThrowsOrNeverEnds) {
  EXPECT_EQ(compile_error("throw new Error('no config');\nfunction transform(r) {}"),
            "the JavaScript's top-level code failed: Error: no config (line 1)");
  EXPECT_EQ(compile_error("while (true) {}\nfunction transform(r) {}"),
            "the JavaScript's top-level code failed: ran past its time limit of 200 ms");
}

TEST(RecordTransform, RefusesBase64ThatDoesNotDecode) {
  auto t = RecordTransform::compile_base64("not base64!", 200ms);
  ASSERT_FALSE(t.ok());
  EXPECT_EQ(t.error().field_violations.at(0).description, "not valid base64 (standard alphabet, RFC 4648)");
  auto good = RecordTransform::compile_base64(connector::base64_encode("function transform(r) {}"), 200ms);
  EXPECT_TRUE(good.ok());
}

TEST(RecordTransform, SeesTheRecordsFieldsHeadersValueAndKey) {
  auto t = compiled(R"(
    function transform(record) {
      record.value = {
        id: record.recordId, stream: record.position.streamId, revision: record.position.streamRevision,
        position: record.position.logPosition, subject: record.schemaInfo.subject, type: record.schemaInfo.type,
        tenant: record.headers['esdb-record-headers-tenant'], key: record.key, total: record.value.total
      };
    })");
  auto record = sample_record();
  auto verdict = t->apply(record);
  ASSERT_TRUE(verdict.ok()) << verdict.error().message;
  EXPECT_EQ(*verdict, RecordTransform::Verdict::keep);
  EXPECT_EQ(record.data,
            R"({"id":"0f9a1f2c-5a6b-4c7d-8e9f-0a1b2c3d4e5f","stream":"order-7","revision":3,"position":42,)"
            R"("subject":"OrderPlaced","type":"Json","tenant":"acme","key":"o-7-extracted","total":12.5})");
}

TEST(RecordTransform, ChangesValueHeadersAndKeyButNotThePositionOrIds) {
  auto t = compiled(R"(
    function transform(record) {
      record.value.total = record.value.total * 2;
      delete record.value.lines;
      record.headers['x-region'] = 'eu-' + record.value.orderId;
      record.headers['x-count'] = 3;
      delete record.headers['esdb-record-stream-id'];
      record.key = record.value.orderId;
      record.recordId = 'changed';
      record.position.logPosition = 1;
      record.position = null;
      record.schemaInfo = {};
    })");
  auto record = sample_record();
  ASSERT_TRUE(t->apply(record).ok());
  EXPECT_EQ(record.data, R"({"orderId":"o-7","total":25})");
  ASSERT_EQ(record.headers.size(), 3u);
  EXPECT_EQ(record.headers[0].name, "esdb-record-headers-tenant");
  EXPECT_EQ(record.headers[1].name, "x-region");
  EXPECT_EQ(record.headers[1].value, "eu-o-7");
  EXPECT_EQ(record.headers[2].name, "x-count");
  EXPECT_EQ(record.headers[2].value, "3");
  EXPECT_EQ(record.key, "o-7");
  EXPECT_EQ(record.record_id, "0f9a1f2c-5a6b-4c7d-8e9f-0a1b2c3d4e5f");
  EXPECT_EQ(record.position.value(), 42u);
  EXPECT_EQ(record.stream_id, "order-7");
  EXPECT_EQ(record.schema_subject, "OrderPlaced");
}

TEST(RecordTransform, RoutesARecordToATopicAndPartitionOfItsOwn) {
  auto t = compiled(R"(
    function transform(record) {
      if (record.value.total > 10) { record.topic = 'big-orders'; record.partition = 2; }
    })");
  auto record = sample_record();
  ASSERT_TRUE(t->apply(record).ok());
  EXPECT_EQ(record.topic, "big-orders");
  EXPECT_EQ(record.partition, 2);
  record = sample_record();
  record.data = R"({"total":1})";
  ASSERT_TRUE(t->apply(record).ok());
  EXPECT_FALSE(record.topic.has_value()) << "not set: the connector's topic";
  EXPECT_FALSE(record.partition.has_value());

  auto keys = compiled("function transform(r) { r.key = Object.keys(r).join(','); }");
  record = sample_record();
  ASSERT_TRUE(keys->apply(record).ok());
  EXPECT_EQ(record.key, "recordId,position,schemaInfo,headers,value,key") << "the record's keys stay KurrentDB's";
}

TEST(RecordTransform, ARouteOfTheWrongTypeIsAnError) {
  for (const char* body : {"r.topic = 7;", "r.topic = '';", "r.partition = -1;", "r.partition = 1.5;",
                           "r.partition = '3';", "r.partition = 4294967296;"}) {
    auto t = compiled(std::string("function transform(r) { ") + body + " }");
    auto record = sample_record();
    auto applied = t->apply(record);
    ASSERT_FALSE(applied.ok()) << body;
    EXPECT_NE(applied.error().message.find("TypeError: record."), std::string::npos) << applied.error().message;
  }
}

TEST(RecordTransform, NullOrUndefinedRemovesAHeaderOrTheKey) {
  auto t = compiled("function transform(r) { r.headers['esdb-record-stream-id'] = null; r.key = undefined; }");
  auto record = sample_record();
  ASSERT_TRUE(t->apply(record).ok());
  ASSERT_EQ(record.headers.size(), 1u);
  EXPECT_EQ(record.headers[0].name, "esdb-record-headers-tenant");
  EXPECT_FALSE(record.key.has_value());
  EXPECT_EQ(record.data, R"({"orderId":"o-7","total":12.5,"lines":[1,2]})") << "re-written as compact JSON";
}

// KurrentDB's transforms read and write the event's metadata under its own names
// (record.headers.tenant); sinkhost's earlier form, esdb-record-headers-tenant, keeps working.
TEST(RecordTransform, MetadataIsReadableAndWritableUnderItsOwnNameAsInKurrentDb) {
  auto read = compiled(
      "function transform(r) { r.value = { own: r.headers.tenant, prefixed: r.headers['esdb-record-headers-tenant'] }; "
      "}");
  auto record = sample_record();
  ASSERT_TRUE(read->apply(record).ok());
  EXPECT_EQ(record.data, R"({"own":"acme","prefixed":"acme"})");
  ASSERT_EQ(record.headers.size(), 2u) << "the own name is a view: it does not become a header of its own";
  EXPECT_EQ(record.headers[1].name, "esdb-record-headers-tenant");

  auto write_own = compiled("function transform(r) { r.headers.tenant = 'globex'; }");
  record = sample_record();
  ASSERT_TRUE(write_own->apply(record).ok());
  ASSERT_EQ(record.headers.size(), 2u);
  EXPECT_EQ(record.headers[1].name, "esdb-record-headers-tenant");
  EXPECT_EQ(record.headers[1].value, "globex");

  auto write_prefixed = compiled("function transform(r) { r.headers['esdb-record-headers-tenant'] = 'initech'; }");
  record = sample_record();
  ASSERT_TRUE(write_prefixed->apply(record).ok());
  ASSERT_EQ(record.headers.size(), 2u);
  EXPECT_EQ(record.headers[1].value, "initech");

  for (const char* removal : {"function transform(r) { delete r.headers.tenant; }",
                              "function transform(r) { delete r.headers['esdb-record-headers-tenant']; }"}) {
    SCOPED_TRACE(removal);
    auto remove = compiled(removal);
    record = sample_record();
    ASSERT_TRUE(remove->apply(record).ok());
    ASSERT_EQ(record.headers.size(), 1u) << "either name removes the entry";
    EXPECT_EQ(record.headers[0].name, "esdb-record-stream-id");
  }

  auto added = compiled("function transform(r) { r.headers.region = 'eu'; }");
  record = sample_record();
  ASSERT_TRUE(added->apply(record).ok());
  ASSERT_EQ(record.headers.size(), 3u);
  EXPECT_EQ(record.headers[2].name, "region") << "a new header keeps the name the transform gave it";
}

TEST(RecordTransform, ReturningFalseDropsTheRecordAnythingElseKeepsIt) {
  auto t = compiled("function transform(r) { return r.value.keep; }");
  for (const auto& [keep, verdict] :
       std::vector<std::pair<std::string, RecordTransform::Verdict>>{{"false", RecordTransform::Verdict::drop},
                                                                     {"true", RecordTransform::Verdict::keep},
                                                                     {"null", RecordTransform::Verdict::keep},
                                                                     {"0", RecordTransform::Verdict::keep},
                                                                     {"\"no\"", RecordTransform::Verdict::keep}}) {
    auto record = sample_record();
    record.data = R"({"keep":)" + keep + "}";
    auto result = t->apply(record);
    ASSERT_TRUE(result.ok()) << keep;
    EXPECT_EQ(*result, verdict) << "returned " << keep;
  }
}

TEST(RecordTransform, AThrowIsAnErrorWithTheMessageAndLineAndLeavesTheRecordAsItWas) {
  auto t = compiled(
      "function transform(record) {\n  record.key = 'changed';\n  throw new Error('bad order ' + "
      "record.value.orderId);\n}");
  auto record = sample_record();
  auto result = t->apply(record);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().message, "threw Error: bad order o-7 (line 3)");
  EXPECT_EQ(record.key, "o-7-extracted");
  EXPECT_EQ(record.data, sample_record().data);

  auto type_error = compiled("function transform(record) { return record.value.missing.field; }");
  auto other = sample_record();
  auto failed = type_error->apply(other);
  ASSERT_FALSE(failed.ok());
  EXPECT_NE(failed.error().message.find("threw TypeError: "), std::string::npos) << failed.error().message;
}

TEST(RecordTransform, AValueThatIsNotJsonIsAnError) {
  auto t = compiled(
      "function transform(r) { if (r.value.how === 'delete') delete r.value; else r.value = function () {}; }");
  auto record = sample_record();
  record.data = R"({"how":"delete"})";
  auto deleted = t->apply(record);
  ASSERT_FALSE(deleted.ok());
  EXPECT_EQ(deleted.error().message, "threw TypeError: record.value is undefined (return false to drop a record)");
  record.data = R"({"how":"function"})";
  auto function = t->apply(record);
  ASSERT_FALSE(function.ok());
  EXPECT_EQ(function.error().message, "threw TypeError: record.value cannot be written as JSON");
}

TEST(RecordTransform, AnEndlessLoopIsStoppedAtTheTimeLimitEvenInsideTryCatchAndTheHeapStaysUsable) {
  auto t = compiled(R"(
    function transform(record) {
      if (record.value.loop === 'plain') while (true) {}
      if (record.value.loop === 'catching') for (;;) { try { while (true) {} } catch (e) {} finally { record.key = 'x'; } }
      record.value.done = true;
    })",
                    100ms);
  for (const char* loop : {"plain", "catching"}) {
    auto record = sample_record();
    record.data = std::string(R"({"loop":")") + loop + R"("})";
    auto result = t->apply(record);
    ASSERT_FALSE(result.ok()) << loop;
    EXPECT_EQ(result.error().message, "ran past its time limit of 100 ms") << loop;
  }
  auto record = sample_record();
  record.data = R"({"loop":"no"})";
  auto result = t->apply(record);
  ASSERT_TRUE(result.ok()) << result.error().message;
  EXPECT_EQ(record.data, R"({"loop":"no","done":true})");
}

TEST(RecordTransform, RunawayMemoryIsAnErrorNotTheHostsProblem) {
  auto t = compiled("function transform(r) { var s = 'x'; while (true) s = s + s; }");
  auto record = sample_record();
  auto result = t->apply(record);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().message.rfind("threw ", 0), 0u) << result.error().message;
}

TEST(RecordTransform, AHeapFilledAcrossRecordsFailsTheRecordInsteadOfTheHost) {
  // Each record keeps a new 1 MiB string (built by doubling: a native join of a huge array
  // would spend its time inside one built-in call, where the time limit is not checked).
  // toUpperCase makes a flat copy: QuickJS keeps `block + n` as a rope that shares `block`.
  auto t = compiled(
      "var kept = [], block = 'x';\nfor (var i = 0; i < 20; i++) block += block;\n"
      "function transform(r) { kept.push((block + kept.length).toUpperCase()); }");
  std::optional<connector::Error> failure;
  for (int i = 0; i < 200 && !failure; ++i) {
    auto record = sample_record();
    auto result = t->apply(record);
    if (!result.ok()) failure = result.error();
  }
  ASSERT_TRUE(failure.has_value()) << "64 MiB hold about 64 of these strings";
  for (int i = 0; i < 3; ++i) {
    auto record = sample_record();
    auto again = t->apply(record);
    ASSERT_FALSE(again.ok()) << "the heap stays full, and every record fails cleanly";
    EXPECT_FALSE(again.error().message.empty());
  }
}

TEST(RecordTransform, ModernSyntaxAndEs2023BuiltInsWorkUnmodified) {
  // A KurrentDB-style transform as written for its ES2023 engine.
  auto t = compiled(R"(
    const tenantOf = ({ headers }) => headers['esdb-record-headers-tenant'] ?? 'none';
    let seen = 0;
    function transform(record) {
      const { orderId, lines = [], ...rest } = record.value;
      seen++;
      record.value = {
        ...rest,
        id: `${orderId}-${seen}`,
        last: lines.at(-1),
        firstSmall: lines.findLast((n) => n < 2),
        hasTotal: Object.hasOwn(rest, 'total'),
        city: record.value.address?.city ?? 'unknown',
        cloned: typeof structuredClone === 'function' ? structuredClone({ a: [1] }).a : [1],
      };
      record.headers['x-tenant'] = tenantOf(record);
      record.key = [...orderId].reverse().join('');
    })");
  auto record = sample_record();
  auto result = t->apply(record);
  ASSERT_TRUE(result.ok()) << result.error().message;
  EXPECT_EQ(record.data,
            R"({"total":12.5,"id":"o-7-1","last":2,"firstSmall":1,"hasTotal":true,"city":"unknown","cloned":[1]})");
  EXPECT_EQ(record.headers.back().name, "x-tenant");
  EXPECT_EQ(record.headers.back().value, "acme");
  EXPECT_EQ(record.key, "7-o");

  auto arrow = compiled("const transform = (record) => { record.value.arrow = true; };");
  auto other = sample_record();
  ASSERT_TRUE(arrow->apply(other).ok());
  EXPECT_EQ(other.data, R"({"orderId":"o-7","total":12.5,"lines":[1,2],"arrow":true})");
}

TEST(RecordTransform, AHugeAllocationFailsTheRecordAndTheNextRecordsRun) {
  auto t = compiled(R"(
    function transform(record) {
      if (record.value.how === 'array') record.value.big = new Array(1e9).fill(0).length;
      if (record.value.how === 'string') record.value.big = 'x'.repeat(1 << 30).length;
      if (record.value.how === 'flat') record.value.big = 'x'.repeat((1 << 30) - 1).length;
      if (record.value.how === 'catching') for (;;) { try { const a = []; for (;;) a.push({ n: 1 }); } catch (e) {} }
      record.value.done = true;
    })",
                    500ms);
  for (const char* how : {"array", "string", "flat", "catching"}) {
    auto record = sample_record();
    record.data = std::string(R"({"how":")") + how + R"("})";
    const auto started = std::chrono::steady_clock::now();
    auto result = t->apply(record);
    ASSERT_FALSE(result.ok()) << how;
    // fill() is one native call, where the time limit is not checked: the memory limit ends
    // it (about 0.25 s here; several times that in a sanitizer build on a loaded machine).
    EXPECT_LT(std::chrono::steady_clock::now() - started, 10s) << how;
    EXPECT_EQ(record.data, std::string(R"({"how":")") + how + R"("})") << "unchanged";
    auto next = sample_record();
    next.data = R"({"how":"none"})";
    auto fine = t->apply(next);
    ASSERT_TRUE(fine.ok()) << how << ": " << fine.error().message;
    EXPECT_EQ(next.data, R"({"how":"none","done":true})");
  }
  auto record = sample_record();
  record.data = R"({"how":"array"})";
  EXPECT_EQ(t->apply(record).error().message, "threw InternalError: out of memory (line 3)");
  record.data = R"({"how":"string"})";
  EXPECT_EQ(t->apply(record).error().message, "threw RangeError: invalid string length (line 4)");
  record.data = R"({"how":"catching"})";
  EXPECT_EQ(t->apply(record).error().message, "ran past its time limit of 500 ms")
      << "a script that catches its out-of-memory errors still meets the time limit";
}

TEST(RecordTransform, DeepRecursionIsAStackOverflowErrorNotACrash) {
  auto t = compiled("function down(n) { return down(n + 1) + 1; }\nfunction transform(record) { down(0); }");
  auto record = sample_record();
  auto result = t->apply(record);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().message, "threw InternalError: stack overflow (line 1)");

  // Applied on another thread than the one that compiled: the stack limit follows the thread.
  std::string message;
  std::thread([&] {
    auto other = sample_record();
    auto again = t->apply(other);
    message = again.ok() ? "(ok)" : again.error().message;
  }).join();
  EXPECT_EQ(message, "threw InternalError: stack overflow (line 1)");

  auto nested = sample_record();
  nested.data = std::string(100000, '[') + std::string(100000, ']');
  auto deep_json = compiled("function transform(r) {}")->apply(nested);
  // QuickJS parses and writes JSON without recursing on the C stack: deep nesting is fine.
  ASSERT_TRUE(deep_json.ok()) << deep_json.error().message;
  EXPECT_EQ(nested.data, std::string(100000, '[') + std::string(100000, ']'));
}

TEST(RecordTransform, TheTimeLimitCoversGettersAndToStringRunWhileReadingTheRecordBack) {
  auto t = compiled(R"(
    function transform(record) {
      record.key = { toString() { for (;;) {} } };
    })",
                    100ms);
  auto record = sample_record();
  auto result = t->apply(record);
  ASSERT_FALSE(result.ok());
  EXPECT_EQ(result.error().message, "ran past its time limit of 100 ms");
  EXPECT_EQ(record.key, "o-7-extracted");
}

TEST(RecordTransform, RecordsThatAreNotJsonPassThroughUntouched) {
  auto t = compiled("function transform(r) { throw new Error('must not run'); }");
  auto bytes = sample_record();
  bytes.schema_type = connector::SchemaType::bytes;
  bytes.data = std::string("\x00\xff binary", 9);
  auto result = t->apply(bytes);
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(*result, RecordTransform::Verdict::keep);
  EXPECT_EQ(bytes.data, std::string("\x00\xff binary", 9));

  auto broken = sample_record();
  broken.data = "{not json";
  result = t->apply(broken);
  ASSERT_TRUE(result.ok());
  EXPECT_EQ(broken.data, "{not json");
  EXPECT_EQ(broken.headers.size(), 2u);
  EXPECT_EQ(broken.key, "o-7-extracted");
}

TEST(RecordTransform, SettingsCheckNamesEachProblem) {
  using connector::Settings;
  EXPECT_TRUE(check_transform_settings({}).empty());
  auto missing = check_transform_settings(Settings{{"transformer:enabled", "true"}});
  ASSERT_EQ(missing.size(), 1u);
  EXPECT_EQ(missing[0].field, "transformer:function");
  EXPECT_EQ(missing[0].description.rfind("required when transformer:enabled is true", 0), 0u);
  auto bad = check_transform_settings(Settings{{"transformer:function", connector::base64_encode("function (")}});
  ASSERT_EQ(bad.size(), 1u) << "checked even while disabled, so a later enable cannot fail";
  EXPECT_EQ(bad[0].description.rfind("the JavaScript does not compile", 0), 0u);
  EXPECT_TRUE(
      check_transform_settings(Settings{{"transformer:enabled", "true"},
                                        {"transformer:function", connector::base64_encode("function transform(r) {}")}})
          .empty());
  auto off =
      transform_from_settings(Settings{{"transformer:function", connector::base64_encode("function transform(r) {}")}});
  ASSERT_TRUE(off.ok());
  EXPECT_EQ(off->get(), nullptr) << "not enabled: no transform";
}

}  // namespace
}  // namespace sinkhost::runtime
