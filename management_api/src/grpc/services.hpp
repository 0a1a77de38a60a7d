#pragma once
// The gRPC services of the KurrentDB client protocol, over what they share. Internal to
// management_api; GrpcServer (grpc_server.cpp) builds and serves them.

#include <memory>
#include <string>

#include <grpcpp/grpcpp.h>
#include <grpcpp/impl/service_type.h>

#include "grpc/conversions.hpp"
#include "grpc/read_call.hpp"
#include "grpc/read_workers.hpp"

namespace sinkhost::management_api {
class Authenticator;
}

namespace sinkhost::management_api::grpc_face {

struct FaceContext {
  FaceContext(runtime::EventLog& event_log, std::size_t read_threads, std::size_t append_threads)
      : log(event_log), reads(event_log, read_threads), appends(event_log, append_threads, /*with_readers=*/true) {}

  runtime::EventLog& log;
  Authenticator* authenticator = nullptr;
  AppendLimits limits;
  std::string version;          // X.Y.Z
  std::string advertised_host;  // what Gossip names as the leader's address
  std::uint16_t port = 0;
  ReadContext reads;
  WorkerThreads appends;  // appends wait for the log's group commit here (an append of no events reads)
};

std::unique_ptr<grpc::Service> make_streams_service(FaceContext& face);
std::unique_ptr<grpc::Service> make_server_features_service(FaceContext& face);
std::unique_ptr<grpc::Service> make_gossip_service(FaceContext& face);

// Appends to the log on an append thread (`reader` is that thread's); an append of no events only
// checks the expected version.
connector::Result<runtime::AppendResult> append_to_log(FaceContext& face, runtime::EventLogReader* reader,
                                                       runtime::AppendRequest request);

// What a client is told when the log refuses an append: FAILED_PRECONDITION with the log's
// message when it refuses the request (event ids reused with other events), UNAVAILABLE (and an
// error in the log) when the log cannot write.
CallError append_refused(const connector::Error& error, const std::string& stream);

// Streams.BatchAppend (batch_append_call.cpp).
grpc::ServerBidiReactor<streams::BatchAppendReq, streams::BatchAppendResp>* start_batch_append(
    FaceContext& face, grpc::CallbackServerContext* context);
}  // namespace sinkhost::management_api::grpc_face
