#pragma once

#include <compare>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "sinkhost/connector/position.hpp"
#include "sinkhost/connector/result.hpp"

namespace sinkhost::runtime {

class RecordFilter;

// A place in a source's global order. KurrentDB orders `$all` by (commit, prepare) position;
// the embedded log has one ordinal per event and uses it for both.
struct SourcePosition {
  std::uint64_t commit = 0;
  std::uint64_t prepare = 0;

  static constexpr SourcePosition of_log(connector::LogPosition position) {
    return {position.value(), position.value()};
  }
  constexpr auto operator<=>(const SourcePosition&) const = default;
};

// One event as every source hands it over, whatever stores it.
struct SourceEvent {
  SourcePosition position;
  // Identifies the record towards the sink (connector::Record::position): strictly increasing
  // within one subscription. The embedded log uses its log position.
  connector::LogPosition ordinal;
  std::string event_id;
  std::string stream;
  std::uint64_t revision = 0;
  std::string event_type;
  bool is_json = true;
  std::string data;
  std::string metadata;  // JSON object text; "{}" when none
  std::int64_t created_ms = 0;
};

// What one read returns. `events` is reused from read to read so that its strings keep their
// capacity: only the first `size` entries are this read's.
struct SourceBatch {
  std::vector<SourceEvent> events;
  std::size_t size = 0;
  // The last position the read looked at, matching the filter or not: once every event of the
  // batch is acknowledged, a checkpoint may move here. nullopt when the read found nothing.
  std::optional<SourcePosition> scanned_to;
  std::size_t examined = 0;  // events looked at, kept or not
  std::size_t bytes = 0;     // data and metadata bytes of the kept events

  // The next slot to fill, grown on demand.
  SourceEvent& next_slot() {
    if (size == events.size()) events.emplace_back();
    return events[size++];
  }
  void clear() {
    size = 0;
    scanned_to.reset();
    examined = 0;
    bytes = 0;
  }
};

// A filtered, ordered read of a source: catch-up from a start, then live. It never skips or
// repeats a matching event. Not thread-safe: one thread reads.
class SourceSubscription {
 public:
  virtual ~SourceSubscription() = default;
  // True when a read may find events (a hint: a read may still find none that match).
  virtual bool has_new() const = 0;
  // Fills `into` (cleared first) with the events that match the filter among the next
  // `max_events` (or fewer: a read stops early once the kept events hold `max_bytes` of data).
  virtual connector::Result<void> read(std::size_t max_events, std::size_t max_bytes, SourceBatch& into) = 0;
};

// How a source's connection to its store is doing, as a subscription reports it.
struct SourceHealth {
  enum class State { healthy, reconnecting, failed };
  State state = State::healthy;
  std::optional<connector::Error> last_error;  // the latest error, kept after recovery
};
const char* to_string(SourceHealth::State state);  // "HEALTHY", "RECONNECTING", "FAILED"

struct SubscribeRequest {
  std::optional<SourcePosition> after;  // deliver events after this position; nullopt: see after_head
  // With `after` unset: false delivers from the first event; true delivers only events after the
  // newest one at the time the source first reaches its store. The subscription then reports that
  // newest position once, as the `scanned_to` of a read without events, so that a checkpoint pins
  // the start and a restart does not move it.
  bool after_head = false;
  // Events the connector delivers. A source evaluates it where it can do so cheaply (the
  // embedded log before decoding the event, KurrentDB on the server), and always before an
  // event leaves read().
  std::shared_ptr<const RecordFilter> filter;
  // Runs on a thread of the source whenever new events may be there; must be quick.
  std::function<void()> on_new_events;
  // Runs on a thread of the source when its health changes (a source that cannot fail never
  // calls it); may be empty.
  std::function<void(const SourceHealth&)> on_health;
};

// Where a host's events come from (docs/architecture.md, "Sources").
class EventSource {
 public:
  virtual ~EventSource() = default;
  // The position of the newest event, as far as the source knows it now (it does not block on a
  // remote store): an `unavailable` error when it cannot tell.
  virtual connector::Result<SourcePosition> head() const = 0;
  // Where events come from, for messages: "the embedded log", "KurrentDB at host:2113".
  virtual std::string describe() const = 0;
  // True when events are appended elsewhere (the embedded log's append routes then refuse).
  virtual bool external() const { return false; }
  virtual connector::Result<std::unique_ptr<SourceSubscription>> subscribe(SubscribeRequest request) = 0;
};

}  // namespace sinkhost::runtime
