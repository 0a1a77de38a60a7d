// kafka-sink: produces each record to one Kafka topic with librdkafka's idempotent producer,
// and reports each record's outcome from librdkafka's delivery report, so that the runtime's
// checkpoint only moves past records the broker acknowledged.
#include <librdkafka/rdkafka.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>

#include "settings.hpp"
#include "sinkhost/connector/plugin.hpp"

namespace sinkhost::kafka_sink {
namespace {

using connector::Error;
using connector::ErrorCode;
using connector::LogLevel;
using connector::make_error;
using connector::Result;

struct ProducerDeleter {
  void operator()(rd_kafka_t* producer) const { rd_kafka_destroy(producer); }
};
struct ConfDeleter {
  void operator()(rd_kafka_conf_t* conf) const { rd_kafka_conf_destroy(conf); }
};
struct HeadersDeleter {
  void operator()(rd_kafka_headers_t* headers) const { rd_kafka_headers_destroy(headers); }
};

// How many bytes librdkafka may queue before write() reports "full" (its default is 1 GiB).
constexpr const char* kQueueMaxKbytes = "65536";
// How long open() waits for the brokers to describe the topic.
constexpr int kMetadataTimeoutMs = 5000;

class KafkaSink final : public connector::Sink {
 public:
  explicit KafkaSink(connector::SinkContext context)
      : context_(std::move(context)), topic_(connector::get_or(context_.settings, "topic", "")) {}

  ~KafkaSink() override { close(std::chrono::milliseconds(0)); }

  Result<void> open() override {
    std::unique_ptr<rd_kafka_conf_t, ConfDeleter> conf(rd_kafka_conf_new());
    const std::pair<const char*, std::string> properties[] = {
        {"bootstrap.servers", connector::get_or(context_.settings, "bootstrapServers", "localhost:9092")},
        {"client.id", "sinkhost-" + context_.connector_id},
        // Idempotence implies acks=all and keeps order per partition across retries.
        {"enable.idempotence", "true"},
        // Keyed records land where Java producers put them.
        {"partitioner", "murmur2_random"},
        {"queue.buffering.max.kbytes", kQueueMaxKbytes},
    };
    char reason[512];
    for (const auto& [name, value] : properties) {
      if (rd_kafka_conf_set(conf.get(), name, value.c_str(), reason, sizeof reason) != RD_KAFKA_CONF_OK) {
        return make_error(ErrorCode::invalid_argument, std::string("Kafka producer option ") + name + ": " + reason);
      }
    }
    rd_kafka_conf_set_opaque(conf.get(), this);
    rd_kafka_conf_set_dr_msg_cb(conf.get(), &KafkaSink::on_delivery);
    rd_kafka_conf_set_error_cb(conf.get(), &KafkaSink::on_error);
    rd_kafka_conf_set_log_cb(conf.get(), &KafkaSink::on_log);

    rd_kafka_t* producer = rd_kafka_new(RD_KAFKA_PRODUCER, conf.get(), reason, sizeof reason);
    if (producer == nullptr) {
      return make_error(ErrorCode::invalid_argument, std::string("cannot create the Kafka producer: ") + reason);
    }
    conf.release();  // rd_kafka_new took ownership
    producer_.reset(producer);
    check_topic();
    // Delivery reports are served by this thread; rd_kafka_poll blocks until one is ready
    // (or rd_kafka_yield wakes it at close), so an idle connector costs no CPU.
    poller_ = std::thread([this] {
      while (!stop_polling_.load(std::memory_order_acquire)) rd_kafka_poll(producer_.get(), 1000);
    });
    context_.log(LogLevel::info, "producing to topic '" + topic_ + "'");
    return {};
  }

  Result<void> write(const connector::Record& record) override {
    std::unique_ptr<rd_kafka_headers_t, HeadersDeleter> headers(rd_kafka_headers_new(record.headers.size()));
    for (const auto& h : record.headers) {
      rd_kafka_header_add(headers.get(), h.name.data(), static_cast<ssize_t>(h.name.size()), h.value.data(),
                          static_cast<ssize_t>(h.value.size()));
    }
    // The position rides along as the message's opaque, so the delivery report needs no lookup.
    void* opaque = reinterpret_cast<void*>(static_cast<std::uintptr_t>(record.position.value()));
    auto err = rd_kafka_producev(
        producer_.get(), RD_KAFKA_V_TOPIC(topic_.c_str()), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
        RD_KAFKA_V_VALUE(const_cast<char*>(record.data.data()), record.data.size()),
        RD_KAFKA_V_TIMESTAMP(record.timestamp_ms), RD_KAFKA_V_HEADERS(headers.get()), RD_KAFKA_V_OPAQUE(opaque),
        RD_KAFKA_V_END);
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      headers.release();  // librdkafka owns the headers once the message is accepted
      return {};
    }
    if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
      return make_error(ErrorCode::resource_exhausted, "the Kafka producer queue is full");
    }
    return make_error(ErrorCode::unavailable, std::string("Kafka refused the record: ") + rd_kafka_err2str(err));
  }

  void close(std::chrono::milliseconds deadline) noexcept override {
    if (!producer_) return;
    stop_polling_.store(true, std::memory_order_release);
    rd_kafka_yield(producer_.get());
    if (poller_.joinable()) poller_.join();
    // Shutdown order: flush (serves delivery reports), purge what is left, then poll until
    // the purged messages' reports fired, so every record's outcome is reported.
    rd_kafka_flush(producer_.get(), static_cast<int>(deadline.count()));
    if (rd_kafka_outq_len(producer_.get()) > 0) {
      context_.log(LogLevel::warn, std::to_string(rd_kafka_outq_len(producer_.get())) +
                                       " records not acknowledged in time; they will be sent again at the next start");
      rd_kafka_purge(producer_.get(), RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
      for (int i = 0; i < 100 && rd_kafka_outq_len(producer_.get()) > 0; ++i) rd_kafka_poll(producer_.get(), 100);
    }
    rd_kafka_poll(producer_.get(), 0);
    producer_.reset();
  }

 private:
  // Asks the brokers for the topic's metadata, to tell the user early when the brokers cannot
  // be reached or the topic does not exist. Not fatal: librdkafka keeps trying, a broker that
  // auto-creates topics creates it with the first record, and records that cannot be delivered
  // within message.timeout.ms fail through their delivery reports.
  void check_topic() {
    struct TopicDeleter {
      void operator()(rd_kafka_topic_t* topic) const { rd_kafka_topic_destroy(topic); }
    };
    std::unique_ptr<rd_kafka_topic_t, TopicDeleter> topic(rd_kafka_topic_new(producer_.get(), topic_.c_str(), nullptr));
    const rd_kafka_metadata_t* metadata = nullptr;
    auto err = rd_kafka_metadata(producer_.get(), 0, topic.get(), &metadata, kMetadataTimeoutMs);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      context_.log(LogLevel::warn, std::string("cannot reach the Kafka brokers yet (") + rd_kafka_err2str(err) +
                                       "); records wait until they can be delivered");
      return;
    }
    if (metadata->topic_cnt == 1 && metadata->topics[0].err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      context_.log(LogLevel::warn, "topic '" + topic_ + "' is not available (" + rd_kafka_err2str(metadata->topics[0].err) +
                                       "); records wait until the broker creates it or message.timeout.ms passes");
    }
    rd_kafka_metadata_destroy(metadata);
  }

  static void on_delivery(rd_kafka_t*, const rd_kafka_message_t* message, void* opaque) {
    auto* self = static_cast<KafkaSink*>(opaque);
    connector::LogPosition position(reinterpret_cast<std::uintptr_t>(message->_private));
    if (message->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      self->context_.listener->delivered(position);
    } else {
      self->context_.listener->failed(
          position, make_error(ErrorCode::unavailable, std::string("Kafka: ") + rd_kafka_err2str(message->err)));
    }
  }

  static void on_error(rd_kafka_t* producer, int err, const char* reason, void* opaque) {
    auto* self = static_cast<KafkaSink*>(opaque);
    bool fatal = err == RD_KAFKA_RESP_ERR__FATAL;
    std::string text = std::string("Kafka ") + (fatal ? "fatal error: " : "error: ") + reason;
    if (fatal) {
      char detail[512];
      rd_kafka_fatal_error(producer, detail, sizeof detail);
      text += std::string(" (") + detail + ")";
    }
    // Transient errors (a broker down) are retried by librdkafka; records that cannot be
    // delivered before message.timeout.ms fail through their delivery reports.
    self->context_.log(fatal ? LogLevel::error : LogLevel::warn, text);
  }

  static void on_log(const rd_kafka_t* producer, int level, const char* facility, const char* message) {
    auto* self = static_cast<KafkaSink*>(rd_kafka_opaque(producer));
    if (self == nullptr) return;
    auto mapped = level <= 3 ? LogLevel::error : level <= 4 ? LogLevel::warn : level <= 6 ? LogLevel::info : LogLevel::debug;
    self->context_.log(mapped, std::string("librdkafka ") + facility + ": " + message);
  }

  connector::SinkContext context_;
  std::string topic_;
  std::unique_ptr<rd_kafka_t, ProducerDeleter> producer_;
  std::thread poller_;
  std::atomic<bool> stop_polling_{false};
};

Result<std::unique_ptr<connector::Sink>> create(connector::SinkContext context) {
  return std::unique_ptr<connector::Sink>(std::make_unique<KafkaSink>(std::move(context)));
}

const connector::SinkDescriptor& descriptor() {
  static const connector::SinkDescriptor d{
      .type_name = "kafka-sink",
      .aliases = {"KafkaSink"},
      .description = "Produces every record to an Apache Kafka topic.",
      .settings = settings_table(),
      .create = &create,
  };
  return d;
}

}  // namespace
}  // namespace sinkhost::kafka_sink

SINKHOST_DECLARE_PLUGIN(sinkhost::kafka_sink::descriptor)
