#include "sinkhost/management_api/api.hpp"

#include <algorithm>

#include <spdlog/spdlog.h>

#include <nlohmann/json.hpp>

#include "sinkhost/runtime/connector_service.hpp"
#include "sinkhost/runtime/event_log.hpp"
#include "sinkhost/runtime/record_builder.hpp"

namespace sinkhost::management_api {

using connector::ErrorCode;
using connector::make_error;
using nlohmann::json;

namespace {

constexpr const char* kEventsMediaType = "application/vnd.eventstore.events+json";
// Deeper JSON than this is refused before it is parsed (a recursive parser must not be
// driven into a stack overflow by a hostile body).
constexpr int kMaxJsonDepth = 64;
constexpr std::size_t kMaxStreamNameBytes = 1024;

HttpResponse ok_empty() { return json_response(200, "{}"); }

HttpResponse bad_request(std::string message, std::vector<connector::FieldViolation> violations = {}) {
  return error_response(make_error(ErrorCode::invalid_argument, std::move(message), std::move(violations)));
}

HttpResponse not_found_route(const HttpRequest& request) {
  return error_response(make_error(ErrorCode::not_found, "no route for " + request.method + " " + request.target));
}

HttpResponse method_not_allowed(const HttpRequest& request, const std::string& allowed) {
  auto response = error_response(
      make_error(ErrorCode::invalid_argument, request.method + " is not allowed here; use " + allowed));
  response.status = 405;
  response.headers.emplace_back("Allow", allowed);
  return response;
}

// The media type without parameters, lower-cased: "application/json; charset=utf-8" -> "application/json".
std::string media_type(const HttpRequest& request) {
  auto value = request.header("content-type");
  auto semicolon = value.find(';');
  if (semicolon != std::string::npos) value.resize(semicolon);
  while (!value.empty() && value.back() == ' ') value.pop_back();
  for (auto& c : value) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return value;
}

bool too_deep(std::string_view text) {
  int depth = 0;
  bool in_string = false, escaped = false;
  for (char c : text) {
    if (in_string) {
      if (escaped) escaped = false;
      else if (c == '\\') escaped = true;
      else if (c == '"') in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > kMaxJsonDepth) return true;
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return false;
}

connector::Result<json> parse_json_body(const HttpRequest& request) {
  if (too_deep(request.body)) {
    return make_error(ErrorCode::invalid_argument,
                      "the JSON body nests deeper than " + std::to_string(kMaxJsonDepth) + " levels");
  }
  try {
    return json::parse(request.body);
  } catch (const json::parse_error& e) {
    return make_error(ErrorCode::invalid_argument, std::string("the body is not valid JSON: ") + e.what());
  }
}

connector::Result<json> parse_json_request(const HttpRequest& request) {
  if (media_type(request) != "application/json") {
    auto error = make_error(ErrorCode::invalid_argument,
                            "send the body as JSON with the header 'Content-Type: application/json'");
    return error;
  }
  return parse_json_body(request);
}

bool is_uuid(const std::string& text) {
  if (text.size() != 36) return false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? text[i] != '-' : !std::isxdigit(static_cast<unsigned char>(text[i]))) return false;
  }
  return true;
}

std::string dump(const json& value) { return value.dump(-1, ' ', false, json::error_handler_t::replace); }

// KurrentDB's settings map holds strings; numbers and booleans are accepted and kept as text,
// since scripts often write {"autocommit:interval": 1000}.
connector::Result<connector::Settings> settings_from_json(const json& object, const std::string& field) {
  connector::Settings settings;
  std::vector<connector::FieldViolation> violations;
  for (const auto& [key, value] : object.items()) {
    if (value.is_string()) settings[key] = value.get<std::string>();
    else if (value.is_number() || value.is_boolean()) settings[key] = value.dump();
    else violations.push_back({field + "." + key, "must be a string"});
  }
  if (!violations.empty()) {
    return make_error(ErrorCode::invalid_argument, "the connector settings are not valid", std::move(violations));
  }
  return settings;
}

// {"a": {"b": "x"}} -> {"a:b": "x"}: KurrentDB's nested configuration form.
void flatten(const json& object, const std::string& prefix, json& out) {
  for (const auto& [key, value] : object.items()) {
    auto name = prefix.empty() ? key : prefix + ":" + key;
    if (value.is_object()) flatten(value, name, out);
    else out[name] = value;
  }
}

json view_to_json(const runtime::ConnectorView& view, bool include_settings) {
  const auto& d = view.definition;
  json item = {
      {"connectorId", d.id},
      {"instanceTypeName", d.instance_type_name},
      {"name", d.name},
      {"state", runtime::to_string(view.state)},
      {"stateUpdateTime", runtime::format_rfc3339(view.state_update_time_ms)},
      {"settingsUpdateTime", runtime::format_rfc3339(d.settings_update_time_ms)},
      {"createTime", runtime::format_rfc3339(d.create_time_ms)},
      {"updateTime", runtime::format_rfc3339(d.update_time_ms)},
  };
  if (d.checkpoint) item["position"] = d.checkpoint->value();
  if (d.error) item["errorDetails"] = {{"code", d.error->code}, {"message", d.error->message}};
  if (include_settings) item["settings"] = d.settings;
  return item;
}

}  // namespace

Api::Api(runtime::EventLog& log, runtime::ConnectorService& connectors, std::string version)
    : log_(log), connectors_(connectors), version_(std::move(version)) {}

HttpResponse Api::handle(const HttpRequest& request) noexcept {
  try {
    auto target = parse_target(request.target);
    if (!target.ok()) return error_response(target.error());
    return route(request, *target);
  } catch (const std::exception& e) {
    // A bug, not bad input: answer 500 and keep serving.
    spdlog::error("{} {} failed: {}", request.method, request.target, e.what());
    return error_response(make_error(ErrorCode::internal, "internal error; see the sinkhost log"));
  } catch (...) {
    return error_response(make_error(ErrorCode::internal, "internal error; see the sinkhost log"));
  }
}

HttpResponse Api::route(const HttpRequest& request, const Target& target) {
  const auto& s = target.segments;
  const auto& m = request.method;

  if (s.size() == 1 && s[0] == "health") {
    if (m != "GET") return method_not_allowed(request, "GET");
    return json_response(200, json{{"status", "ok"}, {"version", version_}}.dump());
  }
  if (s.size() == 2 && s[0] == "streams") {
    if (m != "POST") return method_not_allowed(request, "POST");
    return append(request, s[1]);
  }
  if (!s.empty() && s[0] == "connectors") {
    if (s.size() == 1) {
      if (m != "GET") return method_not_allowed(request, "GET");
      return list_connectors(target);
    }
    const auto& id = s[1];
    if (s.size() == 2) {
      if (m == "POST") return create_connector(request, id);
      if (m == "GET") return get_connector(id);
      return method_not_allowed(request, "GET, POST");
    }
    if (s.size() == 3 && (s[2] == "start" || s[2] == "stop")) {
      if (m != "POST") return method_not_allowed(request, "POST");
      auto result = s[2] == "start" ? connectors_.start(id) : connectors_.stop(id);
      return result.ok() ? ok_empty() : error_response(result.error());
    }
  }
  return not_found_route(request);
}

HttpResponse Api::append(const HttpRequest& request, const std::string& stream) {
  // Control characters would let a stream name break the Location header (and logs).
  bool has_control = std::any_of(stream.begin(), stream.end(), [](char c) {
    auto u = static_cast<unsigned char>(c);
    return u < 0x20 || u == 0x7f;
  });
  if (has_control || stream.size() > kMaxStreamNameBytes) {
    return bad_request("the stream name is not valid",
                       {{"stream", "must be 1 to " + std::to_string(kMaxStreamNameBytes) +
                                       " bytes without control characters"}});
  }
  if (stream.front() == '$') {
    return error_response(make_error(ErrorCode::permission_denied,
                                     "'" + stream + "' is a system stream: streams starting with '$' are written by sinkhost only"));
  }
  auto type = media_type(request);
  if (type != kEventsMediaType && type != "application/json") {
    auto response = bad_request(std::string("send events as a JSON array with 'Content-Type: ") + kEventsMediaType +
                                "' (or application/json)");
    response.status = 415;
    return response;
  }
  auto body = parse_json_body(request);
  if (!body.ok()) return error_response(body.error());
  if (!body->is_array() || body->empty()) {
    return bad_request("the body must be a non-empty JSON array of events: [{\"eventId\", \"eventType\", \"data\", \"metadata\"}]");
  }

  std::vector<runtime::NewEvent> events;
  std::vector<connector::FieldViolation> violations;
  for (std::size_t i = 0; i < body->size(); ++i) {
    const auto& item = (*body)[i];
    const auto at = "[" + std::to_string(i) + "]";
    if (!item.is_object()) {
      violations.push_back({at, "must be an object"});
      continue;
    }
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
      if (!metadata->is_object()) violations.push_back({at + ".metadata", "must be a JSON object"});
      else event.metadata = dump(*metadata);
    } else {
      event.metadata = "{}";
    }
    events.push_back(std::move(event));
  }
  if (!violations.empty()) return bad_request("the events are not valid; nothing was appended", std::move(violations));

  auto appended = log_.append(stream, events);
  if (!appended.ok()) return error_response(appended.error());
  auto response = json_response(201, json{{"firstPosition", appended->first_position.value()},
                                          {"lastPosition", appended->last_position.value()},
                                          {"firstRevision", appended->first_revision}}
                                          .dump());
  response.headers.emplace_back("Location", "/streams/" + stream + "/" + std::to_string(appended->first_revision));
  return response;
}

HttpResponse Api::create_connector(const HttpRequest& request, const std::string& id) {
  auto body = parse_json_request(request);
  if (!body.ok()) return error_response(body.error());
  if (!body->is_object()) return bad_request("the body must be a JSON object: {\"name\"?, \"settings\": {...}}");

  std::optional<std::string> name;
  if (auto it = body->find("name"); it != body->end() && !it->is_null()) {
    if (!it->is_string()) return bad_request("the connector is not valid", {{"name", "must be a string"}});
    name = it->get<std::string>();
  }
  auto settings_it = body->find("settings");
  auto configuration_it = body->find("configuration");
  json flat = json::object();
  std::string field = "settings";
  if (settings_it != body->end() && settings_it->is_object()) {
    flat = *settings_it;
  } else if (configuration_it != body->end() && configuration_it->is_object()) {
    flatten(*configuration_it, "", flat);
    field = "configuration";
  } else {
    return bad_request("the connector is not valid",
                       {{"settings", "required: an object of setting names to values, e.g. "
                                     "{\"instanceTypeName\": \"kafka-sink\", \"topic\": \"orders\"}"}});
  }
  auto settings = settings_from_json(flat, field);
  if (!settings.ok()) return error_response(settings.error());
  auto created = connectors_.create(id, name, *settings);
  return created.ok() ? ok_empty() : error_response(created.error());
}

HttpResponse Api::list_connectors(const Target& target) {
  bool include_settings = false;
  if (auto it = target.query.find("includeSettings"); it != target.query.end()) {
    include_settings = it->second == "true" || it->second == "1";
  }
  auto items = json::array();
  for (const auto& view : connectors_.list()) items.push_back(view_to_json(view, include_settings));
  json body = {{"items", items}, {"totalSize", items.size()}};
  return json_response(200, dump(body));
}

HttpResponse Api::get_connector(const std::string& id) {
  auto view = connectors_.get(id);
  if (!view.ok()) return error_response(view.error());
  return json_response(200, dump(view_to_json(*view, false)));
}

}  // namespace sinkhost::management_api
