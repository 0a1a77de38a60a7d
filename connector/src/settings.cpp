#include "sinkhost/connector/settings.hpp"

#include <algorithm>
#include <charconv>

namespace sinkhost::connector {

namespace {

// Unknown keys of one settings body that get a "did you mean" suggestion.
constexpr std::size_t kMaxSuggestions = 10;

// ASCII only: setting names are ASCII, and the C locale's tolower is a call per character.
char lower(char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c; }

bool istarts_with(std::string_view text, std::string_view prefix) {
  return text.size() >= prefix.size() && iequals(text.substr(0, prefix.size()), prefix);
}

std::optional<std::int64_t> parse_int(std::string_view text) {
  std::int64_t value = 0;
  const auto* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (ec != std::errc() || ptr != end || text.empty()) return std::nullopt;
  return value;
}

std::optional<bool> parse_bool(std::string_view text) {
  if (iequals(text, "true")) return true;
  if (iequals(text, "false")) return false;
  return std::nullopt;
}

std::string join(const std::vector<std::string>& values) {
  std::string out;
  for (const auto& v : values) {
    if (!out.empty()) out += ", ";
    out += v;
  }
  return out;
}

// The key in its canonical spelling: the row's name, or for a prefix row the row's prefix
// followed by the user's suffix (header names keep the case the user chose).
std::string canonical_key(const SettingSpec& spec, std::string_view key) {
  if (!spec.prefix) return spec.name;
  return spec.name + std::string(key.substr(spec.name.size()));
}

// Edit distance of the lower-cased texts (insertions, deletions, substitutions), or `bound` when
// it is `bound` or more: a row whose smallest entry reaches the bound cannot lead below it.
std::size_t distance(std::string_view a, std::string_view b, std::size_t bound) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diagonal = row[0];
    row[0] = i;
    std::size_t row_min = row[0];
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t above = row[j];
      const std::size_t substitution = diagonal + (lower(a[i - 1]) == lower(b[j - 1]) ? 0 : 1);
      row[j] = std::min(std::min(row[j], row[j - 1]) + 1, substitution);
      row_min = std::min(row_min, row[j]);
      diagonal = above;
    }
    if (row_min >= bound) return bound;
  }
  return std::min(row[b.size()], bound);
}

// What of a key a prefix row ("producer:") is compared with: the key up to its first ':', or
// when it has none, its part of the row's length.
std::string_view prefix_part(std::string_view key, std::size_t row_length) {
  const auto colon = key.find(':');
  if (colon != std::string_view::npos) return key.substr(0, colon + 1);
  return key.substr(0, std::min(key.size(), row_length));
}

// The known setting closest to an unknown key, when one is close enough to be a likely typo.
std::optional<std::string> closest_key(std::string_view key, std::span<const std::span<const SettingSpec>> tables) {
  std::optional<std::string> best;
  std::size_t best_distance = std::max<std::size_t>(2, key.size() / 4) + 1;
  for (auto table : tables) {
    for (const auto& spec : table) {
      const auto candidate = spec.prefix ? prefix_part(key, spec.name.size()) : key;
      // The edit distance is at least the difference in length: skip what cannot be closer.
      const auto gap = candidate.size() > spec.name.size() ? candidate.size() - spec.name.size()
                                                           : spec.name.size() - candidate.size();
      if (gap >= best_distance) continue;
      const auto d = distance(candidate, spec.name, best_distance);
      if (d < best_distance) {
        best_distance = d;
        best = spec.prefix ? spec.name + std::string(key.substr(candidate.size())) : spec.name;
      }
    }
  }
  return best;
}

}  // namespace

std::vector<FieldViolation> setting_warnings(const Settings& settings,
                                             std::span<const std::span<const SettingSpec>> tables) {
  std::vector<FieldViolation> warnings;
  for (const auto& [key, value] : settings) {
    for (auto table : tables) {
      if (const auto* spec = find_spec(table, key)) {
        if (!spec->no_effect.empty()) {
          warnings.push_back({spec->prefix ? key : spec->name,
                              "accepted for compatibility with KurrentDB, but has no effect here: " + spec->no_effect});
        }
        break;
      }
    }
  }
  return warnings;
}

Result<std::string> check_setting_value(const SettingSpec& spec, const std::string& value) {
  switch (spec.type) {
    case SettingType::string: return value;
    case SettingType::integer: {
      auto parsed = parse_int(value);
      if (!parsed) return make_error(ErrorCode::invalid_argument, "must be an integer, got '" + value + "'");
      if (*parsed < spec.min || *parsed > spec.max) {
        return make_error(ErrorCode::invalid_argument, "must be between " + std::to_string(spec.min) + " and " +
                                                           std::to_string(spec.max) + ", got " + value);
      }
      return std::to_string(*parsed);
    }
    case SettingType::boolean: {
      auto parsed = parse_bool(value);
      if (!parsed) return make_error(ErrorCode::invalid_argument, "must be true or false, got '" + value + "'");
      return std::string(*parsed ? "true" : "false");
    }
    case SettingType::enumeration: {
      for (const auto& allowed : spec.allowed_values) {
        if (iequals(allowed, value)) return allowed;
      }
      return make_error(ErrorCode::invalid_argument,
                        "must be one of " + join(spec.allowed_values) + ", got '" + value + "'");
    }
  }
  return value;
}

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() &&
         std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) { return lower(x) == lower(y); });
}

const SettingSpec* find_spec(std::span<const SettingSpec> table, std::string_view key) {
  for (const auto& spec : table) {
    if (spec.prefix ? (key.size() > spec.name.size() && istarts_with(key, spec.name)) : iequals(key, spec.name)) {
      return &spec;
    }
  }
  return nullptr;
}

Result<Settings> validate_settings(const Settings& input, std::span<const std::span<const SettingSpec>> tables,
                                   Settings* accepted) {
  Settings canonical;
  std::vector<FieldViolation> violations;
  std::size_t unknown_keys = 0;

  for (const auto& [key, value] : input) {
    const SettingSpec* spec = nullptr;
    for (auto table : tables) {
      if ((spec = find_spec(table, key)) != nullptr) break;
    }
    if (spec == nullptr) {
      // A suggestion costs a comparison with every known name: a body of thousands of unknown
      // keys gets them for its first few only.
      auto closest = ++unknown_keys <= kMaxSuggestions ? closest_key(key, tables) : std::nullopt;
      violations.push_back({key, "unknown setting" + (closest ? "; did you mean '" + *closest + "'?" : std::string()) +
                                     " See GET /connector-plugins for the settings this connector type accepts"});
      continue;
    }
    auto checked = check_setting_value(*spec, value);
    if (!checked.ok()) {
      violations.push_back({key, checked.error().message});
      continue;
    }
    auto name = canonical_key(*spec, key);
    if (canonical.contains(name)) {
      violations.push_back({key, "given more than once (keys are case-insensitive)"});
      continue;
    }
    canonical.emplace(std::move(name), std::move(checked).value());
  }

  for (auto table : tables) {
    for (const auto& spec : table) {
      if (spec.required && !spec.prefix && !canonical.contains(spec.name)) {
        violations.push_back({spec.name, "required"});
      }
    }
  }

  if (accepted != nullptr) *accepted = canonical;
  if (!violations.empty()) {
    return make_error(ErrorCode::invalid_argument, "the connector settings are not valid", std::move(violations));
  }
  return canonical;
}

Settings with_defaults(const Settings& settings, std::span<const std::span<const SettingSpec>> tables) {
  Settings out = settings;
  for (auto table : tables) {
    for (const auto& spec : table) {
      if (!spec.prefix && !spec.default_value.empty()) out.try_emplace(spec.name, spec.default_value);
    }
  }
  return out;
}

std::vector<std::string> split_list(std::string_view text) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (start <= text.size()) {
    auto end = text.find(',', start);
    if (end == std::string_view::npos) end = text.size();
    auto item = text.substr(start, end - start);
    auto first = item.find_first_not_of(' ');
    auto last = item.find_last_not_of(' ');
    if (first != std::string_view::npos) out.emplace_back(item.substr(first, last - first + 1));
    start = end + 1;
  }
  return out;
}

std::optional<std::string> get(const Settings& settings, std::string_view key) {
  auto it = settings.find(std::string(key));
  if (it == settings.end()) return std::nullopt;
  return it->second;
}

std::string get_or(const Settings& settings, std::string_view key, std::string_view fallback) {
  auto value = get(settings, key);
  return value ? *value : std::string(fallback);
}

std::int64_t get_int(const Settings& settings, std::string_view key, std::int64_t fallback) {
  auto value = get(settings, key);
  if (!value) return fallback;
  return parse_int(*value).value_or(fallback);
}

bool get_bool(const Settings& settings, std::string_view key, bool fallback) {
  auto value = get(settings, key);
  if (!value) return fallback;
  return parse_bool(*value).value_or(fallback);
}

}  // namespace sinkhost::connector
