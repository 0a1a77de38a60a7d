#include "sinkhost/runtime/record_filter.hpp"

#include <algorithm>

#include <re2/re2.h>

namespace sinkhost::runtime {

using connector::ErrorCode;
using connector::make_error;

namespace {

bool is_system(std::string_view stream, std::string_view event_type) {
  return (!stream.empty() && stream.front() == '$') || (!event_type.empty() && event_type.front() == '$');
}

}  // namespace

RecordFilter::~RecordFilter() = default;

connector::Result<std::shared_ptr<const RecordFilter>> RecordFilter::create(const connector::Settings& settings) {
  return from(CommonSettings::from(settings).filter);
}

connector::Result<std::shared_ptr<const RecordFilter>> RecordFilter::from(const FilterSettings& settings) {
  const auto& scope = settings.scope;
  auto type = settings.filter_type;
  const auto& expression = settings.expression;

  std::shared_ptr<RecordFilter> filter(new RecordFilter());
  if (expression.empty()) {
    filter->kind_ = scope.empty() || scope == "unspecified" ? Kind::all_but_system : Kind::all;
    return std::shared_ptr<const RecordFilter>(filter);
  }
  if (type.empty()) {
    if (expression.front() == '$') {
      return make_error(ErrorCode::invalid_argument, "the connector settings are not valid",
                        {{"subscription:filter:expression",
                          "looks like a JsonPath; JsonPath filters are not supported yet: set "
                          "subscription:filter:filterType to regex, prefix, streamId or eventType"}});
    }
    type = "regex";
  }
  if (type == "jsonPath") {
    return make_error(ErrorCode::invalid_argument, "the connector settings are not valid",
                      {{"subscription:filter:filterType",
                        "jsonPath filters are not supported yet; use regex, prefix, streamId or eventType"}});
  }

  if (scope == "record")
    filter->target_ = Target::event_type;
  else if (scope == "stream")
    filter->target_ = Target::stream;
  else
    filter->target_ = type == "eventType" ? Target::event_type : Target::stream;

  if (type == "streamId") {
    filter->kind_ = Kind::exact;
    filter->values_ = {expression};
  } else if (type == "eventType") {
    filter->kind_ = Kind::exact;
    filter->values_ = connector::split_list(expression);
  } else if (type == "prefix") {
    filter->kind_ = Kind::prefix;
    filter->values_ = connector::split_list(expression);
  } else {
    RE2::Options options;
    options.set_log_errors(false);
    auto regex = std::make_unique<RE2>(expression, options);
    if (!regex->ok()) {
      return make_error(
          ErrorCode::invalid_argument, "the connector settings are not valid",
          {{"subscription:filter:expression",
            "not a valid regular expression (RE2 syntax: no backreferences or lookarounds): " + regex->error()}});
    }
    filter->kind_ = Kind::regex;
    filter->regex_ = std::move(regex);
  }
  return std::shared_ptr<const RecordFilter>(filter);
}

std::optional<RecordFilter::ServerFilter> RecordFilter::server_filter() const {
  ServerFilter out;
  out.on_event_type = target_ == Target::event_type;
  switch (kind_) {
    case Kind::all: return std::nullopt;
    case Kind::all_but_system:
      // KurrentDB's own "exclude system events" filter; events of $-streams are dropped locally.
      out.on_event_type = true;
      out.regex = "^[^$]";
      return out;
    case Kind::exact: {
      std::string alternatives;
      // RE2's quoting escapes punctuation only (never a letter, digit or '_', which .NET's regex
      // would refuse escaped), so KurrentDB's server reads it the same way.
      for (const auto& v : values_) alternatives += (alternatives.empty() ? "" : "|") + RE2::QuoteMeta(v);
      out.regex = "^(?:" + alternatives + ")$";
      return out;
    }
    case Kind::prefix:
      if (std::find(values_.begin(), values_.end(), std::string()) != values_.end()) return std::nullopt;
      out.prefixes = values_;
      return out;
    case Kind::regex: out.regex = regex_->pattern(); return out;
  }
  return std::nullopt;
}

bool RecordFilter::matches(std::string_view stream, std::string_view event_type) const {
  const std::string_view subject = target_ == Target::stream ? stream : event_type;
  switch (kind_) {
    case Kind::all_but_system: return !is_system(stream, event_type);
    case Kind::all: return true;
    case Kind::exact:
      for (const auto& v : values_) {
        if (subject == v) return true;
      }
      return false;
    case Kind::prefix:
      for (const auto& v : values_) {
        if (subject.starts_with(v)) return true;
      }
      return false;
    case Kind::regex: return RE2::PartialMatch(re2::StringPiece(subject.data(), subject.size()), *regex_);
  }
  return false;
}

}  // namespace sinkhost::runtime
