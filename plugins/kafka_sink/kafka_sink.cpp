// kafka-sink: produces each record to one Kafka topic with librdkafka's idempotent producer,
// and reports each record's outcome from librdkafka's delivery report, so that the runtime's
// checkpoint only moves past records the broker acknowledged.
#include <librdkafka/rdkafka.h>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <unordered_map>

#include "connection_check.hpp"
#include "dead_letter.hpp"
#include "errors.hpp"
#include "key_extractor.hpp"
#include "producer_config.hpp"
#include "rdkafka_handles.hpp"
#include "settings.hpp"
#include "topic_template.hpp"
#include "sinkhost/connector/plugin.hpp"

namespace sinkhost::kafka_sink {
namespace {

using connector::Error;
using connector::ErrorCode;
using connector::LogLevel;
using connector::make_error;
using connector::Result;

// How long open() waits for the brokers to describe the topic (and to refuse bad credentials).
constexpr int kOpenTimeoutMs = 10000;

class KafkaSink final : public connector::Sink {
 public:
  KafkaSink(connector::SinkContext context, KafkaSinkSettings settings, KeyExtractor keys, TopicTemplate topics)
      : context_(std::move(context)),
        settings_(std::move(settings)),
        topic_name_(settings_.topic),
        topics_(std::move(topics)),
        keys_(std::move(keys)),
        wait_for_ack_(settings_.wait_for_broker_ack),
        partition_(settings_.partition),
        default_partition_(settings_.default_partition) {
    for (const auto& [name, value] : settings_.default_headers) default_headers_.push_back({name, value});
    auth_description_ = describe_authentication(settings_);
  }

  ~KafkaSink() override { close(std::chrono::milliseconds(0)); }

  Result<void> open() override {
    auto producer = create_producer(settings_);
    if (!producer.ok()) return producer.error();
    producer_ = std::move(producer).value();
    if (settings_.dead_letter_enabled) {
      // A producer of its own: without the main topic's size limit (deadLetter:maxMessageBytes),
      // so the records that limit refuses fit.
      auto unlimited = settings_;
      unlimited.dead_letter_max_message_bytes.reset();
      auto dead_letter_producer = create_producer(unlimited);
      if (!dead_letter_producer.ok()) return dead_letter_producer.error();
      dead_letter_producer_ = std::move(dead_letter_producer).value();
      dead_letters_ = std::make_unique<DeadLetters>(dead_letter_producer_.get(), settings_, context_.connector_id,
                                                    in_flight_, *context_.listener);
    }
    rd_kafka_t* producer_handle = producer_.get();
    if (topics_.fixed()) topic_.reset(rd_kafka_topic_new(producer_handle, topic_name_.c_str(), nullptr));

    // Ask for the topic's metadata (the brokers' only, for a topic template): it shows at once
    // whether the brokers answer and accept our credentials, instead of the first record failing
    // later.
    const rd_kafka_metadata_t* metadata = nullptr;
    auto err = rd_kafka_metadata(producer_handle, 0, topic_.get(), &metadata, kOpenTimeoutMs);
    {
      std::lock_guard lock(mutex_);
      opening_ = false;
      if (open_failure_) return *open_failure_;
    }
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      context_.log(LogLevel::warn, std::string("cannot reach the Kafka brokers yet (") + rd_kafka_err2str(err) +
                                       "); records wait until they can be delivered");
    } else {
      if (topic_ && metadata->topic_cnt == 1 && metadata->topics[0].err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        context_.log(LogLevel::warn, "topic '" + topic_name_ + "' is not available (" +
                                         rd_kafka_err2str(metadata->topics[0].err) +
                                         "); records wait until the broker creates it");
      }
      rd_kafka_metadata_destroy(metadata);
    }
    // Delivery reports are served by this thread; rd_kafka_poll blocks until one is ready
    // (or rd_kafka_yield wakes it at close), so an idle connector costs no CPU.
    poller_ = std::thread([this] {
      while (!stop_polling_.load(std::memory_order_acquire)) {
        if (!dead_letters_) {
          rd_kafka_poll(producer_.get(), 1000);
          continue;
        }
        rd_kafka_poll(producer_.get(), 100);
        rd_kafka_poll(dead_letter_producer_.get(), 0);
        dead_letters_->retry_pending();
      }
    });
    context_.log(LogLevel::info,
                 std::string(topics_.fixed() ? "producing to topic '" : "producing to topics '") + topic_name_ + "'");
    return {};
  }

  Result<void> write(const connector::Record& record) override {
    if (wait_for_ack_ && in_flight_.load(std::memory_order_acquire) > 0) {
      return make_error(ErrorCode::resource_exhausted, "waiting for the broker to acknowledge the previous record");
    }
    auto headers = message_headers(record);
    auto* topic = topic_for(record);
    if (topic == nullptr) {
      auto error =
          make_error(ErrorCode::invalid_argument,
                     "the record at log position " + std::to_string(record.position.value()) +
                         " was routed to topic '" + record.topic.value_or("") +
                         "', which is not a topic name (ASCII letters, digits, '.', '_' and '-', at most 249)");
      if (!dead_letters_) return error;
      return dead_letter(record, std::move(headers), {"INVALID_TOPIC", error.message, record.topic.value_or("")});
    }
    const auto key = record.key_from_transform ? record.key : keys_.key(record);
    // The producev macros cast their arguments: give them plain pointers and sizes.
    const void* key_data = key ? key->data() : nullptr;
    const std::size_t key_size = key ? key->size() : 0;
    std::int32_t partition = RD_KAFKA_PARTITION_UA;
    if (record.partition)
      partition = *record.partition;
    else if (partition_)
      partition = *partition_;
    else if (!key && default_partition_)
      partition = *default_partition_;

    // The position rides along as the message's opaque, so the delivery report needs no lookup.
    void* opaque = reinterpret_cast<void*>(static_cast<std::uintptr_t>(record.position.value()));
    in_flight_.fetch_add(1, std::memory_order_acq_rel);
    // librdkafka's RD_KAFKA_V_* macros type-check with GNU statement expressions, which clang's
    // -Wpedantic reports (g++ does not).
#if defined(__clang__)
#pragma clang diagnostic push
#pragma clang diagnostic ignored "-Wgnu-statement-expression"
#endif
    auto err = rd_kafka_producev(producer_.get(), RD_KAFKA_V_RKT(topic), RD_KAFKA_V_PARTITION(partition),
                                 RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                                 RD_KAFKA_V_VALUE(const_cast<char*>(record.data.data()), record.data.size()),
                                 RD_KAFKA_V_KEY(key_data, key_size), RD_KAFKA_V_TIMESTAMP(record.timestamp_ms),
                                 RD_KAFKA_V_HEADERS(headers.get()), RD_KAFKA_V_OPAQUE(opaque), RD_KAFKA_V_END);
#if defined(__clang__)
#pragma clang diagnostic pop
#endif
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      (void)headers.release();  // librdkafka owns the headers once the message is accepted
      return {};
    }
    in_flight_.fetch_sub(1, std::memory_order_acq_rel);
    if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
      return make_error(ErrorCode::resource_exhausted, "the Kafka producer queue is full");
    }
    if (err == RD_KAFKA_RESP_ERR__FATAL) {
      context_.listener->restart_from_checkpoint(fatal_error());
      return make_error(ErrorCode::resource_exhausted, "the Kafka producer is being rebuilt");
    }
    if (!dead_letters_ && is_unknown_topic(err)) {
      // As in the delivery report (on_delivery): a new producer may know the topic.
      context_.listener->restart_from_checkpoint(
          make_error(code_for(err),
                     "Kafka: " + std::string(rd_kafka_err2str(err)) + " (topic '" + rd_kafka_topic_name(topic) + "')"));
      return make_error(ErrorCode::resource_exhausted, "the Kafka producer is being rebuilt");
    }
    if (dead_letters_ && is_permanent_delivery_error(err)) {
      return dead_letter(record, std::move(headers),
                         {rd_kafka_err2name(err), rd_kafka_err2str(err), rd_kafka_topic_name(topic)});
    }
    return make_error(code_for(err), "Kafka refused the record at log position " +
                                         std::to_string(record.position.value()) + " for topic '" +
                                         rd_kafka_topic_name(topic) + "': " + rd_kafka_err2str(err));
  }

  std::optional<std::string> partition_key(const connector::Record& record) const override { return keys_.key(record); }

  bool dead_letters() const override { return dead_letters_ != nullptr; }

  Result<void> write_dead_letter(const connector::Record& record, const Error& why) override {
    if (!dead_letters_) return why;
    const std::string topic = record.topic ? *record.topic : topics_.topic(record);
    return dead_letter(record, message_headers(record), {"TRANSFORM_ERROR", why.message, topic});
  }

  void close(std::chrono::milliseconds deadline) noexcept override {
    if (!producer_) return;
    stop_polling_.store(true, std::memory_order_release);
    rd_kafka_yield(producer_.get());
    if (poller_.joinable()) poller_.join();
    // The records first: their failures may still add dead letters, which are flushed after.
    drain(producer_.get(), deadline);
    if (dead_letter_producer_) {
      dead_letters_->fail_pending();
      drain(dead_letter_producer_.get(), deadline);
    }
    routed_.clear();
    topic_.reset();
    dead_letters_.reset();
    dead_letter_producer_.reset();
    producer_.reset();
  }

 private:
  // A producer with this sink's callbacks (delivery reports, errors, logs, partitioner).
  Result<ClientPtr> create_producer(const KafkaSinkSettings& settings) {
    auto conf = build_producer_conf(settings, context_.connector_id);
    if (!conf.ok()) return conf.error();
    rd_kafka_conf_set_opaque(conf->get(), this);
    rd_kafka_conf_set_dr_msg_cb(conf->get(), &KafkaSink::on_delivery);
    rd_kafka_conf_set_error_cb(conf->get(), &KafkaSink::on_error);
    rd_kafka_conf_set_log_cb(conf->get(), &KafkaSink::on_log);

    // Keyed records: murmur2, like Java producers. Unkeyed: round-robin (the KurrentDB docs'
    // promise; librdkafka's own choice for them would be random).
    // Topic-level properties set on the global configuration (message.timeout.ms, compression)
    // live in its default topic configuration: extend that one, never replace it.
    rd_kafka_topic_conf_t* topic_conf = rd_kafka_conf_get_default_topic_conf(conf->get());
    if (topic_conf == nullptr) {
      topic_conf = rd_kafka_topic_conf_new();
      rd_kafka_conf_set_default_topic_conf(conf->get(), topic_conf);  // conf owns it now
    }
    rd_kafka_topic_conf_set_opaque(topic_conf, this);
    rd_kafka_topic_conf_set_partitioner_cb(topic_conf, &KafkaSink::choose_partition);

    char reason[512];
    rd_kafka_t* producer = rd_kafka_new(RD_KAFKA_PRODUCER, conf->get(), reason, sizeof reason);
    if (producer == nullptr) {
      return make_error(ErrorCode::invalid_argument, std::string("cannot create the Kafka producer: ") + reason);
    }
    (void)conf->release();  // rd_kafka_new took ownership
    ClientPtr client(producer);
    if (settings.oauth() && settings.oauth_method == "oidc") {
      // OIDC token refreshes on librdkafka's background thread: the first token is there before
      // open() asks for metadata, not only once the poll thread runs. (The unsecured JWT needs
      // no callback.)
      if (rd_kafka_error_t* error = rd_kafka_sasl_background_callbacks_enable(producer)) {
        auto message = std::string("cannot refresh OAuth tokens in the background: ") + rd_kafka_error_string(error);
        rd_kafka_error_destroy(error);
        return make_error(ErrorCode::internal, message);
      }
    }
    return client;
  }

  // Shutdown order: flush (serves delivery reports), purge what is left, then poll until the
  // purged messages' reports fired, so every record's outcome is reported.
  void drain(rd_kafka_t* producer, std::chrono::milliseconds deadline) {
    rd_kafka_flush(producer, static_cast<int>(deadline.count()));
    if (rd_kafka_outq_len(producer) > 0) {
      context_.log(LogLevel::warn, std::to_string(rd_kafka_outq_len(producer)) +
                                       " records not acknowledged in time; they will be sent again at the next start");
      rd_kafka_purge(producer, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
      for (int i = 0; i < 100 && rd_kafka_outq_len(producer) > 0; ++i) rd_kafka_poll(producer, 100);
    }
    rd_kafka_poll(producer, 0);
  }

  // A message's headers: the record's, then defaultHeaders.
  HeadersPtr message_headers(const connector::Record& record) const {
    HeadersPtr headers(rd_kafka_headers_new(record.headers.size() + default_headers_.size()));
    using Headers = std::vector<connector::Header>;
    for (const Headers* list : std::initializer_list<const Headers*>{&record.headers, &default_headers_}) {
      for (const auto& h : *list) {
        rd_kafka_header_add(headers.get(), h.name.data(), static_cast<ssize_t>(h.name.size()), h.value.data(),
                            static_cast<ssize_t>(h.value.size()));
      }
    }
    return headers;
  }

  // write()'s path to the dead-letter topic: the record as it would have been sent, with the
  // headers built for it.
  Result<void> dead_letter(const connector::Record& record, HeadersPtr headers, const DeadLetterReason& why) {
    DeadLetter letter{record.position.value(), record.data, std::nullopt, std::move(headers)};
    letter.key = record.key_from_transform ? record.key : keys_.key(record);
    return dead_letters_->send(std::move(letter), why);
  }

  // The topic handle for a record: the connector's topic, the template's for this record, or the
  // one a transform routed it to. nullptr: the transform's name is not a topic name. Handles are
  // kept (at most kMaxRoutedTopics, then dropped and made again: librdkafka keeps what it needs
  // for messages in flight).
  rd_kafka_topic_t* topic_for(const connector::Record& record) {
    if (!record.topic && topic_) return topic_.get();
    std::string name = record.topic ? *record.topic : topics_.topic(record);
    if (record.topic && (name.size() > 249 || !std::all_of(name.begin(), name.end(), legal_topic_char))) return nullptr;
    auto found = routed_.find(name);
    if (found != routed_.end()) return found->second.get();
    if (routed_.size() >= kMaxRoutedTopics) routed_.clear();
    TopicPtr handle(rd_kafka_topic_new(producer_.get(), name.c_str(), nullptr));
    if (!handle) return nullptr;
    return routed_.emplace(std::move(name), std::move(handle)).first->second.get();
  }

  Error fatal_error() {
    char detail[512] = "";
    auto err = rd_kafka_fatal_error(producer_.get(), detail, sizeof detail);
    return make_error(ErrorCode::unavailable,
                      std::string("fatal Kafka producer error: ") + rd_kafka_err2name(err) + ": " + detail);
  }

  static std::int32_t choose_partition(const rd_kafka_topic_t* topic, const void* key, size_t key_size,
                                       std::int32_t partition_count, void* topic_opaque, void* message_opaque) {
    if (key != nullptr) {
      return rd_kafka_msg_partitioner_murmur2(topic, key, key_size, partition_count, topic_opaque, message_opaque);
    }
    auto* self = static_cast<KafkaSink*>(topic_opaque);
    return static_cast<std::int32_t>(self->round_robin_.fetch_add(1, std::memory_order_relaxed) %
                                     static_cast<std::uint32_t>(partition_count));
  }

  static void on_delivery(rd_kafka_t* producer, const rd_kafka_message_t* message, void* opaque) {
    auto* self = static_cast<KafkaSink*>(opaque);
    self->in_flight_.fetch_sub(1, std::memory_order_acq_rel);
    const auto tagged = static_cast<std::uint64_t>(reinterpret_cast<std::uintptr_t>(message->_private));
    const bool letter = (tagged & kDeadLetterTag) != 0;
    connector::LogPosition position(tagged & ~kDeadLetterTag);
    auto* listener = self->context_.listener;
    if (message->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      if (self->degraded_.exchange(false)) listener->degraded(std::nullopt);
      if (letter) {
        listener->dead_lettered(position);
      } else {
        listener->delivered(position);
      }
      return;
    }
    if (rd_kafka_fatal_error(producer, nullptr, 0) != RD_KAFKA_RESP_ERR_NO_ERROR) {
      // The producer is dead; the runtime rebuilds it and resends from the checkpoint, so
      // this record's outcome no longer matters.
      listener->restart_from_checkpoint(self->fatal_error());
      return;
    }
    std::string text = std::string(rd_kafka_err2str(message->err));
    const std::string topic = rd_kafka_topic_name(message->rkt);
    if (is_permanent_delivery_error(message->err)) text += " (topic '" + topic + "')";
    if (!letter && !self->dead_letters_ && is_unknown_topic(message->err)) {
      // Perhaps a topic created a moment ago: a new producer resends from the checkpoint with
      // fresh metadata. The runtime stops the connector with this error when restarts do not
      // move the checkpoint, so a topic that does not exist still stops it, naming the topic.
      listener->restart_from_checkpoint(make_error(code_for(message->err), "Kafka: " + text));
      return;
    }
    if (!letter && self->dead_letters_ && is_permanent_delivery_error(message->err)) {
      DeadLetter dead{position.value(), std::string(static_cast<const char*>(message->payload), message->len),
                      std::nullopt, copy_headers(message)};
      if (message->key) dead.key.emplace(static_cast<const char*>(message->key), message->key_len);
      auto sent = self->dead_letters_->send(std::move(dead),
                                            {rd_kafka_err2name(message->err), rd_kafka_err2str(message->err), topic});
      if (sent.ok()) return;
      if (sent.error().code == ErrorCode::failed_precondition) listener->sink_failed(sent.error());
      listener->failed(position, sent.error());
      return;
    }
    if (letter) text = "the dead-letter topic refused the record too: " + text;
    listener->failed(position, make_error(code_for(message->err), "Kafka: " + text));
  }

  static void on_error(rd_kafka_t* producer, int code, const char* reason, void* opaque) {
    auto* self = static_cast<KafkaSink*>(opaque);
    const auto kind = classify_client_error(static_cast<rd_kafka_resp_err_t>(code), reason);
    if (kind == ClientErrorKind::fatal) {
      self->context_.log(LogLevel::error, std::string("Kafka fatal error: ") + reason);
      self->context_.listener->restart_from_checkpoint(self->fatal_error());
      return;
    }
    const bool auth = kind == ClientErrorKind::authentication;
    const bool tls = kind == ClientErrorKind::tls;
    if (auth || tls) {
      // Retrying with the same credentials or certificates cannot succeed.
      auto error = make_error(auth ? ErrorCode::permission_denied : ErrorCode::unavailable,
                              std::string(auth ? "Kafka authentication failed (" + self->auth_description_ + "): "
                                               : "Kafka TLS handshake failed: ") +
                                  reason);
      std::lock_guard lock(self->mutex_);
      if (self->opening_) {
        if (!self->open_failure_) self->open_failure_ = error;
      } else {
        self->context_.listener->sink_failed(std::move(error));
      }
      return;
    }
    // Transient (a broker down, a timeout): librdkafka retries; records wait in flight.
    self->context_.log(LogLevel::warn, std::string("Kafka: ") + reason);
    if (kind == ClientErrorKind::unreachable) {
      self->degraded_.store(true);
      self->context_.listener->degraded(make_error(ErrorCode::unavailable, std::string("Kafka: ") + reason));
    }
    (void)producer;
  }

  static void on_log(const rd_kafka_t* producer, int level, const char* facility, const char* message) {
    auto* self = static_cast<KafkaSink*>(rd_kafka_opaque(producer));
    if (self == nullptr) return;
    auto mapped = level <= 3   ? LogLevel::error
                  : level <= 4 ? LogLevel::warn
                  : level <= 6 ? LogLevel::info
                               : LogLevel::debug;
    self->context_.log(mapped, std::string("librdkafka ") + facility + ": " + message);
  }

  connector::SinkContext context_;
  const KafkaSinkSettings settings_;
  std::string topic_name_;  // the topic setting (a name or a template)
  TopicTemplate topics_;
  KeyExtractor keys_;
  bool wait_for_ack_;
  std::optional<std::int32_t> partition_;
  std::optional<std::int32_t> default_partition_;
  std::vector<connector::Header> default_headers_;
  std::string auth_description_;  // for error messages: mechanism and user, never the password

  ClientPtr producer_;
  TopicPtr topic_;  // a fixed topic's handle
  static constexpr std::size_t kMaxRoutedTopics = 10000;
  std::unordered_map<std::string, TopicPtr> routed_;  // write()'s thread only
  ClientPtr dead_letter_producer_;                    // with deadLetter:enabled
  std::unique_ptr<DeadLetters> dead_letters_;         // with deadLetter:enabled
  std::thread poller_;
  std::atomic<bool> stop_polling_{false};
  std::atomic<std::uint32_t> round_robin_{0};
  std::atomic<std::int64_t> in_flight_{0};
  std::atomic<bool> degraded_{false};

  std::mutex mutex_;  // guards opening_ and open_failure_
  bool opening_ = true;
  std::optional<Error> open_failure_;
};

Result<std::unique_ptr<connector::Sink>> create(connector::SinkContext context) {
  auto settings = KafkaSinkSettings::from(context.settings);
  auto keys = KeyExtractor::create(settings);
  if (!keys.ok()) return keys.error();
  auto topics = TopicTemplate::parse(settings.topic);
  if (!topics.ok()) return topics.error();
  return std::unique_ptr<connector::Sink>(std::make_unique<KafkaSink>(
      std::move(context), std::move(settings), std::move(keys).value(), std::move(topics).value()));
}

// "librdkafka 2.8.0 (builtin.features: gzip,snappy,ssl,sasl,...)": the library actually loaded,
// which may differ from the headers it was built against.
std::string library_versions() {
  std::string features = "unknown";
  if (rd_kafka_conf_t* conf = rd_kafka_conf_new()) {
    char value[512];
    std::size_t size = sizeof value;
    if (rd_kafka_conf_get(conf, "builtin.features", value, &size) == RD_KAFKA_CONF_OK) features = value;
    rd_kafka_conf_destroy(conf);
  }
  return std::string("librdkafka ") + rd_kafka_version_str() + " (builtin.features: " + features + ")";
}

const connector::SinkDescriptor& descriptor() {
  static const connector::SinkDescriptor d{
      .type_name = "kafka-sink",
      // KurrentDB's short name and the full type names KurrentDB (and EventStoreDB before it) register.
      .aliases = {"KafkaSink", "Kurrent.Connectors.Kafka.KafkaSink", "EventStore.Connectors.Kafka.KafkaSink"},
      .description =
          "Produces every record to an Apache Kafka topic with an idempotent producer (acks=all, order "
          "kept per partition); the checkpoint moves only past records the broker acknowledged.",
      .settings = settings_table(),
      .create = &create,
      .check = &check_settings_map,
      .check_connection = &check_connection,
      .library_versions = &library_versions,
  };
  return d;
}

}  // namespace
}  // namespace sinkhost::kafka_sink

SINKHOST_DECLARE_PLUGIN(sinkhost::kafka_sink::descriptor)
