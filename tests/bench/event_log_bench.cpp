// Event log throughput: in-process appends, catch-up reads, and appends over HTTP.
// Prints numbers; it is not a test (see docs/performance.md for the figures and the command).
//
//   sinkhost_bench_event_log [--events N] [--quick]
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <nlohmann/json.hpp>

#include "process.hpp"
#include "sinkhost/management_api/api.hpp"
#include "sinkhost/management_api/server.hpp"
#include "sinkhost/runtime/connector_service.hpp"
#include "sinkhost/runtime/embedded_log/event_log.hpp"
#include "sinkhost/runtime/plugin_registry.hpp"
#include "sinkhost/runtime/state_store.hpp"
#include "sinkhost/runtime/embedded_log/log_source.hpp"

using namespace sinkhost;
using Clock = std::chrono::steady_clock;

namespace {

constexpr std::size_t kEventBytes = 250;

std::string uuid(std::uint64_t n) {
  char buffer[40];
  std::snprintf(buffer, sizeof buffer, "%08x-0000-4000-8000-%012llx", static_cast<unsigned>(n >> 48),
                static_cast<unsigned long long>(n & 0xffffffffffffULL));
  return buffer;
}

// ~250 bytes of JSON data, as a typical small domain event.
std::string event_data(std::uint64_t n) {
  std::string data =
      R"({"orderId":"order-)" + std::to_string(n) + R"(","customer":"customer-42","total":125.5,"note":")";
  data.append(kEventBytes - data.size() - 2, 'x');
  return data + "\"}";
}

double seconds_since(Clock::time_point start) { return std::chrono::duration<double>(Clock::now() - start).count(); }

void report(const char* what, std::size_t events, double seconds) {
  std::printf("%-52s %10zu events %8.2f s %12.0f events/s\n", what, events, seconds, events / seconds);
  std::fflush(stdout);
}

void bench_in_process(const std::string& dir, std::size_t total, std::size_t batch, int threads,
                      runtime::Durability durability, const char* label) {
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  auto log = runtime::EventLog::open(dir + "/events.db", durability);
  if (!log.ok()) throw std::runtime_error(log.error().message);
  // Requests are built before the clock starts: the figure is the log's, not the generator's.
  std::vector<std::vector<runtime::AppendRequest>> work(threads);
  std::uint64_t n = 0;
  for (std::size_t b = 0; b < total / batch; ++b) {
    runtime::AppendRequest request{.stream = "order-" + std::to_string(b % 1000), .events = {}};
    for (std::size_t i = 0; i < batch; ++i, ++n) {
      request.events.push_back(
          {.event_id = uuid(n), .event_type = "OrderPlaced", .is_json = true, .data = event_data(n), .metadata = "{}"});
    }
    work[b % threads].push_back(std::move(request));
  }
  auto start = Clock::now();
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      for (auto& request : work[t]) {
        if (!(*log)->append(std::move(request)).ok()) std::abort();
      }
    });
  }
  for (auto& th : pool) th.join();
  report(label, n, seconds_since(start));
}

void bench_catch_up(const std::string& dir, const char* label) {
  auto log = runtime::EventLog::open(dir + "/events.db");
  if (!log.ok()) throw std::runtime_error(log.error().message);
  runtime::EmbeddedLogSource source(**log);
  auto subscription = source.subscribe({.after = std::nullopt, .filter = nullptr, .on_new_events = [] {}});
  if (!subscription.ok()) std::abort();
  std::size_t events = 0, bytes = 0;
  runtime::SourceBatch batch;
  auto start = Clock::now();
  while ((*subscription)->has_new()) {
    if (!(*subscription)->read(1000, std::size_t{8} << 20, batch).ok()) std::abort();
    events += batch.size;
    for (std::size_t i = 0; i < batch.size; ++i) bytes += batch.events[i].data.size();
  }
  report(label, events, seconds_since(start));
  if (bytes == 0) std::abort();
}

// One keep-alive connection per client thread, each posting pre-built batches.
void bench_http(const std::string& dir, std::size_t total, std::size_t batch, int clients, const char* label) {
  std::filesystem::remove_all(dir);
  std::filesystem::create_directories(dir);
  auto log = runtime::EventLog::open(dir + "/events.db");
  auto store = runtime::StateStore::open(dir + "/state.db");
  runtime::PluginRegistry plugins;
  runtime::ConnectorService connectors(**log, **store, plugins);
  management_api::Api api(**log, connectors, {.version = "bench"});
  management_api::HttpServer server([&](const management_api::HttpRequest& r) { return api.handle(r); },
                                    {.host = "127.0.0.1", .port = 0});
  if (!server.listen().ok()) throw std::runtime_error("listen failed");
  std::thread server_thread([&] { server.run(); });

  std::vector<std::vector<std::string>> bodies(clients);
  std::uint64_t n = 0;
  for (std::size_t b = 0; b < total / batch; ++b) {
    nlohmann::json events = nlohmann::json::array();
    for (std::size_t i = 0; i < batch; ++i, ++n) {
      events.push_back(
          {{"eventId", uuid(n)}, {"eventType", "OrderPlaced"}, {"data", nlohmann::json::parse(event_data(n))}});
    }
    bodies[b % clients].push_back(events.dump());
  }

  namespace http = boost::beast::http;
  auto start = Clock::now();
  std::vector<std::thread> pool;
  for (int c = 0; c < clients; ++c) {
    pool.emplace_back([&, c] {
      boost::asio::io_context io;
      boost::asio::ip::tcp::socket socket(io);
      socket.connect({boost::asio::ip::make_address("127.0.0.1"), server.port()});
      boost::beast::flat_buffer buffer;
      for (auto& body : bodies[c]) {
        http::request<http::string_body> request{http::verb::post, "/streams/order-" + std::to_string(c), 11};
        request.set(http::field::host, "127.0.0.1");
        request.set(http::field::content_type, "application/vnd.eventstore.events+json");
        request.body() = std::move(body);
        request.prepare_payload();
        http::write(socket, request);
        http::response<http::string_body> response;
        http::read(socket, buffer, response);
        if (response.result_int() != 201) {
          std::fprintf(stderr, "append failed: %d %s\n", response.result_int(), response.body().c_str());
          std::abort();
        }
      }
    });
  }
  for (auto& th : pool) th.join();
  report(label, n, seconds_since(start));
  server.stop();
  server_thread.join();
}

}  // namespace

int main(int argc, char** argv) {
  std::size_t events = 1000000;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--events" && i + 1 < argc) events = std::stoul(argv[++i]);
    if (arg == "--quick") events = 100000;
  }
  test::TempDir dir;
  const auto d = dir.path() + "/log";
  std::printf("event log benchmark: %zu events of ~%zu bytes, %u hardware threads\n", events, kEventBytes,
              std::thread::hardware_concurrency());
  bench_in_process(d, events, 100, 1, runtime::Durability::process_crash, "in-process append, batch 100, 1 thread");
  bench_in_process(d, events, 1000, 1, runtime::Durability::process_crash, "in-process append, batch 1000, 1 thread");
  bench_in_process(d, events, 100, 4, runtime::Durability::process_crash, "in-process append, batch 100, 4 threads");
  bench_catch_up(d, "catch-up read from position 1 (the embedded log source)");
  bench_in_process(d, events / 10, 100, 4, runtime::Durability::power_loss,
                   "in-process append, batch 100, 4 threads, power-loss");
  bench_http(d, events, 100, 4, "HTTP append, batch 100, 4 connections");
  bench_http(d, events, 1000, 4, "HTTP append, batch 1000, 4 connections");
  return 0;
}
