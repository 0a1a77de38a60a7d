#include "pipeline/record_pipeline.hpp"

#include "sinkhost/runtime/record_builder.hpp"

namespace sinkhost::runtime {

using connector::make_error;

namespace {
std::string describe(const SourceEvent& event) {
  return "the record at log position " + std::to_string(event.position.commit) + " (stream '" + event.stream +
         "', revision " + std::to_string(event.revision) + ")";
}
}  // namespace

connector::Result<RecordPipeline::Verdict> RecordPipeline::prepare(const SourceEvent& event, connector::Record& into) {
  build_record(event, options_.connector_id, options_.ignore_system_headers, into);
  if (!options_.transform || into.schema_type != connector::SchemaType::json) return Verdict::dispatch;

  // The transform sees the key the sink would extract, and decides the key it gets.
  if (options_.sink != nullptr) into.key = options_.sink->partition_key(into);
  into.key_from_transform = true;
  auto verdict = options_.transform->apply(into);
  if (!verdict.ok()) {
    if (options_.metrics) options_.metrics->transform_errors.fetch_add(1, std::memory_order_relaxed);
    return make_error(verdict.error().code,
                      "the transform failed on " + describe(event) + ": it " + verdict.error().message);
  }
  if (*verdict == RecordTransform::Verdict::drop) {
    if (options_.metrics) options_.metrics->records_dropped.fetch_add(1, std::memory_order_relaxed);
    return Verdict::skip;
  }
  return Verdict::dispatch;
}

}  // namespace sinkhost::runtime
