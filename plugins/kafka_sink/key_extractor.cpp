#include "key_extractor.hpp"

#include <nlohmann/json.hpp>
#include <re2/re2.h>

namespace sinkhost::kafka_sink {

using connector::ErrorCode;
using connector::make_error;

namespace {

constexpr const char* kMetadataHeaderPrefix = "esdb-record-headers-";

const std::string* find_header(const connector::Record& record, const std::string& name) {
  for (const auto& h : record.headers) {
    if (h.name == name) return &h.value;
  }
  const auto prefixed = kMetadataHeaderPrefix + name;
  for (const auto& h : record.headers) {
    if (h.name == prefixed) return &h.value;
  }
  return nullptr;
}

}  // namespace

KeyExtractor::KeyExtractor(KeyExtractor&&) noexcept = default;
KeyExtractor::~KeyExtractor() = default;

connector::Result<KeyExtractor> KeyExtractor::create(const connector::Settings& settings) {
  return create(KafkaSinkSettings::from(settings));
}

connector::Result<KeyExtractor> KeyExtractor::create(const KafkaSinkSettings& settings) {
  KeyExtractor extractor;
  if (!settings.key_extraction_enabled) return extractor;
  const auto& expression = settings.key_expression;
  auto invalid = [](std::string description) {
    return make_error(ErrorCode::invalid_argument, "the connector settings are not valid",
                      {{"partitionKeyExtraction:expression", std::move(description)}});
  };

  const auto source = settings.key_source;
  if (source == KeySource::partition_key) {
    extractor.source_ = Source::partition_key;
  } else if (source == KeySource::stream_suffix) {
    extractor.source_ = Source::stream_suffix;
  } else if (source == KeySource::stream) {
    extractor.source_ = Source::stream;
    if (expression.empty()) return extractor;  // KurrentDB: without an expression the key is the stream id
    RE2::Options options;
    options.set_log_errors(false);
    extractor.regex_ = std::make_unique<re2::RE2>(expression, options);
    if (!extractor.regex_->ok()) {
      return invalid("not a valid regular expression (RE2 syntax: no backreferences or lookarounds): " +
                     extractor.regex_->error());
    }
  } else if (source == KeySource::headers) {
    extractor.names_ = connector::split_list(expression);
    if (extractor.names_.empty())
      return invalid("required with source headers: comma-separated metadata names, e.g. region,zone");
    extractor.source_ = Source::headers;
  } else if (source == KeySource::data) {
    extractor.names_ = connector::split_list(expression);
    if (extractor.names_.empty())
      return invalid("required with source data: comma-separated JSON Pointers, e.g. /userId,/anonymousId");
    for (const auto& pointer : extractor.names_) {
      try {
        (void)nlohmann::json::json_pointer(pointer);
      } catch (const nlohmann::json::exception&) {
        return invalid("'" + pointer + "' is not a JSON Pointer (RFC 6901: /field/0/name)");
      }
    }
    extractor.source_ = Source::data;
  }
  return extractor;
}

std::optional<std::string> KeyExtractor::key(const connector::Record& record) const {
  switch (source_) {
    case Source::none: return std::nullopt;
    case Source::partition_key: return record.key;
    case Source::stream: {
      if (!regex_) return record.stream_id;
      // The first capture group when the regex has one, else the whole match.
      if (regex_->NumberOfCapturingGroups() > 0) {
        std::string group;
        if (RE2::PartialMatch(record.stream_id, *regex_, &group)) return group;
        return std::nullopt;
      }
      re2::StringPiece match;
      if (regex_->Match(record.stream_id, 0, record.stream_id.size(), RE2::UNANCHORED, &match, 1)) {
        return std::string(match.data(), match.size());
      }
      return std::nullopt;
    }
    case Source::stream_suffix: {
      auto dash = record.stream_id.find('-');
      if (dash == std::string::npos) return std::nullopt;
      return record.stream_id.substr(dash + 1);
    }
    case Source::headers: {
      std::string key;
      bool any = false;
      for (const auto& name : names_) {
        if (const auto* value = find_header(record, name)) {
          if (any) key += '-';
          key += *value;
          any = true;
        }
      }
      if (!any) return std::nullopt;
      return key;
    }
    case Source::data: {
      if (record.schema_type != connector::SchemaType::json) return std::nullopt;
      auto data = nlohmann::json::parse(record.data, nullptr, /*allow_exceptions=*/false);
      if (data.is_discarded()) return std::nullopt;
      for (const auto& pointer : names_) {
        nlohmann::json::json_pointer p(pointer);
        if (!data.contains(p)) continue;
        const auto& value = data[p];
        if (value.is_null()) continue;
        return value.is_string() ? value.get<std::string>() : value.dump();
      }
      return std::nullopt;
    }
  }
  return std::nullopt;
}

}  // namespace sinkhost::kafka_sink
