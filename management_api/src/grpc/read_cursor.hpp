#pragma once
// The reading half of Streams.Read, without gRPC's calls: where a read starts (start, end, a
// revision or a position; inclusive for reads, exclusive for subscriptions), and its next chunk
// of messages from the log. Internal to management_api; unit-tested and fuzzed on its own.

#include <cstdint>
#include <vector>

#include <grpcpp/support/status.h>

#include "grpc/conversions.hpp"

namespace sinkhost::management_api::grpc_face {

struct ReadChunk {
  std::vector<streams::ReadResp> messages;
  bool end = false;   // nothing more will come: finish with `status`
  bool wait = false;  // a subscription at the head with nothing to send: wait for the head to move
  grpc::Status status;
};

class ReadCursor {
 public:
  static constexpr std::size_t kChunkEvents = 128;         // events of one read of the log
  static constexpr std::size_t kChunkBytes = 1024 * 1024;  // ... or this much data, whichever first
  static constexpr std::size_t kScanBudget = 4096;         // events a filtered read looks at per chunk

  explicit ReadCursor(ReadPlan plan) : plan_(std::move(plan)), remaining_(plan_.count) {}

  // The next chunk; `seen_head` is the log's head read before this call.
  ReadChunk next(runtime::EventLogReader& reader, std::uint64_t seen_head);

 private:
  bool position(runtime::EventLogReader& reader, std::uint64_t seen_head, ReadChunk& chunk);
  bool fail(ReadChunk& chunk, const std::string& message);
  void finish_or_wait(ReadChunk& chunk, bool at_end);
  void add_event(ReadChunk& chunk, const EventView& event, std::size_t& bytes);
  void add_checkpoint(ReadChunk& chunk, std::uint64_t position);
  std::size_t chunk_limit() const;
  void read_stream_chunk(runtime::EventLogReader& reader, ReadChunk& chunk);
  void scan_all_chunk(runtime::EventLogReader& reader, ReadChunk& chunk);
  void read_all_backward_chunk(runtime::EventLogReader& reader, ReadChunk& chunk);

  const ReadPlan plan_;
  bool positioned_ = false;
  bool exhausted_ = false;   // nothing before the cursor (backwards) or after it (forwards)
  std::uint64_t next_ = 0;   // the next revision or position to read
  std::uint64_t remaining_;  // events still to send (the read's count)
  std::uint64_t last_scanned_ = 0;
  std::uint64_t scanned_since_checkpoint_ = 0;
  bool caught_up_sent_ = false;
};

}  // namespace sinkhost::management_api::grpc_face
