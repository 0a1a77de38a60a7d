// The /streams routes: the embedded event log's EventStoreDB-style HTTP API.
#include <algorithm>
#include <charconv>

#include <nlohmann/json.hpp>

#include "routes_common.hpp"
#include "sinkhost/connector/encoding.hpp"
#include "sinkhost/management_api/api.hpp"
#include "sinkhost/management_api/append.hpp"
#include "sinkhost/runtime/connector_service.hpp"
#include "sinkhost/runtime/embedded_log/event_log.hpp"
#include "sinkhost/connector/encoding.hpp"

namespace sinkhost::management_api {

using connector::ErrorCode;
using connector::FieldViolation;
using connector::make_error;
using nlohmann::json;
using runtime::AppendResult;
using namespace detail;

namespace {

constexpr const char* kEventsMediaType = "application/vnd.eventstore.events+json";
constexpr std::size_t kMaxStreamNameBytes = 1024;
constexpr std::size_t kDefaultReadCount = 20;
constexpr std::size_t kMaxReadCount = 10000;

HttpResponse too_large(std::string message, std::vector<FieldViolation> violations = {}) {
  return with_status(bad_request(std::move(message), std::move(violations)), 413);
}

// Returns an error response when the stream name cannot be used, nullopt when it can.
std::optional<HttpResponse> check_stream_name(const std::string& stream) {
  bool has_control = std::any_of(stream.begin(), stream.end(), [](char c) {
    auto u = static_cast<unsigned char>(c);
    return u < 0x20 || u == 0x7f;
  });
  if (stream.empty() || has_control || stream.size() > kMaxStreamNameBytes || !valid_utf8(stream)) {
    return bad_request("the stream name is not valid",
                       {{"stream", "must be 1 to " + std::to_string(kMaxStreamNameBytes) +
                                       " bytes of UTF-8 without control characters"}});
  }
  return std::nullopt;
}

std::optional<std::int64_t> parse_int(std::string_view text) {
  std::int64_t value = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || ptr != text.data() + text.size() || text.empty()) return std::nullopt;
  return value;
}

json event_to_json(const runtime::StoredEvent& e) {
  json out = {
      {"eventId", e.event_id},
      {"eventType", e.event_type},
      {"stream", e.stream},
      {"revision", e.revision},
      {"position", e.position.value()},
      {"created", connector::format_rfc3339(e.created_ms)},
      {"contentType", e.is_json ? "application/json" : "application/octet-stream"},
  };
  // The KurrentDB clients (gRPC) may append a JSON event with empty data and any bytes as
  // metadata: what is not JSON text is shown in base64 (a discarded parse would print
  // "<discarded>", which is not JSON).
  auto data = e.is_json ? json::parse(e.data, nullptr, /*allow_exceptions=*/false) : json(json::value_t::discarded);
  if (!data.is_discarded())
    out["data"] = std::move(data);
  else
    out["dataBase64"] = connector::base64_encode(e.data);
  auto metadata = e.metadata.empty() ? json::object() : json::parse(e.metadata, nullptr, false);
  if (!metadata.is_discarded())
    out["metadata"] = std::move(metadata);
  else
    out["metadataBase64"] = connector::base64_encode(e.metadata);
  return out;
}

}  // namespace

namespace {

// ES-ExpectedVersion: -2 (any, also when absent), -1 (no stream), -4 (stream exists) or a revision.
std::variant<std::int64_t, HttpResponse> parse_expected_version(const HttpRequest& request) {
  auto header = request.header("es-expectedversion");
  if (header.empty()) return runtime::expected_version::any;
  auto value = parse_int(header);
  if (!value || (*value < 0 && *value != -1 && *value != -2 && *value != -4)) {
    return bad_request(
        "ES-ExpectedVersion is not valid",
        {{"ES-ExpectedVersion", "must be -2 (any), -1 (no stream), -4 (stream exists) or a revision >= 0"}});
  }
  return *value;
}

// The single-event form: ES-EventType and ES-EventId; the body is the event's data, JSON or
// bytes as Content-Type says.
std::variant<runtime::NewEvent, HttpResponse> parse_single_event(const HttpRequest& request, const std::string& type,
                                                                 const std::string& event_type,
                                                                 const ApiOptions& options) {
  std::vector<FieldViolation> violations;
  runtime::NewEvent event{.event_id = request.header("es-eventid"),
                          .event_type = event_type,
                          .is_json = type == "application/json",
                          .data = request.body,
                          .metadata = "{}"};
  if (event.event_id.empty() || !is_uuid(event.event_id)) {
    violations.push_back(
        {"ES-EventId", "required with ES-EventType: a UUID such as 0f9a1f2c-5a6b-4c7d-8e9f-0a1b2c3d4e5f"});
  }
  if (!valid_utf8(event_type)) violations.push_back({"ES-EventType", "must be UTF-8"});
  if (event.is_json) {
    if (auto parsed = parse_json_body(request.body); !parsed.ok()) {
      violations.push_back({"body", "Content-Type says JSON: " + parsed.error().message});
    }
  }
  if (!violations.empty()) return bad_request("the event is not valid; nothing was appended", std::move(violations));
  if (event.data.size() > options.max_event_bytes) {
    return too_large("the event is too large; nothing was appended",
                     {{"body", std::to_string(event.data.size()) + " bytes; the limit is " +
                                   std::to_string(options.max_event_bytes) + " (--max-event-bytes)"}});
  }
  return event;
}

// One item of the batch form at index `at`; its problems go to `violations`.
runtime::NewEvent parse_batch_item(const json& item, const std::string& at, std::vector<FieldViolation>& violations) {
  runtime::NewEvent event;
  auto id = item.find("eventId");
  if (id == item.end() || !id->is_string() || !is_uuid(id->get<std::string>())) {
    violations.push_back({at + ".eventId", "required: a UUID such as 0f9a1f2c-5a6b-4c7d-8e9f-0a1b2c3d4e5f"});
  } else {
    event.event_id = id->get<std::string>();
  }
  auto event_type = item.find("eventType");
  if (event_type == item.end() || !event_type->is_string() || event_type->get<std::string>().empty()) {
    violations.push_back({at + ".eventType", "required: a non-empty string"});
  } else {
    event.event_type = event_type->get<std::string>();
  }
  auto data = item.find("data");
  event.data = data == item.end() ? "{}" : dump(*data);
  auto metadata = item.find("metadata");
  if (metadata != item.end() && !metadata->is_null()) {
    if (!metadata->is_object())
      violations.push_back({at + ".metadata", "must be a JSON object"});
    else
      event.metadata = dump(*metadata);
  } else {
    event.metadata = "{}";
  }
  return event;
}

// The batch form: a JSON array of {eventId, eventType, data, metadata}.
std::variant<std::vector<runtime::NewEvent>, HttpResponse> parse_event_batch(const HttpRequest& request,
                                                                             const std::string& type,
                                                                             const ApiOptions& options) {
  if (type != kEventsMediaType && type != "application/json") {
    return with_status(
        bad_request(std::string("send events as a JSON array with 'Content-Type: ") + kEventsMediaType +
                    "' (or application/json), or one event of any type with ES-EventType and ES-EventId headers"),
        415);
  }
  auto body = parse_json_body(request.body);
  if (!body.ok()) return error_response(body.error());
  if (!body->is_array() || body->empty()) {
    return bad_request(
        "the body must be a non-empty JSON array of events: [{\"eventId\", \"eventType\", \"data\", \"metadata\"}]");
  }
  if (body->size() > options.max_batch_events) {
    return too_large("the batch has " + std::to_string(body->size()) + " events; the limit is " +
                     std::to_string(options.max_batch_events) + " (--max-batch-events); nothing was appended");
  }
  std::vector<runtime::NewEvent> events;
  std::vector<FieldViolation> violations;
  std::vector<FieldViolation> oversized;
  for (std::size_t i = 0; i < body->size(); ++i) {
    const auto& item = (*body)[i];
    const auto at = "[" + std::to_string(i) + "]";
    if (!item.is_object()) {
      violations.push_back({at, "must be an object"});
      continue;
    }
    auto event = parse_batch_item(item, at, violations);
    if (event.data.size() + event.metadata.size() > options.max_event_bytes) {
      oversized.push_back({at, std::to_string(event.data.size() + event.metadata.size()) +
                                   " bytes of data and metadata; the limit is " +
                                   std::to_string(options.max_event_bytes) + " (--max-event-bytes)"});
    }
    events.push_back(std::move(event));
  }
  if (!violations.empty()) return bad_request("the events are not valid; nothing was appended", std::move(violations));
  if (!oversized.empty()) return too_large("events are too large; nothing was appended", std::move(oversized));
  return events;
}

}  // namespace

std::variant<runtime::AppendRequest, HttpResponse> parse_append(const HttpRequest& request, const std::string& stream,
                                                                const ApiOptions& options) {
  if (auto invalid = check_stream_name(stream)) return *invalid;
  if (stream.front() == '$') {
    return error_response(
        make_error(ErrorCode::permission_denied,
                   "'" + stream + "' is a system stream: streams starting with '$' are written by sinkhost only"));
  }
  auto expected = parse_expected_version(request);
  if (auto* error = std::get_if<HttpResponse>(&expected)) return std::move(*error);
  runtime::AppendRequest append{.stream = stream, .events = {}, .expected_version = std::get<std::int64_t>(expected)};

  const auto type = media_type(request);
  if (auto event_type = request.header("es-eventtype"); !event_type.empty()) {
    auto event = parse_single_event(request, type, event_type, options);
    if (auto* error = std::get_if<HttpResponse>(&event)) return std::move(*error);
    append.events.push_back(std::get<runtime::NewEvent>(std::move(event)));
  } else {
    auto events = parse_event_batch(request, type, options);
    if (auto* error = std::get_if<HttpResponse>(&events)) return std::move(*error);
    append.events = std::get<std::vector<runtime::NewEvent>>(std::move(events));
  }
  return append;
}

// The stream routes serve the embedded log; a host that reads an external store (--source)
// sends its callers there.
std::optional<HttpResponse> Api::refuse_if_external(const char* what) const {
  const auto& source = connectors_.source();
  if (!source.external()) return std::nullopt;
  return error_response(
      make_error(ErrorCode::failed_precondition, std::string("this host reads its events from ") + source.describe() +
                                                     " (--source), not from its embedded log: " + what + " there"));
}

HttpResponse Api::append(const HttpRequest& request, const std::string& stream) {
  if (auto refused = refuse_if_external("append them")) return std::move(*refused);
  auto parsed = parse_append(request, stream, options_);
  if (auto* error = std::get_if<HttpResponse>(&parsed)) return std::move(*error);
  auto appended = log_.append(std::get<runtime::AppendRequest>(std::move(parsed)));
  if (!appended.ok()) return error_response(appended.error());
  if (appended->status == AppendResult::Status::wrong_expected_version) {
    auto response = error_response(make_error(
        ErrorCode::failed_precondition,
        "wrong expected version: expected " + request.header("es-expectedversion") + ", but stream '" + stream +
            "' is at " + std::to_string(appended->current_version) + " (-1: no events); nothing was appended"));
    response.headers.emplace_back("ES-CurrentVersion", std::to_string(appended->current_version));
    return response;
  }
  auto response = json_response(201, json{{"firstPosition", appended->first_position.value()},
                                          {"lastPosition", appended->last_position.value()},
                                          {"firstRevision", appended->first_revision},
                                          {"nextExpectedVersion", appended->current_version}}
                                         .dump());
  response.headers.emplace_back(
      "Location", "/streams/" + percent_encode_segment(stream) + "/" + std::to_string(appended->first_revision));
  return response;
}

HttpResponse Api::read(const Target& target, const std::string& stream) {
  if (auto refused = refuse_if_external("read them")) return std::move(*refused);
  if (auto invalid = check_stream_name(stream)) return *invalid;
  std::vector<FieldViolation> violations;
  auto query = [&](const char* name) -> std::optional<std::string> {
    auto it = target.query.find(name);
    return it == target.query.end() ? std::nullopt : std::optional(it->second);
  };
  auto direction = runtime::Direction::forward;
  if (auto d = query("direction")) {
    if (*d == "backward")
      direction = runtime::Direction::backward;
    else if (*d != "forward")
      violations.push_back({"direction", "must be forward or backward"});
  }
  std::size_t count = kDefaultReadCount;
  if (auto c = query("count")) {
    auto value = parse_int(*c);
    if (!value || *value < 1 || *value > static_cast<std::int64_t>(kMaxReadCount)) {
      violations.push_back({"count", "must be an integer from 1 to " + std::to_string(kMaxReadCount)});
    } else {
      count = static_cast<std::size_t>(*value);
    }
  }
  std::optional<std::uint64_t> from;
  if (auto f = query("from")) {
    auto value = parse_int(*f);
    if (!value || *value < 0)
      violations.push_back({"from", "must be an integer >= 0"});
    else
      from = static_cast<std::uint64_t>(*value);
  }
  if (!violations.empty()) return bad_request("the read is not valid", std::move(violations));

  auto reader = borrow_reader();
  if (reader.get() == nullptr) {
    return error_response(make_error(ErrorCode::unavailable, "the event log cannot be read now"));
  }
  const bool forward = direction == runtime::Direction::forward;
  json body = {{"direction", forward ? "forward" : "backward"}};
  connector::Result<std::vector<runtime::StoredEvent>> events = std::vector<runtime::StoredEvent>{};
  std::optional<std::uint64_t> next_from;

  if (stream == "$all") {
    const auto head = log_.head().value();
    auto start = from.value_or(forward ? 1 : head);
    events = reader.get()->read_all(runtime::LogPosition(start), count, direction);
    if (!events.ok()) return error_response(events.error());
    body["headPosition"] = head;
    if (!events->empty()) {
      auto last = events->back().position.value();
      if (forward && last < head) next_from = last + 1;
      if (!forward && last > 1) next_from = last - 1;
    }
  } else {
    auto last_revision = reader.get()->last_revision(stream);
    if (!last_revision.ok()) return error_response(last_revision.error());
    if (!*last_revision) {
      return error_response(make_error(ErrorCode::not_found, "stream '" + stream + "' has no events"));
    }
    const auto last = **last_revision;
    auto start = from.value_or(forward ? 0 : last);
    events = reader.get()->read_stream(stream, start, count, direction);
    if (!events.ok()) return error_response(events.error());
    body["stream"] = stream;
    body["lastRevision"] = last;
    if (!events->empty()) {
      auto last_read = events->back().revision;
      if (forward && last_read < last) next_from = last_read + 1;
      if (!forward && last_read > 0) next_from = last_read - 1;
    }
  }
  auto items = json::array();
  for (const auto& e : *events) items.push_back(event_to_json(e));
  body["events"] = std::move(items);
  body["nextFrom"] = next_from ? json(*next_from) : json(nullptr);
  return json_response(200, dump(body));
}

}  // namespace sinkhost::management_api
