// GET /metrics in the Prometheus text exposition format (version 0.0.4).
#include <fmt/format.h>

#include "routes_common.hpp"
#include "sinkhost/management_api/api.hpp"
#include "sinkhost/runtime/connector_service.hpp"

namespace sinkhost::management_api {

namespace {

// Label values escape backslash, double quote and newline.
std::string label(std::string_view value) {
  std::string out;
  for (char c : value) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '"')
      out += "\\\"";
    else if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
  return out;
}

void family(std::string& out, const char* name, const char* type, const char* help) {
  out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
}

// A connector's delivery latency histogram under `name`.
void latency_histogram(std::string& out, const char* name, const runtime::ConnectorView& c) {
  const auto id = label(c.definition.id);
  const auto& m = *c.metrics;
  std::uint64_t cumulative = 0;
  for (std::size_t i = 0; i < m.latency_buckets.size(); ++i) {
    cumulative += m.latency_buckets[i].load();
    auto le = i < runtime::ConnectorMetrics::kLatencyBuckets.size()
                  ? fmt::format("{}", runtime::ConnectorMetrics::kLatencyBuckets[i])
                  : std::string("+Inf");
    out += fmt::format("{}_bucket{{connector=\"{}\",le=\"{}\"}} {}\n", name, id, le, cumulative);
  }
  out += fmt::format("{}_sum{{connector=\"{}\"}} {}\n", name, id, static_cast<double>(m.latency_sum_us.load()) / 1e6);
  out += fmt::format("{}_count{{connector=\"{}\"}} {}\n", name, id, m.latency_count.load());
}

// The same figures under the names of KurrentDB's connector metrics (docs/operations.md maps
// them), so that a dashboard built on KurrentDB's shows sinkhost's connectors.
void kurrentdb_metrics(std::string& out, const std::vector<runtime::ConnectorView>& connectors, std::uint64_t head) {
  family(out, "kurrent_connector_active_total", "gauge", "Connectors running (KurrentDB's name).");
  std::size_t active = 0;
  for (const auto& c : connectors) active += c.state == runtime::ConnectorState::running ? 1 : 0;
  out += fmt::format("kurrent_connector_active_total {}\n", active);

  auto each = [&](const char* name, auto value_of) {
    for (const auto& c : connectors) {
      out += fmt::format("{}{{connector=\"{}\",type=\"{}\"}} {}\n", name, label(c.definition.id),
                         label(c.definition.instance_type_name), value_of(c));
    }
  };
  using View = runtime::ConnectorView;
  // KurrentDB exports it as a histogram of records per write; here every count is one record.
  family(out, "kurrent_sink_written_total_records", "histogram",
         "Records the sink acknowledged (KurrentDB's name; sinkhost_connector_records_delivered_total).");
  for (const auto& c : connectors) {
    const auto id = label(c.definition.id);
    const auto n = c.metrics->records_delivered.load();
    out += fmt::format("kurrent_sink_written_total_records_bucket{{connector=\"{}\",le=\"+Inf\"}} {}\n", id, n);
    out += fmt::format("kurrent_sink_written_total_records_sum{{connector=\"{}\"}} {}\n", id, n);
    out += fmt::format("kurrent_sink_written_total_records_count{{connector=\"{}\"}} {}\n", id, n);
  }
  family(out, "kurrent_sink_errors_total", "counter",
         "Records whose delivery failed and transform errors (KurrentDB's name).");
  each("kurrent_sink_errors_total",
       [](const View& c) { return c.metrics->errors.load() + c.metrics->transform_errors.load(); });
  family(out, "kurrent_sink_write_latency_s", "histogram",
         "Time from handing a record to the sink until its acknowledgement (KurrentDB's name; "
         "sinkhost_connector_delivery_latency_seconds).");
  for (const auto& c : connectors) latency_histogram(out, "kurrent_sink_write_latency_s", c);
  family(out, "messaging_kurrent_consumer_message_count", "counter",
         "Events the connector read from the log: delivered, filtered out or dropped (KurrentDB's name).");
  each("messaging_kurrent_consumer_message_count", [](const View& c) {
    const auto& m = *c.metrics;
    return m.records_delivered.load() + m.records_filtered.load() + m.records_dropped.load();
  });
  family(out, "messaging_kurrent_consumer_lag", "gauge",
         "Log head minus the committed checkpoint (KurrentDB's name; sinkhost_connector_lag_events).");
  each("messaging_kurrent_consumer_lag", [&](const View& c) { return c.lag(head); });
  family(out, "messaging_kurrent_processor_error_count", "counter",
         "Runs that ended in a failure (KurrentDB's name; sinkhost_connector_failed_runs_total).");
  each("messaging_kurrent_processor_error_count", [](const View& c) { return c.metrics->runs_failed.load(); });
}

}  // namespace

HttpResponse Api::metrics() {
  runtime::ListQuery query;
  query.page_size = std::numeric_limits<std::size_t>::max();
  const auto connectors = connectors_.list(query).items;
  // The last head the source knows (0 when it never reached its store).
  const auto known_head = connectors_.source().head();
  const std::uint64_t head = known_head.ok() ? known_head->commit : 0;

  std::string out;
  family(out, "sinkhost_event_log_head_position", "gauge", "Log position of the newest event.");
  out += fmt::format("sinkhost_event_log_head_position {}\n", head);

  auto per_connector = [&](const char* name, const char* type, const char* help, auto value_of) {
    family(out, name, type, help);
    for (const auto& c : connectors) {
      out += fmt::format("{}{{connector=\"{}\",type=\"{}\"}} {}\n", name, label(c.definition.id),
                         label(c.definition.instance_type_name), value_of(c));
    }
  };
  using View = runtime::ConnectorView;
  per_connector("sinkhost_connector_records_delivered_total", "counter",
                "Records the sink acknowledged since the host started.",
                [](const View& c) { return c.metrics->records_delivered.load(); });
  per_connector("sinkhost_connector_records_filtered_total", "counter",
                "Records read but not delivered because the subscription filter did not match.",
                [](const View& c) { return c.metrics->records_filtered.load(); });
  per_connector("sinkhost_connector_delivery_errors_total", "counter", "Records whose delivery failed.",
                [](const View& c) { return c.metrics->errors.load(); });
  per_connector("sinkhost_connector_failed_runs_total", "counter", "Runs that ended in a failure.",
                [](const View& c) { return c.metrics->runs_failed.load(); });
  per_connector("sinkhost_connector_records_dropped_total", "counter",
                "Records the transform dropped (it returned false); the checkpoint moves past them.",
                [](const View& c) { return c.metrics->records_dropped.load(); });
  per_connector("sinkhost_connector_transform_errors_total", "counter",
                "Records the transform threw on or ran past its time limit on (each stops the connector).",
                [](const View& c) { return c.metrics->transform_errors.load(); });
  per_connector("sinkhost_connector_records_dead_lettered_total", "counter",
                "Records written to the dead-letter topic instead of their own (deadLetter:*); the checkpoint moves "
                "past them.",
                [](const View& c) { return c.metrics->records_dead_lettered.load(); });
  per_connector("sinkhost_connector_records_retried_total", "counter",
                "Records the sink sent again after a transient failure (http-sink: 408, 429, 5xx, connection errors "
                "and timeouts; kafka-sink's retries happen inside librdkafka and are not counted).",
                [](const View& c) { return c.metrics->records_retried.load(); });
  per_connector("sinkhost_connector_checkpoint_position", "gauge", "Log position of the committed checkpoint.",
                [](const View& c) { return c.definition.checkpoint ? c.definition.checkpoint->commit : 0; });
  per_connector("sinkhost_connector_lag_events", "gauge", "Log head minus the committed checkpoint.",
                [&](const View& c) { return c.lag(head); });

  per_connector("sinkhost_connector_restarts_total", "counter",
                "Times the sink was rebuilt after a fatal error and resent from the checkpoint.",
                [](const View& c) { return c.metrics->restarts.load(); });
  per_connector("sinkhost_connector_degraded", "gauge",
                "1 while a running connector's sink reports a transient problem (a broker down) and keeps retrying.",
                [](const View& c) { return c.warning() ? 1 : 0; });

  family(out, "sinkhost_connector_state", "gauge", "1 for the connector's current state.");
  for (const auto& c : connectors) {
    out += fmt::format("sinkhost_connector_state{{connector=\"{}\",type=\"{}\",state=\"{}\"}} 1\n",
                       label(c.definition.id), label(c.definition.instance_type_name), runtime::to_string(c.state));
  }

  family(out, "sinkhost_connector_delivery_latency_seconds", "histogram",
         "Time from handing a record to the sink until its acknowledgement.");
  for (const auto& c : connectors) latency_histogram(out, "sinkhost_connector_delivery_latency_seconds", c);
  kurrentdb_metrics(out, connectors, head);
  HttpResponse response;
  response.content_type = "text/plain; version=0.0.4";
  response.body = std::move(out);
  return response;
}

}  // namespace sinkhost::management_api
