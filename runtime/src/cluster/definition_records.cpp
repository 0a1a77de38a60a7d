#include "sinkhost/runtime/cluster/definition_records.hpp"

#include <nlohmann/json.hpp>

namespace sinkhost::runtime::cluster {

using connector::ErrorCode;
using connector::make_error;
using nlohmann::json;

namespace {

// The value of `key` in `object` when it has the type `is` checks; nullptr otherwise.
template <typename Is>
const json* field(const json& object, const char* key, Is is) {
  auto found = object.find(key);
  return found != object.end() && is(*found) ? &*found : nullptr;
}

bool is_string(const json& value) { return value.is_string(); }
bool is_integer(const json& value) { return value.is_number_integer(); }
bool is_boolean(const json& value) { return value.is_boolean(); }
bool is_string_map(const json& value) {
  if (!value.is_object()) return false;
  for (const auto& item : value) {
    if (!item.is_string()) return false;
  }
  return true;
}

}  // namespace

std::string encode_definition(const DefinitionRecord& record) {
  const auto& d = record.definition;
  json value{{"id", d.id},
             {"name", d.name},
             {"instanceTypeName", d.instance_type_name},
             {"settings", d.settings},
             {"sealedSettings", d.sealed_settings},
             {"runRequested", d.run_requested},
             {"createTime", d.create_time_ms},
             {"updateTime", d.update_time_ms},
             {"settingsUpdateTime", d.settings_update_time_ms},
             {"revision", record.revision}};
  if (d.delete_time_ms) value["deleteTime"] = *d.delete_time_ms;
  return value.dump();
}

Result<DefinitionRecord> decode_definition(std::string_view id, std::string_view value) {
  const auto refused = [&](const std::string& why) {
    return make_error(ErrorCode::invalid_argument,
                      "the connectors table's record of '" + std::string(id) + "' is not a definition: " + why);
  };
  const auto object = json::parse(value, nullptr, /*allow_exceptions=*/false);
  if (!object.is_object()) return refused("not a JSON object");
  const auto* record_id = field(object, "id", is_string);
  const auto* name = field(object, "name", is_string);
  const auto* type = field(object, "instanceTypeName", is_string);
  const auto* settings = field(object, "settings", is_string_map);
  const auto* sealed = field(object, "sealedSettings", is_string_map);
  const auto* run = field(object, "runRequested", is_boolean);
  const auto* created = field(object, "createTime", is_integer);
  const auto* updated = field(object, "updateTime", is_integer);
  const auto* settings_updated = field(object, "settingsUpdateTime", is_integer);
  const auto* revision = field(object, "revision", is_integer);
  if (!record_id || !name || !type || !settings || !sealed || !run || !created || !updated || !settings_updated ||
      !revision) {
    return refused("a field is missing or of the wrong type");
  }
  if (record_id->get<std::string>() != id) return refused("it names connector '" + record_id->get<std::string>() + "'");
  DefinitionRecord record;
  auto& d = record.definition;
  d.id = std::string(id);
  d.name = name->get<std::string>();
  d.instance_type_name = type->get<std::string>();
  d.settings = settings->get<Settings>();
  d.sealed_settings = sealed->get<SealedSettings>();
  d.run_requested = run->get<bool>();
  d.create_time_ms = created->get<std::int64_t>();
  d.update_time_ms = updated->get<std::int64_t>();
  d.settings_update_time_ms = settings_updated->get<std::int64_t>();
  if (object.contains("deleteTime")) {
    const auto* deleted = field(object, "deleteTime", is_integer);
    if (!deleted) return refused("deleteTime is not an integer");
    d.delete_time_ms = deleted->get<std::int64_t>();
  }
  record.revision = revision->get<std::int64_t>();
  return record;
}

std::string encode_status(const StatusRecord& record) {
  json value{
      {"host", record.host}, {"state", to_string(record.state)}, {"stateUpdateTime", record.state_update_time_ms}};
  if (record.error) value["errorDetails"] = {{"code", record.error->code}, {"message", record.error->message}};
  return value.dump();
}

Result<StatusRecord> decode_status(std::string_view value) {
  const auto refused = [&] {
    return make_error(ErrorCode::invalid_argument, "'" + std::string(value) + "' is not a connector status record");
  };
  const auto object = json::parse(value, nullptr, /*allow_exceptions=*/false);
  if (!object.is_object()) return refused();
  const auto* host = field(object, "host", is_string);
  const auto* state = field(object, "state", is_string);
  const auto* updated = field(object, "stateUpdateTime", is_integer);
  if (!host || !state || !updated) return refused();
  auto parsed = parse_connector_state(state->get<std::string>());
  if (!parsed) return refused();
  StatusRecord record{host->get<std::string>(), *parsed, updated->get<std::int64_t>(), std::nullopt};
  if (object.contains("errorDetails")) {
    const auto& error = object["errorDetails"];
    const auto* code = error.is_object() ? field(error, "code", is_string) : nullptr;
    const auto* message = error.is_object() ? field(error, "message", is_string) : nullptr;
    if (!code || !message) return refused();
    record.error = ErrorDetails{code->get<std::string>(), message->get<std::string>()};
  }
  return record;
}

}  // namespace sinkhost::runtime::cluster
