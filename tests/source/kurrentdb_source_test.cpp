// KurrentDB as the event source (docs/kurrentdb-source.md), on its happy path: a store (a
// sinkhost serving KurrentDB's client protocol) and a source host (a sinkhost started with
// --source) side by side; what the source host's kafka-sink connectors deliver is read back
// with kcat and compared with what the same connector on the store's embedded log delivers.
#include <cstdlib>
#include <fstream>
#include <set>

#include <gtest/gtest.h>

#include "source_helpers.hpp"

namespace sinkhost::test {
namespace {

using nlohmann::json;

json event(const std::string& type, const json& data, const json& metadata = json::object()) {
  return {{"eventId", new_uuid()}, {"eventType", type}, {"data", data}, {"metadata", metadata}};
}

// Headers that differ between two deliveries of the same event by design.
bool per_delivery(const std::string& name) { return name == "esdb-request-id" || name == "esdb-request-date"; }

std::vector<std::pair<std::string, std::string>> stable_headers(const ConsumedMessage& m) {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& h : m.headers) {
    if (!per_delivery(h.first)) out.push_back(h);
  }
  return out;
}

std::string describe(const ConsumedMessage& m) {
  std::string out = "key=" + (m.has_key ? "'" + m.key + "'" : std::string("none")) + " value=" + m.value + " headers:";
  for (const auto& [n, v] : m.headers) out += " " + n + "=" + v;
  return out;
}

std::vector<std::string> header_values(const std::vector<ConsumedMessage>& messages, const std::string& name) {
  std::vector<std::string> out;
  for (const auto& m : messages) out.push_back(m.header(name));
  return out;
}

class SourceDelivery : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_NO_FATAL_FAILURE(store_.start());
    host_ = std::make_unique<SinkhostProcess>(dir_.path() + "/host", source_args(store_.connection_string()));
    ASSERT_NO_FATAL_FAILURE(host_->start());
  }

  json view(const std::string& id) { return connector_view(host_->port(), id); }
  // Waits until the source host's connector `id` committed `position` and shows no lag.
  void expect_caught_up(const std::string& id, std::uint64_t position) {
    ASSERT_TRUE(eventually([&] { return position_of(view(id)) >= position; })) << view(id).dump() << "\n"
                                                                               << host_->log();
    EXPECT_EQ(position_of(view(id)), position) << "the checkpoint is the commit position of the last acknowledged "
                                                  "event: "
                                               << view(id).dump();
  }

  TempDir dir_;
  Store store_{dir_.path() + "/store"};
  std::unique_ptr<SinkhostProcess> host_;
};

// The same connector on the store's embedded log and on the source host, the same events: the
// same records in Kafka, header for header (but the two per-delivery ones).
TEST_F(SourceDelivery, DeliversWhatTheEmbeddedLogDeliversHeaderForHeader) {
  const auto embedded_topic = unique_topic("src-embedded");
  const auto source_topic = unique_topic("src-kurrentdb");
  create_topic(embedded_topic, 1);
  create_topic(source_topic, 1);
  const json keyed = {{"partitionKeyExtraction:enabled", "true"}, {"partitionKeyExtraction:source", "stream"}};

  // A backlog before the connectors start, live events after.
  auto first = store_.append("order-1", json::array({event("OrderPlaced", {{"orderId", "o-1"}, {"total", 12.5}},
                                                           {{"tenant", "acme"}, {"n", 5}, {"$correlationId", "c-1"}}),
                                                     event("OrderPaid", {{"orderId", "o-1"}})}));
  // The single-event form with bytes: schema type Bytes, value byte for byte.
  auto blob = http_request_with_headers(store_.http_port(), "POST", "/streams/blobs-1",
                                        {{"ES-EventType", "Blob"}, {"ES-EventId", new_uuid()}}, "not json, just bytes",
                                        "application/octet-stream");
  ASSERT_EQ(blob.status, 201) << blob.body;
  // A system event ($-prefixed type) in a user stream: no connector without a filter sees it.
  store_.append_one("order-1", "$system-marker", {{"hidden", true}});
  auto p_invoice = store_.append_one("invoice-7", "InvoiceSent", {{"invoice", 7}}, {{"tenant", "acme"}});

  ASSERT_NO_FATAL_FAILURE(
      create_and_start_connector(store_.http_port(), "same-sink", kafka_settings(embedded_topic, keyed)));
  ASSERT_NO_FATAL_FAILURE(create_and_start_connector(host_->port(), "same-sink", kafka_settings(source_topic, keyed)));
  ASSERT_EQ(consume(source_topic, 4).size(), 4u) << host_->log();

  auto p_live = store_.append_one("order-2", "OrderPlaced", {{"orderId", "o-2"}}, {{"tenant", "globex"}});
  auto p_last = store_.append_one("order-1", "OrderShipped", {{"orderId", "o-1"}, {"carrier", "ups"}});

  auto from_embedded = consume(embedded_topic, 6);
  auto from_source = consume(source_topic, 6);
  ASSERT_EQ(from_embedded.size(), 6u) << store_.log();
  ASSERT_EQ(from_source.size(), 6u) << host_->log();
  ASSERT_NO_FATAL_FAILURE(expect_caught_up("same-sink", p_last));
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  EXPECT_EQ(consume(source_topic, 7, std::chrono::seconds(1)).size(), 6u)
      << "the system event and nothing else was left out; nothing delivered twice";

  for (std::size_t i = 0; i < from_source.size(); ++i) {
    SCOPED_TRACE("record " + std::to_string(i) + "\n embedded: " + describe(from_embedded[i]) +
                 "\n source:   " + describe(from_source[i]));
    EXPECT_EQ(from_source[i].value, from_embedded[i].value);
    EXPECT_EQ(from_source[i].has_key, from_embedded[i].has_key);
    EXPECT_EQ(from_source[i].key, from_embedded[i].key);
    EXPECT_EQ(stable_headers(from_source[i]), stable_headers(from_embedded[i]));
  }

  // And what the records say, on their own (so that both sides being wrong alike fails too).
  const auto first_position = first["firstPosition"].get<std::uint64_t>();
  EXPECT_EQ(header_values(from_source, "esdb-record-stream-id"),
            (std::vector<std::string>{"order-1", "order-1", "blobs-1", "invoice-7", "order-2", "order-1"}));
  EXPECT_EQ(header_values(from_source, "esdb-record-stream-revision"),
            (std::vector<std::string>{"0", "1", "0", "0", "0", "3"}));
  EXPECT_EQ(header_values(from_source, "esdb-record-log-position"),
            (std::vector<std::string>{std::to_string(first_position), std::to_string(first_position + 1),
                                      std::to_string(first_position + 2), std::to_string(p_invoice),
                                      std::to_string(p_live), std::to_string(p_last)}));
  EXPECT_EQ(
      header_values(from_source, "esdb-record-schema-subject"),
      (std::vector<std::string>{"OrderPlaced", "OrderPaid", "Blob", "InvoiceSent", "OrderPlaced", "OrderShipped"}));
  EXPECT_EQ(header_values(from_source, "esdb-record-schema-type"),
            (std::vector<std::string>{"Json", "Json", "Bytes", "Json", "Json", "Json"}));
  EXPECT_EQ(from_source[0].value, json({{"orderId", "o-1"}, {"total", 12.5}}).dump());
  EXPECT_EQ(from_source[2].value, "not json, just bytes");
  EXPECT_EQ(from_source[0].key, "order-1");
  EXPECT_EQ(from_source[0].header("esdb-record-headers-tenant"), "acme");
  EXPECT_EQ(from_source[0].header("esdb-record-headers-n"), "5");
  EXPECT_EQ(from_source[0].header("esdb-record-headers-$correlationId"),
            "<missing header esdb-record-headers-$correlationId>")
      << "metadata entries starting with $ stay out, as on the embedded log";
  EXPECT_EQ(from_source[4].header("esdb-record-headers-tenant"), "globex");
  EXPECT_EQ(from_source[0].header("esdb-connector-id"), "same-sink");
  EXPECT_NE(from_source[0].header("esdb-record-timestamp").find('T'), std::string::npos);
  EXPECT_EQ(from_source[0].header("esdb-record-id"), from_embedded[0].header("esdb-record-id"));
  EXPECT_EQ(from_source[0].header("esdb-record-redacted"), "false");

  // The source's health, the store's head and the lag, on the source host only.
  auto c = view("same-sink");
  EXPECT_EQ(c["state"], "CONNECTOR_STATE_RUNNING");
  ASSERT_TRUE(c.contains("source")) << c.dump();
  EXPECT_EQ(c["source"]["health"], "HEALTHY") << c.dump();
  EXPECT_FALSE(c.contains("warningDetails")) << c.dump();
  EXPECT_FALSE(c.contains("errorDetails")) << c.dump();
  ASSERT_TRUE(eventually([&] {
    auto v = view("same-sink");
    return v.contains("source") && v["source"].value("headPosition", 0ull) == p_last &&
           v["source"].value("lag", -1ll) == 0;
  })) << view("same-sink").dump();
  auto list = get_json(host_->port(), "/connectors");
  ASSERT_EQ(list["totalSize"], 1) << list.dump();
  EXPECT_EQ(list["items"][0]["source"]["health"], "HEALTHY") << list.dump();
  auto embedded = connector_view(store_.http_port(), "same-sink");
  EXPECT_FALSE(embedded.contains("source")) << "a host on its embedded log shows no source: " << embedded.dump();
}

// Stream prefix, stream regex, event-type prefix and exact event types, each its own topic:
// exactly the matching events arrive, in order.
TEST_F(SourceDelivery, FiltersDeliverExactlyTheMatchingEvents) {
  struct Case {
    std::string id;
    json filter;
    std::vector<std::string> streams;  // expected, in order
  };
  std::vector<Case> cases = {
      {"by-stream-prefix",
       {{"subscription:filter:scope", "stream"},
        {"subscription:filter:filterType", "prefix"},
        {"subscription:filter:expression", "order-"}},
       {"order-1", "order-2", "order-3"}},
      {"by-stream-regex",
       {{"subscription:filter:scope", "stream"},
        {"subscription:filter:filterType", "regex"},
        {"subscription:filter:expression", "^(invoice|blobs)-[0-9]+$"}},
       {"invoice-1", "blobs-1", "invoice-2"}},
      {"by-type-prefix",
       {{"subscription:filter:scope", "record"},
        {"subscription:filter:filterType", "prefix"},
        {"subscription:filter:expression", "Order"}},
       {"order-1", "order-2"}},
      {"by-type-exact",
       {{"subscription:filter:filterType", "eventType"}, {"subscription:filter:expression", "InvoiceSent,Misc"}},
       {"invoice-1", "other-1", "invoice-2"}},
  };
  std::map<std::string, std::string> topics;
  for (const auto& c : cases) {
    topics[c.id] = unique_topic("src-filter");
    create_topic(topics[c.id], 1);
    ASSERT_NO_FATAL_FAILURE(create_and_start_connector(host_->port(), c.id, kafka_settings(topics[c.id], c.filter)));
  }
  // (stream, type), appended in this order: before and after the connectors caught up.
  const std::vector<std::pair<std::string, std::string>> appended = {
      {"order-1", "OrderPlaced"}, {"invoice-1", "InvoiceSent"}, {"blobs-1", "Blob"},          {"other-1", "Misc"},
      {"order-2", "OrderPaid"},   {"order-3", "Shipped"},       {"invoice-2", "InvoiceSent"}, {"orders", "Unrelated"}};
  for (std::size_t i = 0; i < appended.size(); ++i) {
    store_.append_one(appended[i].first, appended[i].second, {{"i", i}});
  }
  for (const auto& c : cases) {
    SCOPED_TRACE(c.id);
    auto messages = consume(topics[c.id], c.streams.size());
    EXPECT_EQ(header_values(messages, "esdb-record-stream-id"), c.streams) << host_->log();
  }
  std::this_thread::sleep_for(std::chrono::seconds(1));
  for (const auto& c : cases) {
    EXPECT_EQ(consume(topics[c.id], c.streams.size() + 1, std::chrono::seconds(1)).size(), c.streams.size())
        << c.id << ": no event outside the filter";
    auto v = view(c.id);
    EXPECT_EQ(v["state"], "CONNECTOR_STATE_RUNNING") << v.dump();
    EXPECT_EQ(health_of(v), "HEALTHY") << v.dump();
  }
}

// subscription:initialPosition latest, start at a position, reset and reset to a position, each
// told by the esdb-record-log-position headers that arrive and by the checkpoint.
TEST_F(SourceDelivery, StartAtAPositionResetAndLatestWorkWithTheStoresPositions) {
  std::vector<std::uint64_t> p;
  for (int i = 0; i < 6; ++i) p.push_back(store_.append_one("pos-1", "Numbered", {{"i", i}}));
  auto positions_of = [](const std::vector<std::uint64_t>& list) {
    std::vector<std::string> out;
    for (auto v : list) out.push_back(std::to_string(v));
    return out;
  };
  const auto topic = unique_topic("src-positions");
  create_topic(topic, 1);
  auto post = [&](const std::string& target) {
    auto r = http_request(host_->port(), "POST", target);
    EXPECT_EQ(r.status, 200) << target << ": " << r.body;
  };
  auto expect_topic = [&](const std::vector<std::uint64_t>& expected, const std::string& step) {
    auto messages = consume(topic, expected.size());
    EXPECT_EQ(header_values(messages, "esdb-record-log-position"), positions_of(expected)) << step << "\n"
                                                                                           << host_->log();
    ASSERT_NO_FATAL_FAILURE(expect_caught_up("pos-sink", p[5]));
  };

  ASSERT_NO_FATAL_FAILURE(create_and_start_connector(host_->port(), "pos-sink", kafka_settings(topic)));
  std::vector<std::uint64_t> expected = p;
  ASSERT_NO_FATAL_FAILURE(expect_topic(expected, "earliest"));

  post("/connectors/pos-sink/stop");
  post("/connectors/pos-sink/start/" + std::to_string(p[3]));  // inclusive
  expected.insert(expected.end(), {p[3], p[4], p[5]});
  ASSERT_NO_FATAL_FAILURE(expect_topic(expected, "start at p[3]"));

  post("/connectors/pos-sink/stop");
  post("/connectors/pos-sink/reset");  // from the first event, and running again
  EXPECT_EQ(view("pos-sink")["state"], "CONNECTOR_STATE_RUNNING");
  expected.insert(expected.end(), p.begin(), p.end());
  ASSERT_NO_FATAL_FAILURE(expect_topic(expected, "reset"));

  post("/connectors/pos-sink/stop");
  post("/connectors/pos-sink/reset/" + std::to_string(p[1]));
  expected.insert(expected.end(), p.begin() + 1, p.end());
  ASSERT_NO_FATAL_FAILURE(expect_topic(expected, "reset to p[1]"));

  // A stopped connector resumes after its checkpoint: nothing again.
  post("/connectors/pos-sink/stop");
  post("/connectors/pos-sink/start");
  auto p7 = store_.append_one("pos-1", "Numbered", {{"i", 7}});
  expected.push_back(p7);
  auto messages = consume(topic, expected.size());
  EXPECT_EQ(header_values(messages, "esdb-record-log-position"), positions_of(expected));
  ASSERT_TRUE(eventually([&] { return position_of(view("pos-sink")) == p7; })) << view("pos-sink").dump();

  // latest: only what comes after the start.
  const auto late_topic = unique_topic("src-latest");
  create_topic(late_topic, 1);
  ASSERT_NO_FATAL_FAILURE(create_and_start_connector(
      host_->port(), "late-sink", kafka_settings(late_topic, {{"subscription:initialPosition", "latest"}})));
  auto p8 = store_.append_one("pos-1", "Numbered", {{"i", 8}});
  auto late = consume(late_topic, 1);
  EXPECT_EQ(header_values(late, "esdb-record-log-position"), positions_of({p8})) << host_->log();
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  EXPECT_EQ(consume(late_topic, 2, std::chrono::seconds(1)).size(), 1u) << "latest delivers no backlog";
  ASSERT_TRUE(eventually([&] { return position_of(view("late-sink")) == p8; })) << view("late-sink").dump();
}

// The append route of a host with an external source says where to append instead.
TEST_F(SourceDelivery, TheAppendRouteAnswers409NamingTheStore) {
  auto check = [&](const HttpResult& r, const std::string& form) {
    SCOPED_TRACE(form);
    EXPECT_EQ(r.status, 409) << r.body;
    auto body = json::parse(r.body, nullptr, false);
    ASSERT_TRUE(body.is_object()) << r.body;
    EXPECT_EQ(body["code"], 9) << "FAILED_PRECONDITION: " << r.body;
    const auto message = body.value("message", "");
    EXPECT_NE(message.find("KurrentDB"), std::string::npos) << message;
    EXPECT_NE(message.find(store_.address()), std::string::npos) << "names the store: " << message;
    EXPECT_NE(message.find("append them there"), std::string::npos) << message;
  };
  check(http_request(host_->port(), "POST", "/streams/order-1", json::array({event("OrderPlaced", {{"a", 1}})}).dump(),
                     "application/vnd.eventstore.events+json"),
        "batch");
  check(http_request_with_headers(host_->port(), "POST", "/streams/order-1",
                                  {{"ES-EventType", "OrderPlaced"}, {"ES-EventId", new_uuid()}}, R"({"a":1})"),
        "single event");
  // The host's stream reads point there as well.
  auto read = http_request(host_->port(), "GET", "/streams/$all");
  EXPECT_EQ(read.status, 409) << read.body;
  EXPECT_NE(read.body.find(store_.address()), std::string::npos) << read.body;
  // Nothing reached the store.
  auto all = http_request(store_.http_port(), "GET", "/streams/$all");
  EXPECT_EQ(all.body.find("OrderPlaced"), std::string::npos) << all.body;
}

// --source-file and SINKHOST_SOURCE give the same connection string without putting the
// password on the command line.
TEST(SourceConnectionString, ComesFromAFileOrTheEnvironment) {
  TempDir dir;
  Store store(dir.path() + "/store", {.user = "alice", .password = "file-secret"});
  ASSERT_NO_FATAL_FAILURE(store.start());
  store.append_one("order-1", "OrderPlaced", {{"n", 1}});
  const auto connection = store.connection_string("tls=false", "alice:file-secret");

  const auto file = dir.path() + "/source.txt";
  std::ofstream(file) << connection << "\n";
  const auto file_topic = unique_topic("src-file");
  {
    SinkhostProcess host(dir.path() + "/host-file", {"--grpc-listen", "none", "--source-file", file});
    ASSERT_NO_FATAL_FAILURE(host.start());
    ASSERT_NO_FATAL_FAILURE(create_and_start_connector(host.port(), "file-sink", kafka_settings(file_topic)));
    EXPECT_EQ(consume(file_topic, 1).size(), 1u) << host.log();
    EXPECT_EQ(host.log().find("file-secret"), std::string::npos) << "the password is not logged:\n" << host.log();
  }
  const auto env_topic = unique_topic("src-env");
  {
    ::setenv("SINKHOST_SOURCE", connection.c_str(), 1);
    SinkhostProcess host(dir.path() + "/host-env", {"--grpc-listen", "none"});
    host.start();
    ::unsetenv("SINKHOST_SOURCE");
    ASSERT_FALSE(HasFatalFailure());
    auto r = http_request(host.port(), "POST", "/streams/x", json::array({event("E", {{"a", 1}})}).dump());
    EXPECT_EQ(r.status, 409) << "the environment's source is used: " << r.body;
    ASSERT_NO_FATAL_FAILURE(create_and_start_connector(host.port(), "env-sink", kafka_settings(env_topic)));
    EXPECT_EQ(consume(env_topic, 1).size(), 1u) << host.log();
    EXPECT_EQ(host.log().find("file-secret"), std::string::npos) << "the password is not logged:\n" << host.log();
  }
}

// A connection string sinkhost cannot use stops the start-up with a message naming the mistake
// (not a host whose connectors fail later).
TEST(SourceConnectionString, AMistakeStopsTheStartUpNamingIt) {
  TempDir dir;
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"kurrentdb://127.0.0.1:2113?tls=false&noSuchOption=1", "noSuchOption"},
      {"kurrentdb://127.0.0.1:2113?tls=maybe", "tls"},
      {"http://127.0.0.1:2113", "kurrentdb://"},
  };
  int n = 0;
  for (const auto& [connection, words] : cases) {
    SCOPED_TRACE(connection);
    SinkhostProcess host(dir.path() + "/host-" + std::to_string(n++), source_args(connection));
    EXPECT_NE(host.run_expecting_exit(), 0) << host.log();
    EXPECT_NE(host.log().find(words), std::string::npos) << "the message names '" << words << "':\n" << host.log();
  }
}

}  // namespace
}  // namespace sinkhost::test
