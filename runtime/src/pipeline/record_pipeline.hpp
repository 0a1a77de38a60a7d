#pragma once

#include <memory>
#include <string>

#include "sinkhost/connector/record.hpp"
#include "sinkhost/connector/result.hpp"
#include "sinkhost/connector/sink.hpp"
#include "sinkhost/runtime/connector_metrics.hpp"
#include "sinkhost/runtime/source.hpp"
#include "sinkhost/runtime/transform.hpp"

namespace sinkhost::runtime {

// Turns a source event that passed the connector's filter into the record its sink receives:
// build (the esdb-* headers), key (the sink's partition key, when a transform needs to see it)
// and transform. The filter itself runs in the source (SubscribeRequest::filter).
//
// Not thread-safe: one thread prepares (the transform's JavaScript heap is that thread's).
class RecordPipeline {
 public:
  struct Options {
    std::string connector_id;
    bool ignore_system_headers = true;
    const connector::Sink* sink = nullptr;       // for Sink::partition_key; may be null
    std::unique_ptr<RecordTransform> transform;  // null: no transform
    std::shared_ptr<ConnectorMetrics> metrics;   // may be null
  };
  enum class Verdict { dispatch, skip };

  explicit RecordPipeline(Options options) : options_(std::move(options)) {}

  // Builds `into` from `event`, reusing its storage. skip: the transform dropped the record (the
  // checkpoint moves past it). An error: the transform failed on it; it must not be delivered,
  // and the connector stops before it.
  connector::Result<Verdict> prepare(const SourceEvent& event, connector::Record& into);

 private:
  Options options_;
};

}  // namespace sinkhost::runtime
