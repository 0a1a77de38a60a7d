#pragma once

#include "sinkhost/runtime/embedded_log/event_log.hpp"
#include "sinkhost/runtime/source.hpp"

namespace sinkhost::runtime {

// The embedded log as an event source. A subscription reads with its own connection, looks at
// each event's stream and type first and copies the rest only of events the filter keeps; it is
// woken by the log's head notification. Positions: commit = prepare = the log position; the
// ordinal is the log position too.
class EmbeddedLogSource final : public EventSource {
 public:
  explicit EmbeddedLogSource(EventLog& log) : log_(log) {}

  connector::Result<SourcePosition> head() const override { return SourcePosition::of_log(log_.head()); }
  std::string describe() const override { return "the embedded log"; }
  connector::Result<std::unique_ptr<SourceSubscription>> subscribe(SubscribeRequest request) override;

 private:
  EventLog& log_;
};

}  // namespace sinkhost::runtime
