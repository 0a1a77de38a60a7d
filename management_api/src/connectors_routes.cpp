// The /connectors routes (KurrentDB's connector management API).
#include <nlohmann/json.hpp>

#include "routes_common.hpp"
#include "sinkhost/management_api/api.hpp"
#include "sinkhost/runtime/connector_service.hpp"
#include "sinkhost/runtime/record_builder.hpp"

namespace sinkhost::management_api {

using connector::ErrorCode;
using connector::make_error;
using nlohmann::json;
using namespace detail;

namespace {

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
