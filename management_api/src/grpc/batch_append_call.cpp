// Streams.BatchAppend: one long-lived call carrying many appends, each a sequence of requests
// with one correlation id (options in its first, events in each, is_final on the last). Each
// append goes to the log as a whole when its last request arrives; its answer names the
// correlation id and carries success or a google.rpc.Status whose details say what went wrong
// (the clients turn WrongExpectedVersion, AccessDenied and MaximumAppendSizeExceeded into their
// own errors). Requests keep being read while appends run and answers are written.
#include <deque>
#include <map>
#include <mutex>

#include "grpc/call_auth.hpp"
#include "grpc/services.hpp"
#include "kurrentdb/protocols/v1/shared.pb.h"
#include "kurrentdb/protocols/v1/status.pb.h"

namespace sinkhost::management_api::grpc_face {
namespace {

constexpr std::size_t kMaxOpenAppends = 256;             // appends of one call collecting events at once
constexpr std::size_t kMaxOpenBytes = 64 * 1024 * 1024;  // ... and the data they hold together
constexpr std::size_t kMaxBacklog = 64;                  // appends running or answers unwritten: reading pauses

// An append being collected.
struct PendingAppend {
  runtime::AppendRequest request;
  std::size_t bytes = 0;
  std::optional<CallError> refused;  // the first problem; the rest of its requests are dropped
  pb::StreamIdentifier stream_identifier;
};

void set_expected(std::int64_t expected, streams::BatchAppendResp* out) {
  switch (expected) {
    case runtime::expected_version::any: out->mutable_any(); break;
    case runtime::expected_version::no_stream: out->mutable_no_stream(); break;
    case runtime::expected_version::stream_exists: out->mutable_stream_exists(); break;
    default: out->set_stream_position(static_cast<std::uint64_t>(expected)); break;
  }
}

void set_error(const CallError& error, std::size_t max_append_bytes, streams::BatchAppendResp* out) {
  auto* status = out->mutable_error();
  status->set_code(static_cast<google::rpc::Code>(error.code));
  status->set_message(error.message);
  if (error.code == grpc::StatusCode::PERMISSION_DENIED) {
    status->mutable_details()->PackFrom(pb::AccessDenied());
  } else if (error.code == grpc::StatusCode::RESOURCE_EXHAUSTED) {
    pb::MaximumAppendSizeExceeded exceeded;
    exceeded.set_maxappendsize(static_cast<std::uint32_t>(max_append_bytes));
    status->mutable_details()->PackFrom(exceeded);
  } else {
    pb::BadRequest bad;
    bad.set_message(error.message);
    status->mutable_details()->PackFrom(bad);
  }
}

void set_wrong_expected_version(std::int64_t expected, const runtime::AppendResult& result,
                                streams::BatchAppendResp* out) {
  pb::WrongExpectedVersion wrong;
  if (result.current_version >= 0) {
    wrong.set_current_stream_revision(static_cast<std::uint64_t>(result.current_version));
  } else {
    wrong.mutable_current_no_stream();
  }
  switch (expected) {
    case runtime::expected_version::any: wrong.mutable_expected_any(); break;
    case runtime::expected_version::no_stream: wrong.mutable_expected_no_stream(); break;
    case runtime::expected_version::stream_exists: wrong.mutable_expected_stream_exists(); break;
    default: wrong.set_expected_stream_position(static_cast<std::uint64_t>(expected)); break;
  }
  auto* status = out->mutable_error();
  status->set_code(google::rpc::FAILED_PRECONDITION);
  status->set_message("wrong expected version");
  status->mutable_details()->PackFrom(wrong);
}

class BatchAppendCall final : public grpc::ServerBidiReactor<streams::BatchAppendReq, streams::BatchAppendResp> {
 public:
  BatchAppendCall(FaceContext& face, grpc::CallbackServerContext* context) : face_(face) {
    if (auto refused = check_credentials(*context, face_.authenticator)) {
      add_error_trailers(*context, *refused);
      finished_ = true;
      Finish(refused->status());
      return;
    }
    StartRead(&request_);
  }

  void OnReadDone(bool ok) override {
    if (!ok) {
      std::unique_lock lock(mutex_);
      reads_done_ = true;
      return pump(lock);
    }
    if (auto failed = take(request_)) {
      std::unique_lock lock(mutex_);
      failed_ = std::move(failed);
      return pump(lock);
    }
    std::unique_lock lock(mutex_);
    if (appending_ + answers_.size() >= kMaxBacklog) {
      read_paused_ = true;  // pump() reads on once the backlog went down
      return pump(lock);
    }
    lock.unlock();
    StartRead(&request_);
  }

  void OnWriteDone(bool ok) override {
    std::unique_lock lock(mutex_);
    writing_ = false;
    if (!ok) failed_ = CallError{grpc::StatusCode::CANCELLED, "the client went away"};
    pump(lock);
  }

  void OnDone() override { delete this; }

 private:
  // Takes one request; a problem that ends the whole call is returned.
  std::optional<CallError> take(streams::BatchAppendReq& request) {
    auto id = uuid_text(request.correlation_id());
    if (!id) return CallError{grpc::StatusCode::INVALID_ARGUMENT, "every batch append request needs a correlation id"};
    auto found = open_.find(*id);
    if (found == open_.end()) {
      if (open_.size() >= kMaxOpenAppends) {
        return CallError{grpc::StatusCode::RESOURCE_EXHAUSTED,
                         "more than " + std::to_string(kMaxOpenAppends) + " appends open on one call"};
      }
      found = open_.emplace(*id, start(request)).first;
    }
    open_bytes_ -= found->second.bytes;
    add_events(request, found->second);
    open_bytes_ += found->second.bytes;
    if (open_bytes_ > kMaxOpenBytes) {
      return CallError{grpc::StatusCode::RESOURCE_EXHAUSTED,
                       "the appends open on one call hold more than " + std::to_string(kMaxOpenBytes) + " bytes"};
    }
    if (request.is_final()) {
      open_bytes_ -= found->second.bytes;
      auto pending = std::make_shared<PendingAppend>(std::move(found->second));
      open_.erase(found);
      finish_append(*id, request.correlation_id(), std::move(pending));
    }
    return std::nullopt;
  }

  PendingAppend start(const streams::BatchAppendReq& request) {
    PendingAppend pending;
    if (!request.has_options()) {
      pending.refused =
          CallError{grpc::StatusCode::INVALID_ARGUMENT, "the first request of an append carries its options"};
      return pending;
    }
    const auto& options = request.options();
    pending.stream_identifier = options.stream_identifier();
    streams::AppendReq as_append;
    auto* append_options = as_append.mutable_options();
    *append_options->mutable_stream_identifier() = options.stream_identifier();
    using Options = streams::BatchAppendReq::Options;
    switch (options.expected_stream_position_case()) {
      case Options::kStreamPosition: append_options->set_revision(options.stream_position()); break;
      case Options::kNoStream: append_options->mutable_no_stream(); break;
      case Options::kStreamExists: append_options->mutable_stream_exists(); break;
      default: append_options->mutable_any(); break;
    }
    auto parsed = append_options_of(as_append);
    if (auto* error = std::get_if<CallError>(&parsed)) {
      pending.refused = *error;
    } else {
      pending.request = std::get<runtime::AppendRequest>(std::move(parsed));
    }
    return pending;
  }

  void add_events(streams::BatchAppendReq& request, PendingAppend& pending) {
    for (auto& proposed : *request.mutable_proposed_messages()) {
      if (pending.refused) return;
      streams::AppendReq::ProposedMessage message;
      *message.mutable_id() = std::move(*proposed.mutable_id());
      *message.mutable_metadata() = std::move(*proposed.mutable_metadata());
      message.set_custom_metadata(std::move(*proposed.mutable_custom_metadata()));
      message.set_data(std::move(*proposed.mutable_data()));
      auto event = new_event_of(message, face_.limits);
      if (auto* error = std::get_if<CallError>(&event)) {
        pending.refused = *error;
        return;
      }
      auto& added = pending.request.events.emplace_back(std::get<runtime::NewEvent>(std::move(event)));
      pending.bytes += added.data.size() + added.metadata.size();
      if (pending.request.events.size() > face_.limits.max_append_events ||
          pending.bytes > face_.limits.max_append_bytes) {
        pending.refused =
            CallError{grpc::StatusCode::RESOURCE_EXHAUSTED,
                      "an append takes at most " + std::to_string(face_.limits.max_append_events) + " events and " +
                          std::to_string(face_.limits.max_append_bytes) + " bytes; nothing was appended"};
      }
    }
  }

  // The append's last request arrived: refuse it, or hand it to an append thread.
  void finish_append(const std::string& id, const pb::UUID& correlation, std::shared_ptr<PendingAppend> pending) {
    streams::BatchAppendResp response;
    *response.mutable_correlation_id() = correlation;
    *response.mutable_stream_identifier() = pending->stream_identifier;
    set_expected(pending->request.expected_version, &response);
    if (pending->refused) {
      set_error(*pending->refused, face_.limits.max_append_bytes, &response);
      std::unique_lock lock(mutex_);
      answers_.push_back(std::move(response));
      return pump(lock);
    }
    {
      std::lock_guard lock(mutex_);
      ++appending_;
    }
    face_.appends.post([this, id, pending, response = std::move(response)](runtime::EventLogReader* reader) mutable {
      const auto expected = pending->request.expected_version;
      const auto events = pending->request.events.size();
      auto result = append_to_log(face_, reader, std::move(pending->request));
      if (!result.ok()) {
        set_error(append_refused(result.error(), pending->stream_identifier.stream_name()),
                  face_.limits.max_append_bytes, &response);
      } else if (result.value().status == runtime::AppendResult::Status::wrong_expected_version) {
        set_wrong_expected_version(expected, result.value(), &response);
      } else {
        fill_success(events, result.value(), response.mutable_success());
      }
      std::unique_lock lock(mutex_);
      --appending_;
      answers_.push_back(std::move(response));
      pump(lock);
    });
  }

  // Writes the next answer, or finishes once the client is done and every answer is out.
  void pump(std::unique_lock<std::mutex>& lock) {
    if (finished_) return;
    if (read_paused_ && !failed_ && appending_ + answers_.size() < kMaxBacklog / 2) {
      read_paused_ = false;
      lock.unlock();
      StartRead(&request_);
      lock.lock();
      if (finished_) return;
    }
    if (writing_) return;
    if (failed_ && appending_ == 0) {
      finished_ = true;
      auto status = failed_->status();
      lock.unlock();
      Finish(status);
      return;
    }
    if (!answers_.empty() && !failed_) {
      in_flight_ = std::move(answers_.front());
      answers_.pop_front();
      writing_ = true;
      lock.unlock();
      StartWrite(&in_flight_);
      return;
    }
    if (reads_done_ && appending_ == 0 && answers_.empty()) {
      finished_ = true;
      lock.unlock();
      Finish(grpc::Status::OK);
    }
  }

  FaceContext& face_;
  streams::BatchAppendReq request_;
  std::map<std::string, PendingAppend> open_;  // the read side only
  std::size_t open_bytes_ = 0;                 // the read side only

  std::mutex mutex_;
  std::deque<streams::BatchAppendResp> answers_;
  streams::BatchAppendResp in_flight_;
  std::size_t appending_ = 0;
  bool writing_ = false;
  bool reads_done_ = false;
  bool read_paused_ = false;
  bool finished_ = false;
  std::optional<CallError> failed_;
};

}  // namespace

grpc::ServerBidiReactor<streams::BatchAppendReq, streams::BatchAppendResp>* start_batch_append(
    FaceContext& face, grpc::CallbackServerContext* context) {
  return new BatchAppendCall(face, context);
}

}  // namespace sinkhost::management_api::grpc_face
