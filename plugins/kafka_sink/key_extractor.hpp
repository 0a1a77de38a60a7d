#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "sinkhost/connector/record.hpp"
#include "sinkhost/connector/result.hpp"
#include "settings.hpp"

namespace re2 {
class RE2;
}

namespace sinkhost::kafka_sink {

// The message key of a record, from the partitionKeyExtraction:* settings. Without a match
// there is no key (the message then goes to defaultPartition, or round-robin).
// Thread-safety: immutable after create(); key() may run on any thread.
class KeyExtractor {
 public:
  static connector::Result<KeyExtractor> create(const KafkaSinkSettings& settings);
  // The same from a settings map (parsed with the kafka-sink table).
  static connector::Result<KeyExtractor> create(const connector::Settings& settings);
  KeyExtractor(KeyExtractor&&) noexcept;
  ~KeyExtractor();

  std::optional<std::string> key(const connector::Record& record) const;

 private:
  enum class Source { none, partition_key, stream, stream_suffix, headers, data };
  KeyExtractor() = default;

  Source source_ = Source::none;
  std::unique_ptr<re2::RE2> regex_;  // stream
  std::vector<std::string> names_;   // headers: metadata names; data: JSON Pointers
};

}  // namespace sinkhost::kafka_sink
