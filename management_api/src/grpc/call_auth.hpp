#pragma once
// Access control of gRPC calls: HTTP Basic credentials in the call's `authorization` metadata,
// checked against the users of the HTTP API. Internal to management_api.

#include <optional>

#include <grpcpp/grpcpp.h>

#include "grpc/conversions.hpp"

namespace sinkhost::management_api {
class Authenticator;
}

namespace sinkhost::management_api::grpc_face {

// nullopt when the call may go on: no access control, or valid credentials. Otherwise the
// UNAUTHENTICATED error to finish it with (nothing of the call has been read or changed).
std::optional<CallError> check_credentials(const grpc::CallbackServerContext& context, Authenticator* authenticator);

// Finishes a call with `error`, adding the `exception` trailer KurrentDB's clients map to their
// error types when the error has one.
void add_error_trailers(grpc::CallbackServerContext& context, const CallError& error);

}  // namespace sinkhost::management_api::grpc_face
