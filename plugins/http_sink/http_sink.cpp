// http-sink: sends each record to an HTTP(S) endpoint (KurrentDB's http-sink), on the plugin's
// own threads, each with one kept-alive connection. A record is reported delivered only after
// a 2xx answer; 408, 429, 5xx and connection errors are retried with KurrentDB's three-phase
// backoff; any other status stops the connector. Records of one stream are sent one request at
// a time, in order; different streams go out concurrently.
#include <boost/version.hpp>
#include <openssl/opensslv.h>

#include <openssl/crypto.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "connection_check.hpp"
#include "delivery_rules.hpp"
#include "http_client.hpp"
#include "http_settings.hpp"
#include "sinkhost/connector/plugin.hpp"
#include "url_template.hpp"

namespace sinkhost::http_sink {
namespace {

using connector::Error;
using connector::ErrorCode;
using connector::LogLevel;
using connector::LogPosition;
using connector::make_error;
using connector::Result;

struct Item {
  LogPosition position;
  std::string target;
  bool json = true;
  std::vector<connector::Header> headers;
  std::string body;
};

class HttpSink final : public connector::Sink {
 public:
  HttpSink(connector::SinkContext context, HttpSinkSettings settings, UrlTemplate url)
      : context_(std::move(context)), settings_(std::move(settings)), url_(std::move(url)) {
    lifetime_ = parse_timespan(settings_.pooled_connection_lifetime).value_or(std::chrono::minutes(5));
  }

  ~HttpSink() override { close(std::chrono::milliseconds(0)); }

  Result<void> open() override {
    if (url_.tls()) {
      auto tls = make_tls_context(settings_);
      if (!tls.ok()) return tls.error();
      tls_ = std::move(tls).value();
    }
    const auto timeout = std::chrono::milliseconds(settings_.resilience.request_timeout_ms);
    for (std::int64_t i = 0; i < settings_.max_connections; ++i) {
      connections_.push_back(std::make_unique<Connection>(url_, tls_, timeout, lifetime_));
    }
    for (auto& connection : connections_) {
      workers_.emplace_back([this, c = connection.get()] { work(*c); });
    }
    context_.log(LogLevel::info, "sending records to " + url_.origin() + " (" + settings_.method + ", " +
                                     std::to_string(settings_.max_connections) + " connection(s))");
    return {};
  }

  Result<void> write(const connector::Record& record) override {
    Item item;
    item.position = record.position;
    item.target = url_.target(record);
    item.json = record.schema_type == connector::SchemaType::json;
    item.headers = request_headers(record, settings_);
    item.body = record.data;
    std::lock_guard lock(mutex_);
    if (halted_ || closing_) {
      return make_error(ErrorCode::resource_exhausted, "the http sink has stopped sending");
    }
    if (pending_ >= static_cast<std::size_t>(settings_.max_pending_records)) {
      return make_error(ErrorCode::resource_exhausted, "waiting for answers from " + url_.origin());
    }
    auto& queue = streams_[record.stream_id];
    queue.push_back(std::move(item));
    if (queue.size() == 1 && !busy_.contains(record.stream_id)) ready_.push_back(record.stream_id);
    ++pending_;
    work_.notify_one();
    return {};
  }

  void close(std::chrono::milliseconds deadline) noexcept override {
    if (workers_.empty() && connections_.empty()) return;
    {
      std::unique_lock lock(mutex_);
      closing_ = true;
      // Deliver what can be delivered in time (nothing more once the sink halted).
      idle_.wait_for(lock, deadline, [this] { return pending_ == 0 || (halted_ && busy_.empty()); });
      stopping_ = true;
    }
    work_.notify_all();
    for (auto& connection : connections_) connection->stop();
    for (auto& worker : workers_) {
      if (worker.joinable()) worker.join();
    }
    workers_.clear();
    connections_.clear();
    // Whatever is still queued was never sent: report it, so that every outcome is reported.
    std::size_t left = 0;
    for (auto& [stream, queue] : streams_) {
      for (auto& item : queue) {
        context_.listener->failed(item.position, make_error(ErrorCode::unavailable, "not sent before the sink closed"));
        ++left;
      }
    }
    streams_.clear();
    ready_.clear();
    if (left > 0) {
      context_.log(LogLevel::warn, std::to_string(left) +
                                       " record(s) not sent before the sink closed; they will be "
                                       "sent again at the next start");
    }
  }

 private:
  // Takes the next stream ready to send and up to batching:maxRecords of its records; false
  // when the sink stops.
  bool take(std::string& stream, std::vector<Item>& batch) {
    std::unique_lock lock(mutex_);
    work_.wait(lock, [this] { return stopping_ || (!halted_ && !ready_.empty()); });
    if (stopping_) return false;
    stream = std::move(ready_.front());
    ready_.pop_front();
    busy_.insert(stream);
    auto& queue = streams_[stream];
    const auto limit = static_cast<std::size_t>(settings_.batch_max_records);
    batch.clear();
    while (!queue.empty() && batch.size() < limit) {
      auto& next = queue.front();
      // A batch shares one URL and holds JSON records only (batching:format).
      if (!batch.empty() && (!next.json || !batch.front().json || next.target != batch.front().target)) break;
      batch.push_back(std::move(next));
      queue.pop_front();
    }
    return true;
  }

  void done(const std::string& stream, std::size_t count) {
    std::lock_guard lock(mutex_);
    pending_ -= count;
    busy_.erase(stream);
    auto it = streams_.find(stream);
    if (it != streams_.end()) {
      if (it->second.empty()) {
        streams_.erase(it);
      } else {
        ready_.push_back(stream);
        work_.notify_one();
      }
    }
    idle_.notify_all();
  }

  Request request_for(std::vector<Item>& batch) const {
    Request request;
    request.method = settings_.method;
    request.target = batch.front().target;
    request.headers = batch.front().headers;
    if (settings_.batch_max_records == 1 || !batch.front().json) {
      request.body = std::move(batch.front().body);
      return request;
    }
    // A batch (even of one record, so that a receiver of batches always gets one): the first
    // record's headers, the bodies joined, and how many records it holds.
    const bool ndjson = settings_.batch_format == BatchFormat::ndjson;
    std::string body = ndjson ? "" : "[";
    for (std::size_t i = 0; i < batch.size(); ++i) {
      if (i > 0) body += ndjson ? "\n" : ",";
      body += batch[i].body;
    }
    body += ndjson ? "\n" : "]";
    request.body = std::move(body);
    for (auto& h : request.headers) {
      if (h.name == "Content-Type") h.value = ndjson ? "application/x-ndjson" : "application/json";
    }
    request.headers.push_back({"esdb-batch-size", std::to_string(batch.size())});
    return request;
  }

  void fail_all(const std::vector<Item>& batch, const Error& error) {
    for (const auto& item : batch) context_.listener->failed(item.position, error);
  }

  // The sink cannot go on: the connector stops; nothing else is sent.
  void halt() {
    std::lock_guard lock(mutex_);
    halted_ = true;
    idle_.notify_all();
  }

  void work(Connection& connection) {
    std::string stream;
    std::vector<Item> batch;
    while (take(stream, batch)) {
      deliver(connection, batch);
      done(stream, batch.size());
    }
  }

  void deliver(Connection& connection, std::vector<Item>& batch) {
    const auto request = request_for(batch);
    const auto what = settings_.method + " " + url_.origin() + request.target;
    std::int64_t failures = 0;
    std::chrono::steady_clock::time_point first_failure;
    while (true) {
      auto response = connection.send(request);
      std::string problem;
      std::optional<std::chrono::milliseconds> retry_after;
      if (response.status != 0) {
        switch (classify_status(response.status)) {
          case Verdict::delivered:
            if (degraded_.exchange(false)) context_.listener->degraded(std::nullopt);
            for (const auto& item : batch) context_.listener->delivered(item.position);
            return;
          case Verdict::permanent: {
            const auto code = response.status == 401 || response.status == 403 ? ErrorCode::permission_denied
                                                                               : ErrorCode::invalid_argument;
            auto error = make_error(code, what + " answered " + std::to_string(response.status) + " " +
                                              response.reason + ": " + body_excerpt(response.body));
            context_.log(LogLevel::error, error.message);
            halt();
            fail_all(batch, error);
            return;
          }
          case Verdict::retry:
            problem = what + " answered " + std::to_string(response.status) + " " + response.reason +
                      (response.body.empty() ? "" : ": " + body_excerpt(response.body, 200));
            if (response.retry_after)
              retry_after = parse_retry_after(*response.retry_after, std::chrono::system_clock::now());
            break;
        }
      } else if (response.tls_error) {
        auto error = make_error(ErrorCode::unavailable, response.transport_error);
        context_.log(LogLevel::error, error.message);
        halt();
        fail_all(batch, error);
        return;
      } else {
        problem = response.transport_error;
      }
      if (stopping()) {
        fail_all(batch, make_error(ErrorCode::unavailable, "not delivered before the sink closed: " + problem));
        return;
      }
      const auto now = std::chrono::steady_clock::now();
      if (failures++ == 0) first_failure = now;
      auto delay = next_retry_delay(
          settings_.resilience, std::chrono::duration_cast<std::chrono::milliseconds>(now - first_failure), failures);
      if (!delay) {
        auto error = make_error(ErrorCode::unavailable,
                                problem + " (gave up after " + std::to_string(failures) + " attempt(s))");
        context_.log(LogLevel::error, error.message);
        halt();
        fail_all(batch, error);
        return;
      }
      if (retry_after) delay = *retry_after;
      if (!degraded_.exchange(true) || failures == 1) {
        context_.listener->degraded(make_error(ErrorCode::unavailable, problem));
      }
      context_.log(LogLevel::warn, problem + "; retrying in " + std::to_string(delay->count()) + " ms");
      std::unique_lock lock(mutex_);
      if (work_.wait_for(lock, *delay, [this] { return stopping_; })) {
        lock.unlock();
        fail_all(batch, make_error(ErrorCode::unavailable, "not delivered before the sink closed: " + problem));
        return;
      }
    }
  }

  bool stopping() {
    std::lock_guard lock(mutex_);
    return stopping_;
  }

  connector::SinkContext context_;
  const HttpSinkSettings settings_;
  const UrlTemplate url_;
  std::chrono::milliseconds lifetime_{};
  std::shared_ptr<TlsContext> tls_;
  std::vector<std::unique_ptr<Connection>> connections_;
  std::vector<std::thread> workers_;
  std::atomic<bool> degraded_{false};

  std::mutex mutex_;
  std::condition_variable work_;                               // a stream became ready, or stopping_
  std::condition_variable idle_;                               // records were answered, or halted_
  std::unordered_map<std::string, std::deque<Item>> streams_;  // records not yet taken, per stream
  std::deque<std::string> ready_;                              // streams with records and no request in flight
  std::unordered_set<std::string> busy_;                       // streams with a request in flight
  std::size_t pending_ = 0;                                    // accepted and not yet reported
  bool halted_ = false;                                        // a permanent failure: send nothing more
  bool closing_ = false;
  bool stopping_ = false;
};

Result<std::unique_ptr<connector::Sink>> create(connector::SinkContext context) {
  auto settings = HttpSinkSettings::from(context.settings);
  if (auto violations = check_settings(settings); !violations.empty()) {
    return make_error(ErrorCode::invalid_argument, "the http-sink settings are not valid", std::move(violations));
  }
  auto url = UrlTemplate::parse(settings.url);
  if (!url.ok()) return url.error();
  return std::unique_ptr<connector::Sink>(
      std::make_unique<HttpSink>(std::move(context), std::move(settings), std::move(url).value()));
}

std::string library_versions() {
  return "Boost.Beast " + std::to_string(BOOST_VERSION / 100000) + "." + std::to_string(BOOST_VERSION / 100 % 1000) +
         "." + std::to_string(BOOST_VERSION % 100) + ", " + OpenSSL_version(OPENSSL_VERSION);
}

const connector::SinkDescriptor& descriptor() {
  static const connector::SinkDescriptor d{
      .type_name = "http-sink",
      // KurrentDB's short name and full type name.
      .aliases = {"HttpSink", "Kurrent.Connectors.Http.HttpSink"},
      .description =
          "Sends every record to an HTTP(S) endpoint (a webhook) as the request body, its headers as "
          "HTTP headers; the checkpoint moves only past records answered with a 2xx status.",
      .settings = settings_table(),
      .create = &create,
      .check = &check_settings_map,
      .check_connection = &check_connection,
      .library_versions = &library_versions,
  };
  return d;
}

}  // namespace
}  // namespace sinkhost::http_sink

SINKHOST_DECLARE_PLUGIN(sinkhost::http_sink::descriptor)
