// The management API's routes, called in-process with the real event log, state store and the
// plugins from the build tree (no sockets, no Kafka).
#include "management_api/api_fixture.hpp"

namespace sinkhost::management_api {
namespace {

TEST_F(ApiTest, HealthAnswersOk) {
  auto response = call("GET", "/health", "", "");
  EXPECT_EQ(response.status, 200);
  EXPECT_EQ(body(response)["status"], "ok");
}

TEST_F(ApiTest, AppendStoresTheBatchAndPointsAtTheFirstEvent) {
  auto events = json::array(
      {{{"eventId", kEventId}, {"eventType", "OrderPlaced"}, {"data", {{"id", 1}}}},
       {{"eventId", kEventId}, {"eventType", "OrderPaid"}, {"data", {{"id", 1}}}, {"metadata", {{"tenant", "acme"}}}}});
  auto response = call("POST", "/streams/order-1", events.dump(), "application/vnd.eventstore.events+json");
  ASSERT_EQ(response.status, 201) << response.body;
  EXPECT_EQ(body(response)["firstPosition"], 1);
  EXPECT_EQ(body(response)["lastPosition"], 2);
  EXPECT_EQ(response.headers, (std::vector<std::pair<std::string, std::string>>{{"Location", "/streams/order-1/0"}}));
  EXPECT_EQ(log_->head(), runtime::LogPosition(2));

  auto more = json::array({{{"eventId", "3f9a1f2c-5a6b-4c7d-8e9f-0a1b2c3d4e5f"}, {"eventType", "OrderShipped"}}});
  auto plain_json = call("POST", "/streams/order-1", more.dump(), "application/json; charset=utf-8");
  ASSERT_EQ(plain_json.status, 201);
  EXPECT_EQ(plain_json.headers[0].second, "/streams/order-1/2");
}

TEST_F(ApiTest, AppendRefusesBadInputAndStoresNothing) {
  auto bad_json = call("POST", "/streams/s-1", "[{\"eventId\":", "application/json");
  EXPECT_EQ(bad_json.status, 400);
  EXPECT_EQ(body(bad_json)["code"], 3);

  auto bad_event = call("POST", "/streams/s-1",
                        json::array({{{"eventId", kEventId}, {"eventType", "Ok"}},
                                     {{"eventId", "not-a-uuid"}, {"eventType", ""}, {"metadata", 5}}})
                            .dump());
  EXPECT_EQ(bad_event.status, 400);
  EXPECT_EQ(violations(bad_event), (std::map<std::string, std::string>{
                                       {"[1].eventId", "required: a UUID such as 0f9a1f2c-5a6b-4c7d-8e9f-0a1b2c3d4e5f"},
                                       {"[1].eventType", "required: a non-empty string"},
                                       {"[1].metadata", "must be a JSON object"}}));

  EXPECT_EQ(call("POST", "/streams/s-1", "[]").status, 400);
  EXPECT_EQ(call("POST", "/streams/s-1", "{}").status, 400);
  EXPECT_EQ(call("POST", "/streams/s-1", "[1]", "text/plain").status, 415);
  EXPECT_EQ(call("POST", "/streams/s-1", std::string(200, '[') + std::string(200, ']')).status, 400);
  auto one_event = json::array({{{"eventId", kEventId}, {"eventType", "X"}}}).dump();
  auto injected = call("POST", "/streams/a%0D%0ALocation:%20evil", one_event);
  EXPECT_EQ(injected.status, 400) << "control characters in a stream name could split headers";
  EXPECT_EQ(violations(injected).count("stream"), 1u);
  EXPECT_EQ(call("POST", "/streams/" + std::string(1025, 's'), one_event).status, 400);
  auto system = call("POST", "/streams/$system", json::array({{{"eventId", kEventId}, {"eventType", "X"}}}).dump());
  EXPECT_EQ(system.status, 403);
  EXPECT_EQ(log_->head(), runtime::LogPosition(0)) << "no bad request may append anything";
}

TEST_F(ApiTest, SingleEventFormStoresTheBodyAsItIs) {
  HttpRequest request{
      .method = "POST", .target = "/streams/blob-1", .headers = {}, .body = std::string{'\0', '\x01', 'b', 'i', 'n'}};
  request.headers = {{"content-type", "application/octet-stream"}, {"es-eventtype", "Blob"}, {"es-eventid", kEventId}};
  auto response = api_->handle(request);
  ASSERT_EQ(response.status, 201) << response.body;

  HttpRequest json_event{.method = "POST", .target = "/streams/doc-1", .headers = {}, .body = R"({"b": 2,  "a": 1})"};
  json_event.headers = {{"content-type", "application/json"},
                        {"es-eventtype", "Doc"},
                        {"es-eventid", "1f9a1f2c-5a6b-4c7d-8e9f-0a1b2c3d4e5f"}};
  ASSERT_EQ(api_->handle(json_event).status, 201);

  auto all = body(call("GET", "/streams/$all", "", ""));
  ASSERT_EQ(all["events"].size(), 2u);
  EXPECT_EQ(all["events"][0]["contentType"], "application/octet-stream");
  EXPECT_EQ(all["events"][0]["dataBase64"], "AAFiaW4=");
  EXPECT_EQ(all["events"][0]["eventType"], "Blob");
  EXPECT_EQ(all["events"][1]["contentType"], "application/json");
  EXPECT_EQ(all["events"][1]["data"], json({{"a", 1}, {"b", 2}}));

  auto reader = log_->open_reader();
  auto stored = (*reader)->read_all(runtime::LogPosition(2), 1);
  EXPECT_EQ((*stored)[0].data, R"({"b": 2,  "a": 1})") << "the single-event body is stored byte for byte";

  json_event.headers["es-eventid"] = "nope";
  json_event.body = "{not json";
  auto bad = api_->handle(json_event);
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(violations(bad).size(), 2u) << "bad ES-EventId and a body that is not the JSON Content-Type promises";
}

TEST_F(ApiTest, ExpectedVersionMismatchIs409WithTheCurrentVersion) {
  auto batch = [](const char* id) { return json::array({{{"eventId", id}, {"eventType", "E"}}}).dump(); };
  HttpRequest request{.method = "POST", .target = "/streams/s-1", .headers = {}, .body = batch(kEventId)};
  request.headers = {{"content-type", "application/json"}, {"es-expectedversion", "-1"}};
  ASSERT_EQ(api_->handle(request).status, 201);

  request.body = batch("2f9a1f2c-5a6b-4c7d-8e9f-0a1b2c3d4e5f");
  auto conflict = api_->handle(request);
  EXPECT_EQ(conflict.status, 409);
  EXPECT_EQ(body(conflict)["code"], 9);
  EXPECT_NE(body(conflict)["message"].get<std::string>().find("is at 0"), std::string::npos) << conflict.body;
  EXPECT_EQ(conflict.headers, (std::vector<std::pair<std::string, std::string>>{{"ES-CurrentVersion", "0"}}));

  request.headers["es-expectedversion"] = "0";
  EXPECT_EQ(api_->handle(request).status, 201);
  request.headers["es-expectedversion"] = "-3";
  EXPECT_EQ(api_->handle(request).status, 400);
  request.headers["es-expectedversion"] = "one";
  EXPECT_EQ(api_->handle(request).status, 400);
  EXPECT_EQ(log_->head(), runtime::LogPosition(2));
}

TEST_F(ApiTest, ReSendingTheSameBatchSucceedsWithoutDuplicates) {
  auto events = json::array({{{"eventId", kEventId}, {"eventType", "E"}, {"data", 1}},
                             {{"eventId", "2f9a1f2c-5a6b-4c7d-8e9f-0a1b2c3d4e5f"}, {"eventType", "E"}, {"data", 2}}})
                    .dump();
  auto first = call("POST", "/streams/s-1", events);
  auto again = call("POST", "/streams/s-1", events);
  ASSERT_EQ(first.status, 201);
  ASSERT_EQ(again.status, 201);
  EXPECT_EQ(first.headers, again.headers) << "the same Location";
  EXPECT_EQ(log_->head(), runtime::LogPosition(2));
}

TEST_F(ApiTest, ReadsStreamsAndTheWholeLogInBothDirections) {
  for (int i = 0; i < 5; ++i) {
    char id[40];
    std::snprintf(id, sizeof id, "00000000-0000-4000-8000-%012d", i);
    auto stream = i % 2 == 0 ? "even-1" : "odd-1";
    ASSERT_EQ(
        call(
            "POST", std::string("/streams/") + stream,
            json::array({{{"eventId", id}, {"eventType", "N"}, {"data", {{"n", i}}}, {"metadata", {{"m", i}}}}}).dump())
            .status,
        201);
  }
  auto forward = body(call("GET", "/streams/even-1?count=2", "", ""));
  EXPECT_EQ(forward["stream"], "even-1");
  EXPECT_EQ(forward["lastRevision"], 2);
  ASSERT_EQ(forward["events"].size(), 2u);
  EXPECT_EQ(forward["events"][0]["data"], json({{"n", 0}}));
  EXPECT_EQ(forward["events"][0]["metadata"], json({{"m", 0}}));
  EXPECT_EQ(forward["events"][0]["revision"], 0);
  EXPECT_EQ(forward["events"][0]["position"], 1);
  EXPECT_EQ(forward["events"][1]["position"], 3);
  EXPECT_EQ(forward["nextFrom"], 2);

  auto rest = body(call("GET", "/streams/even-1?from=2&count=2", "", ""));
  ASSERT_EQ(rest["events"].size(), 1u);
  EXPECT_EQ(rest["nextFrom"], nullptr);

  auto backward = body(call("GET", "/streams/even-1?direction=backward", "", ""));
  ASSERT_EQ(backward["events"].size(), 3u);
  EXPECT_EQ(backward["events"][0]["revision"], 2);
  EXPECT_EQ(backward["events"][2]["revision"], 0);

  auto all = body(call("GET", "/streams/$all?from=2&count=2", "", ""));
  EXPECT_EQ(all["headPosition"], 5);
  ASSERT_EQ(all["events"].size(), 2u);
  EXPECT_EQ(all["events"][0]["position"], 2);
  EXPECT_EQ(all["events"][0]["stream"], "odd-1");
  EXPECT_EQ(all["nextFrom"], 4);
  auto all_backward = body(call("GET", "/streams/%24all?direction=backward&count=10", "", ""));
  ASSERT_EQ(all_backward["events"].size(), 5u);
  EXPECT_EQ(all_backward["events"][0]["position"], 5);

  EXPECT_EQ(call("GET", "/streams/missing-1", "", "").status, 404);
  auto bad = call("GET", "/streams/even-1?count=0&direction=up&from=-1", "", "");
  EXPECT_EQ(bad.status, 400);
  EXPECT_EQ(violations(bad).size(), 3u);
}

// The KurrentDB clients (gRPC) append any bytes as metadata, none at all, or a JSON event with
// empty data: a read still answers JSON (as docs/api.md and the OpenAPI description say).
TEST_F(ApiTest, ReadsEventsWhoseDataOrMetadataIsNotJson) {
  runtime::AppendRequest request{.stream = "grpc-1",
                                 .events = {{.event_id = kEventId, .event_type = "A", .data = "", .metadata = ""},
                                            {.event_id = "1f9a1f2c-5a6b-4c7d-8e9f-0a1b2c3d4e5f",
                                             .event_type = "B",
                                             .data = "[1]",
                                             .metadata = "\x01 not json"}}};
  ASSERT_TRUE(log_->append(std::move(request)).ok());
  auto response = call("GET", "/streams/grpc-1", "", "");
  ASSERT_EQ(response.status, 200);
  auto page = json::parse(response.body, nullptr, false);
  ASSERT_FALSE(page.is_discarded()) << response.body;
  EXPECT_EQ(page["events"][0]["dataBase64"], "");
  EXPECT_EQ(page["events"][0]["metadata"], json::object());
  EXPECT_EQ(page["events"][1]["data"], json::array({1}));
  EXPECT_EQ(page["events"][1]["metadataBase64"], "ASBub3QganNvbg==");
  EXPECT_FALSE(page["events"][1].contains("metadata"));
}

TEST_F(ApiTest, LimitsOnEventSizeAndBatchLengthAre413AndAppendNothing) {
  api_ = std::make_unique<Api>(*log_, *service_,
                               ApiOptions{.version = "test", .max_event_bytes = 100, .max_batch_events = 2});
  auto big = call("POST", "/streams/s-1",
                  json::array({{{"eventId", kEventId}, {"eventType", "E"}, {"data", std::string(200, 'x')}}}).dump());
  EXPECT_EQ(big.status, 413);
  EXPECT_EQ(violations(big).count("[0]"), 1u);
  auto many = json::array();
  for (int i = 0; i < 3; ++i) many.push_back({{"eventId", kEventId}, {"eventType", "E"}});
  EXPECT_EQ(call("POST", "/streams/s-1", many.dump()).status, 413);
  HttpRequest single{.method = "POST", .target = "/streams/s-1", .headers = {}, .body = std::string(101, 'x')};
  single.headers = {{"content-type", "text/plain"}, {"es-eventtype", "E"}, {"es-eventid", kEventId}};
  EXPECT_EQ(api_->handle(single).status, 413);
  EXPECT_EQ(log_->head(), runtime::LogPosition(0));
}

TEST_F(ApiTest, StreamNamesMustBeUtf8) {
  auto one_event = json::array({{{"eventId", kEventId}, {"eventType", "X"}}}).dump();
  auto response = call("POST", "/streams/bad%FF%FEname", one_event);
  EXPECT_EQ(response.status, 400);
  EXPECT_EQ(violations(response).count("stream"), 1u);
  EXPECT_EQ(call("GET", "/streams/bad%C0%80name", "", "").status, 400) << "overlong encodings are not UTF-8";
  EXPECT_EQ(call("POST", "/streams/caf%C3%A9-1", one_event).status, 201);
}

TEST_F(ApiTest, CreateStoresAStoppedConnector) {
  auto created = call("POST", "/connectors/orders-sink", kafka_settings());
  ASSERT_EQ(created.status, 200) << created.body;
  EXPECT_EQ(created.body, "{}");

  auto got = call("GET", "/connectors/orders-sink", "", "");
  ASSERT_EQ(got.status, 200);
  auto j = body(got);
  EXPECT_EQ(j["connectorId"], "orders-sink");
  EXPECT_EQ(j["name"], "orders-sink");
  EXPECT_EQ(j["instanceTypeName"], "kafka-sink");
  EXPECT_EQ(j["state"], "CONNECTOR_STATE_STOPPED");
  EXPECT_FALSE(j.contains("position")) << "never committed";
  EXPECT_FALSE(j.contains("settings")) << "settings only with includeSettings=true";
}

TEST_F(ApiTest, CreateAcceptsAliasesNestedConfigurationAndNames) {
  auto nested = call("POST", "/connectors/nested-one",
                     R"({"name": "Nested", "configuration": {"instanceTypeName": "KafkaSink", "topic": "t",
                         "Subscription": {"InitialPosition": "Earliest"}, "autocommit": {"interval": 100}}})");
  ASSERT_EQ(nested.status, 200) << nested.body;
  auto list = body(call("GET", "/connectors?includeSettings=true", "", ""));
  ASSERT_EQ(list["totalSize"], 1);
  const auto& item = list["items"][0];
  EXPECT_EQ(item["name"], "Nested");
  EXPECT_EQ(item["instanceTypeName"], "kafka-sink");
  EXPECT_EQ(item["settings"], (json{{"instanceTypeName", "kafka-sink"},
                                    {"topic", "t"},
                                    {"subscription:initialPosition", "earliest"},
                                    {"autocommit:interval", "100"}}));
}

TEST_F(ApiTest, CreateRefusesBadInputWithOneViolationPerProblem) {
  auto unknown_type = call("POST", "/connectors/my-sink", R"({"settings": {"instanceTypeName": "nope-sink"}})");
  EXPECT_EQ(unknown_type.status, 400);
  EXPECT_EQ(violations(unknown_type),
            (std::map<std::string, std::string>{
                {"instanceTypeName",
                 "unknown connector type 'nope-sink'; known types: http-sink, kafka-sink, logger-sink"}}));

  auto missing_topic =
      call("POST", "/connectors/my-sink", R"({"settings": {"instanceTypeName": "kafka-sink", "color": "red",
                                                                 "autocommit:interval": "soon"}})");
  EXPECT_EQ(missing_topic.status, 400);
  auto v = violations(missing_topic);
  EXPECT_EQ(v.size(), 3u);
  EXPECT_EQ(v["topic"], "required");
  EXPECT_TRUE(v.contains("color"));
  EXPECT_EQ(v["autocommit:interval"], "must be an integer, got 'soon'");

  EXPECT_EQ(call("POST", "/connectors/my-sink", "{not json").status, 400);
  EXPECT_EQ(call("POST", "/connectors/my-sink", kafka_settings(), "text/plain").status, 400);
  EXPECT_EQ(
      call("POST", "/connectors/my-sink", R"({"settings": {"instanceTypeName": "kafka-sink", "topic": {"a": 1}}})")
          .status,
      400);
  EXPECT_EQ(violations(call("POST", "/connectors/abc", kafka_settings())).count("connectorId"), 1u)
      << "ids have 5-50 characters";
  EXPECT_EQ(violations(call("POST", "/connectors/bad%20id", kafka_settings())).count("connectorId"), 1u);
  EXPECT_EQ(body(call("GET", "/connectors", "", ""))["totalSize"], 0) << "no bad request may create anything";
}

TEST_F(ApiTest, CreatingAnExistingIdConflicts) {
  ASSERT_EQ(call("POST", "/connectors/my-sink", kafka_settings()).status, 200);
  auto again = call("POST", "/connectors/my-sink", kafka_settings());
  EXPECT_EQ(again.status, 409);
  EXPECT_EQ(body(again)["code"], 6);
}

TEST_F(ApiTest, UnknownConnectorsAndRoutesAnswer404) {
  EXPECT_EQ(call("GET", "/connectors/ghost-sink", "", "").status, 404);
  EXPECT_EQ(call("POST", "/connectors/ghost-sink/start", "", "").status, 404);
  EXPECT_EQ(call("POST", "/connectors/ghost-sink/stop", "", "").status, 404);
  EXPECT_EQ(call("GET", "/nowhere", "", "").status, 404);
  EXPECT_EQ(call("DELETE", "/health", "", "").status, 405);
  EXPECT_EQ(call("GET", "/connectors/bad%zzid", "", "").status, 400);
}

TEST_F(ApiTest, StartRunsTheConnectorAndStopIsIdempotent) {
  ASSERT_EQ(call("POST", "/connectors/my-sink", kafka_settings()).status, 200);
  ASSERT_EQ(call("POST", "/connectors/my-sink/start", "", "").status, 200);
  auto state = body(call("GET", "/connectors/my-sink", "", ""))["state"];
  EXPECT_TRUE(state == "CONNECTOR_STATE_ACTIVATING" || state == "CONNECTOR_STATE_RUNNING") << state;
  auto again = call("POST", "/connectors/my-sink/start", "", "");
  EXPECT_EQ(again.status, 409) << "start is refused while running";
  EXPECT_EQ(call("POST", "/connectors/my-sink/stop", "", "").status, 200);
  EXPECT_EQ(body(call("GET", "/connectors/my-sink", "", ""))["state"], "CONNECTOR_STATE_STOPPED");
  EXPECT_EQ(call("POST", "/connectors/my-sink/stop", "", "").status, 200);
}

TEST(ParseTarget, DecodesSegmentsAndQuery) {
  auto target = parse_target("/streams/order%2D1?from=3&state=a&state=b+c");
  ASSERT_TRUE(target.ok());
  EXPECT_EQ(target->segments, (std::vector<std::string>{"streams", "order-1"}));
  EXPECT_EQ(target->query.count("state"), 2u);
  EXPECT_EQ(target->query.find("from")->second, "3");
  EXPECT_FALSE(parse_target("/a%2").ok());
  EXPECT_FALSE(parse_target("relative").ok());
}

}  // namespace
}  // namespace sinkhost::management_api
