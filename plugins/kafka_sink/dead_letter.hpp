#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <mutex>
#include <optional>
#include <string>

#include <librdkafka/rdkafka.h>

#include "rdkafka_handles.hpp"
#include "settings.hpp"
#include "sinkhost/connector/result.hpp"
#include "sinkhost/connector/sink.hpp"

// deadLetter:*: records the broker refuses for good go to the dead-letter topic, with headers
// that say why, instead of stopping the connector.
namespace sinkhost::kafka_sink {

// A dead-letter message's opaque is its record's position with this bit set, so that its
// delivery report tells it apart from the record's own message.
inline constexpr std::uint64_t kDeadLetterTag = std::uint64_t{1} << 63;

// What the dead-letter message carries: the record's value, key and headers as they were sent.
struct DeadLetter {
  std::uint64_t position = 0;
  std::string value;
  std::optional<std::string> key;
  HeadersPtr headers;
};

// Why: the broker's error name (MSG_SIZE_TOO_LARGE), its text, the topic that refused.
struct DeadLetterReason {
  std::string error_class;
  std::string message;
  std::string topic;
};

// The headers added to a dead-letter message (each also in docs/plugins/kafka-sink.md).
inline constexpr const char* kReasonHeader = "sinkhost-dead-letter-reason";
inline constexpr const char* kMessageHeader = "sinkhost-dead-letter-message";
inline constexpr const char* kTopicHeader = "sinkhost-dead-letter-topic";
inline constexpr const char* kConnectorHeader = "sinkhost-dead-letter-connector";
inline constexpr const char* kPositionHeader = "sinkhost-dead-letter-log-position";
inline constexpr const char* kTimeHeader = "sinkhost-dead-letter-time";

// Thread-safety: send() from write()'s thread and from the delivery-report thread; retry_pending()
// from the delivery-report thread.
class DeadLetters {
 public:
  DeadLetters(rd_kafka_t* producer, const KafkaSinkSettings& settings, std::string connector_id,
              std::atomic<std::int64_t>& in_flight, connector::DeliveryListener& listener);

  // Adds the headers that say why and produces the letter; when the producer queue is full it
  // waits in a list that retry_pending() sends. An error: deadLetter:maxRecords was reached (the
  // connector must stop) or the producer refused the letter.
  connector::Result<void> send(DeadLetter letter, const DeadLetterReason& why);
  // Produces what waited for room in the queue; a letter the producer refuses is reported failed.
  void retry_pending();
  // Reports every letter still waiting as failed (the sink closes).
  void fail_pending();
  const std::string& topic() const { return topic_name_; }

 private:
  rd_kafka_resp_err_t produce(DeadLetter& letter);
  connector::Error refused(std::uint64_t position, rd_kafka_resp_err_t err) const;

  rd_kafka_t* producer_;
  std::string topic_name_;
  TopicPtr topic_;
  std::string connector_id_;
  std::int64_t max_records_;
  std::atomic<std::int64_t>& in_flight_;
  connector::DeliveryListener& listener_;
  std::atomic<std::int64_t> sent_{0};
  std::mutex mutex_;  // guards pending_
  std::deque<DeadLetter> pending_;
};

// The headers a delivered message had (its delivery report's), copied; empty when it had none.
HeadersPtr copy_headers(const rd_kafka_message_t* message);

}  // namespace sinkhost::kafka_sink
