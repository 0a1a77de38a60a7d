// The /connectors routes: KurrentDB's connector management API.
#include <algorithm>
#include <charconv>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "routes_common.hpp"
#include "sinkhost/management_api/api.hpp"
#include "sinkhost/runtime/connector_service.hpp"
#include "sinkhost/connector/encoding.hpp"

namespace sinkhost::management_api {

using connector::ErrorCode;
using connector::FieldViolation;
using connector::make_error;
using nlohmann::json;
using runtime::ConnectorState;
using namespace detail;

namespace {

constexpr std::size_t kMaxPageSize = 100;

// KurrentDB's settings map holds strings; numbers and booleans are accepted and kept as text,
// since scripts often write {"autocommit:interval": 1000}.
connector::Result<connector::Settings> settings_from_json(const json& object, const std::string& field) {
  connector::Settings settings;
  std::vector<FieldViolation> violations;
  for (const auto& [key, value] : object.items()) {
    auto name = field.empty() ? key : field + "." + key;
    if (value.is_string())
      settings[key] = value.get<std::string>();
    else if (value.is_number() || value.is_boolean())
      settings[key] = value.dump();
    else
      violations.push_back({name, "must be a string"});
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
    if (value.is_object())
      flatten(value, name, out);
    else
      out[name] = value;
  }
}

// {"a:b": "x"} -> {"a": {"b": "x"}}
json unflatten(const connector::Settings& settings) {
  json out = json::object();
  for (const auto& [key, value] : settings) {
    json* node = &out;
    std::size_t start = 0;
    for (auto colon = key.find(':'); colon != std::string::npos; colon = key.find(':', start)) {
      auto& child = (*node)[key.substr(start, colon - start)];
      if (!child.is_object()) child = json::object();
      node = &child;
      start = colon + 1;
    }
    (*node)[key.substr(start)] = value;
  }
  return out;
}

// What a list item or GET /connectors/{id} shows of the settings: the flat form
// (includeSettings), the nested one (includeConfiguration), both, or neither.
struct SettingsForms {
  bool flat = false;
  bool nested = false;
};

// The "source" field: only a host that reads an external store (--source) shows one, with the
// connection's health, its last error and how far the checkpoint is behind the store's head.
struct SourceContext {
  bool external = false;
  std::optional<std::uint64_t> head;  // commit position; unknown until the store was reached
};

SourceContext source_context(const runtime::EventSource& source) {
  if (!source.external()) return {};
  auto head = source.head();
  return {true, head.ok() ? std::optional(head->commit) : std::nullopt};
}

json source_json(const runtime::ConnectorView& view, const SourceContext& context) {
  const auto health = view.metrics ? view.metrics->source_health() : runtime::SourceHealth{};
  json out = {{"health", runtime::to_string(health.state)}};
  if (health.last_error) {
    out["lastError"] = {{"code", connector::code_name(health.last_error->code)},
                        {"message", runtime::SecretRedactor::global().redact(health.last_error->message)}};
  }
  if (context.head) {
    out["headPosition"] = *context.head;
    out["lag"] = view.lag(*context.head);
  }
  return out;
}

json view_to_json(const runtime::ConnectorView& view, SettingsForms forms, const SourceContext& source) {
  const auto& d = view.definition;
  json item = {
      {"connectorId", d.id},
      {"instanceTypeName", d.instance_type_name},
      {"name", d.name},
      {"state", runtime::to_string(view.state)},
      {"stateUpdateTime", connector::format_rfc3339(view.state_update_time_ms)},
      {"settingsUpdateTime", connector::format_rfc3339(d.settings_update_time_ms)},
      {"createTime", connector::format_rfc3339(d.create_time_ms)},
      {"updateTime", connector::format_rfc3339(d.update_time_ms)},
  };
  if (d.checkpoint) item["position"] = d.checkpoint->commit;
  // In a cluster: the host that runs it (docs/cluster.md).
  if (!view.owner.empty()) item["host"] = view.owner;
  if (d.error) item["errorDetails"] = {{"code", d.error->code}, {"message", d.error->message}};
  if (view.metrics && view.metrics->records_dead_lettered.load(std::memory_order_relaxed) > 0) {
    item["deadLetteredRecords"] = view.metrics->records_dead_lettered.load(std::memory_order_relaxed);
  }
  if (view.metrics && view.metrics->records_retried.load(std::memory_order_relaxed) > 0) {
    item["retriedRecords"] = view.metrics->records_retried.load(std::memory_order_relaxed);
  }
  if (view.restart) {
    item["autoRestart"] = {{"attempt", view.restart->attempt},
                           {"maxAttempts", view.restart->max_attempts},
                           {"restartTime", connector::format_rfc3339(view.restart->at_ms)}};
  }
  if (auto warning = view.warning()) item["warningDetails"] = {{"code", warning->code}, {"message", warning->message}};
  if (d.delete_time_ms) item["deleteTime"] = connector::format_rfc3339(*d.delete_time_ms);
  if (source.external) item["source"] = source_json(view, source);
  if (forms.flat) item["settings"] = d.settings;
  if (forms.nested) item["configuration"] = unflatten(d.settings);
  return item;
}

std::optional<std::uint64_t> parse_position(const std::string& text) {
  std::uint64_t value = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || ptr != text.data() + text.size() || text.empty()) return std::nullopt;
  return value;
}

HttpResponse command_result(const connector::Result<void>& result) {
  return result.ok() ? ok_empty() : error_response(result.error());
}

// A create or reconfigure that succeeded: {} as in KurrentDB, or the KurrentDB settings it
// accepted without effect here, so that nothing is ignored silently (also logged).
HttpResponse accepted_settings(const std::string& id, const std::vector<FieldViolation>& warnings) {
  if (warnings.empty()) return ok_empty();
  json list = json::array();
  for (const auto& w : warnings) {
    spdlog::warn("[{}] setting '{}' {}", id, w.field, w.description);
    list.push_back({{"field", w.field}, {"description", w.description}});
  }
  return json_response(200, dump(json{{"warnings", list}}));
}

std::optional<ConnectorState> parse_state(std::string text) {
  for (auto& c : text) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  if (!text.starts_with("CONNECTOR_STATE_")) text = "CONNECTOR_STATE_" + text;
  for (auto s :
       {ConnectorState::activating, ConnectorState::running, ConnectorState::deactivating, ConnectorState::stopped}) {
    if (text == runtime::to_string(s)) return s;
  }
  return std::nullopt;
}

// The settings a PUT sends: the map itself (KurrentDB), or wrapped as {"settings": {...}}.
const json& unwrap(const json& body, const char* wrapper) {
  if (body.size() == 1 && body.contains(wrapper) && body[wrapper].is_object()) return body[wrapper];
  return body;
}

}  // namespace

HttpResponse Api::connectors(const HttpRequest& request, const Target& target) {
  const auto& s = target.segments;
  const auto& m = request.method;
  if (s.size() == 1) {
    if (m != "GET") return method_not_allowed(request, "GET");
    return list_connectors(request, target);
  }
  const auto& id = s[1];
  if (s.size() == 2) {
    if (m == "POST") return create_connector(request, id);
    if (m == "GET") return get_connector(id);
    if (m == "DELETE") return command_result(connectors_.remove(id));
    // KurrentDB's Kafka sink page reconfigures with PUT /connectors/{id}: the same as .../settings.
    if (m == "PUT") return reconfigure_connector(request, id, false);
    return method_not_allowed(request, "GET, POST, PUT, DELETE");
  }
  const auto& action = s[2];
  if (s.size() == 3 && (action == "settings" || action == "configuration")) {
    if (m == "PUT") return reconfigure_connector(request, id, action == "configuration");
    if (m == "GET") return get_connector_settings(id, action == "configuration");
    return method_not_allowed(request, "GET, PUT");
  }
  if (s.size() == 3 && action == "rename") {
    if (m != "PUT") return method_not_allowed(request, "PUT");
    auto body = parse_json_request(request);
    if (!body.ok()) return error_response(body.error());
    if (!body->is_object() || !body->contains("name") || !(*body)["name"].is_string()) {
      return bad_request("the body must be {\"name\": \"...\"}",
                         {{"name", "required: a string of 3 to 50 characters"}});
    }
    return command_result(connectors_.rename(id, (*body)["name"].get<std::string>()));
  }
  if ((s.size() == 3 || s.size() == 4) && (action == "start" || action == "stop" || action == "reset")) {
    if (m != "POST") return method_not_allowed(request, "POST");
    if (action == "stop") {
      if (s.size() == 4) return error_response(make_error(ErrorCode::not_found, "no route for " + request.target));
      return command_result(connectors_.stop(id));
    }
    std::optional<runtime::LogPosition> position;
    if (s.size() == 4) {
      auto value = parse_position(s[3]);
      if (!value) return bad_request("the log position is not valid", {{"logPosition", "must be an integer >= 0"}});
      position = runtime::LogPosition(*value);
    }
    return command_result(action == "start" ? connectors_.start(id, position) : connectors_.reset(id, position));
  }
  return error_response(make_error(ErrorCode::not_found, "no route for " + request.method + " " + request.target));
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
                       {{"settings",
                         "required: an object of setting names to values, e.g. "
                         "{\"instanceTypeName\": \"kafka-sink\", \"topic\": \"orders\"}"}});
  }
  auto settings = settings_from_json(flat, field);
  if (!settings.ok()) return error_response(settings.error());
  if (auto created = connectors_.create(id, name, *settings); !created.ok()) return error_response(created.error());
  return accepted_settings(id, connectors_.setting_warnings(*settings));
}

HttpResponse Api::reconfigure_connector(const HttpRequest& request, const std::string& id, bool nested) {
  auto body = parse_json_request(request);
  if (!body.ok()) return error_response(body.error());
  if (!body->is_object()) {
    return bad_request(nested ? "the body must be the nested configuration object"
                              : "the body must be the settings object: {\"instanceTypeName\": \"...\", ...}");
  }
  json flat = json::object();
  if (nested)
    flatten(unwrap(*body, "configuration"), "", flat);
  else
    flat = unwrap(*body, "settings");
  auto settings = settings_from_json(flat, "");
  if (!settings.ok()) return error_response(settings.error());
  if (auto changed = connectors_.reconfigure(id, *settings); !changed.ok()) return error_response(changed.error());
  return accepted_settings(id, connectors_.setting_warnings(*settings));
}

HttpResponse Api::list_connectors(const HttpRequest& request, const Target& target) {
  runtime::ListQuery query;
  SettingsForms forms;
  std::vector<FieldViolation> violations;
  // The filters come as query parameters, or (as in KurrentDB's examples, which send them with
  // GET) as a JSON body: {"state": [...], "instanceType": [...], "connectorId": [...], ...}.
  auto parameters = target.query;
  if (!request.body.empty()) {
    auto body = parse_json_body(request.body);
    if (!body.ok()) return error_response(body.error());
    if (!body->is_object()) return bad_request("the list body must be a JSON object of filters");
    for (const auto& [key, value] : body->items()) {
      auto name = key == "instanceType" ? std::string("instanceTypeName") : key;
      if (name == "paging" && value.is_object()) {
        for (const auto& [pkey, pvalue] : value.items()) {
          parameters.emplace(pkey, pvalue.is_string() ? pvalue.get<std::string>() : pvalue.dump());
        }
        continue;
      }
      const auto values = value.is_array() ? value : json::array({value});
      for (const auto& v : values) parameters.emplace(name, v.is_string() ? v.get<std::string>() : v.dump());
    }
  }
  for (const auto& [given, value] : parameters) {
    // KurrentDB's HTTP transcoding binds the paging fields as paging.page and paging.pageSize.
    const std::string key = given == "paging.page" ? "page" : given == "paging.pageSize" ? "pageSize" : given;
    if (key == "state") {
      if (auto state = parse_state(value))
        query.states.push_back(*state);
      else
        violations.push_back(
            {"state",
             "'" + value + "' is not a state; use CONNECTOR_STATE_ACTIVATING, _RUNNING, _DEACTIVATING or _STOPPED"});
    } else if (key == "instanceTypeName") {
      const auto* descriptor = connectors_.plugins().find(value);
      query.instance_type_names.push_back(descriptor ? descriptor->type_name : value);
    } else if (key == "connectorId") {
      query.connector_ids.push_back(value);
    } else if (key == "includeSettings" || key == "includeConfiguration" || key == "showDeleted") {
      auto flag = parse_bool(value);
      if (!flag)
        violations.push_back({given, "must be true or false"});
      else if (key == "includeSettings")
        forms.flat = *flag;
      else if (key == "includeConfiguration")
        forms.nested = *flag;
      else
        query.show_deleted = *flag;
    } else if (key == "page" || key == "pageSize") {
      auto number = parse_position(value);
      const std::uint64_t max = key == "page" ? 1000000000 : kMaxPageSize;
      if (!number || *number < 1 || *number > max) {
        violations.push_back({given, "must be an integer from 1 to " + std::to_string(max)});
      } else if (key == "page") {
        query.page = *number;
      } else {
        query.page_size = *number;
      }
    } else {
      violations.push_back({given,
                            "unknown query parameter; use state, instanceTypeName, connectorId, includeSettings, "
                            "includeConfiguration, showDeleted, page or pageSize (or paging.page, "
                            "paging.pageSize)"});
    }
  }
  if (!violations.empty()) return bad_request("the list query is not valid", std::move(violations));
  auto result = connectors_.list(query);
  auto items = json::array();
  const auto source = source_context(connectors_.source());
  for (const auto& view : result.items) items.push_back(view_to_json(view, forms, source));
  return json_response(200, dump(json{{"items", items}, {"totalSize", result.total_size}}));
}

HttpResponse Api::get_connector(const std::string& id) {
  auto view = connectors_.get(id);
  if (!view.ok()) return error_response(view.error());
  return json_response(200, dump(view_to_json(*view, {}, source_context(connectors_.source()))));
}

HttpResponse Api::get_connector_settings(const std::string& id, bool nested) {
  auto view = connectors_.get(id);
  if (!view.ok()) return error_response(view.error());
  const auto& d = view->definition;
  json body = {{"settingsUpdateTime", connector::format_rfc3339(d.settings_update_time_ms)}};
  if (nested)
    body["configuration"] = unflatten(d.settings);
  else
    body["settings"] = d.settings;
  return json_response(200, dump(body));
}

}  // namespace sinkhost::management_api
