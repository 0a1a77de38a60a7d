#include "store_reads.hpp"

#include <cstdlib>

#include "sinkhost/kurrentdb_protocol/uuid.hpp"

namespace sinkhost::runtime::kurrentdb {

namespace {

// KurrentDB's filtered subscriptions send a checkpoint after this many events scanned (window
// times multiplier), so a connector's position moves on through stretches its filter skips.
constexpr std::uint32_t kFilterWindow = 32;
constexpr std::uint32_t kCheckpointMultiplier = 10;

void uuid_text(const event_store::client::UUID& uuid, std::string& out) {
  if (uuid.value_case() == event_store::client::UUID::kString) {
    out.assign(uuid.string());
  } else {
    kurrentdb_protocol::format_uuid(uuid.structured().most_significant_bits(),
                                    uuid.structured().least_significant_bits(), out);
  }
}

const std::string& metadata_value(const google::protobuf::Map<std::string, std::string>& map, const char* key) {
  static const std::string empty;
  auto it = map.find(key);
  return it == map.end() ? empty : it->second;
}

}  // namespace

connector::Result<SourcePosition> read_head(StoreConnection& connection, std::chrono::milliseconds timeout) {
  auto channel = connection.channel();
  if (!channel.ok()) return channel.error();
  auto stub = streams::Streams::NewStub(*channel);
  grpc::ClientContext context;
  connection.prepare(context);
  context.set_deadline(std::chrono::system_clock::now() + timeout);
  streams::ReadReq request;
  auto* options = request.mutable_options();
  options->mutable_all()->mutable_end();
  options->set_read_direction(streams::ReadReq::Options::Backwards);
  options->set_count(1);
  options->mutable_no_filter();
  options->mutable_uuid_option()->mutable_string();
  options->mutable_control_option()->set_compatibility(1);
  auto reader = stub->Read(&context, request);
  SourcePosition head;
  streams::ReadResp response;
  while (reader->Read(&response)) {
    if (response.has_event()) {
      const auto& event = response.event().event();
      head = SourcePosition{event.commit_position(), event.prepare_position()};
    }
  }
  auto status = reader->Finish();
  if (!status.ok()) {
    connection.failed(status, context);
    bool permanent = false;
    return connection.describe_failure(status, "reading the head of $all", permanent);
  }
  return head;
}

streams::ReadReq subscription_request(std::optional<SourcePosition> after,
                                      const std::optional<RecordFilter::ServerFilter>& filter) {
  streams::ReadReq request;
  auto* options = request.mutable_options();
  if (after && *after != SourcePosition{}) {
    options->mutable_all()->mutable_position()->set_commit_position(after->commit);
    options->mutable_all()->mutable_position()->set_prepare_position(after->prepare);
  } else {
    options->mutable_all()->mutable_start();
  }
  options->set_read_direction(streams::ReadReq::Options::Forwards);
  options->set_resolve_links(false);
  options->mutable_subscription();
  options->mutable_uuid_option()->mutable_string();
  options->mutable_control_option()->set_compatibility(1);
  if (!filter) {
    options->mutable_no_filter();
    return request;
  }
  auto* f = options->mutable_filter();
  auto* expression = filter->on_event_type ? f->mutable_event_type() : f->mutable_stream_identifier();
  if (filter->prefixes.empty()) {
    expression->set_regex(filter->regex);
  } else {
    for (const auto& prefix : filter->prefixes) expression->add_prefix(prefix);
  }
  f->set_max(kFilterWindow);
  f->set_checkpointintervalmultiplier(kCheckpointMultiplier);
  return request;
}

bool to_source_event(const streams::ReadResp::ReadEvent& read, SourceEvent& out) {
  if (!read.has_event()) return false;
  const auto& event = read.event();
  out.position = SourcePosition{event.commit_position(), event.prepare_position()};
  uuid_text(event.id(), out.event_id);
  out.stream.assign(event.stream_identifier().stream_name());
  out.revision = event.stream_revision();
  const auto& metadata = event.metadata();
  out.event_type = metadata_value(metadata, "type");
  out.is_json = metadata_value(metadata, "content-type") == "application/json";
  out.data.assign(event.data());
  if (event.custom_metadata().empty()) {
    out.metadata.assign("{}");
  } else {
    out.metadata.assign(event.custom_metadata());
  }
  // "created": 100-nanosecond ticks since the Unix epoch.
  const auto& created = metadata_value(metadata, "created");
  out.created_ms = created.empty() ? 0 : std::strtoll(created.c_str(), nullptr, 10) / 10000;
  return true;
}

}  // namespace sinkhost::runtime::kurrentdb
