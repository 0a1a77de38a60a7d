#include "sinkhost/runtime/cluster/kafka_table.hpp"

#include <pthread.h>

#include <algorithm>
#include <array>
#include <condition_variable>
#include <mutex>
#include <thread>

#include <spdlog/spdlog.h>

#include "rdkafka_support.hpp"

namespace sinkhost::runtime::cluster {

using connector::ErrorCode;
using connector::make_error;

namespace {

using Clock = std::chrono::steady_clock;

// How long the producer's thread waits in rd_kafka_poll: the longest a close waits for it.
constexpr int kProducerPollMs = 200;
// The most records one poll returns.
constexpr std::size_t kPollBatch = 1000;

// The outcome of one put or erase. Shared by the writer and the delivery report, so a writer
// that gave up waiting leaves the report somewhere to land.
struct Delivery {
  std::mutex mutex;
  std::condition_variable arrived;
  bool done = false;
  rd_kafka_resp_err_t code = RD_KAFKA_RESP_ERR_NO_ERROR;
  std::string detail;
  TablePosition position;
};

void on_delivery(rd_kafka_t* producer, const rd_kafka_message_t* message, void* /*opaque*/) {
  auto* holder = static_cast<std::shared_ptr<Delivery>*>(message->_private);
  std::shared_ptr<Delivery> delivery = std::move(*holder);
  delete holder;
  std::string detail;
  if (message->err == RD_KAFKA_RESP_ERR__FATAL) {
    std::array<char, 512> reason{};
    rd_kafka_fatal_error(producer, reason.data(), reason.size());
    detail = reason.data();
  }
  {
    std::lock_guard lock(delivery->mutex);
    delivery->done = true;
    delivery->code = message->err;
    delivery->detail = std::move(detail);
    delivery->position = TablePosition{message->partition, message->offset};
  }
  delivery->arrived.notify_all();
}

// Every record is acknowledged by all in-sync replicas and written once, in order per key.
// murmur2_random: the partition of a key is the one Java clients pick too.
Properties producer_properties(std::chrono::milliseconds timeout) {
  return {{"enable.idempotence", "true"},
          {"acks", "all"},
          {"partitioner", "murmur2_random"},
          {"linger.ms", "0"},
          {"message.timeout.ms", std::to_string(timeout.count())},
          {"allow.auto.create.topics", "false"},
          {"client.id", "sinkhost-cluster-table"}};
}

// assign() without subscribe() or commit: librdkafka needs some group.id for its consumer, but
// this one never joins or commits, so the id is never used. read_committed: records of a
// transaction that was aborted (a fenced writer's) are never read. fetch.wait.max.ms: the broker
// answers a fetch at the end of a partition after this long at most, which bounds how late a
// write reaches a reader (with the default 500 ms it took about 1 s, measured); 10 fetches a
// second while idle are the price.
Properties consumer_properties() {
  return {{"group.id", "sinkhost-table-reader"}, {"enable.auto.commit", "false"},
          {"enable.auto.offset.store", "false"}, {"enable.partition.eof", "true"},
          {"auto.offset.reset", "earliest"},     {"isolation.level", "read_committed"},
          {"allow.auto.create.topics", "false"}, {"client.id", "sinkhost-cluster-table"},
          {"fetch.wait.max.ms", "100"}};
}

RecordHeaders headers_of(const rd_kafka_message_t& message) {
  RecordHeaders result;
  rd_kafka_headers_t* headers = nullptr;
  if (rd_kafka_message_headers(&message, &headers) != RD_KAFKA_RESP_ERR_NO_ERROR) return result;
  const char* name = nullptr;
  const void* value = nullptr;
  std::size_t size = 0;
  for (std::size_t i = 0; rd_kafka_header_get_all(headers, i, &name, &value, &size) == RD_KAFKA_RESP_ERR_NO_ERROR;
       ++i) {
    result.emplace_back(name, value != nullptr ? std::string(static_cast<const char*>(value), size) : "");
  }
  return result;
}

// The table record a message holds; nullopt for a message without a key, which no table wrote.
std::optional<TableRecord> table_record(const rd_kafka_message_t& message, const std::string& topic) {
  if (message.key == nullptr) {
    spdlog::warn("[cluster] table topic '{}' partition {} offset {}: a record without a key is ignored", topic,
                 message.partition, message.offset);
    return std::nullopt;
  }
  TableRecord record;
  record.key.assign(static_cast<const char*>(message.key), message.key_len);
  if (message.payload != nullptr) record.value.emplace(static_cast<const char*>(message.payload), message.len);
  record.partition = message.partition;
  record.offset = message.offset;
  auto stamp = read_stamp(headers_of(message));
  if (stamp.ok()) {
    record.stamp = std::move(*stamp);
  } else {
    spdlog::warn("[cluster] table topic '{}' partition {} offset {}: {}", topic, message.partition, message.offset,
                 stamp.error().message);
  }
  return record;
}

// Consumer errors librdkafka does not recover from by itself: the table cannot be read.
bool unreadable(rd_kafka_resp_err_t code) {
  return code == RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED || code == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART ||
         code == RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION || code == RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC ||
         code == RD_KAFKA_RESP_ERR__FATAL;
}

Result<void> check_compacted(rd_kafka_t* client, const std::string& topic, std::chrono::milliseconds timeout) {
  auto configs = topic_configs(client, topic, timeout);
  if (!configs.ok()) return configs.error();
  const std::string policy = (*configs)["cleanup.policy"];
  if (policy.find("compact") == std::string::npos) {
    return make_error(ErrorCode::failed_precondition,
                      "topic '" + topic + "' exists with cleanup.policy=" + policy +
                          ": a table topic must be compacted (cleanup.policy=compact), or its records would be "
                          "deleted by age and the table lost; change the topic's cleanup.policy or choose another "
                          "topic");
  }
  return {};
}

// Every partition's first offset (`which` = RD_KAFKA_OFFSET_BEGINNING) or high watermark
// (RD_KAFKA_OFFSET_END), asked in one ListOffsets request per broker rather than one per
// partition. A partition of a topic just created has no leader for a moment: transient errors
// are retried until `deadline`.
Result<std::vector<std::int64_t>> partition_offsets(rd_kafka_t* consumer, const std::string& topic,
                                                    std::size_t partitions, std::int64_t which,
                                                    Clock::time_point deadline) {
  for (;;) {
    PartitionListPtr list(rd_kafka_topic_partition_list_new(static_cast<int>(partitions)));
    for (std::size_t partition = 0; partition < partitions; ++partition) {
      rd_kafka_topic_partition_list_add(list.get(), topic.c_str(), static_cast<std::int32_t>(partition))->offset =
          which;
    }
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    auto code =
        rd_kafka_offsets_for_times(consumer, list.get(), static_cast<int>(std::max<long long>(left.count(), 1)));
    std::vector<std::int64_t> offsets(partitions, 0);
    for (int i = 0; code == RD_KAFKA_RESP_ERR_NO_ERROR && i < list->cnt; ++i) {
      const auto& element = list->elems[i];
      if (element.err) {
        code = element.err;
      } else {
        offsets.at(static_cast<std::size_t>(element.partition)) = element.offset;
      }
    }
    if (code == RD_KAFKA_RESP_ERR_NO_ERROR) return offsets;
    if (!transient(code) || Clock::now() >= deadline) {
      return kafka_error("reading the offsets of table topic '" + topic + "'", code);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

}  // namespace

struct KafkaTable::Clients {
  ClientPtr producer;
  ClientPtr consumer;
  std::atomic<bool> stop{false};
  std::thread poller;  // serves the producer's delivery reports

  void start_poller() {
    poller = std::thread([this] {
      ::pthread_setname_np(::pthread_self(), "sh-table");
      while (!stop.load(std::memory_order_acquire)) rd_kafka_poll(producer.get(), kProducerPollMs);
    });
  }

  ~Clients() {
    stop.store(true, std::memory_order_release);
    if (poller.joinable()) poller.join();
    // Every put waited for its acknowledgement: what is left are writes whose callers gave up.
    if (producer) rd_kafka_flush(producer.get(), 1000);
    if (consumer) rd_kafka_consumer_close(consumer.get());
  }
};

Result<std::unique_ptr<KafkaTable>> KafkaTable::open(KafkaTableOptions options) {
  auto producer_conf = client_conf(options.client, producer_properties(options.timeout));
  if (!producer_conf.ok()) return producer_conf.error();
  rd_kafka_conf_set_dr_msg_cb(producer_conf->get(), on_delivery);
  auto producer = new_client(RD_KAFKA_PRODUCER, std::move(*producer_conf));
  if (!producer.ok()) return producer.error();

  TopicSpec spec{options.topic, options.partitions, options.replication_factor, {{"cleanup.policy", "compact"}}};
  auto created = ensure_topic(producer->get(), spec, options.timeout);
  if (!created.ok()) return created.error();
  if (!*created) {
    auto compacted = check_compacted(producer->get(), options.topic, options.timeout);
    if (!compacted.ok()) return compacted.error();
  }

  auto consumer_conf = client_conf(options.client, consumer_properties());
  if (!consumer_conf.ok()) return consumer_conf.error();
  auto consumer = new_client(RD_KAFKA_CONSUMER, std::move(*consumer_conf));
  if (!consumer.ok()) return consumer.error();

  auto clients = std::make_unique<Clients>();
  clients->producer = std::move(*producer);
  clients->consumer = std::move(*consumer);
  clients->start_poller();
  return std::unique_ptr<KafkaTable>(new KafkaTable(std::move(options), std::move(clients)));
}

KafkaTable::KafkaTable(KafkaTableOptions options, std::unique_ptr<Clients> clients)
    : options_(std::move(options)), generation_(options_.writer.generation), clients_(std::move(clients)) {}

KafkaTable::~KafkaTable() = default;

const std::string& KafkaTable::topic() const { return options_.topic; }

const WriterStamp& KafkaTable::writer() const { return options_.writer; }

void KafkaTable::set_generation(std::int32_t generation) { generation_.store(generation, std::memory_order_relaxed); }

Result<TablePosition> KafkaTable::put(std::string_view key, std::string_view value) { return write(key, &value); }

Result<TablePosition> KafkaTable::erase(std::string_view key) { return write(key, nullptr); }

Result<TablePosition> KafkaTable::write(std::string_view key, const std::string_view* value) {
  const std::string what = std::string(value != nullptr ? "writing" : "erasing") + " key '" + std::string(key) +
                           "' of table topic '" + options_.topic + "'";
  const auto headers = stamp_headers({options_.writer.host_id, generation_.load(std::memory_order_relaxed)});
  auto delivery = std::make_shared<Delivery>();
  auto* holder = new std::shared_ptr<Delivery>(delivery);
  // A null payload is a tombstone; an empty value keeps a (non-null) pointer of length 0.
  void* payload = value != nullptr ? const_cast<char*>(value->data() != nullptr ? value->data() : "") : nullptr;
  const std::size_t payload_size = value != nullptr ? value->size() : 0;
  // librdkafka's RD_KAFKA_V_* macros type-check with GNU statement expressions, which clang's
  // -Wpedantic reports (g++ does not).
#if defined(__clang__)
#pragma clang diagnostic push
#pragma clang diagnostic ignored "-Wgnu-statement-expression"
#endif
  const auto code =
      rd_kafka_producev(clients_->producer.get(), RD_KAFKA_V_TOPIC(options_.topic.c_str()),
                        RD_KAFKA_V_KEY(const_cast<char*>(key.data()), key.size()),
                        RD_KAFKA_V_VALUE(payload, payload_size), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                        RD_KAFKA_V_HEADER(headers[0].first.c_str(), headers[0].second.data(), headers[0].second.size()),
                        RD_KAFKA_V_HEADER(headers[1].first.c_str(), headers[1].second.data(), headers[1].second.size()),
                        RD_KAFKA_V_OPAQUE(holder), RD_KAFKA_V_END);
#if defined(__clang__)
#pragma clang diagnostic pop
#endif
  if (code != RD_KAFKA_RESP_ERR_NO_ERROR) {
    delete holder;
    return kafka_error(what, code);
  }
  // The report arrives by message.timeout.ms (= the table's timeout); the margin covers the
  // poller's own pace.
  std::unique_lock lock(delivery->mutex);
  if (!delivery->arrived.wait_for(lock, options_.timeout + std::chrono::seconds(5), [&] { return delivery->done; })) {
    return kafka_error(what, RD_KAFKA_RESP_ERR__TIMED_OUT, "no delivery report");
  }
  if (delivery->code != RD_KAFKA_RESP_ERR_NO_ERROR) return kafka_error(what, delivery->code, delivery->detail);
  return delivery->position;
}

Result<TableContents> KafkaTable::load() {
  TableContents table;
  auto loaded = load([&table](TableRecord record) { apply_record(table, std::move(record)); });
  if (!loaded.ok()) return loaded.error();
  return table;
}

Result<void> KafkaTable::load(const RecordVisitor& visit) {
  rd_kafka_t* consumer = clients_->consumer.get();
  const auto deadline = Clock::now() + options_.timeout;
  auto partitions = partition_count(consumer, options_.topic, options_.timeout);
  if (!partitions.ok()) return partitions.error();

  // Where each partition ends now, and where reading starts.
  std::vector<std::int64_t> end(static_cast<std::size_t>(*partitions));
  next_.assign(end.size(), 0);
  auto low = partition_offsets(consumer, options_.topic, end.size(), RD_KAFKA_OFFSET_BEGINNING, deadline);
  if (!low.ok()) return low.error();
  auto high = partition_offsets(consumer, options_.topic, end.size(), RD_KAFKA_OFFSET_END, deadline);
  if (!high.ok()) return high.error();
  end = std::move(*high);
  next_ = std::move(*low);
  PartitionListPtr assignment(rd_kafka_topic_partition_list_new(*partitions));
  for (std::int32_t partition = 0; partition < *partitions; ++partition) {
    rd_kafka_topic_partition_list_add(assignment.get(), options_.topic.c_str(), partition)->offset =
        RD_KAFKA_OFFSET_BEGINNING;
  }
  if (auto code = rd_kafka_assign(consumer, assignment.get())) {
    return kafka_error("reading table topic '" + options_.topic + "'", code);
  }
  return read_until(end, visit);
}

Result<void> KafkaTable::read_to_end(const RecordVisitor& visit) {
  if (next_.empty()) {
    return make_error(ErrorCode::failed_precondition,
                      "table topic '" + options_.topic + "' was not loaded: load it before reading on");
  }
  rd_kafka_t* consumer = clients_->consumer.get();
  const auto deadline = Clock::now() + options_.timeout;
  auto end = partition_offsets(consumer, options_.topic, next_.size(), RD_KAFKA_OFFSET_END, deadline);
  if (!end.ok()) return end.error();
  return read_until(*end, visit);
}

Result<void> KafkaTable::read_until(const std::vector<std::int64_t>& end, const RecordVisitor& visit) {
  rd_kafka_t* consumer = clients_->consumer.get();
  const auto deadline = Clock::now() + options_.timeout;
  const auto reached_end = [&] {
    for (std::size_t i = 0; i < end.size(); ++i) {
      if (next_[i] < end[i]) return false;
    }
    return true;
  };
  const auto last = static_cast<std::int32_t>(next_.size()) - 1;
  while (!reached_end()) {
    if (Clock::now() >= deadline) {
      return make_error(ErrorCode::unavailable, "reading table topic '" + options_.topic +
                                                    "': not read to its end in " +
                                                    std::to_string(options_.timeout.count()) + " ms");
    }
    MessagePtr message(rd_kafka_consumer_poll(consumer, 100));
    if (!message) continue;
    // A compacted partition has gaps: its end-of-partition event says where reading stands.
    auto& next = next_[static_cast<std::size_t>(std::clamp(message->partition, 0, last))];
    if (message->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
      next = std::max(next, message->offset);
      continue;
    }
    if (message->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      if (unreadable(message->err)) return kafka_error("reading table topic '" + options_.topic + "'", message->err);
      continue;  // transient: librdkafka retries
    }
    next = std::max(next, message->offset + 1);
    if (auto record = table_record(*message, options_.topic)) visit(std::move(*record));
  }
  return {};
}

Result<std::vector<TableRecord>> KafkaTable::poll(std::chrono::milliseconds timeout) {
  rd_kafka_t* consumer = clients_->consumer.get();
  std::vector<TableRecord> records;
  const auto deadline = Clock::now() + timeout;
  const auto last = static_cast<std::int32_t>(next_.size()) - 1;
  while (records.size() < kPollBatch) {
    // Wait for the first record until the deadline; after it, take only what is already there.
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    const int wait_ms = records.empty() ? static_cast<int>(std::max<long long>(left.count(), 0)) : 0;
    MessagePtr message(rd_kafka_consumer_poll(consumer, wait_ms));
    if (!message) break;
    if (message->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) continue;
    if (message->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      if (unreadable(message->err)) return kafka_error("reading table topic '" + options_.topic + "'", message->err);
      continue;
    }
    if (last >= 0) {
      auto& next = next_[static_cast<std::size_t>(std::clamp(message->partition, 0, last))];
      next = std::max(next, message->offset + 1);
    }
    if (auto record = table_record(*message, options_.topic)) records.push_back(std::move(*record));
  }
  return records;
}

}  // namespace sinkhost::runtime::cluster
