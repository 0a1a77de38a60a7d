#include "dead_letter.hpp"

#include <chrono>
#include <cstring>

#include "sinkhost/connector/encoding.hpp"

namespace sinkhost::kafka_sink {

using connector::ErrorCode;
using connector::make_error;

namespace {

void add_header(rd_kafka_headers_t* headers, const char* name, const std::string& value) {
  rd_kafka_header_add(headers, name, -1, value.data(), static_cast<ssize_t>(value.size()));
}

std::int64_t now_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

}  // namespace

DeadLetters::DeadLetters(rd_kafka_t* producer, const KafkaSinkSettings& settings, std::string connector_id,
                         std::atomic<std::int64_t>& in_flight, connector::DeliveryListener& listener)
    : producer_(producer),
      topic_name_(settings.dead_letter_topic),
      topic_(rd_kafka_topic_new(producer, settings.dead_letter_topic.c_str(), nullptr)),
      connector_id_(std::move(connector_id)),
      max_records_(settings.dead_letter_max_records),
      in_flight_(in_flight),
      listener_(listener) {}

connector::Result<void> DeadLetters::send(DeadLetter letter, const DeadLetterReason& why) {
  const auto count = sent_.fetch_add(1, std::memory_order_acq_rel) + 1;
  if (max_records_ > 0 && count > max_records_) {
    return make_error(
        ErrorCode::failed_precondition,
        "the dead-letter limit was reached: " + std::to_string(max_records_) + " records went to topic '" +
            topic_name_ + "' in this run (deadLetter:maxRecords); the record at log position " +
            std::to_string(letter.position) + " was refused by topic '" + why.topic + "': " + why.message);
  }
  auto* headers = letter.headers.get();
  add_header(headers, kReasonHeader, why.error_class);
  add_header(headers, kMessageHeader, why.message);
  add_header(headers, kTopicHeader, why.topic);
  add_header(headers, kConnectorHeader, connector_id_);
  add_header(headers, kPositionHeader, std::to_string(letter.position));
  add_header(headers, kTimeHeader, connector::format_rfc3339(now_ms()));
  auto err = produce(letter);
  if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
    std::lock_guard lock(mutex_);
    pending_.push_back(std::move(letter));
    return {};
  }
  if (err != RD_KAFKA_RESP_ERR_NO_ERROR) return refused(letter.position, err);
  return {};
}

connector::Error DeadLetters::refused(std::uint64_t position, rd_kafka_resp_err_t err) const {
  return make_error(ErrorCode::unavailable, "the dead-letter topic '" + topic_name_ +
                                                "' refused the record at log position " + std::to_string(position) +
                                                " too: " + rd_kafka_err2str(err));
}

void DeadLetters::retry_pending() {
  std::lock_guard lock(mutex_);
  while (!pending_.empty()) {
    auto& letter = pending_.front();
    auto err = produce(letter);
    if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL) return;
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR)
      listener_.failed(connector::LogPosition(letter.position), refused(letter.position, err));
    pending_.pop_front();
  }
}

void DeadLetters::fail_pending() {
  std::lock_guard lock(mutex_);
  for (const auto& letter : pending_) {
    listener_.failed(connector::LogPosition(letter.position),
                     make_error(ErrorCode::unavailable,
                                "the sink closed before the record at log position " + std::to_string(letter.position) +
                                    " could be written to the dead-letter topic '" + topic_name_ + "'"));
  }
  pending_.clear();
}

rd_kafka_resp_err_t DeadLetters::produce(DeadLetter& letter) {
  void* opaque = reinterpret_cast<void*>(static_cast<std::uintptr_t>(letter.position | kDeadLetterTag));
  const void* key_data = letter.key ? letter.key->data() : nullptr;
  const std::size_t key_size = letter.key ? letter.key->size() : 0;
  in_flight_.fetch_add(1, std::memory_order_acq_rel);
#if defined(__clang__)
#pragma clang diagnostic push
#pragma clang diagnostic ignored "-Wgnu-statement-expression"
#endif
  auto err =
      rd_kafka_producev(producer_, RD_KAFKA_V_RKT(topic_.get()), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                        RD_KAFKA_V_VALUE(letter.value.data(), letter.value.size()), RD_KAFKA_V_KEY(key_data, key_size),
                        RD_KAFKA_V_HEADERS(letter.headers.get()), RD_KAFKA_V_OPAQUE(opaque), RD_KAFKA_V_END);
#if defined(__clang__)
#pragma clang diagnostic pop
#endif
  if (err == RD_KAFKA_RESP_ERR_NO_ERROR) {
    (void)letter.headers.release();  // librdkafka owns them now
  } else {
    in_flight_.fetch_sub(1, std::memory_order_acq_rel);
  }
  return err;
}

HeadersPtr copy_headers(const rd_kafka_message_t* message) {
  rd_kafka_headers_t* headers = nullptr;
  if (rd_kafka_message_headers(message, &headers) != RD_KAFKA_RESP_ERR_NO_ERROR || headers == nullptr) {
    return HeadersPtr(rd_kafka_headers_new(6));
  }
  return HeadersPtr(rd_kafka_headers_copy(headers));
}

}  // namespace sinkhost::kafka_sink
