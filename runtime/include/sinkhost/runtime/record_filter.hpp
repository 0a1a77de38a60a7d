#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "sinkhost/connector/result.hpp"
#include "sinkhost/connector/settings.hpp"
#include "sinkhost/runtime/common_settings.hpp"
#include "sinkhost/runtime/embedded_log/event_log.hpp"

namespace re2 {
class RE2;
}

namespace sinkhost::runtime {

// Which events a connector delivers, from its subscription:filter:* settings, with KurrentDB's
// rules:
// - no expression and no scope: every event except system events (stream or event type
//   starting with '$'); no expression with a scope: every event, system events included;
// - scope `stream` matches the stream id, scope `record` the event type; without a scope,
//   streamId and regex/prefix filters match the stream id and eventType filters the event type;
// - filterType `streamId`: the stream id equals the expression; `eventType`: the event type
//   equals one of the comma-separated expression's entries; `prefix`: starts with one of the
//   comma-separated prefixes; `regex`: RE2 finds a match anywhere (use ^...$ to anchor);
// - no filterType: an expression starting with '$' would be a JsonPath (refused until JsonPath
//   filters exist), anything else is a regex.
// Thread-safety: immutable after create(); matches() may run on any thread.
class RecordFilter {
 public:
  // Fails with one field violation per bad setting (an invalid regex names RE2's complaint).
  static connector::Result<std::shared_ptr<const RecordFilter>> from(const FilterSettings& settings);
  // The same from a settings map (subscription:filter:*, parsed with the common table).
  static connector::Result<std::shared_ptr<const RecordFilter>> create(const connector::Settings& settings);
  ~RecordFilter();

  // Decides on the two names alone, so a source can skip an event before decoding the rest.
  bool matches(std::string_view stream, std::string_view event_type) const;
  bool matches(const StoredEvent& event) const { return matches(event.stream, event.event_type); }

  // The part of the filter a store's server can evaluate (KurrentDB's $all subscription filter:
  // stream or event type, by prefixes or a regular expression). It never excludes an event the
  // filter keeps, so a source that pushes it still calls matches() on what arrives. nullopt:
  // nothing to push (every event).
  struct ServerFilter {
    bool on_event_type = false;         // false: on the stream name
    std::vector<std::string> prefixes;  // one of them starts the name; or:
    std::string regex;                  // finds a match in the name (when `prefixes` is empty)
  };
  std::optional<ServerFilter> server_filter() const;

 private:
  enum class Target { stream, event_type };
  enum class Kind { all_but_system, all, exact, prefix, regex };
  RecordFilter() = default;

  Target target_ = Target::stream;
  Kind kind_ = Kind::all_but_system;
  std::vector<std::string> values_;  // exact values or prefixes
  std::unique_ptr<re2::RE2> regex_;
};

}  // namespace sinkhost::runtime
