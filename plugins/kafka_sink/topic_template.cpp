#include "topic_template.hpp"

#include <algorithm>

namespace sinkhost::kafka_sink {

using connector::ErrorCode;
using connector::make_error;

namespace {

constexpr std::size_t kMaxTopicLength = 249;  // Kafka's limit

connector::Error refuse(std::string description) {
  return make_error(ErrorCode::invalid_argument, "topic: " + description, {{"topic", description}});
}

void append_legal(std::string& out, std::string_view value) {
  for (char c : value) out.push_back(legal_topic_char(c) ? c : '_');
}

}  // namespace

bool legal_topic_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
}

connector::Result<TopicTemplate> TopicTemplate::parse(std::string_view text) {
  TopicTemplate parsed;
  parsed.text_ = std::string(text);
  std::size_t at = 0;
  while (at < text.size()) {
    const auto open = text.find('{', at);
    const auto fixed = text.substr(at, open == std::string_view::npos ? std::string_view::npos : open - at);
    if (!std::all_of(fixed.begin(), fixed.end(), legal_topic_char)) {
      return refuse("'" + std::string(text) +
                    "' is not a topic name: use ASCII letters, digits, '.', '_' and '-', and the placeholders "
                    "{stream}, {event-type}, {schema-subject} or {metadata:NAME}");
    }
    if (!fixed.empty()) parsed.pieces_.push_back({Kind::text, std::string(fixed)});
    if (open == std::string_view::npos) break;
    const auto close = text.find('}', open);
    if (close == std::string_view::npos) return refuse("'{' without '}' in '" + std::string(text) + "'");
    const auto name = text.substr(open + 1, close - open - 1);
    if (name == "stream") {
      parsed.pieces_.push_back({Kind::stream, {}});
    } else if (name == "event-type" || name == "schema-subject") {
      parsed.pieces_.push_back({Kind::event_type, {}});
    } else if (name.starts_with("metadata:") && name.size() > 9) {
      parsed.pieces_.push_back({Kind::metadata, "esdb-record-headers-" + std::string(name.substr(9))});
    } else {
      return refuse("unknown placeholder '{" + std::string(name) +
                    "}': the topic template knows {stream}, {event-type}, {schema-subject} and {metadata:NAME}");
    }
    at = close + 1;
  }
  if (parsed.pieces_.empty()) return refuse("must not be empty");
  if (parsed.fixed() && parsed.text_.size() > kMaxTopicLength) return refuse("longer than 249 characters");
  return parsed;
}

std::string TopicTemplate::topic(const connector::Record& record) const {
  if (fixed()) return text_;
  std::string out;
  for (const auto& piece : pieces_) {
    switch (piece.kind) {
      case Kind::text: out += piece.text; break;
      case Kind::stream: append_legal(out, record.stream_id); break;
      case Kind::event_type: append_legal(out, record.schema_subject); break;
      case Kind::metadata:
        for (const auto& header : record.headers) {
          if (header.name == piece.text) {
            append_legal(out, header.value);
            break;
          }
        }
        break;
    }
  }
  if (out.size() > kMaxTopicLength) out.resize(kMaxTopicLength);
  if (out == "." || out == "..") out = "_";  // the two names Kafka refuses that the characters allow
  return out;
}

}  // namespace sinkhost::kafka_sink
