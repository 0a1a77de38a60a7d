#pragma once

#include <chrono>
#include <charconv>
#include <concepts>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "sinkhost/connector/result.hpp"
#include "sinkhost/connector/settings.hpp"

namespace sinkhost::connector {

// Typed settings: a plugin writes its settings table once, each row binding a member of its
// settings struct to the row's name, default, doc, secrecy and limits:
//
//   struct MySettings { std::string url; std::chrono::milliseconds timeout{}; };
//   const SettingsSchema<MySettings>& schema() {
//     static const SettingsSchema<MySettings> s({
//         field(&MySettings::url, {.name = "url", .required = true, .doc = "..."}),
//         field(&MySettings::timeout, {.name = "timeout", .default_value = "1000", .doc = "..."}),
//     });
//     return s;
//   }
//
// `schema().specs()` is the plain table (SinkDescriptor::settings): validation, masking,
// `GET /connector-plugins` and the docs come from it. `schema().parse(settings)` turns a
// settings map into the struct, each field taken from the map or else from its row's default,
// so a default is written once, in the table, and code reads fields instead of keys.
//
// The row's type follows the member's: bool is boolean; integers and std::chrono::milliseconds
// are integer; std::string keeps the row's type (string or enumeration); std::optional<T> is
// T when given and nullopt when neither given nor defaulted. A prefix row ("producer:") binds a
// std::map<std::string, std::string> of the keys' suffixes to their values. enumeration() binds
// a C++ enum, the row's allowed values being the names it maps. A row without a member
// (info()) is validated and documented but not parsed (a KurrentDB setting without effect).

namespace detail {

inline std::optional<std::int64_t> to_int(std::string_view text) {
  std::int64_t value = 0;
  const auto* end = text.data() + text.size();
  auto [ptr, ec] = std::from_chars(text.data(), end, value);
  if (text.empty() || ec != std::errc() || ptr != end) return std::nullopt;
  return value;
}

template <class T>
struct is_optional : std::false_type {};
template <class T>
struct is_optional<std::optional<T>> : std::true_type {};

// How a canonical setting value becomes a T; false when it does not parse.
template <class T>
bool convert(const std::string& text, T& out) {
  if constexpr (std::is_same_v<T, std::string>) {
    out = text;
    return true;
  } else if constexpr (std::is_same_v<T, bool>) {
    if (!iequals(text, "true") && !iequals(text, "false")) return false;
    out = iequals(text, "true");
    return true;
  } else if constexpr (std::is_same_v<T, std::chrono::milliseconds>) {
    auto value = to_int(text);
    if (value) out = std::chrono::milliseconds(*value);
    return value.has_value();
  } else if constexpr (std::is_integral_v<T>) {
    auto value = to_int(text);
    if (value) out = static_cast<T>(*value);
    return value.has_value();
  } else if constexpr (is_optional<T>::value) {
    typename T::value_type value{};
    if (!convert(text, value)) return false;
    out = std::move(value);
    return true;
  } else {
    static_assert(sizeof(T) == 0, "unsupported setting member type");
  }
}

template <class T>
constexpr SettingType type_of(SettingType declared) {
  if constexpr (is_optional<T>::value) {
    return type_of<typename T::value_type>(declared);
  } else if constexpr (std::is_same_v<T, bool>) {
    return SettingType::boolean;
  } else if constexpr (std::is_same_v<T, std::chrono::milliseconds> || std::is_integral_v<T>) {
    return SettingType::integer;
  } else {
    return declared;
  }
}

}  // namespace detail

// One row: the plain SettingSpec, and how a checked value is stored into the struct (empty for
// rows that bind no member). `key` is the whole canonical key (for prefix rows, with the suffix).
template <class S>
struct SettingRow {
  SettingSpec spec;
  std::function<bool(S&, std::string_view key, const std::string& value)> store;
};

// A member, or a member of a member (`path(&S::transformer, &TransformSettings::enabled)`).
template <class S, class T>
struct MemberPath {
  std::function<T&(S&)> access;
};

template <class S, class T>
MemberPath<S, T> path(T S::*member) {
  return {[member](S& s) -> T& { return s.*member; }};
}

template <class S, class G, class T>
MemberPath<S, T> path(G S::*group, T G::*member) {
  return {[group, member](S& s) -> T& { return (s.*group).*member; }};
}

template <class S, class T>
SettingRow<S> field(MemberPath<S, T> member, SettingSpec spec) {
  if constexpr (std::is_same_v<T, std::map<std::string, std::string>>) {
    spec.prefix = true;
    const auto prefix_size = spec.name.size();
    return {std::move(spec), [member, prefix_size](S& s, std::string_view key, const std::string& value) {
              member.access(s)[std::string(key.substr(prefix_size))] = value;
              return true;
            }};
  } else {
    spec.type = detail::type_of<T>(spec.type);
    return {std::move(spec), [member](S& s, std::string_view, const std::string& value) {
              return detail::convert(value, member.access(s));
            }};
  }
}

template <class S, class T>
SettingRow<S> field(T S::*member, SettingSpec spec) {
  return field(path(member), std::move(spec));
}

// An enumeration row bound to a C++ enum: `values` maps each allowed spelling to its value and
// is the row's list of allowed values.
template <class S, class E>
SettingRow<S> enumeration(MemberPath<S, E> member, SettingSpec spec, std::vector<std::pair<std::string, E>> values) {
  spec.type = SettingType::enumeration;
  spec.allowed_values.clear();
  for (const auto& [name, value] : values) spec.allowed_values.push_back(name);
  return {std::move(spec), [member, values = std::move(values)](S& s, std::string_view, const std::string& text) {
            for (const auto& [name, value] : values) {
              if (iequals(name, text)) {
                member.access(s) = value;
                return true;
              }
            }
            return false;
          }};
}

template <class S, class E>
SettingRow<S> enumeration(E S::*member, SettingSpec spec, std::vector<std::pair<std::string, E>> values) {
  return enumeration(path(member), std::move(spec), std::move(values));
}

// A row that is validated and documented but fills no field.
template <class S>
SettingRow<S> info(SettingSpec spec) {
  return {std::move(spec), nullptr};
}

// A settings table bound to the struct S (default-constructible).
template <class S>
class SettingsSchema {
 public:
  explicit SettingsSchema(std::vector<SettingRow<S>> rows) : rows_(std::move(rows)) {
    for (const auto& row : rows_) specs_.push_back(row.spec);
  }

  // The plain table: validation, masking, GET /connector-plugins, docs/settings.md.
  const std::vector<SettingSpec>& specs() const { return specs_; }

  // `settings` (canonical keys, as validation leaves them; keys of other tables are ignored) as
  // the struct: each field from its key, else from its row's default. An invalid_argument
  // error with one field violation per value that does not fit its row.
  Result<S> parse(const Settings& settings) const {
    S out{};
    std::vector<FieldViolation> violations;
    fill(settings, out, &violations);
    if (!violations.empty()) {
      return make_error(ErrorCode::invalid_argument, "the connector settings are not valid", std::move(violations));
    }
    return out;
  }

  // For settings already validated against the table: a value that does not fit (there is
  // none after validation) leaves its row's default in place.
  S parse_valid(const Settings& settings) const {
    S out{};
    fill(settings, out, nullptr);
    return out;
  }

 private:
  void store(const SettingRow<S>& row, std::string_view key, const std::string& value, S& out,
             std::vector<FieldViolation>* violations) const {
    auto checked = check_setting_value(row.spec, value);
    if (checked.ok() && row.store(out, key, checked.value())) return;
    if (violations != nullptr) {
      // (A value the row accepts always fits its member; the message never repeats the value.)
      violations->push_back({std::string(key), checked.ok() ? "does not fit its setting" : checked.error().message});
    } else if (!row.spec.prefix && !row.spec.default_value.empty()) {
      row.store(out, key, row.spec.default_value);
    }
  }

  void fill(const Settings& settings, S& out, std::vector<FieldViolation>* violations) const {
    for (const auto& row : rows_) {
      if (!row.store) continue;
      const auto& spec = row.spec;
      if (spec.prefix) {
        for (auto it = settings.lower_bound(spec.name); it != settings.end() && it->first.starts_with(spec.name);
             ++it) {
          if (it->first.size() > spec.name.size()) store(row, it->first, it->second, out, violations);
        }
      } else if (auto it = settings.find(spec.name); it != settings.end()) {
        store(row, spec.name, it->second, out, violations);
      } else if (!spec.default_value.empty()) {
        row.store(out, spec.name, spec.default_value);
      }
    }
  }

  std::vector<SettingRow<S>> rows_;
  std::vector<SettingSpec> specs_;
};

}  // namespace sinkhost::connector
