#include "grpc/call_auth.hpp"

#include "sinkhost/management_api/auth.hpp"

namespace sinkhost::management_api::grpc_face {

std::optional<CallError> check_credentials(const grpc::CallbackServerContext& context, Authenticator* authenticator) {
  if (authenticator == nullptr) return std::nullopt;
  HttpRequest request;
  const auto& metadata = context.client_metadata();
  auto found = metadata.find("authorization");
  if (found != metadata.end())
    request.headers.emplace("authorization", std::string(found->second.data(), found->second.size()));
  if (!authenticator->check(request)) return std::nullopt;
  return CallError{grpc::StatusCode::UNAUTHENTICATED,
                   found == metadata.end()
                       ? "credentials are required: connect with username:password@ in the connection string"
                       : "the user name or password is not valid"};
}

void add_error_trailers(grpc::CallbackServerContext& context, const CallError& error) {
  for (const auto& [name, value] : error.trailers) context.AddTrailingMetadata(name, value);
}

}  // namespace sinkhost::management_api::grpc_face
