#pragma once
// Between the KurrentDB protocol's messages and the embedded log's types: pure functions, no
// calls, no I/O (unit-tested and fuzzed on their own). Internal to management_api.

#include <cstdint>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include <grpcpp/support/status.h>

#include "kurrentdb/protocols/v1/streams.pb.h"
#include "sinkhost/runtime/embedded_log/event_log.hpp"

namespace re2 {
class RE2;
}

namespace sinkhost::management_api::grpc_face {

namespace pb = ::event_store::client;
namespace streams = ::event_store::client::streams;

// A refused call: nothing was changed.
struct CallError {
  grpc::StatusCode code;
  std::string message;
  // Trailing metadata KurrentDB sends with such an error (e.g. exception=access-denied); the
  // official clients turn it into their own error types.
  std::vector<std::pair<std::string, std::string>> trailers = {};

  grpc::Status status() const { return {code, message}; }
};

// The canonical text form (lower case 8-4-4-4-12) of a UUID in either of its wire forms;
// nullopt when it is not a UUID.
std::optional<std::string> uuid_text(const pb::UUID& uuid);
// Fills `out` in the form the client asked for (ReadReq's uuid_option). `text` is canonical.
void set_uuid(std::string_view text, bool structured, pb::UUID* out);

// A stream name the log can hold: 1 to 1024 bytes of UTF-8 without control characters.
std::variant<std::string, CallError> stream_name_of(const pb::StreamIdentifier& id);

// 100 ns ticks since the Unix epoch, as the "created" metadata entry carries them.
std::string created_ticks(std::int64_t created_ms);

struct AppendLimits {
  std::size_t max_event_bytes = 1024 * 1024;
  std::size_t max_append_bytes = 16 * 1024 * 1024;
  std::size_t max_append_events = 10000;
};

// The first message of an Append call: the stream and the expected revision.
std::variant<runtime::AppendRequest, CallError> append_options_of(const streams::AppendReq& first);
// One proposed event: id, "type" and "content-type" metadata, data (JSON when so typed),
// custom metadata kept as sent.
std::variant<runtime::NewEvent, CallError> new_event_of(streams::AppendReq::ProposedMessage& message,
                                                        const AppendLimits& limits);
// An append without events writes nothing: it only checks the expected version against the
// stream's last revision (`last`, nullopt when the stream has no events), as KurrentDB does.
runtime::AppendResult check_empty_append(std::int64_t expected_version, std::optional<std::uint64_t> last);

// The success of an append, in Append's or BatchAppend's message (the same fields).
template <typename Success>
void fill_success(std::size_t appended_events, const runtime::AppendResult& result, Success* out) {
  if (result.current_version >= 0) {
    out->set_current_revision(static_cast<std::uint64_t>(result.current_version));
  } else {
    out->mutable_no_stream();
  }
  if (appended_events == 0) {
    out->mutable_no_position();
  } else {
    out->mutable_position()->set_commit_position(result.last_position.value());
    out->mutable_position()->set_prepare_position(result.last_position.value());
  }
}

// The answer to an append the log accepted or refused for its expected version.
// `expected_version` and `appended_events` describe the request (its events may have been moved
// into the log).
void fill_append_response(std::int64_t expected_version, std::size_t appended_events,
                          const runtime::AppendResult& result, streams::AppendResp* out);

// Which events a filtered read or subscription keeps: a stream-name or event-type filter, by
// prefixes (any of them) or a regular expression (RE2, matched as a search anywhere in the name).
class EventFilter {
 public:
  static std::variant<std::shared_ptr<const EventFilter>, CallError> of(
      const streams::ReadReq::Options::FilterOptions& options);
  ~EventFilter();
  EventFilter(const EventFilter&) = delete;
  EventFilter& operator=(const EventFilter&) = delete;

  bool matches(std::string_view stream, std::string_view event_type) const;
  // Scanned events between two checkpoint messages of a subscription.
  std::uint64_t checkpoint_interval() const { return checkpoint_interval_; }

 private:
  EventFilter() = default;
  bool on_stream_ = true;
  std::vector<std::string> prefixes_;
  std::unique_ptr<re2::RE2> regex_;
  std::uint64_t checkpoint_interval_ = 32;
};

// A Read call, checked: what to read, from where, how far, and whether to stay live.
struct ReadPlan {
  enum class From { start, end, at };
  std::optional<std::string> stream;  // nullopt: $all
  bool forward = true;
  bool subscription = false;
  From from = From::start;
  std::uint64_t at = 0;  // a revision (stream) or a commit position ($all)
  std::uint64_t count = std::numeric_limits<std::uint64_t>::max();
  std::shared_ptr<const EventFilter> filter;  // $all only; null: every event
  bool structured_uuids = false;
};
std::variant<ReadPlan, CallError> plan_read(const streams::ReadReq& request);

// One stored event, as the log's reader hands it out (a StoredEvent or a row being scanned).
struct EventView {
  std::uint64_t position = 0;
  std::string_view event_id;
  std::string_view stream;
  std::uint64_t revision = 0;
  std::string_view event_type;
  bool is_json = true;
  std::string_view data;
  std::string_view metadata;
  std::int64_t created_ms = 0;
};
EventView view_of(const runtime::StoredEvent& event);
EventView view_of(const runtime::EventRow& row);

// One event as a ReadResp.
void fill_read_event(const EventView& event, bool structured_uuid, streams::ReadResp* out);

}  // namespace sinkhost::management_api::grpc_face
