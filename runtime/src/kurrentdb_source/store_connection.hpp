#pragma once

#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include <grpcpp/channel.h>
#include <grpcpp/client_context.h>
#include <grpcpp/security/credentials.h>
#include <grpcpp/support/status.h>

#include "sinkhost/connector/result.hpp"
#include "sinkhost/runtime/kurrentdb_source/connection_string.hpp"

namespace sinkhost::runtime {

// How to reach a KurrentDB store: the channel to the node to talk to (found through gossip for a
// cluster connection string), the credentials every call carries, and what a call's failure means.
// Thread-safe: the subscriptions of every connector and the head poller share it.
class StoreConnection {
 public:
  // Reads the certificate files the connection string names.
  static connector::Result<std::shared_ptr<StoreConnection>> create(KurrentDbConnection settings);

  // The channel to use now; discovers the node first when needed (blocking, at most the
  // connection string's discovery attempts).
  connector::Result<std::shared_ptr<grpc::Channel>> channel();
  // Call after a call failed with `status`: a node that said it is not the leader is replaced by
  // the leader it named; in discovery mode any failure means "discover again".
  void failed(const grpc::Status& status, const grpc::ClientContext& context);

  // Adds the credentials and the node preference to a call.
  void prepare(grpc::ClientContext& context) const;

  // A call's failure as an error that names the store; `permanent` is set when retrying cannot
  // help (credentials refused, certificate not trusted, the server does not speak the protocol).
  connector::Error describe_failure(const grpc::Status& status, const std::string& doing, bool& permanent) const;

  const KurrentDbConnection& settings() const { return settings_; }
  std::string describe() const { return settings_.describe(); }

 private:
  explicit StoreConnection(KurrentDbConnection settings) : settings_(std::move(settings)) {}
  std::shared_ptr<grpc::Channel> open_channel(const KurrentDbConnection::Endpoint& endpoint) const;
  connector::Result<KurrentDbConnection::Endpoint> discover();

  KurrentDbConnection settings_;
  std::shared_ptr<grpc::ChannelCredentials> credentials_;
  std::string authorization_;  // "Basic ..." or empty

  mutable std::mutex mutex_;
  std::optional<KurrentDbConnection::Endpoint> endpoint_;  // the node talked to; unset: discover
  std::shared_ptr<grpc::Channel> channel_;
};

}  // namespace sinkhost::runtime
