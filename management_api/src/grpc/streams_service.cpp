#include <spdlog/spdlog.h>

#include "grpc/call_auth.hpp"
#include "grpc/services.hpp"
#include "kurrentdb/protocols/v1/streams.grpc.pb.h"

namespace sinkhost::management_api::grpc_face {
namespace {

// A server-streaming call refused before it started.
class RefusedRead final : public grpc::ServerWriteReactor<streams::ReadResp> {
 public:
  explicit RefusedRead(const grpc::Status& status) { Finish(status); }
  void OnDone() override { delete this; }
};

// Streams.Append: the options, then the events; the log appends them all or none when the
// client has sent the last one.
class AppendCall final : public grpc::ServerReadReactor<streams::AppendReq> {
 public:
  AppendCall(FaceContext& face, grpc::CallbackServerContext* context, streams::AppendResp* response)
      : face_(face), context_(context), response_(response) {
    if (auto refused = check_credentials(*context_, face_.authenticator)) {
      refuse(*refused);
      return;
    }
    StartRead(&message_);
  }

  void OnReadDone(bool ok) override {
    // Reads end when the client closed its side (the append is complete) and also when the call
    // was cancelled (the client went away, its deadline passed: the events read so far are not
    // the whole append, and none may be written). gRPC's C++ API reports both alike, and
    // OnCancel may come later; sending the response headers tells them apart: it fails on a
    // cancelled call and succeeds on a half-closed one.
    if (!ok) {
      if (!started_) return refuse({grpc::StatusCode::INVALID_ARGUMENT, "an append must send its options first"});
      return StartSendInitialMetadata();
    }
    auto refused = take(message_);
    if (refused) return refuse(*refused);
    StartRead(&message_);
  }

  void OnDone() override { delete this; }

 private:
  std::optional<CallError> take(streams::AppendReq& message) {
    if (!started_) {
      auto options = append_options_of(message);
      if (auto* error = std::get_if<CallError>(&options)) return *error;
      request_ = std::get<runtime::AppendRequest>(std::move(options));
      started_ = true;
      return std::nullopt;
    }
    if (!message.has_proposed_message())
      return CallError{grpc::StatusCode::INVALID_ARGUMENT, "after the options an append sends events only"};
    auto event = new_event_of(*message.mutable_proposed_message(), face_.limits);
    if (auto* error = std::get_if<CallError>(&event)) return *error;
    auto& added = request_.events.emplace_back(std::get<runtime::NewEvent>(std::move(event)));
    bytes_ += added.data.size() + added.metadata.size();
    if (request_.events.size() > face_.limits.max_append_events) {
      return CallError{grpc::StatusCode::RESOURCE_EXHAUSTED, "an append takes at most " +
                                                                 std::to_string(face_.limits.max_append_events) +
                                                                 " events; nothing was appended"};
    }
    if (bytes_ > face_.limits.max_append_bytes) {
      return CallError{grpc::StatusCode::RESOURCE_EXHAUSTED,
                       "an append takes at most " + std::to_string(face_.limits.max_append_bytes) +
                           " bytes of data and metadata; nothing was appended",
                       {{"exception", "maximum-append-size-exceeded"},
                        {"maximum-append-size", std::to_string(face_.limits.max_append_bytes)}}};
    }
    return std::nullopt;
  }

  void OnSendInitialMetadataDone(bool ok) override {
    if (!ok) return Finish(grpc::Status::CANCELLED);
    append();
  }

  void append() {
    face_.appends.post([this](runtime::EventLogReader* reader) {
      const auto expected_version = request_.expected_version;
      const auto events = request_.events.size();
      const std::string stream = request_.stream;
      auto result = append_to_log(face_, reader, std::move(request_));
      if (!result.ok()) return Finish(append_refused(result.error(), stream).status());
      fill_append_response(expected_version, events, result.value(), response_);
      Finish(grpc::Status::OK);
    });
  }

  void refuse(const CallError& error) {
    add_error_trailers(*context_, error);
    Finish(error.status());
  }

  FaceContext& face_;
  grpc::CallbackServerContext* context_;
  streams::AppendResp* response_;
  streams::AppendReq message_;
  runtime::AppendRequest request_;
  bool started_ = false;
  std::size_t bytes_ = 0;
};

class StreamsService final : public streams::Streams::CallbackService {
 public:
  explicit StreamsService(FaceContext& face) : face_(face) {}

  grpc::ServerWriteReactor<streams::ReadResp>* Read(grpc::CallbackServerContext* context,
                                                    const streams::ReadReq* request) override {
    if (auto refused = check_credentials(*context, face_.authenticator)) return refuse_read(*context, *refused);
    auto plan = plan_read(*request);
    if (auto* error = std::get_if<CallError>(&plan)) return refuse_read(*context, *error);
    return start_read(face_.reads, std::get<ReadPlan>(std::move(plan)));
  }

  grpc::ServerReadReactor<streams::AppendReq>* Append(grpc::CallbackServerContext* context,
                                                      streams::AppendResp* response) override {
    return new AppendCall(face_, context, response);
  }

  grpc::ServerBidiReactor<streams::BatchAppendReq, streams::BatchAppendResp>* BatchAppend(
      grpc::CallbackServerContext* context) override {
    return start_batch_append(face_, context);
  }

  grpc::ServerUnaryReactor* Delete(grpc::CallbackServerContext* context, const streams::DeleteReq*,
                                   streams::DeleteResp*) override {
    return unimplemented(context, "Delete");
  }

  grpc::ServerUnaryReactor* Tombstone(grpc::CallbackServerContext* context, const streams::TombstoneReq*,
                                      streams::TombstoneResp*) override {
    return unimplemented(context, "Tombstone");
  }

 private:
  static grpc::ServerWriteReactor<streams::ReadResp>* refuse_read(grpc::CallbackServerContext& context,
                                                                  const CallError& error) {
    add_error_trailers(context, error);
    return new RefusedRead(error.status());
  }

  static grpc::ServerUnaryReactor* unimplemented(grpc::CallbackServerContext* context, const char* method) {
    auto* reactor = context->DefaultReactor();
    reactor->Finish(grpc::Status(grpc::StatusCode::UNIMPLEMENTED,
                                 std::string(method) + " is not supported: sinkhost's embedded log keeps every event "
                                                       "(see docs/kurrentdb-clients.md)"));
    return reactor;
  }

  FaceContext& face_;
};

}  // namespace

CallError append_refused(const connector::Error& error, const std::string& stream) {
  if (error.code == connector::ErrorCode::failed_precondition) {
    return {grpc::StatusCode::FAILED_PRECONDITION, error.message};
  }
  spdlog::error("gRPC append to '{}': {}", stream, error.message);
  return {grpc::StatusCode::UNAVAILABLE, error.message};
}

connector::Result<runtime::AppendResult> append_to_log(FaceContext& face, runtime::EventLogReader* reader,
                                                       runtime::AppendRequest request) {
  if (!request.events.empty()) return face.log.append(std::move(request));
  // No events: the expected version is checked, nothing is written (as KurrentDB does).
  if (reader == nullptr)
    return connector::make_error(connector::ErrorCode::unavailable, "the event log cannot be read");
  auto last = reader->last_revision(request.stream);
  if (!last.ok()) return last.error();
  return check_empty_append(request.expected_version, last.value());
}

std::unique_ptr<grpc::Service> make_streams_service(FaceContext& face) {
  return std::make_unique<StreamsService>(face);
}

}  // namespace sinkhost::management_api::grpc_face
