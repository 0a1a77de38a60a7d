#pragma once

#include <cstdint>
#include <limits>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "sinkhost/connector/result.hpp"

namespace sinkhost::connector {

// Connector settings: a flat map of colon-separated keys to string values, as in KurrentDB.
// Keys are stored in the canonical spelling of the settings table that accepted them.
using Settings = std::map<std::string, std::string>;

enum class SettingType { string, integer, boolean, enumeration };

// One row of a settings table. The same table drives validation, defaults, secret masking,
// `GET /connector-plugins` and the generated settings reference in docs/.
struct SettingSpec {
  std::string name;  // canonical spelling, e.g. "bootstrapServers"
  SettingType type = SettingType::string;
  std::string default_value;  // empty: no default
  bool required = false;
  bool secret = false;
  std::vector<std::string> allowed_values;  // enumeration only; matched case-insensitively
  std::string doc;
  // A prefix setting ("defaultHeaders:") accepts any key that starts with its name.
  bool prefix = false;
  std::int64_t min = std::numeric_limits<std::int64_t>::min();
  std::int64_t max = std::numeric_limits<std::int64_t>::max();
  // Non-empty: a setting KurrentDB documents that has no effect here, and why. It is accepted
  // (a KurrentDB script must not fail on it) and reported by setting_warnings().
  std::string no_effect;
};

bool iequals(std::string_view a, std::string_view b);

// Finds the row a key belongs to (case-insensitive; prefix rows match by prefix).
const SettingSpec* find_spec(std::span<const SettingSpec> table, std::string_view key);

// Checks one value against its row; returns the value in its canonical spelling ("TRUE" ->
// "true", an enumeration value as the table spells it) or an error describing the fault.
Result<std::string> check_setting_value(const SettingSpec& spec, const std::string& value);

// Checks `input` against the tables: every key must belong to a row, every value must parse,
// every required setting must be present. Returns the settings with keys (and enumeration
// values) in their canonical spelling, or an invalid_argument Error with one field violation
// per problem. Defaults are not filled in: see with_defaults().
// `accepted`, when given, receives the canonical entries that passed even when others failed,
// so that rules across settings can still be checked and reported in the same answer.
Result<Settings> validate_settings(const Settings& input, std::span<const std::span<const SettingSpec>> tables,
                                   Settings* accepted = nullptr);

// One warning per given setting that is accepted without effect (SettingSpec::no_effect).
std::vector<FieldViolation> setting_warnings(const Settings& settings,
                                             std::span<const std::span<const SettingSpec>> tables);

// The settings a connector runs with: `settings` plus every default it does not override.
Settings with_defaults(const Settings& settings, std::span<const std::span<const SettingSpec>> tables);

// A comma-separated setting value as its items, each trimmed of spaces, empty ones dropped
// ("order-, invoice-" -> {"order-", "invoice-"}).
std::vector<std::string> split_list(std::string_view text);

// Typed reads of validated settings (the table guarantees they parse).
std::optional<std::string> get(const Settings& settings, std::string_view key);
std::string get_or(const Settings& settings, std::string_view key, std::string_view fallback);
std::int64_t get_int(const Settings& settings, std::string_view key, std::int64_t fallback);
bool get_bool(const Settings& settings, std::string_view key, bool fallback);

}  // namespace sinkhost::connector
