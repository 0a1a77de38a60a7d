#include "grpc/conversions.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>

#include <re2/re2.h>

#include "routes_common.hpp"
#include "sinkhost/kurrentdb_protocol/uuid.hpp"

namespace sinkhost::management_api::grpc_face {
namespace {

constexpr std::size_t kMaxStreamNameBytes = 1024;
constexpr std::uint32_t kDefaultSearchWindow = 32;
constexpr std::size_t kMaxFilterPrefixes = 1000;
constexpr std::size_t kMaxFilterRegexBytes = 4096;

CallError invalid(std::string message) { return {grpc::StatusCode::INVALID_ARGUMENT, std::move(message)}; }

std::uint64_t hex_value(std::string_view digits) {
  std::uint64_t value = 0;
  std::from_chars(digits.data(), digits.data() + digits.size(), value, 16);
  return value;
}

// The 32 hex digits of a canonical UUID text, without its dashes.
std::string hex_digits(std::string_view text) {
  std::string digits;
  digits.reserve(32);
  for (char c : text) {
    if (c != '-') digits.push_back(c);
  }
  return digits;
}

}  // namespace

std::optional<std::string> uuid_text(const pb::UUID& uuid) {
  if (uuid.has_structured()) {
    std::string text;
    kurrentdb_protocol::format_uuid(uuid.structured().most_significant_bits(),
                                    uuid.structured().least_significant_bits(), text);
    return text;
  }
  if (uuid.value_case() != pb::UUID::kString || !detail::is_uuid(uuid.string())) return std::nullopt;
  std::string text = uuid.string();
  std::transform(text.begin(), text.end(), text.begin(), [](unsigned char c) { return std::tolower(c); });
  return text;
}

void set_uuid(std::string_view text, bool structured, pb::UUID* out) {
  if (!structured || text.size() != 36) {
    out->set_string(std::string(text));
    return;
  }
  auto digits = hex_digits(text);
  auto* s = out->mutable_structured();
  s->set_most_significant_bits(static_cast<std::int64_t>(hex_value(std::string_view(digits).substr(0, 16))));
  s->set_least_significant_bits(static_cast<std::int64_t>(hex_value(std::string_view(digits).substr(16, 16))));
}

std::variant<std::string, CallError> stream_name_of(const pb::StreamIdentifier& id) {
  const std::string& name = id.stream_name();
  bool has_control = std::any_of(name.begin(), name.end(), [](char c) {
    auto u = static_cast<unsigned char>(c);
    return u < 0x20 || u == 0x7f;
  });
  if (name.empty() || name.size() > kMaxStreamNameBytes || has_control || !detail::valid_utf8(name)) {
    return invalid("the stream name is not valid: it must be 1 to 1024 bytes of UTF-8 without control characters");
  }
  return name;
}

std::string created_ticks(std::int64_t created_ms) { return std::to_string(created_ms * 10000); }

std::variant<runtime::AppendRequest, CallError> append_options_of(const streams::AppendReq& first) {
  if (!first.has_options()) return invalid("the first message of an append must carry its options (the stream)");
  const auto& options = first.options();
  auto name = stream_name_of(options.stream_identifier());
  if (auto* error = std::get_if<CallError>(&name)) return *error;
  runtime::AppendRequest request{.stream = std::get<std::string>(std::move(name))};
  if (request.stream.front() == '$') {
    return CallError{
        grpc::StatusCode::PERMISSION_DENIED,
        "'" + request.stream + "' is a system stream: streams starting with '$' are written by sinkhost only",
        {{"exception", "access-denied"}}};
  }
  using Options = streams::AppendReq::Options;
  switch (options.expected_stream_revision_case()) {
    case Options::kRevision:
      if (options.revision() > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
        return invalid("the expected revision is out of range");
      }
      request.expected_version = static_cast<std::int64_t>(options.revision());
      break;
    case Options::kNoStream: request.expected_version = runtime::expected_version::no_stream; break;
    case Options::kStreamExists: request.expected_version = runtime::expected_version::stream_exists; break;
    default: request.expected_version = runtime::expected_version::any; break;
  }
  return request;
}

std::variant<runtime::NewEvent, CallError> new_event_of(streams::AppendReq::ProposedMessage& message,
                                                        const AppendLimits& limits) {
  auto id = uuid_text(message.id());
  if (!id) return invalid("an event needs an id that is a UUID");
  const auto& metadata = message.metadata();
  auto type = metadata.find("type");
  if (type == metadata.end() || type->second.empty() || !detail::valid_utf8(type->second)) {
    return invalid("event " + *id + " needs a \"type\" metadata entry: a non-empty UTF-8 event type");
  }
  auto content_type = metadata.find("content-type");
  if (content_type == metadata.end() ||
      (content_type->second != "application/json" && content_type->second != "application/octet-stream")) {
    return invalid("event " + *id +
                   " needs a \"content-type\" metadata entry: application/json or application/octet-stream");
  }
  runtime::NewEvent event{.event_id = std::move(*id),
                          .event_type = type->second,
                          .is_json = content_type->second == "application/json",
                          .data = std::move(*message.mutable_data()),
                          .metadata = std::move(*message.mutable_custom_metadata())};
  if (event.data.size() + event.metadata.size() > limits.max_event_bytes) {
    return CallError{grpc::StatusCode::RESOURCE_EXHAUSTED,
                     "event " + event.event_id + " has " + std::to_string(event.data.size() + event.metadata.size()) +
                         " bytes of data and metadata; the limit is " + std::to_string(limits.max_event_bytes) +
                         " (--max-event-bytes); nothing was appended",
                     {{"exception", "maximum-append-size-exceeded"},
                      {"maximum-append-size", std::to_string(limits.max_event_bytes)}}};
  }
  if (event.is_json && !event.data.empty() && !detail::parse_json_body(event.data).ok()) {
    return invalid("event " + event.event_id + " says application/json but its data is not JSON; nothing was appended");
  }
  return event;
}

runtime::AppendResult check_empty_append(std::int64_t expected_version, std::optional<std::uint64_t> last) {
  runtime::AppendResult result;
  result.current_version = last ? static_cast<std::int64_t>(*last) : -1;
  bool ok = true;
  switch (expected_version) {
    case runtime::expected_version::any: break;
    case runtime::expected_version::no_stream: ok = !last; break;
    case runtime::expected_version::stream_exists: ok = last.has_value(); break;
    default: ok = last && static_cast<std::int64_t>(*last) == expected_version; break;
  }
  if (!ok) result.status = runtime::AppendResult::Status::wrong_expected_version;
  return result;
}

void fill_append_response(std::int64_t expected_version, std::size_t appended_events,
                          const runtime::AppendResult& result, streams::AppendResp* out) {
  if (result.status == runtime::AppendResult::Status::wrong_expected_version) {
    auto* wrong = out->mutable_wrong_expected_version();
    if (result.current_version >= 0) {
      wrong->set_current_revision(static_cast<std::uint64_t>(result.current_version));
      wrong->set_current_revision_20_6_0(static_cast<std::uint64_t>(result.current_version));
    } else {
      wrong->mutable_current_no_stream();
      wrong->mutable_no_stream_20_6_0();
    }
    switch (expected_version) {
      case runtime::expected_version::no_stream: wrong->mutable_expected_no_stream(); break;
      case runtime::expected_version::stream_exists:
        wrong->mutable_expected_stream_exists();
        wrong->mutable_stream_exists_20_6_0();
        break;
      case runtime::expected_version::any:
        wrong->mutable_expected_any();
        wrong->mutable_any_20_6_0();
        break;
      default:
        wrong->set_expected_revision(static_cast<std::uint64_t>(expected_version));
        wrong->set_expected_revision_20_6_0(static_cast<std::uint64_t>(expected_version));
        break;
    }
    return;
  }
  fill_success(appended_events, result, out->mutable_success());
}

EventFilter::~EventFilter() = default;

std::variant<std::shared_ptr<const EventFilter>, CallError> EventFilter::of(
    const streams::ReadReq::Options::FilterOptions& options) {
  using FilterOptions = streams::ReadReq::Options::FilterOptions;
  std::shared_ptr<EventFilter> filter(new EventFilter());
  const FilterOptions::Expression* expression = nullptr;
  if (options.filter_case() == FilterOptions::kStreamIdentifier) {
    expression = &options.stream_identifier();
  } else if (options.filter_case() == FilterOptions::kEventType) {
    filter->on_stream_ = false;
    expression = &options.event_type();
  } else {
    return invalid("a filter must be on the stream name or on the event type");
  }
  if (expression->prefix_size() > static_cast<int>(kMaxFilterPrefixes)) {
    return invalid("a filter takes at most " + std::to_string(kMaxFilterPrefixes) + " prefixes");
  }
  filter->prefixes_.assign(expression->prefix().begin(), expression->prefix().end());
  if (!expression->regex().empty()) {
    if (expression->regex().size() > kMaxFilterRegexBytes) {
      return invalid("a filter regex takes at most " + std::to_string(kMaxFilterRegexBytes) + " bytes");
    }
    RE2::Options re2_options;
    re2_options.set_log_errors(false);
    filter->regex_ = std::make_unique<re2::RE2>(expression->regex(), re2_options);
    if (!filter->regex_->ok()) {
      return invalid("the filter regex is not valid: " + filter->regex_->error());
    }
  }
  if (filter->prefixes_.empty() && !filter->regex_) return invalid("a filter needs a regex or at least one prefix");
  std::uint64_t window =
      options.window_case() == FilterOptions::kMax && options.max() > 0 ? options.max() : kDefaultSearchWindow;
  filter->checkpoint_interval_ = window * std::max<std::uint32_t>(1, options.checkpointintervalmultiplier());
  return std::shared_ptr<const EventFilter>(std::move(filter));
}

bool EventFilter::matches(std::string_view stream, std::string_view event_type) const {
  std::string_view name = on_stream_ ? stream : event_type;
  for (const auto& prefix : prefixes_) {
    if (name.starts_with(prefix)) return true;
  }
  return regex_ && re2::RE2::PartialMatch(name, *regex_);
}

std::variant<ReadPlan, CallError> plan_read(const streams::ReadReq& request) {
  using Options = streams::ReadReq::Options;
  if (!request.has_options()) return invalid("a read needs its options");
  const Options& options = request.options();
  ReadPlan plan;
  plan.forward = options.read_direction() != Options::Backwards;
  plan.subscription = options.count_option_case() == Options::kSubscription;
  if (options.count_option_case() == Options::kCount) plan.count = options.count();
  plan.structured_uuids = options.uuid_option().content_case() == Options::UUIDOption::kStructured;
  if (plan.subscription && !plan.forward) return invalid("a subscription reads forwards only");

  if (options.stream_option_case() == Options::kStream) {
    const auto& stream = options.stream();
    auto name = stream_name_of(stream.stream_identifier());
    if (auto* error = std::get_if<CallError>(&name)) return *error;
    plan.stream = std::get<std::string>(std::move(name));
    switch (stream.revision_option_case()) {
      case Options::StreamOptions::kRevision:
        plan.from = ReadPlan::From::at;
        plan.at = stream.revision();
        break;
      case Options::StreamOptions::kEnd: plan.from = ReadPlan::From::end; break;
      default: plan.from = ReadPlan::From::start; break;
    }
    if (options.filter_option_case() == Options::kFilter) return invalid("a filter applies to $all only");
  } else if (options.stream_option_case() == Options::kAll) {
    const auto& all = options.all();
    switch (all.all_option_case()) {
      case Options::AllOptions::kPosition:
        plan.from = ReadPlan::From::at;
        plan.at = all.position().commit_position();
        break;
      case Options::AllOptions::kEnd: plan.from = ReadPlan::From::end; break;
      default: plan.from = ReadPlan::From::start; break;
    }
    if (options.filter_option_case() == Options::kFilter) {
      auto filter = EventFilter::of(options.filter());
      if (auto* error = std::get_if<CallError>(&filter)) return *error;
      plan.filter = std::get<std::shared_ptr<const EventFilter>>(std::move(filter));
    }
  } else {
    return invalid("a read needs a stream or $all");
  }
  return plan;
}

EventView view_of(const runtime::StoredEvent& event) {
  return {.position = event.position.value(),
          .event_id = event.event_id,
          .stream = event.stream,
          .revision = event.revision,
          .event_type = event.event_type,
          .is_json = event.is_json,
          .data = event.data,
          .metadata = event.metadata,
          .created_ms = event.created_ms};
}

EventView view_of(const runtime::EventRow& row) {
  return {.position = row.position().value(),
          .event_id = row.event_id(),
          .stream = row.stream(),
          .revision = row.revision(),
          .event_type = row.event_type(),
          .is_json = row.is_json(),
          .data = row.data(),
          .metadata = row.metadata(),
          .created_ms = row.created_ms()};
}

void fill_read_event(const EventView& event, bool structured_uuid, streams::ReadResp* out) {
  auto* read = out->mutable_event();
  auto* recorded = read->mutable_event();
  set_uuid(event.event_id, structured_uuid, recorded->mutable_id());
  recorded->mutable_stream_identifier()->set_stream_name(std::string(event.stream));
  recorded->set_stream_revision(event.revision);
  recorded->set_prepare_position(event.position);
  recorded->set_commit_position(event.position);
  auto& metadata = *recorded->mutable_metadata();
  metadata["type"] = std::string(event.event_type);
  metadata["content-type"] = event.is_json ? "application/json" : "application/octet-stream";
  metadata["created"] = created_ticks(event.created_ms);
  recorded->set_custom_metadata(std::string(event.metadata));
  recorded->set_data(std::string(event.data));
  read->set_commit_position(event.position);
}

}  // namespace sinkhost::management_api::grpc_face
