#pragma once
// Streams.Read: bounded reads of a stream or $all in either direction, and subscriptions
// (catch-up, then live) with their confirmation, caught-up and checkpoint messages. Internal to
// management_api.

#include <cstddef>
#include <memory>
#include <mutex>
#include <map>

#include <grpcpp/grpcpp.h>

#include "grpc/conversions.hpp"
#include "grpc/read_cursor.hpp"
#include "grpc/read_workers.hpp"

namespace sinkhost::management_api::grpc_face {

class ReadState;

// What every read of one server shares.
class ReadContext {
 public:
  ReadContext(runtime::EventLog& log, std::size_t worker_threads);
  ~ReadContext();

  runtime::EventLog& log;
  WorkerThreads workers;
  LiveWaiters waiters;

  // Subscriptions end with UNAVAILABLE ("the server is shutting down"); bounded reads finish.
  void shut_down();

  // The reads being served (start_read adds, a read removes itself when gRPC is done with it).
  void add(const std::shared_ptr<ReadState>& read);
  void remove(ReadState* read);

 private:
  std::mutex mutex_;
  std::map<ReadState*, std::shared_ptr<ReadState>> active_;
  bool shut_down_ = false;
};

// The reactor of one Read call (deletes itself when gRPC is done with it).
grpc::ServerWriteReactor<streams::ReadResp>* start_read(ReadContext& context, ReadPlan plan);

}  // namespace sinkhost::management_api::grpc_face
