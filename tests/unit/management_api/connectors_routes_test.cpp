// Every /connectors route, state transition and validation rule, in-process, with logger-sink
// writing to a file so that deliveries are visible without Kafka.
#include <set>

#include "management_api/api_fixture.hpp"

namespace sinkhost::management_api {
namespace {

class ConnectorsApi : public ApiTest {
 protected:
  void create_logger(const std::string& id, const std::string& file, const std::string& extra = "") {
    auto response = call("POST", "/connectors/" + id, logger_settings(file, extra));
    ASSERT_EQ(response.status, 200) << response.body;
  }
  int post(const std::string& target) { return call("POST", target, "", "").status; }
  bool position_is(const std::string& id, std::uint64_t position) {
    return eventually([&] {
      auto c = connector(id);
      return c.contains("position") && c["position"] == position;
    });
  }
};

TEST_F(ConnectorsApi, LoggerSinkDeliversEveryEventAndCheckpointsIt) {
  append("order-1", "OrderPlaced", {{"n", 1}});
  create_logger("log-sink", "out.jsonl");
  ASSERT_EQ(post("/connectors/log-sink/start"), 200);
  EXPECT_EQ(connector("log-sink")["state"], "CONNECTOR_STATE_RUNNING") << "start answers once the connector runs";
  append("order-2", "OrderPaid", {{"n", 2}});
  ASSERT_TRUE(position_is("log-sink", 2)) << connector("log-sink").dump();
  auto out = lines("out.jsonl");
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0]["stream"], "order-1");
  EXPECT_EQ(out[0]["data"], json({{"n", 1}}));
  EXPECT_EQ(out[1]["eventType"], "OrderPaid");
  EXPECT_EQ(out[1]["position"], 2);
}

TEST_F(ConnectorsApi, FiltersDeliverOnlyMatchingEventsAndTheCheckpointMovesPastTheOthers) {
  create_logger("filtered", "out.jsonl",
                R"(, "subscription:filter:scope": "stream", "subscription:filter:filterType": "prefix",
                   "subscription:filter:expression": "order-")");
  ASSERT_EQ(post("/connectors/filtered/start"), 200);
  append("order-1", "A");
  append("customer-1", "B");
  append("order-2", "C");
  append("invoice-1", "D");
  ASSERT_TRUE(position_is("filtered", 4)) << "the checkpoint covers the skipped events too";
  auto out = lines("out.jsonl");
  ASSERT_EQ(out.size(), 2u);
  EXPECT_EQ(out[0]["stream"], "order-1");
  EXPECT_EQ(out[1]["stream"], "order-2");
}

TEST_F(ConnectorsApi, StartAtAPositionAndResetChooseWhereDeliveryBegins) {
  for (int i = 1; i <= 5; ++i) append("s-" + std::to_string(i), "E", {{"n", i}});
  create_logger("positions", "out.jsonl");
  ASSERT_EQ(post("/connectors/positions/start/4"), 200);
  ASSERT_TRUE(position_is("positions", 5));
  auto out = lines("out.jsonl");
  ASSERT_EQ(out.size(), 2u) << "start/4 delivers 4 and 5";
  EXPECT_EQ(out[0]["position"], 4);

  EXPECT_EQ(post("/connectors/positions/reset"), 409) << "reset needs a stopped connector";
  ASSERT_EQ(post("/connectors/positions/stop"), 200);
  ASSERT_EQ(post("/connectors/positions/reset/2"), 200);
  EXPECT_EQ(connector("positions")["state"], "CONNECTOR_STATE_RUNNING")
      << "a reset starts the connector, as in KurrentDB";
  ASSERT_TRUE(position_is("positions", 5));
  out = lines("out.jsonl");
  ASSERT_EQ(out.size(), 6u);
  EXPECT_EQ(out[2]["position"], 2);

  ASSERT_EQ(post("/connectors/positions/stop"), 200);
  ASSERT_EQ(post("/connectors/positions/reset"), 200);
  EXPECT_EQ(post("/connectors/positions/start"), 409) << "already running";
  ASSERT_TRUE(position_is("positions", 5));
  EXPECT_EQ(lines("out.jsonl").size(), 11u) << "reset without a position starts from the first event";

  EXPECT_EQ(post("/connectors/positions/start/abc"), 400);
  EXPECT_EQ(post("/connectors/positions/reset/-1"), 400);
}

TEST_F(ConnectorsApi, LifecycleRefusalsAnswer409AndChangeNothing) {
  create_logger("life-sink", "out.jsonl");
  EXPECT_EQ(post("/connectors/life-sink/stop"), 200) << "stop is idempotent";
  ASSERT_EQ(post("/connectors/life-sink/start"), 200);
  auto again = call("POST", "/connectors/life-sink/start", "", "");
  EXPECT_EQ(again.status, 409);
  EXPECT_EQ(body(again)["code"], 9);
  EXPECT_EQ(call("DELETE", "/connectors/life-sink", "", "").status, 409) << "delete needs a stopped connector";
  EXPECT_EQ(post("/connectors/life-sink/reset"), 409);
  EXPECT_EQ(connector("life-sink")["state"], "CONNECTOR_STATE_RUNNING");
  ASSERT_EQ(post("/connectors/life-sink/stop"), 200);
  EXPECT_EQ(post("/connectors/life-sink/stop"), 200);
  EXPECT_EQ(connector("life-sink")["state"], "CONNECTOR_STATE_STOPPED");
}

TEST_F(ConnectorsApi, ReconfigureReplacesAllSettingsInAnyStateAndAppliesAtTheNextStart) {
  create_logger("reconf-sink", "first.jsonl", R"(, "includeHeaders": "true")");
  ASSERT_EQ(post("/connectors/reconf-sink/start"), 200);
  append("s-1", "A");
  ASSERT_TRUE(position_is("reconf-sink", 1));

  auto put = call("PUT", "/connectors/reconf-sink/settings",
                  R"({"instanceTypeName": "logger-sink", "output": "file", "path": ")" + dir_.path() +
                      R"(/second.jsonl", "autocommit:interval": "20"})");
  ASSERT_EQ(put.status, 200) << put.body;
  auto settings = body(call("GET", "/connectors/reconf-sink/settings", "", ""));
  EXPECT_FALSE(settings["settings"].contains("includeHeaders")) << "a full replacement, not a merge";
  EXPECT_TRUE(settings.contains("settingsUpdateTime"));
  append("s-1", "B");
  ASSERT_TRUE(position_is("reconf-sink", 2));
  EXPECT_EQ(lines("first.jsonl").size(), 2u) << "the running connector keeps its settings until restarted";

  ASSERT_EQ(post("/connectors/reconf-sink/stop"), 200);
  ASSERT_EQ(post("/connectors/reconf-sink/start"), 200);
  append("s-1", "C");
  ASSERT_TRUE(position_is("reconf-sink", 3));
  auto second = lines("second.jsonl");
  ASSERT_EQ(second.size(), 1u);
  EXPECT_FALSE(second[0].contains("headers"));

  auto nested = call("PUT", "/connectors/reconf-sink/configuration",
                     R"({"instanceTypeName": "logger-sink", "subscription": {"filter": {"expression": "^s-"}}})");
  ASSERT_EQ(nested.status, 200) << nested.body;
  auto configuration = body(call("GET", "/connectors/reconf-sink/configuration", "", ""));
  EXPECT_EQ(configuration["configuration"],
            json({{"instanceTypeName", "logger-sink"}, {"subscription", {{"filter", {{"expression", "^s-"}}}}}}));

  auto bad =
      call("PUT", "/connectors/reconf-sink/settings", R"({"instanceTypeName": "logger-sink", "output": "file"})");
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(violations(bad), (std::map<std::string, std::string>{{"path", "required when output is file"}}));
  EXPECT_EQ(body(call("GET", "/connectors/reconf-sink/configuration", "",
                      ""))["configuration"]["subscription"]["filter"]["expression"],
            "^s-")
      << "a refused reconfigure changes nothing";
  EXPECT_EQ(call("PUT", "/connectors/ghost-sink/settings", R"({"instanceTypeName": "logger-sink"})").status, 404);
}

TEST_F(ConnectorsApi, RenameChecksTheName) {
  create_logger("named-sink", "out.jsonl");
  ASSERT_EQ(call("PUT", "/connectors/named-sink/rename", R"({"name": "Orders to disk"})").status, 200);
  EXPECT_EQ(connector("named-sink")["name"], "Orders to disk");
  auto too_short = call("PUT", "/connectors/named-sink/rename", R"({"name": "ab"})");
  EXPECT_EQ(too_short.status, 400);
  EXPECT_EQ(violations(too_short).count("name"), 1u);
  EXPECT_EQ(call("PUT", "/connectors/named-sink/rename", R"({"title": "x"})").status, 400);
  EXPECT_EQ(connector("named-sink")["name"], "Orders to disk");
}

TEST_F(ConnectorsApi, DeleteIsSoftDropsTheCheckpointAndFreesTheId) {
  create_logger("gone-sink", "out.jsonl");
  ASSERT_EQ(post("/connectors/gone-sink/reset/3"), 200);
  EXPECT_EQ(call("DELETE", "/connectors/gone-sink", "", "").status, 409) << "the reset started it";
  ASSERT_EQ(post("/connectors/gone-sink/stop"), 200);
  ASSERT_EQ(call("DELETE", "/connectors/gone-sink", "", "").status, 200);
  EXPECT_EQ(call("GET", "/connectors/gone-sink", "", "").status, 404);
  EXPECT_EQ(post("/connectors/gone-sink/start"), 404);
  EXPECT_EQ(call("DELETE", "/connectors/gone-sink", "", "").status, 404);
  EXPECT_EQ(body(call("GET", "/connectors", "", ""))["totalSize"], 0);
  auto with_deleted = body(call("GET", "/connectors?showDeleted=true", "", ""));
  ASSERT_EQ(with_deleted["totalSize"], 1);
  EXPECT_TRUE(with_deleted["items"][0].contains("deleteTime"));
  EXPECT_FALSE(with_deleted["items"][0].contains("position")) << "deleting drops the checkpoint";

  create_logger("gone-sink", "again.jsonl");
  EXPECT_EQ(connector("gone-sink")["state"], "CONNECTOR_STATE_STOPPED") << "a deleted id can be created again";
  EXPECT_FALSE(connector("gone-sink").contains("deleteTime"));
}

TEST_F(ConnectorsApi, ListFiltersPagesAndCountsEveryMatch) {
  for (const auto* id : {"aaa-sink", "bbb-sink", "ccc-sink"}) create_logger(id, std::string(id) + ".jsonl");
  ASSERT_EQ(call("POST", "/connectors/kafka-one", kafka_settings()).status, 200);
  ASSERT_EQ(post("/connectors/bbb-sink/start"), 200);

  auto running = body(call("GET", "/connectors?state=CONNECTOR_STATE_RUNNING", "", ""));
  ASSERT_EQ(running["totalSize"], 1);
  EXPECT_EQ(running["items"][0]["connectorId"], "bbb-sink");
  EXPECT_EQ(body(call("GET", "/connectors?state=stopped", "", ""))["totalSize"], 3);
  EXPECT_EQ(body(call("GET", "/connectors?instanceTypeName=KafkaSink", "", ""))["totalSize"], 1) << "aliases work";
  auto two_ids = body(call("GET", "/connectors?connectorId=aaa-sink&connectorId=ccc-sink", "", ""));
  EXPECT_EQ(two_ids["totalSize"], 2);

  EXPECT_EQ(body(call("GET", "/connectors?instanceTypeName=Kurrent.Connectors.Kafka.KafkaSink", "", ""))["totalSize"],
            1)
      << "KurrentDB's full type name";

  auto page = body(call("GET", "/connectors?pageSize=3&page=2", "", ""));
  EXPECT_EQ(page["totalSize"], 4) << "totalSize counts every match, not the page";
  ASSERT_EQ(page["items"].size(), 1u);
  auto transcoded = body(call("GET", "/connectors?paging.pageSize=3&paging.page=2", "", ""));
  ASSERT_EQ(transcoded["items"].size(), 1u) << "KurrentDB's HTTP transcoding binds paging.page and paging.pageSize";
  EXPECT_EQ(transcoded["items"][0]["connectorId"], page["items"][0]["connectorId"]);
  EXPECT_EQ(call("GET", "/connectors?paging.pageSize=101", "", "").status, 400);

  auto configured = body(call("GET", "/connectors?connectorId=aaa-sink&includeConfiguration=true", "", ""));
  ASSERT_EQ(configured["items"].size(), 1u);
  EXPECT_EQ(configured["items"][0]["configuration"]["instanceTypeName"], "logger-sink");
  EXPECT_FALSE(configured["items"][0].contains("settings")) << "the flat form only with includeSettings";
  EXPECT_EQ(page["items"][0]["connectorId"], "kafka-one") << "in creation order";
  EXPECT_FALSE(page["items"][0].contains("settings"));
  EXPECT_TRUE(body(call("GET", "/connectors?includeSettings=true&connectorId=aaa-sink", "", ""))["items"][0].contains(
      "settings"));

  auto bad = call("GET", "/connectors?state=SLEEPING&pageSize=101&page=0&includeSettings=maybe&color=red", "", "");
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(violations(bad).size(), 5u);
  ASSERT_EQ(post("/connectors/bbb-sink/stop"), 200);
}

TEST_F(ConnectorsApi, AFailedRunEndsStoppedWithErrorDetailsThatTheNextStopClears) {
  create_logger("fail-sink", "missing-dir/out.jsonl");
  ASSERT_EQ(post("/connectors/fail-sink/start"), 200);
  auto failed = connector("fail-sink");
  EXPECT_EQ(failed["state"], "CONNECTOR_STATE_STOPPED");
  ASSERT_TRUE(failed.contains("errorDetails"));
  EXPECT_EQ(failed["errorDetails"]["code"], "UNAVAILABLE");
  EXPECT_NE(failed["errorDetails"]["message"].get<std::string>().find("cannot open"), std::string::npos);
  ASSERT_EQ(post("/connectors/fail-sink/stop"), 200);
  EXPECT_FALSE(connector("fail-sink").contains("errorDetails"));
}

TEST_F(ConnectorsApi, PluginsListTheirSettingsAndValidateWithoutCreating) {
  auto plugins = body(call("GET", "/connector-plugins", "", ""));
  ASSERT_EQ(plugins["totalSize"], 3);  // http-sink, kafka-sink, logger-sink
  const auto& kafka = plugins["items"][1];
  EXPECT_EQ(kafka["instanceTypeName"], "kafka-sink");
  EXPECT_EQ(kafka["aliases"],
            json({"KafkaSink", "Kurrent.Connectors.Kafka.KafkaSink", "EventStore.Connectors.Kafka.KafkaSink"}));
  bool has_topic = false;
  for (const auto& s : kafka["settings"]) has_topic |= s["name"] == "topic" && s["required"] == true;
  EXPECT_TRUE(has_topic);

  auto ok = call("PUT", "/connector-plugins/KafkaSink/config/validate", R"({"topic": "orders"})");
  ASSERT_EQ(ok.status, 200) << ok.body;
  EXPECT_EQ(body(ok)["valid"], true);
  EXPECT_EQ(body(ok)["settings"]["instanceTypeName"], "kafka-sink");
  auto bad = call("PUT", "/connector-plugins/kafka-sink/config/validate", R"({"topik": "orders"})");
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(violations(bad).size(), 2u) << "unknown topik, missing topic";
  EXPECT_EQ(call("PUT", "/connector-plugins/nope-sink/config/validate", "{}").status, 404);
  EXPECT_EQ(body(call("GET", "/connectors", "", ""))["totalSize"], 0) << "validate creates nothing";
}

TEST_F(ConnectorsApi, MetricsCountDeliveriesAndShowLagAndState) {
  append("s-1", "A");
  append("s-1", "B");
  create_logger("metric-sink", "out.jsonl");
  ASSERT_EQ(post("/connectors/metric-sink/start"), 200);
  ASSERT_TRUE(position_is("metric-sink", 2));
  auto text = call("GET", "/metrics", "", "").body;
  EXPECT_NE(text.find("sinkhost_connector_records_delivered_total{connector=\"metric-sink\",type=\"logger-sink\"} 2"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("sinkhost_connector_lag_events{connector=\"metric-sink\",type=\"logger-sink\"} 0"),
            std::string::npos);
  EXPECT_NE(text.find("sinkhost_connector_state{connector=\"metric-sink\",type=\"logger-sink\",state=\"CONNECTOR_STATE_"
                      "RUNNING\"} 1"),
            std::string::npos);
  EXPECT_NE(text.find("sinkhost_connector_delivery_latency_seconds_count{connector=\"metric-sink\"} 2"),
            std::string::npos);
  EXPECT_NE(text.find("sinkhost_event_log_head_position 2"), std::string::npos);
  // The same under KurrentDB's names, for dashboards built on them.
  EXPECT_NE(text.find("kurrent_connector_active_total 1"), std::string::npos) << text;
  EXPECT_NE(text.find("kurrent_sink_written_total_records_count{connector=\"metric-sink\"} 2"), std::string::npos);
  EXPECT_NE(text.find("kurrent_sink_errors_total{connector=\"metric-sink\",type=\"logger-sink\"} 0"),
            std::string::npos);
  EXPECT_NE(text.find("kurrent_sink_write_latency_s_count{connector=\"metric-sink\"} 2"), std::string::npos);
  EXPECT_NE(text.find("messaging_kurrent_consumer_message_count{connector=\"metric-sink\",type=\"logger-sink\"} 2"),
            std::string::npos);
  EXPECT_NE(text.find("messaging_kurrent_consumer_lag{connector=\"metric-sink\",type=\"logger-sink\"} 0"),
            std::string::npos);
}

TEST_F(ConnectorsApi, ReadyOnceConnectorsAreRestored) {
  EXPECT_EQ(call("GET", "/ready", "", "").status, 503);
  ASSERT_TRUE(service_->restore().ok());
  EXPECT_EQ(call("GET", "/ready", "", "").status, 200);
}

TEST_F(ConnectorsApi, RunningConnectorsRunAgainAfterARestartFromTheirCheckpoints) {
  append("s-1", "A");
  create_logger("keep-sink", "out.jsonl");
  create_logger("idle-sink", "idle.jsonl");
  ASSERT_EQ(post("/connectors/keep-sink/start"), 200);
  ASSERT_TRUE(position_is("keep-sink", 1));

  // A new host on the same data directory.
  api_.reset();
  service_.reset();
  service_ = std::make_unique<runtime::ConnectorService>(*log_, *store_, plugins_);
  api_ = std::make_unique<Api>(*log_, *service_, ApiOptions{.version = "test"});
  ASSERT_TRUE(service_->restore().ok());
  EXPECT_EQ(connector("keep-sink")["state"], "CONNECTOR_STATE_RUNNING");
  EXPECT_EQ(connector("keep-sink")["position"], 1);
  EXPECT_EQ(connector("idle-sink")["state"], "CONNECTOR_STATE_STOPPED");
  append("s-1", "B");
  ASSERT_TRUE(position_is("keep-sink", 2));
  auto out = lines("out.jsonl");
  ASSERT_EQ(out.size(), 2u) << "resumed after its checkpoint: nothing sent twice";
  EXPECT_EQ(out[1]["eventType"], "B");
}

TEST_F(ConnectorsApi, UnknownConnectorsAnswer404OnEveryRoute) {
  for (auto [method, target] :
       std::vector<std::pair<std::string, std::string>>{{"GET", "/connectors/ghost-sink"},
                                                        {"DELETE", "/connectors/ghost-sink"},
                                                        {"GET", "/connectors/ghost-sink/settings"},
                                                        {"GET", "/connectors/ghost-sink/configuration"},
                                                        {"POST", "/connectors/ghost-sink/start"},
                                                        {"POST", "/connectors/ghost-sink/start/3"},
                                                        {"POST", "/connectors/ghost-sink/stop"},
                                                        {"POST", "/connectors/ghost-sink/reset"},
                                                        {"POST", "/connectors/ghost-sink/reset/3"}}) {
    auto response = call(method, target, "", "");
    EXPECT_EQ(response.status, 404) << method << " " << target;
    EXPECT_EQ(body(response)["code"], 5);
  }
  EXPECT_EQ(call("PUT", "/connectors/ghost-sink/rename", R"({"name": "ghost"})").status, 404);
}

TEST_F(ConnectorsApi, KurrentDbSettingsWithoutEffectHereAreAcceptedWithAWarning) {
  auto created =
      call("POST", "/connectors/kdb-sink",
           logger_settings("out.jsonl", R"(, "Resilience:Enabled": "true", "resilience:firstDelayBound:delayMs": "5000",
                                                       "subscription:nodeAffinity": "Leader", "configuration": "e30=")"));
  ASSERT_EQ(created.status, 200) << created.body;
  const auto answer = body(created);
  std::set<std::string> warned;
  for (const auto& w : answer["warnings"]) {
    warned.insert(w["field"].get<std::string>());
    EXPECT_NE(w["description"].get<std::string>().find("no effect here"), std::string::npos) << w;
  }
  EXPECT_EQ(warned, (std::set<std::string>{"resilience:enabled", "resilience:firstDelayBound:delayMs",
                                           "subscription:nodeAffinity", "configuration"}));
  auto plain = call("PUT", "/connectors/kdb-sink/settings", R"({"instanceTypeName": "logger-sink"})");
  ASSERT_EQ(plain.status, 200);
  EXPECT_EQ(plain.body, "{}") << "nothing to warn about: KurrentDB's empty answer";
  EXPECT_EQ(call("PUT", "/connectors/kdb-sink/settings",
                 R"({"instanceTypeName": "logger-sink", "subscription:nodeAffinity": "Anywhere"})")
                .status,
            400)
      << "accepted keys are still checked";
}

TEST_F(ConnectorsApi, AnUnknownSettingNamesTheClosestKnownOneAndChangesNothing) {
  auto typo =
      call("POST", "/connectors/typo-sink", R"({"settings": {"instanceTypeName": "kafka-sink", "topik": "t"}})");
  ASSERT_EQ(typo.status, 400);
  auto v = violations(typo);
  ASSERT_EQ(v.count("topik"), 1u);
  EXPECT_NE(v["topik"].find("did you mean 'topic'?"), std::string::npos) << v["topik"];
  EXPECT_EQ(call("GET", "/connectors/typo-sink", "", "").status, 404);
  auto far = call("POST", "/connectors/typo-sink", R"({"settings": {"instanceTypeName": "kafka-sink", "topic": "t",
                                                                    "zzzzzzzzzz": "1"}})");
  EXPECT_EQ(violations(far)["zzzzzzzzzz"].find("did you mean"), std::string::npos)
      << "no suggestion when nothing is close";
}

TEST_F(ConnectorsApi, LoggerSinkLeavesTheDataOutWithIncludeRecordDataFalse) {
  append("s-1", "E", {{"n", 1}});
  create_logger("nodata-sink", "out.jsonl", R"(, "includeRecordData": "false")");
  ASSERT_EQ(post("/connectors/nodata-sink/start"), 200);
  ASSERT_TRUE(position_is("nodata-sink", 1));
  auto out = lines("out.jsonl");
  ASSERT_EQ(out.size(), 1u);
  EXPECT_FALSE(out[0].contains("data"));
  EXPECT_EQ(out[0]["stream"], "s-1");
}

}  // namespace
}  // namespace sinkhost::management_api
