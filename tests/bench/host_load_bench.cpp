// One host, many connectors: starts the real daemon, measures it idle, then runs N kafka-sink
// connectors that all stream the same steady flow of appended events, each to a topic of its
// own, while clients call the management API. Prints resident memory (RSS) and threads idle and
// at steady state, the cost per connector, delivery throughput, and API latency. Not a test
// (docs/performance.md has the figures and the command).
//
//   sinkhost_bench_host_load --bootstrap HOST:PORT [--connectors 100] [--rate 200] [--seconds 20]
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "http_client.hpp"
#include "process.hpp"

using namespace sinkhost;
using Clock = std::chrono::steady_clock;
using nlohmann::json;

namespace {

struct ProcessSample {
  double rss_mib = 0;
  long threads = 0;
};

ProcessSample sample(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  ProcessSample s;
  for (std::string line; std::getline(status, line);) {
    if (line.starts_with("VmRSS:")) s.rss_mib = std::stod(line.substr(6)) / 1024.0;
    if (line.starts_with("Threads:")) s.threads = std::stol(line.substr(8));
  }
  return s;
}

// The sum of every connector's delivered records, from /metrics.
double delivered_total(std::uint16_t port) {
  auto text = test::http_request(port, "GET", "/metrics").body;
  std::istringstream lines(text);
  double total = 0;
  for (std::string line; std::getline(lines, line);) {
    if (line.starts_with("sinkhost_connector_records_delivered_total{"))
      total += std::stod(line.substr(line.rfind(' ') + 1));
  }
  return total;
}

double percentile(std::vector<double> values, double p) {
  if (values.empty()) return 0;
  std::sort(values.begin(), values.end());
  return values[std::min(values.size() - 1, static_cast<std::size_t>(p * static_cast<double>(values.size())))];
}

}  // namespace

int main(int argc, char** argv) {
  std::string bootstrap = "127.0.0.1:9092";
  int connectors = 100, rate = 200, seconds = 20;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string arg = argv[i];
    if (arg == "--bootstrap") bootstrap = argv[i + 1];
    if (arg == "--connectors") connectors = std::stoi(argv[i + 1]);
    if (arg == "--rate") rate = std::stoi(argv[i + 1]);
    if (arg == "--seconds") seconds = std::stoi(argv[i + 1]);
  }
  test::TempDir dir;
  test::SinkhostProcess host(dir.path() + "/data", {"--log-level", "warn"});
  host.start();
  const auto port = host.port();
  std::this_thread::sleep_for(std::chrono::seconds(2));
  const auto idle = sample(host.pid());
  std::printf(
      "Host load benchmark: %d kafka-sink connectors, %d events/s appended (each delivered by every "
      "connector), broker %s\n",
      connectors, rate, bootstrap.c_str());
  std::printf("%-44s %8.1f MiB RSS %6ld threads\n", "idle host", idle.rss_mib, idle.threads);

  const auto run = std::to_string(std::chrono::system_clock::now().time_since_epoch().count() % 100000000);
  const auto started_at = Clock::now();
  for (int c = 0; c < connectors; ++c) {
    const auto id = "load-" + std::to_string(c);
    json settings = {{"instanceTypeName", "kafka-sink"},
                     {"topic", "load-" + run + "-" + std::to_string(c)},
                     {"bootstrapServers", bootstrap},
                     {"subscription:filter:filterType", "prefix"},
                     {"subscription:filter:expression", "flow-"},
                     {"subscription:initialPosition", "latest"},
                     {"logging:enabled", "false"}};
    if (test::http_request(port, "POST", "/connectors/" + id, json{{"settings", settings}}.dump()).status != 200 ||
        test::http_request(port, "POST", "/connectors/" + id + "/start").status != 200) {
      std::fprintf(stderr, "cannot start %s\n%s", id.c_str(), host.log().c_str());
      return 1;
    }
  }
  std::printf("%-44s %8.2f s\n", "creating and starting them",
              std::chrono::duration<double>(Clock::now() - started_at).count());

  std::atomic<bool> running{true};
  std::thread appender([&] {
    constexpr int kBatch = 20;
    auto next = Clock::now();
    for (std::uint64_t n = 0; running; n += kBatch) {
      auto events = json::array();
      for (int i = 0; i < kBatch; ++i) {
        char id[40];
        std::snprintf(id, sizeof id, "10ad0000-0000-4000-8000-%012llu", static_cast<unsigned long long>(n + i));
        events.push_back({{"eventId", id},
                          {"eventType", "Flow"},
                          {"data", {{"n", n + i}, {"customer", "customer-42"}, {"note", std::string(180, 'x')}}}});
      }
      (void)test::http_request(port, "POST", "/streams/flow-" + std::to_string(n % 7), events.dump());
      next += std::chrono::microseconds(1000000LL * kBatch / rate);
      std::this_thread::sleep_until(next);
    }
  });
  // Management clients: list every connector, read one, read the metrics, in turn.
  std::vector<std::vector<double>> latencies(4);
  std::atomic<bool> measuring{false};
  std::vector<std::thread> clients;
  for (std::size_t k = 0; k < latencies.size(); ++k) {
    clients.emplace_back([&, k] {
      for (int i = 0; running; ++i) {
        const std::string target = i % 3 == 0   ? "/connectors"
                                   : i % 3 == 1 ? "/connectors/load-" + std::to_string(i % connectors)
                                                : "/metrics";
        auto begin = Clock::now();
        (void)test::http_request(port, "GET", target);
        if (measuring) latencies[k].push_back(std::chrono::duration<double, std::milli>(Clock::now() - begin).count());
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      }
    });
  }

  std::this_thread::sleep_for(std::chrono::seconds(5));  // topics created, producers connected
  measuring = true;
  const double delivered_before = delivered_total(port);
  const auto window_start = Clock::now();
  ProcessSample peak;
  for (int s = 0; s < seconds; ++s) {
    std::this_thread::sleep_for(std::chrono::seconds(1));
    auto now = sample(host.pid());
    peak.rss_mib = std::max(peak.rss_mib, now.rss_mib);
    peak.threads = std::max(peak.threads, now.threads);
  }
  const double window = std::chrono::duration<double>(Clock::now() - window_start).count();
  const double delivered = delivered_total(port) - delivered_before;
  measuring = false;
  const auto steady = sample(host.pid());
  running = false;
  appender.join();
  for (auto& c : clients) c.join();

  std::vector<double> all;
  for (const auto& l : latencies) all.insert(all.end(), l.begin(), l.end());
  std::printf("%-44s %8.1f MiB RSS %6ld threads (peak %.1f MiB, %ld threads)\n", "streaming, steady state",
              steady.rss_mib, steady.threads, peak.rss_mib, peak.threads);
  std::printf("%-44s %8.2f MiB RSS %6.1f threads\n", "per running connector",
              (steady.rss_mib - idle.rss_mib) / connectors,
              static_cast<double>(steady.threads - idle.threads) / connectors);
  std::printf("%-44s %8.0f records/s (%d connectors x %d events/s offered)\n", "delivered to Kafka", delivered / window,
              connectors, rate);
  std::printf("%-44s p50 %.1f ms  p99 %.1f ms  (%zu requests)\n", "management API while all stream",
              percentile(all, 0.50), percentile(all, 0.99), all.size());
  host.stop();
  return 0;
}
