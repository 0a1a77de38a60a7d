// /connector-plugins: the sink types this host can run, their settings, and a dry-run check.
#include <charconv>
#include <chrono>
#include <optional>
#include <set>
#include <string>

#include <nlohmann/json.hpp>

#include "routes_common.hpp"
#include "sinkhost/management_api/api.hpp"
#include "sinkhost/runtime/common_settings.hpp"
#include "sinkhost/runtime/connector_service.hpp"

namespace sinkhost::management_api {

using connector::ErrorCode;
using connector::make_error;
using connector::SettingSpec;
using connector::SettingType;
using nlohmann::json;
using namespace detail;

namespace {

const char* type_name(SettingType type) {
  switch (type) {
    case SettingType::string: return "string";
    case SettingType::integer: return "integer";
    case SettingType::boolean: return "boolean";
    case SettingType::enumeration: return "enum";
  }
  return "string";
}

json spec_to_json(const SettingSpec& spec) {
  json out = {{"name", spec.prefix ? spec.name + "<name>" : spec.name},
              {"type", type_name(spec.type)},
              {"required", spec.required},
              {"secret", spec.secret},
              {"description", spec.doc}};
  if (!spec.default_value.empty()) out["default"] = spec.default_value;
  if (!spec.allowed_values.empty()) out["allowedValues"] = spec.allowed_values;
  if (spec.type == SettingType::integer) {
    if (spec.min != std::numeric_limits<std::int64_t>::min()) out["min"] = spec.min;
    if (spec.max != std::numeric_limits<std::int64_t>::max()) out["max"] = spec.max;
  }
  return out;
}

struct ValidateOptions {
  bool check_connection = false;
  std::chrono::milliseconds timeout{10000};
};

// ?checkConnection=true tries the settings against the destination; timeoutSeconds (1-60,
// default 10) bounds how long that may take.
connector::Result<ValidateOptions> parse_validate_options(const Target& target) {
  ValidateOptions options;
  std::vector<connector::FieldViolation> violations;
  for (const auto& [key, value] : target.query) {
    if (key == "checkConnection") {
      auto flag = parse_bool(value);
      if (flag)
        options.check_connection = *flag;
      else
        violations.push_back({key, "must be true or false"});
    } else if (key == "timeoutSeconds") {
      int seconds = 0;
      auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), seconds);
      if (ec != std::errc() || end != value.data() + value.size() || seconds < 1 || seconds > 60) {
        violations.push_back({key, "must be a whole number of seconds from 1 to 60"});
      } else {
        options.timeout = std::chrono::seconds(seconds);
      }
    } else {
      violations.push_back({key, "unknown query parameter; use checkConnection or timeoutSeconds"});
    }
  }
  if (!violations.empty())
    return make_error(ErrorCode::invalid_argument, "the query is not valid", std::move(violations));
  return options;
}

json connection_to_json(const connector::ConnectionCheck& check) {
  auto steps = json::array();
  std::optional<std::string> failed;
  for (const auto& step : check.steps) {
    steps.push_back({{"step", step.name}, {"ok", step.ok}, {"detail", step.detail}});
    if (!step.ok && !failed) failed = step.name;
  }
  json out{{"ok", check.ok()}, {"steps", steps}, {"destinations", check.destinations}};
  if (failed) out["failedStep"] = *failed;
  return out;
}

}  // namespace

HttpResponse Api::connector_plugins(const HttpRequest& request, const Target& target) {
  const auto& s = target.segments;
  const auto& plugins = connectors_.plugins();
  if (s.size() == 1) {
    if (request.method != "GET") return method_not_allowed(request, "GET");
    auto items = json::array();
    for (const auto* d : plugins.all()) {
      auto settings = json::array();
      // The common rows, then the plugin's; a common row the plugin declares itself (http-sink's
      // resilience:*) is listed once, as the plugin's.
      std::set<std::string> own;
      for (const auto& spec : d->settings) own.insert(spec.name);
      for (const auto& spec : runtime::common_settings()) {
        if (!own.contains(spec.name)) settings.push_back(spec_to_json(spec));
      }
      for (const auto& spec : d->settings) settings.push_back(spec_to_json(spec));
      items.push_back({{"instanceTypeName", d->type_name},
                       {"aliases", d->aliases},
                       {"description", d->description},
                       {"settings", settings}});
    }
    return json_response(200, dump(json{{"items", items}, {"totalSize", items.size()}}));
  }
  if (s.size() == 4 && s[2] == "config" && s[3] == "validate") {
    if (request.method != "PUT") return method_not_allowed(request, "PUT");
    const auto* descriptor = plugins.find(s[1]);
    if (descriptor == nullptr) {
      return error_response(make_error(ErrorCode::not_found, "no connector plugin '" + s[1] + "'"));
    }
    auto body = parse_json_request(request);
    if (!body.ok()) return error_response(body.error());
    if (!body->is_object()) return bad_request("the body must be a settings object: {\"topic\": \"...\", ...}");
    const auto& map = body->size() == 1 && body->contains("settings") && (*body)["settings"].is_object()
                          ? (*body)["settings"]
                          : *body;
    connector::Settings settings;
    std::vector<connector::FieldViolation> violations;
    bool has_type = false;
    for (const auto& [key, value] : map.items()) {
      if (value.is_string())
        settings[key] = value.get<std::string>();
      else if (value.is_number() || value.is_boolean())
        settings[key] = value.dump();
      else
        violations.push_back({key, "must be a string"});
      if (connector::iequals(key, "instanceTypeName")) {
        has_type = true;
        const auto* named = value.is_string() ? plugins.find(value.get<std::string>()) : nullptr;
        if (named != descriptor)
          violations.push_back({key, "names another type than the path (" + descriptor->type_name + ")"});
      }
    }
    if (!violations.empty()) return bad_request("the connector settings are not valid", std::move(violations));
    if (!has_type) settings["instanceTypeName"] = descriptor->type_name;
    auto options = parse_validate_options(target);
    if (!options.ok()) return error_response(options.error());
    auto canonical = connectors_.validate(settings);
    if (!canonical.ok()) return error_response(canonical.error());
    json out{{"valid", true}, {"settings", *canonical}};
    if (options->check_connection) {
      auto connection = connectors_.check_connection(settings, options->timeout);
      if (!connection.ok()) return error_response(connection.error());
      out["connection"] = connection_to_json(*connection);
    }
    return json_response(200, dump(out));
  }
  return error_response(make_error(ErrorCode::not_found, "no route for " + request.method + " " + request.target));
}

}  // namespace sinkhost::management_api
