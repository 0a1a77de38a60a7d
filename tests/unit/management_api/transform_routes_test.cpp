// Transforms through the management API with logger-sink (no broker): settings checked at
// create and reconfigure, dropped records checkpointed, a failing transform stopping the
// connector before the record, and the metrics.
#include "management_api/api_fixture.hpp"
#include "sinkhost/connector/encoding.hpp"

namespace sinkhost::management_api {
namespace {

class TransformApi : public ApiTest {
 protected:
  std::string transform_settings(const std::string& file, const std::string& javascript) {
    return logger_settings(
        file, R"(, "transformer:enabled": "true", "transformer:timeout": "200", "transformer:function": ")" +
                  connector::base64_encode(javascript) + "\"");
  }
  int post(const std::string& target) { return call("POST", target, "", "").status; }
  bool position_is(const std::string& id, std::uint64_t position) {
    return eventually([&] {
      auto c = connector(id);
      return c.contains("position") && c["position"] == position;
    });
  }
  bool stopped(const std::string& id) {
    return eventually([&] { return connector(id)["state"] == "CONNECTOR_STATE_STOPPED"; });
  }
};

TEST_F(TransformApi, CreateAndReconfigureRefuseAFunctionThatCannotRunWith400) {
  auto bad_base64 =
      call("POST", "/connectors/t-sink",
           logger_settings("out.jsonl", R"(, "transformer:enabled": "true", "transformer:function": "%%%")"));
  EXPECT_EQ(bad_base64.status, 400);
  EXPECT_EQ(
      violations(bad_base64),
      (std::map<std::string, std::string>{{"transformer:function", "not valid base64 (standard alphabet, RFC 4648)"}}));

  auto syntax =
      call("POST", "/connectors/t-sink", transform_settings("out.jsonl", "function transform(r) { r.value = ; }"));
  EXPECT_EQ(syntax.status, 400);
  EXPECT_EQ(violations(syntax)["transformer:function"].rfind("the JavaScript does not compile: SyntaxError", 0), 0u)
      << syntax.body;

  auto no_function = call("POST", "/connectors/t-sink", transform_settings("out.jsonl", "function transfrom(r) {}"));
  EXPECT_EQ(no_function.status, 400);
  EXPECT_EQ(violations(no_function)["transformer:function"],
            "the JavaScript defines no function named transform: write function transform(record) { ... }");

  auto missing = call("POST", "/connectors/t-sink", logger_settings("out.jsonl", R"(, "transformer:enabled": "true")"));
  EXPECT_EQ(missing.status, 400);
  EXPECT_EQ(violations(missing).count("transformer:function"), 1u);
  EXPECT_EQ(body(call("GET", "/connectors", "", ""))["totalSize"], 0) << "nothing was created";

  auto created = call("POST", "/connectors/t-sink", transform_settings("out.jsonl", "function transform(r) {}"));
  ASSERT_EQ(created.status, 200) << created.body;
  auto reconfigure = call("PUT", "/connectors/t-sink/settings",
                          json::parse(transform_settings("out.jsonl", "function transform(r) {"))["settings"].dump());
  EXPECT_EQ(reconfigure.status, 400);
  EXPECT_EQ(violations(reconfigure).count("transformer:function"), 1u);
  auto validate = call("PUT", "/connector-plugins/logger-sink/config/validate",
                       json::parse(transform_settings("out.jsonl", "var x = 1;"))["settings"].dump());
  EXPECT_EQ(validate.status, 400);
  EXPECT_EQ(violations(validate).count("transformer:function"), 1u);
}

TEST_F(TransformApi, TransformsValuesDropsRecordsAndTheCheckpointMovesPastDroppedOnes) {
  append("order-1", "OrderPlaced", {{"n", 1}});
  append("order-1", "Heartbeat", {{"n", 2}});
  append("order-1", "OrderPlaced", {{"n", 3}});
  append("order-1", "Heartbeat", {{"n", 4}});
  auto created = call("POST", "/connectors/t-sink", transform_settings("out.jsonl", R"(
    function transform(record) {
      if (record.schemaInfo.subject === 'Heartbeat') return false;
      record.value = { number: record.value.n, doubled: record.value.n * 2 };
    })"));
  ASSERT_EQ(created.status, 200) << created.body;
  ASSERT_EQ(post("/connectors/t-sink/start"), 200);
  ASSERT_TRUE(position_is("t-sink", 4)) << connector("t-sink").dump()
                                        << "the last record was dropped, and is checkpointed";
  auto out = lines("out.jsonl");
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0]["data"], json({{"number", 1}, {"doubled", 2}}));
  EXPECT_EQ(out[1]["data"], json({{"number", 3}, {"doubled", 6}}));
  EXPECT_EQ(out[1]["position"], 3);
  auto metrics = call("GET", "/metrics", "", "").body;
  EXPECT_NE(metrics.find(R"(sinkhost_connector_records_dropped_total{connector="t-sink",type="logger-sink"} 2)"),
            std::string::npos)
      << metrics;
}

TEST_F(TransformApi, AThrowingTransformStopsTheConnectorBeforeTheRecordAndAFixedOneDeliversTheRest) {
  append("order-1", "OrderPlaced", {{"n", 1}});
  append("order-2", "OrderPlaced", {{"n", 2}});
  append("order-3", "OrderPlaced", {{"n", 3}});
  const std::string failing =
      "function transform(record) {\n  if (record.value.n === 2) throw new Error('cannot price');\n}";
  ASSERT_EQ(call("POST", "/connectors/t-sink", transform_settings("out.jsonl", failing)).status, 200);
  ASSERT_EQ(post("/connectors/t-sink/start"), 200);
  ASSERT_TRUE(stopped("t-sink")) << connector("t-sink").dump();
  auto failed = connector("t-sink");
  ASSERT_TRUE(failed.contains("errorDetails")) << failed.dump();
  EXPECT_EQ(failed["errorDetails"]["code"], "INVALID_ARGUMENT");
  EXPECT_EQ(failed["errorDetails"]["message"],
            "the transform failed on the record at log position 2 (stream 'order-2', revision 0): it threw Error: "
            "cannot price (line 2)");
  EXPECT_EQ(failed["position"], 1) << "the checkpoint stays before the record";
  EXPECT_EQ(lines("out.jsonl").size(), 1u);
  auto metrics = call("GET", "/metrics", "", "").body;
  EXPECT_NE(metrics.find(R"(sinkhost_connector_transform_errors_total{connector="t-sink",type="logger-sink"} 1)"),
            std::string::npos)
      << metrics;

  auto fixed =
      call("PUT", "/connectors/t-sink/settings",
           json::parse(transform_settings("out.jsonl", "function transform(r) { r.value.fixed = true; }"))["settings"]
               .dump());
  ASSERT_EQ(fixed.status, 200) << fixed.body;
  ASSERT_EQ(post("/connectors/t-sink/start"), 200);
  ASSERT_TRUE(position_is("t-sink", 3)) << connector("t-sink").dump();
  auto out = lines("out.jsonl");
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[1]["data"], json({{"n", 2}, {"fixed", true}}));
  EXPECT_EQ(out[2]["data"], json({{"n", 3}, {"fixed", true}}));
}

TEST_F(TransformApi, AnEndlessLoopStopsTheConnectorAtTheTimeLimit) {
  append("order-1", "OrderPlaced", {{"n", 1}});
  ASSERT_EQ(
      call("POST", "/connectors/t-sink", transform_settings("out.jsonl", "function transform(r) { while (true) {} }"))
          .status,
      200);
  ASSERT_EQ(post("/connectors/t-sink/start"), 200);
  ASSERT_TRUE(stopped("t-sink"));
  EXPECT_EQ(connector("t-sink")["errorDetails"]["message"],
            "the transform failed on the record at log position 1 (stream 'order-1', revision 0): it ran past its time "
            "limit of 200 ms");
  EXPECT_FALSE(connector("t-sink").contains("position")) << "no checkpoint: nothing was delivered";
}

}  // namespace
}  // namespace sinkhost::management_api
