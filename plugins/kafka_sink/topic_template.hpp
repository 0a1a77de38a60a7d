#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "sinkhost/connector/record.hpp"
#include "sinkhost/connector/result.hpp"

namespace sinkhost::kafka_sink {

// The `topic` setting: a topic name, or a template that names each record's topic from the
// record: {stream} (the stream id), {event-type} and {schema-subject} (the event type, two names
// as in KurrentDB's http-sink URL), {metadata:NAME} (the event's metadata entry NAME, as its
// esdb-record-headers-NAME header carries it; empty when absent). What a placeholder fills in is made a legal topic
// name: a character other than ASCII letters, digits, '.', '_' and '-' becomes '_', and the name is cut at 249
// characters. Thread-safety: immutable after parse(); topic() may run on any thread.
class TopicTemplate {
 public:
  // Refuses an unknown placeholder, an unclosed brace and a fixed part that no topic name may
  // hold (with a field violation on `topic`).
  static connector::Result<TopicTemplate> parse(std::string_view text);

  bool fixed() const { return pieces_.size() == 1 && pieces_[0].kind == Kind::text; }
  const std::string& text() const { return text_; }
  std::string topic(const connector::Record& record) const;

 private:
  enum class Kind { text, stream, event_type, metadata };
  struct Piece {
    Kind kind = Kind::text;
    std::string text;  // text: the text; metadata: the header name
  };
  std::string text_;
  std::vector<Piece> pieces_;
};

// A Kafka topic name may hold these characters only.
bool legal_topic_char(char c);

}  // namespace sinkhost::kafka_sink
