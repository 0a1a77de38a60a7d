// End-to-end delivery to a real Kafka broker: events appended to the log, delivered by
// kafka-sink connectors and acknowledged by the broker (checkpoint included), against the same
// messages sent by a plain librdkafka producer with the same settings. Prints numbers; not a
// test (docs/performance.md has the figures and the command).
//
//   sinkhost_bench_kafka --bootstrap 127.0.0.1:9092 [--events N]
//   sinkhost_bench_kafka --bootstrap 127.0.0.1:9092 [--events N] --transform [--rounds R]
// --transform: one connector without and with a typical small record transform, on the same
// backlog, alternating R times (2 by default); the other measurements are skipped.
#include <librdkafka/rdkafka.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include "process.hpp"
#include "sinkhost/connector/encoding.hpp"
#include "sinkhost/runtime/connector_service.hpp"
#include "sinkhost/runtime/connector_worker.hpp"
#include "sinkhost/runtime/embedded_log/event_log.hpp"
#include "sinkhost/runtime/plugin_registry.hpp"
#include "sinkhost/runtime/record_builder.hpp"
#include "sinkhost/runtime/state_store.hpp"

using namespace sinkhost;
using Clock = std::chrono::steady_clock;

namespace {

std::string event_data(std::uint64_t n) {
  std::string data =
      R"({"orderId":"order-)" + std::to_string(n) + R"(","customer":"customer-42","total":125.5,"note":")";
  data.append(248 - data.size(), 'x');
  return data + "\"}";
}

std::string uuid(std::uint64_t n) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "cccccccc-0000-4000-8000-%012llu",
                static_cast<unsigned long long>(n % 1000000000000ULL));
  return buffer;
}

// Creates `topic` (3 partitions) before anything is timed: both sides then measure delivery,
// not the broker creating a topic on first use.
bool create_topic(const std::string& bootstrap, const std::string& topic) {
  char error[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap.c_str(), error, sizeof error);
  rd_kafka_t* admin = rd_kafka_new(RD_KAFKA_PRODUCER, conf, error, sizeof error);
  if (admin == nullptr) return false;
  rd_kafka_NewTopic_t* new_topic = rd_kafka_NewTopic_new(topic.c_str(), 3, 1, error, sizeof error);
  rd_kafka_queue_t* queue = rd_kafka_queue_new(admin);
  rd_kafka_CreateTopics(admin, &new_topic, 1, nullptr, queue);
  rd_kafka_event_t* event = rd_kafka_queue_poll(queue, 30000);
  bool ok = event != nullptr && rd_kafka_event_error(event) == RD_KAFKA_RESP_ERR_NO_ERROR;
  if (ok) {
    size_t count = 0;
    const rd_kafka_topic_result_t** results =
        rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(event), &count);
    ok = count == 1 && rd_kafka_topic_result_error(results[0]) == RD_KAFKA_RESP_ERR_NO_ERROR;
  }
  if (event) rd_kafka_event_destroy(event);
  rd_kafka_NewTopic_destroy(new_topic);
  rd_kafka_queue_destroy(queue);
  rd_kafka_destroy(admin);
  // Let the new partitions' leadership settle before the clock starts.
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  return ok;
}

double seconds_since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

// The plain producer: the properties kafka-sink sets, the same value and the same headers.
double plain_producer(const std::string& bootstrap, const std::string& topic,
                      const std::vector<runtime::StoredEvent>& events) {
  char error[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  for (auto [k, v] : std::vector<std::pair<const char*, const char*>>{{"bootstrap.servers", bootstrap.c_str()},
                                                                      {"enable.idempotence", "true"},
                                                                      {"compression.type", "zstd"},
                                                                      {"compression.level", "6"},
                                                                      {"queue.buffering.max.kbytes", "65536"},
                                                                      {"message.timeout.ms", "0"},
                                                                      {"sticky.partitioning.linger.ms", "0"}}) {
    rd_kafka_conf_set(conf, k, v, error, sizeof error);
  }
  std::atomic<std::size_t> acked{0};
  rd_kafka_conf_set_opaque(conf, &acked);
  rd_kafka_conf_set_dr_msg_cb(conf, [](rd_kafka_t*, const rd_kafka_message_t* m, void* opaque) {
    if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) static_cast<std::atomic<std::size_t>*>(opaque)->fetch_add(1);
  });
  rd_kafka_t* producer = rd_kafka_new(RD_KAFKA_PRODUCER, conf, error, sizeof error);
  auto start = Clock::now();
  for (const auto& e : events) {
    auto record = runtime::make_record(e, "plain-producer", true);  // the same headers sinkhost sends
    rd_kafka_headers_t* headers = rd_kafka_headers_new(record.headers.size());
    for (const auto& h : record.headers)
      rd_kafka_header_add(headers, h.name.data(), -1, h.value.data(), h.value.size());
// librdkafka's RD_KAFKA_V_* macros use GNU statement expressions, which clang's -Wpedantic reports.
#if defined(__clang__)
#pragma clang diagnostic push
#pragma clang diagnostic ignored "-Wgnu-statement-expression"
#endif
    while (rd_kafka_producev(producer, RD_KAFKA_V_TOPIC(topic.c_str()), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                             RD_KAFKA_V_VALUE(const_cast<char*>(record.data.data()), record.data.size()),
                             RD_KAFKA_V_TIMESTAMP(record.timestamp_ms), RD_KAFKA_V_HEADERS(headers),
                             RD_KAFKA_V_END) == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
      rd_kafka_poll(producer, 10);
    }
#if defined(__clang__)
#pragma clang diagnostic pop
#endif
    rd_kafka_poll(producer, 0);
  }
  rd_kafka_flush(producer, 120000);
  double seconds = seconds_since(start);
  rd_kafka_destroy(producer);
  if (acked != events.size()) std::fprintf(stderr, "plain producer: only %zu acknowledged\n", acked.load());
  return seconds;
}

// A typical small transform: a derived field, a header from metadata, a key from the data.
constexpr const char* kTypicalTransform = R"(
function transform(record) {
  record.value.totalCents = Math.round(record.value.total * 100);
  record.headers['x-tenant'] = record.headers['esdb-record-headers-tenant'];
  record.key = record.value.customer;
}
)";

}  // namespace

int main(int argc, char** argv) {
  std::string bootstrap = "127.0.0.1:9092";
  std::size_t events = 200000;
  bool compare_transform = false;
  int rounds = 2;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--transform") compare_transform = true;
    if (i + 1 >= argc) continue;
    if (arg == "--bootstrap")
      bootstrap = argv[++i];
    else if (arg == "--events")
      events = std::stoul(argv[++i]);
    else if (arg == "--rounds")
      rounds = std::stoi(argv[++i]);
  }
  bool only_one = false;  // --one: only the plain producer against one connector
  for (int i = 1; i < argc; ++i) only_one = only_one || std::string(argv[i]) == "--one";
  spdlog::set_level(spdlog::level::warn);
  // The comparison is of delivery paths at the same CPU priority as the plain producer (the
  // daemon lowers its delivery threads' priority by default: --delivery-nice).
  runtime::set_delivery_niceness(0);
  test::TempDir dir;
  auto log = runtime::EventLog::open(dir.path() + "/events.db");
  auto store = runtime::StateStore::open(dir.path() + "/state.db");
  runtime::PluginRegistry plugins;
  if (auto loaded = plugins.load_directory(SINKHOST_PLUGIN_DIR); !loaded.ok()) return 1;
  runtime::ConnectorService service(**log, **store, plugins);

  // The backlog: ~250-byte JSON events with metadata, appended before any connector starts.
  for (std::size_t b = 0; b < events / 1000; ++b) {
    runtime::AppendRequest request{.stream = "order-" + std::to_string(b % 100), .events = {}};
    for (std::size_t i = 0; i < 1000; ++i) {
      auto n = b * 1000 + i;
      request.events.push_back({.event_id = uuid(n),
                                .event_type = "OrderPlaced",
                                .is_json = true,
                                .data = event_data(n),
                                .metadata = R"({"tenant":"acme","source":"bench"})"});
    }
    if (!(*log)->append(std::move(request)).ok()) return 1;
  }
  auto reader = (*log)->open_reader();
  std::vector<runtime::StoredEvent> backlog;
  for (runtime::LogPosition from(1); backlog.size() < events;) {
    auto batch = (*reader)->read_all(from, 10000);
    if (!batch.ok() || batch->empty()) break;
    from = batch->back().position.next();
    backlog.insert(backlog.end(), batch->begin(), batch->end());
  }
  const auto run_id = std::to_string(std::chrono::system_clock::now().time_since_epoch().count());
  std::printf("Kafka delivery benchmark: %zu events of ~250 bytes with 12 headers each, broker %s\n", events,
              bootstrap.c_str());

  if (!create_topic(bootstrap, "bench-plain-" + run_id)) {
    std::fprintf(stderr, "cannot create the topics on %s\n", bootstrap.c_str());
    return 1;
  }
  double plain = plain_producer(bootstrap, "bench-plain-" + run_id, backlog);
  std::printf("%-58s %8.2f s %10.0f msg/s\n", "plain librdkafka producer (same settings, same messages)", plain,
              events / plain);

  auto run_connectors = [&](int count, const std::string& id_prefix = "bench-", const connector::Settings& extra = {}) {
    for (int c = 0; c < count; ++c) {
      if (!create_topic(bootstrap,
                        "bench-" + run_id + "-" + id_prefix + std::to_string(count) + "-" + std::to_string(c))) {
        std::exit(1);
      }
    }
    auto start = Clock::now();
    for (int c = 0; c < count; ++c) {
      auto id = id_prefix + std::to_string(count) + "-" + std::to_string(c);
      connector::Settings settings = {{"instanceTypeName", "kafka-sink"},
                                      {"topic", "bench-" + run_id + "-" + id},
                                      {"bootstrapServers", bootstrap},
                                      {"subscription:initialPosition", "earliest"},
                                      {"autocommit:interval", "100"}};
      settings.insert(extra.begin(), extra.end());
      if (!service.create(id, std::nullopt, settings).ok() || !service.start(id).ok()) {
        std::fprintf(stderr, "cannot start %s\n", id.c_str());
        std::exit(1);
      }
    }
    // Done when every connector's checkpoint covers the last event (autocommit every 100 ms
    // or 1,000 records, so the checkpoint follows the acknowledgements closely).
    double first_ack = 0;
    for (bool done = false; !done;) {
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
      done = true;
      for (int c = 0; c < count; ++c) {
        auto view = service.get(id_prefix + std::to_string(count) + "-" + std::to_string(c));
        if (first_ack == 0 && view->metrics->records_delivered.load() > 0) first_ack = seconds_since(start);
        if (!view->definition.checkpoint || view->definition.checkpoint->commit < events) done = false;
      }
    }
    std::printf("  (first acknowledgement after %.2f s)\n", first_ack);
    const double seconds = seconds_since(start);
    for (int c = 0; c < count; ++c) (void)service.stop(id_prefix + std::to_string(count) + "-" + std::to_string(c));
    return seconds;
  };
  if (compare_transform) {
    const connector::Settings transform = {{"transformer:enabled", "true"},
                                           {"transformer:function", connector::base64_encode(kTypicalTransform)}};
    for (int round = 1; round <= rounds; ++round) {
      const auto round_id = std::to_string(round);
      double without = run_connectors(1, "bench-plain-r" + round_id + "-");
      double with = run_connectors(1, "bench-transform-r" + round_id + "-", transform);
      std::printf("round %d: %-49s %8.2f s %10.0f msg/s\n", round, "1 connector, no transform (to checkpoint)", without,
                  events / without);
      std::printf("round %d: %-49s %8.2f s %10.0f msg/s  (%.0f%% of no transform)\n", round,
                  "1 connector, typical transform (to checkpoint)", with, events / with, 100.0 * without / with);
    }
    service.shutdown();
    return 0;
  }

  double one = run_connectors(1);
  std::printf("%-58s %8.2f s %10.0f msg/s  (%.0f%% of plain)\n", "sinkhost, 1 kafka-sink connector (to checkpoint)",
              one, events / one, 100.0 * plain / one);
  if (only_one) {
    service.shutdown();
    return 0;
  }
  double ten = run_connectors(10);
  std::printf("%-58s %8.2f s %10.0f msg/s in total\n", "sinkhost, 10 kafka-sink connectors (to checkpoint)", ten,
              10.0 * events / ten);

  // Latency at a steady 5,000 events/s: append time -> the checkpoint covers the event.
  if (!service
           .create("bench-latency", std::nullopt,
                   {{"instanceTypeName", "kafka-sink"},
                    {"topic", "bench-latency-" + run_id},
                    {"bootstrapServers", bootstrap},
                    {"subscription:initialPosition", "latest"},
                    {"autocommit:interval", "1"},
                    {"autocommit:recordsThreshold", "1"}})
           .ok() ||
      !service.start("bench-latency").ok()) {
    return 1;
  }
  // Warm up: the first record waits for the broker to create the topic; that is not latency.
  {
    runtime::AppendRequest warm{
        .stream = "latency-1",
        .events = {
            {.event_id = uuid(9999999), .event_type = "E", .is_json = true, .data = event_data(0), .metadata = "{}"}}};
    auto position = (*log)->append(std::move(warm))->last_position.value();
    while (true) {
      auto view = service.get("bench-latency");
      if (view->definition.checkpoint && view->definition.checkpoint->commit >= position) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }
  const std::uint64_t first = (*log)->head().value() + 1;
  const int rate = 5000, seconds = 10, batch = 50;
  std::vector<Clock::time_point> appended_at;
  std::vector<double> latencies_ms;
  std::atomic<bool> appending{true};
  std::thread appender([&] {
    auto next = Clock::now();
    for (int b = 0; b < rate * seconds / batch; ++b) {
      runtime::AppendRequest request{.stream = "latency-1", .events = {}};
      for (int i = 0; i < batch; ++i) {
        auto n = 10000000 + b * batch + i;
        request.events.push_back(
            {.event_id = uuid(n), .event_type = "E", .is_json = true, .data = event_data(n), .metadata = "{}"});
      }
      auto now = Clock::now();
      (void)(*log)->append(std::move(request));
      for (int i = 0; i < batch; ++i) appended_at.push_back(now);  // read only after join
      next += std::chrono::microseconds(1000000 * batch / rate);
      std::this_thread::sleep_until(next);
    }
    appending = false;
  });
  std::vector<std::pair<std::uint64_t, Clock::time_point>> seen;  // checkpoint, when observed
  while (appending) {
    auto view = service.get("bench-latency");
    if (view->definition.checkpoint) seen.emplace_back(view->definition.checkpoint->commit, Clock::now());
    std::this_thread::sleep_for(std::chrono::microseconds(500));
  }
  appender.join();
  std::size_t k = 0;
  for (std::size_t i = 0; i < appended_at.size(); ++i) {
    const auto position = first + i;
    while (k < seen.size() && seen[k].first < position) ++k;
    if (k == seen.size()) break;
    latencies_ms.push_back(std::chrono::duration<double, std::milli>(seen[k].second - appended_at[i]).count());
  }
  std::sort(latencies_ms.begin(), latencies_ms.end());
  if (!latencies_ms.empty()) {
    std::printf("%-58s p50 %.1f ms  p99 %.1f ms  (%zu events)\n", "append -> checkpoint latency at 5,000 events/s",
                latencies_ms[latencies_ms.size() / 2], latencies_ms[latencies_ms.size() * 99 / 100],
                latencies_ms.size());
  }
  service.shutdown();
  return 0;
}
