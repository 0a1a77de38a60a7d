// Management API under load: many concurrent clients list and read connectors while
// connectors stream events that are being appended. Reports requests/s and latency
// percentiles. Not a test (see docs/performance.md).
//
//   sinkhost_bench_api_load [--clients N] [--connectors N] [--seconds N]
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/ip/tcp.hpp>
#include <spdlog/spdlog.h>
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

using namespace sinkhost;
using Clock = std::chrono::steady_clock;
namespace http = boost::beast::http;

namespace {

struct Client {
  boost::asio::io_context io;
  boost::asio::ip::tcp::socket socket{io};
  boost::beast::flat_buffer buffer;

  explicit Client(std::uint16_t port) { socket.connect({boost::asio::ip::make_address("127.0.0.1"), port}); }

  int request(http::verb verb, const std::string& target, const std::string& body = "") {
    http::request<http::string_body> req{verb, target, 11};
    req.set(http::field::host, "127.0.0.1");
    if (!body.empty()) {
      req.set(http::field::content_type, "application/json");
      req.body() = body;
    }
    req.prepare_payload();
    http::write(socket, req);
    http::response<http::string_body> res;
    http::read(socket, buffer, res);
    return res.result_int();
  }
};

double percentile(std::vector<double>& values, double p) {
  if (values.empty()) return 0;
  auto index = static_cast<std::size_t>(p * static_cast<double>(values.size() - 1));
  std::nth_element(values.begin(), values.begin() + static_cast<long>(index), values.end());
  return values[index];
}

}  // namespace

int main(int argc, char** argv) {
  int clients = 32, connectors = 20, seconds = 10;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string arg = argv[i];
    if (arg == "--clients") clients = std::stoi(argv[i + 1]);
    if (arg == "--connectors") connectors = std::stoi(argv[i + 1]);
    if (arg == "--seconds") seconds = std::stoi(argv[i + 1]);
  }
  spdlog::set_level(spdlog::level::warn);  // the per-connector start lines are noise here
  test::TempDir dir;
  auto log = runtime::EventLog::open(dir.path() + "/events.db");
  auto store = runtime::StateStore::open(dir.path() + "/state.db");
  runtime::PluginRegistry plugins;
  if (auto loaded = plugins.load_directory(SINKHOST_PLUGIN_DIR); !loaded.ok()) {
    std::fprintf(stderr, "%s\n", loaded.error().message.c_str());
    return 1;
  }
  runtime::ConnectorService service(**log, **store, plugins);
  (void)service.restore();
  management_api::Api api(**log, service, {.version = "bench"});
  management_api::HttpServer server([&](const management_api::HttpRequest& r) { return api.handle(r); },
                                    {.host = "127.0.0.1", .port = 0});
  if (!server.listen().ok()) return 1;
  std::thread server_thread([&] { server.run(); });

  {
    Client admin(server.port());
    for (int c = 0; c < connectors; ++c) {
      auto id = "load-sink-" + std::to_string(c);
      nlohmann::json settings = {{"instanceTypeName", "logger-sink"},
                                 {"output", "file"},
                                 {"path", "/dev/null"},
                                 {"subscription:initialPosition", "earliest"}};
      admin.request(http::verb::post, "/connectors/" + id, nlohmann::json{{"settings", settings}}.dump());
      admin.request(http::verb::post, "/connectors/" + id + "/start");
    }
  }

  // Appends keep every connector streaming during the measurement.
  std::atomic<bool> stop{false};
  std::atomic<std::uint64_t> appended{0};
  std::thread appender([&] {
    Client writer(server.port());
    nlohmann::json events = nlohmann::json::array();
    for (std::uint64_t n = 0; !stop; ++n) {
      events.clear();
      for (int i = 0; i < 100; ++i) {
        char id[40];
        std::snprintf(id, sizeof id, "bbbbbbbb-0000-4000-8000-%012llu", static_cast<unsigned long long>(n * 100 + i));
        events.push_back({{"eventId", id}, {"eventType", "Tick"}, {"data", {{"n", n}}}});
      }
      if (writer.request(http::verb::post, "/streams/ticks-" + std::to_string(n % 10), events.dump()) == 201) {
        appended += 100;
      }
    }
  });

  std::vector<std::vector<double>> latencies(clients);
  std::vector<std::thread> pool;
  const auto deadline = Clock::now() + std::chrono::seconds(seconds);
  for (int c = 0; c < clients; ++c) {
    pool.emplace_back([&, c] {
      Client client(server.port());
      for (int i = 0; Clock::now() < deadline; ++i) {
        auto target =
            i % 2 == 0 ? std::string("/connectors") : "/connectors/load-sink-" + std::to_string(i % connectors);
        auto start = Clock::now();
        if (client.request(http::verb::get, target) != 200) std::abort();
        latencies[c].push_back(std::chrono::duration<double, std::milli>(Clock::now() - start).count());
      }
    });
  }
  for (auto& t : pool) t.join();
  stop = true;
  appender.join();

  std::vector<double> all;
  for (auto& l : latencies) all.insert(all.end(), l.begin(), l.end());
  std::uint64_t delivered = 0;
  for (const auto& view : service.list({.page_size = 1000}).items) delivered += view.metrics->records_delivered.load();
  std::printf("management API under load: %d clients, %d logger-sink connectors streaming, %d s\n", clients, connectors,
              seconds);
  std::printf("requests: %zu (%.0f/s)   latency ms: p50 %.2f  p99 %.2f  max %.2f\n", all.size(),
              static_cast<double>(all.size()) / seconds, percentile(all, 0.50), percentile(all, 0.99),
              percentile(all, 1.0));
  std::printf("meanwhile: %llu events appended, %llu records delivered by the connectors\n",
              static_cast<unsigned long long>(appended.load()), static_cast<unsigned long long>(delivered));
  service.shutdown();
  server.stop();
  server_thread.join();
  return 0;
}
