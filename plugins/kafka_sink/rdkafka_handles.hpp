#pragma once

#include <memory>

#include <librdkafka/rdkafka.h>

// Owning pointers for librdkafka's handles, one deleter each.
namespace sinkhost::kafka_sink {

struct ProducerDeleter {
  void operator()(rd_kafka_t* client) const { rd_kafka_destroy(client); }
};
struct HeadersDeleter {
  void operator()(rd_kafka_headers_t* headers) const { rd_kafka_headers_destroy(headers); }
};
struct TopicDeleter {
  void operator()(rd_kafka_topic_t* topic) const { rd_kafka_topic_destroy(topic); }
};
struct MetadataDeleter {
  void operator()(const rd_kafka_metadata_t* metadata) const { rd_kafka_metadata_destroy(metadata); }
};

using ClientPtr = std::unique_ptr<rd_kafka_t, ProducerDeleter>;
using HeadersPtr = std::unique_ptr<rd_kafka_headers_t, HeadersDeleter>;
using TopicPtr = std::unique_ptr<rd_kafka_topic_t, TopicDeleter>;
using MetadataPtr = std::unique_ptr<const rd_kafka_metadata_t, MetadataDeleter>;

}  // namespace sinkhost::kafka_sink
