// http-sink: sends each record to an HTTP(S) endpoint (KurrentDB's http-sink), on the plugin's
// own threads, each with one kept-alive connection. A record is reported delivered only after
// a 2xx answer; 408, 429, 5xx and connection errors are retried with KurrentDB's three-phase
// backoff; any other status stops the connector, or with deadLetter:enabled a 4xx about the
// record sends it to deadLetter:url. Records of one stream are sent one request at a time, in
// order; different streams go out concurrently.
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
#include "sinkhost/connector/encoding.hpp"
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

// Why a record goes to deadLetter:url: HTTP_<status> or TRANSFORM_ERROR, and the details.
struct DeadLetterReason {
  std::string reason;
  std::string message;
};

// The headers added to a dead letter (each also in docs/plugins/http-sink.md).
constexpr const char* kReasonHeader = "sinkhost-dead-letter-reason";
constexpr const char* kMessageHeader = "sinkhost-dead-letter-message";
constexpr const char* kUrlHeader = "sinkhost-dead-letter-url";
constexpr const char* kConnectorHeader = "sinkhost-dead-letter-connector";
constexpr const char* kPositionHeader = "sinkhost-dead-letter-log-position";
constexpr const char* kTimeHeader = "sinkhost-dead-letter-time";

struct Item {
  LogPosition position;
  std::string target;
  bool json = true;
  std::vector<connector::Header> headers;
  std::string body;
  std::optional<DeadLetterReason> dead_letter;  // set: it goes to deadLetter:url (the transform failed on it)
};

// A worker's connections: to url, and to deadLetter:url when dead letters are on.
struct Lane {
  std::unique_ptr<Connection> records;
  std::unique_ptr<Connection> dead_letters;
};

// Why a request was not answered with a 2xx in the end.
struct SendFailure {
  enum class Kind {
    refused,  // a status that sending again cannot change (`status`)
    fatal,    // TLS refused, or the retries ran out: the connector stops
    closing,  // the sink closes: the records are sent again at the next start
  };
  Kind kind = Kind::fatal;
  int status = 0;
  Error error;
};

class HttpSink final : public connector::Sink {
 public:
  HttpSink(connector::SinkContext context, HttpSinkSettings settings, UrlTemplate url,
           std::optional<UrlTemplate> dead_letter_url)
      : context_(std::move(context)),
        settings_(std::move(settings)),
        url_(std::move(url)),
        dead_letter_url_(std::move(dead_letter_url)) {
    lifetime_ = parse_timespan(settings_.pooled_connection_lifetime).value_or(std::chrono::minutes(5));
  }

  ~HttpSink() override { close(std::chrono::milliseconds(0)); }

  Result<void> open() override {
    if (url_.tls() || (dead_letter_url_ && dead_letter_url_->tls())) {
      auto tls = make_tls_context(settings_);
      if (!tls.ok()) return tls.error();
      tls_ = std::move(tls).value();
    }
    const auto timeout = std::chrono::milliseconds(settings_.resilience.request_timeout_ms);
    for (std::int64_t i = 0; i < settings_.max_connections; ++i) {
      Lane lane;
      lane.records = std::make_unique<Connection>(url_, tls_, timeout, lifetime_);
      if (dead_letter_url_)
        lane.dead_letters = std::make_unique<Connection>(*dead_letter_url_, tls_, timeout, lifetime_);
      lanes_.push_back(std::move(lane));
    }
    for (auto& lane : lanes_) {
      workers_.emplace_back([this, l = &lane] { work(*l); });
    }
    context_.log(LogLevel::info, "sending records to " + url_.origin() + " (" + settings_.method + ", " +
                                     std::to_string(settings_.max_connections) + " connection(s))");
    return {};
  }

  Result<void> write(const connector::Record& record) override { return enqueue(record.stream_id, item_for(record)); }

  bool dead_letters() const override { return dead_letter_url_.has_value(); }

  Result<void> write_dead_letter(const connector::Record& record, const Error& why) override {
    if (!dead_letter_url_) return why;
    auto item = item_for(record);
    item.dead_letter = DeadLetterReason{"TRANSFORM_ERROR", why.message};
    return enqueue(record.stream_id, std::move(item));
  }

  void close(std::chrono::milliseconds deadline) noexcept override {
    if (workers_.empty() && lanes_.empty()) return;
    {
      std::unique_lock lock(mutex_);
      closing_ = true;
      work_.notify_all();  // a request waiting to be retried gives up now: see send()
      // Deliver what can be delivered in time (nothing more once the sink halted).
      idle_.wait_for(lock, deadline, [this] { return pending_ == 0 || (halted_ && busy_.empty()); });
      stopping_ = true;
    }
    work_.notify_all();
    for (auto& lane : lanes_) {
      lane.records->stop();
      if (lane.dead_letters) lane.dead_letters->stop();
    }
    for (auto& worker : workers_) {
      if (worker.joinable()) worker.join();
    }
    workers_.clear();
    lanes_.clear();
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
  Item item_for(const connector::Record& record) const {
    Item item;
    item.position = record.position;
    item.target = url_.target(record);
    item.json = record.schema_type == connector::SchemaType::json;
    item.headers = request_headers(record, settings_);
    item.body = record.data;
    return item;
  }

  Result<void> enqueue(const std::string& stream_id, Item item) {
    std::lock_guard lock(mutex_);
    if (halted_ || closing_) {
      return make_error(ErrorCode::resource_exhausted, "the http sink has stopped sending");
    }
    if (pending_ >= static_cast<std::size_t>(settings_.max_pending_records)) {
      return make_error(ErrorCode::resource_exhausted, "waiting for answers from " + url_.origin());
    }
    auto& queue = streams_[stream_id];
    queue.push_back(std::move(item));
    if (queue.size() == 1 && !busy_.contains(stream_id)) ready_.push_back(stream_id);
    ++pending_;
    work_.notify_one();
    return {};
  }

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
      // A batch shares one URL and holds JSON records only (batching:format); a dead letter goes alone.
      if (!batch.empty() && (!next.json || !batch.front().json || next.target != batch.front().target ||
                             next.dead_letter || batch.front().dead_letter)) {
        break;
      }
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

  Request request_for(const std::vector<Item>& batch) const {
    Request request;
    request.method = settings_.method;
    request.target = batch.front().target;
    request.headers = batch.front().headers;
    if (settings_.batch_max_records == 1 || !batch.front().json) {
      request.body = batch.front().body;  // a copy: a refused record may become a dead letter
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

  // The sink cannot go on: the connector stops; nothing else is sent.
  void halt() {
    std::lock_guard lock(mutex_);
    halted_ = true;
    idle_.notify_all();
  }

  void work(Lane& lane) {
    std::string stream;
    std::vector<Item> batch;
    while (take(stream, batch)) {
      deliver(lane, batch);
      done(stream, batch.size());
    }
  }

  void deliver(Lane& lane, std::vector<Item>& batch) {
    if (batch.front().dead_letter) {
      send_dead_letters(lane, batch, *batch.front().dead_letter);
      return;
    }
    const auto failure = send(*lane.records, request_for(batch), url_, batch.size());
    if (!failure) {
      for (const auto& item : batch) context_.listener->delivered(item.position);
      return;
    }
    if (failure->kind == SendFailure::Kind::refused && dead_letter_url_ && is_record_refusal(failure->status)) {
      send_dead_letters(lane, batch, {"HTTP_" + std::to_string(failure->status), failure->error.message});
      return;
    }
    give_up(batch, 0, *failure);
  }

  // Reports batch[from...] failed; unless the sink is closing, it halts first (the connector stops).
  void give_up(const std::vector<Item>& batch, std::size_t from, const SendFailure& failure) {
    if (failure.kind != SendFailure::Kind::closing) {
      context_.log(LogLevel::error, failure.error.message);
      halt();
    }
    for (std::size_t i = from; i < batch.size(); ++i) context_.listener->failed(batch[i].position, failure.error);
  }

  // POSTs each record of `batch` to deadLetter:url with the headers that say why.
  void send_dead_letters(Lane& lane, const std::vector<Item>& batch, const DeadLetterReason& why) {
    for (std::size_t i = 0; i < batch.size(); ++i) {
      const auto& item = batch[i];
      const auto sent = dead_lettered_.fetch_add(1) + 1;
      if (settings_.dead_letter_max_records > 0 && sent > settings_.dead_letter_max_records) {
        const auto error =
            make_error(ErrorCode::failed_precondition,
                       "the dead-letter limit was reached: " + std::to_string(settings_.dead_letter_max_records) +
                           " records went to " + settings_.dead_letter_url +
                           " in this run (deadLetter:maxRecords); the record at log position " +
                           std::to_string(item.position.value()) + ": " + why.message);
        give_up(batch, i, SendFailure{SendFailure::Kind::fatal, 0, error});
        return;
      }
      auto failure = send(*lane.dead_letters, dead_letter_request(item, why), *dead_letter_url_, 1);
      if (!failure) {
        context_.listener->dead_lettered(item.position);
        continue;
      }
      if (failure->kind == SendFailure::Kind::refused) {
        failure->error = make_error(ErrorCode::unavailable, "the dead-letter URL refused the record at log position " +
                                                                std::to_string(item.position.value()) +
                                                                " too: " + failure->error.message);
      }
      give_up(batch, i, *failure);
      return;
    }
  }

  Request dead_letter_request(const Item& item, const DeadLetterReason& why) const {
    Request request;
    request.method = "POST";
    request.target = dead_letter_url_->fixed_target();
    request.headers = item.headers;
    request.headers.push_back({kReasonHeader, why.reason});
    request.headers.push_back({kMessageHeader, header_value(why.message)});
    request.headers.push_back({kUrlHeader, header_value(url_.origin() + item.target)});
    request.headers.push_back({kConnectorHeader, header_value(context_.connector_id)});
    request.headers.push_back({kPositionHeader, std::to_string(item.position.value())});
    request.headers.push_back({kTimeHeader, connector::format_rfc3339(now_ms())});
    request.body = item.body;
    return request;
  }

  static std::int64_t now_ms() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
  }

  // Sends `request` (carrying `records` records) until it is answered with a 2xx (nullopt), with
  // the backoff between attempts, or until it fails for good.
  std::optional<SendFailure> send(Connection& connection, const Request& request, const UrlTemplate& url,
                                  std::size_t records) {
    const auto what = request.method + " " + url.origin() + request.target;
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
            return std::nullopt;
          case Verdict::permanent: {
            const auto code = response.status == 401 || response.status == 403 ? ErrorCode::permission_denied
                                                                               : ErrorCode::invalid_argument;
            return SendFailure{SendFailure::Kind::refused, response.status,
                               make_error(code, what + " answered " + std::to_string(response.status) + " " +
                                                    response.reason + ": " + body_excerpt(response.body))};
          }
          case Verdict::retry:
            problem = what + " answered " + std::to_string(response.status) + " " + response.reason +
                      (response.body.empty() ? "" : ": " + body_excerpt(response.body, 200));
            if (response.retry_after)
              retry_after = parse_retry_after(*response.retry_after, std::chrono::system_clock::now());
            break;
        }
      } else if (response.tls_error) {
        return SendFailure{SendFailure::Kind::fatal, 0, make_error(ErrorCode::unavailable, response.transport_error)};
      } else {
        problem = response.transport_error;
      }
      if (stopping()) return closing(problem);
      const auto now = std::chrono::steady_clock::now();
      if (failures++ == 0) first_failure = now;
      auto delay = next_retry_delay(
          settings_.resilience, std::chrono::duration_cast<std::chrono::milliseconds>(now - first_failure), failures);
      if (!delay) {
        return SendFailure{SendFailure::Kind::fatal, 0,
                           make_error(ErrorCode::unavailable,
                                      problem + " (gave up after " + std::to_string(failures) + " attempt(s))")};
      }
      if (retry_after) delay = *retry_after;
      if (!degraded_.exchange(true) || failures == 1) {
        context_.listener->degraded(make_error(ErrorCode::unavailable, problem));
      }
      context_.log(LogLevel::warn, problem + "; retrying in " + std::to_string(delay->count()) + " ms");
      {
        std::unique_lock lock(mutex_);
        // A closing sink does not wait for a retry: the record is sent again at the next start.
        if (work_.wait_for(lock, *delay, [this] { return closing_ || stopping_; })) return closing(problem);
      }
      context_.listener->retried(records);
    }
  }

  static SendFailure closing(const std::string& problem) {
    return {SendFailure::Kind::closing, 0,
            make_error(ErrorCode::unavailable, "not delivered before the sink closed: " + problem)};
  }

  bool stopping() {
    std::lock_guard lock(mutex_);
    return closing_ || stopping_;
  }

  connector::SinkContext context_;
  const HttpSinkSettings settings_;
  const UrlTemplate url_;
  const std::optional<UrlTemplate> dead_letter_url_;  // deadLetter:enabled
  std::chrono::milliseconds lifetime_{};
  std::shared_ptr<TlsContext> tls_;
  std::deque<Lane> lanes_;  // a deque: workers hold pointers to their lane
  std::vector<std::thread> workers_;
  std::atomic<bool> degraded_{false};
  std::atomic<std::int64_t> dead_lettered_{0};  // this run

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
  std::optional<UrlTemplate> dead_letter_url;
  if (settings.dead_letter_enabled) {
    auto parsed = UrlTemplate::parse(settings.dead_letter_url);
    if (!parsed.ok()) return parsed.error();
    dead_letter_url = std::move(parsed).value();
  }
  return std::unique_ptr<connector::Sink>(std::make_unique<HttpSink>(
      std::move(context), std::move(settings), std::move(url).value(), std::move(dead_letter_url)));
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
