#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "sinkhost/connector/result.hpp"

namespace sinkhost::runtime {
class EventLog;
}

namespace sinkhost::management_api {

class Authenticator;

// The KurrentDB client protocol (gRPC) on the embedded log: what the official KurrentDB and
// EventStoreDB clients call to append, read and subscribe (docs/kurrentdb-clients.md). gRPC and
// protobuf stay inside src/grpc: this header is cheap to include.
class GrpcServer {
 public:
  struct Options {
    std::string host = "127.0.0.1";
    std::uint16_t port = 2114;  // 0: any free port (see port())
    // TLS only when both are set (PEM files, as for the HTTP API).
    std::string tls_cert_file;
    std::string tls_key_file;
    // HTTP Basic credentials of these users on every call but ServerFeatures and Gossip; null:
    // no access control.
    std::shared_ptr<Authenticator> authenticator;
    std::size_t max_message_bytes = 16 * 1024 * 1024;  // one gRPC message; larger: RESOURCE_EXHAUSTED
    std::size_t max_append_bytes = 16 * 1024 * 1024;   // data + metadata of one append
    std::size_t max_event_bytes = 1024 * 1024;         // data + metadata of one event
    std::size_t max_append_events = 10000;             // events in one append
    std::string version = "0.0.0";                     // the answer of GetSupportedMethods: X.Y.Z
  };

  GrpcServer(runtime::EventLog& log, Options options);
  ~GrpcServer();
  GrpcServer(const GrpcServer&) = delete;
  GrpcServer& operator=(const GrpcServer&) = delete;

  // Loads the TLS files (when set), binds and starts serving on gRPC's own threads; fails with a
  // clear message when a file cannot be used or the address is taken.
  connector::Result<void> start();
  bool tls() const;
  std::uint16_t port() const;

  // Ends every call (subscriptions get UNAVAILABLE) and stops serving. Idempotent.
  void stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace sinkhost::management_api
