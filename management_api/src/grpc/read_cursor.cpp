#include "grpc/read_cursor.hpp"

#include <algorithm>

#include <google/protobuf/util/time_util.h>

namespace sinkhost::management_api::grpc_face {
namespace {

void set_now(google::protobuf::Timestamp* out) { *out = google::protobuf::util::TimeUtil::GetCurrentTime(); }

}  // namespace

ReadChunk ReadCursor::next(runtime::EventLogReader& reader, std::uint64_t seen_head) {
  ReadChunk chunk;
  if (!positioned_) {
    if (!position(reader, seen_head, chunk)) return chunk;
    positioned_ = true;
  }
  if (exhausted_ || remaining_ == 0) {
    finish_or_wait(chunk, /*at_end=*/true);
  } else if (plan_.stream) {
    read_stream_chunk(reader, chunk);
  } else if (plan_.forward) {
    scan_all_chunk(reader, chunk);
  } else {
    read_all_backward_chunk(reader, chunk);
  }
  return chunk;
}

// Resolves start / end / a revision or position into the first one to read. False when the
// read ends here (a stream that does not exist, a read error).
bool ReadCursor::position(runtime::EventLogReader& reader, std::uint64_t seen_head, ReadChunk& chunk) {
  const bool sub = plan_.subscription;
  if (plan_.stream) {
    auto last = reader.last_revision(*plan_.stream);
    if (!last.ok()) return fail(chunk, last.error().message);
    if (!sub && !last.value()) {
      streams::ReadResp not_found;
      not_found.mutable_stream_not_found()->mutable_stream_identifier()->set_stream_name(*plan_.stream);
      chunk.messages.push_back(std::move(not_found));
      chunk.end = true;
      return false;
    }
    const std::uint64_t after_last = last.value() ? *last.value() + 1 : 0;
    if (plan_.forward) {
      switch (plan_.from) {
        case ReadPlan::From::start: next_ = 0; break;
        case ReadPlan::From::end: next_ = after_last; break;
        case ReadPlan::From::at:
          next_ = sub ? plan_.at + 1 : plan_.at;
          exhausted_ = sub && plan_.at == UINT64_MAX;
          break;
      }
    } else {
      switch (plan_.from) {
        case ReadPlan::From::start: next_ = 0; break;
        case ReadPlan::From::end: next_ = after_last - 1; break;
        case ReadPlan::From::at: next_ = std::min(plan_.at, after_last - 1); break;
      }
    }
    return true;
  }
  if (plan_.forward) {
    switch (plan_.from) {
      case ReadPlan::From::start: next_ = 1; break;
      case ReadPlan::From::end: next_ = seen_head + 1; break;
      case ReadPlan::From::at:
        next_ = sub ? plan_.at + 1 : std::max<std::uint64_t>(plan_.at, 1);
        exhausted_ = sub && plan_.at == UINT64_MAX;
        break;
    }
  } else {
    switch (plan_.from) {
      case ReadPlan::From::start: exhausted_ = true; break;
      case ReadPlan::From::end: next_ = seen_head; break;
      case ReadPlan::From::at: next_ = std::min(plan_.at - (plan_.at > 0 ? 1 : 0), seen_head); break;
    }
    if (next_ == 0) exhausted_ = true;
  }
  return true;
}

bool ReadCursor::fail(ReadChunk& chunk, const std::string& message) {
  chunk.end = true;
  chunk.status = grpc::Status(grpc::StatusCode::UNAVAILABLE, message);
  return false;
}

// The end of what there is: a bounded read finishes, a subscription says it caught up (once)
// and waits when it has nothing else to send.
void ReadCursor::finish_or_wait(ReadChunk& chunk, bool at_end) {
  if (!at_end) return;
  if (!plan_.subscription) {
    chunk.end = true;
    return;
  }
  if (!caught_up_sent_) {
    caught_up_sent_ = true;
    if (plan_.filter && last_scanned_ > 0) add_checkpoint(chunk, last_scanned_);
    streams::ReadResp caught_up;
    set_now(caught_up.mutable_caught_up()->mutable_timestamp());
    if (plan_.stream) {
      if (next_ > 0) caught_up.mutable_caught_up()->set_stream_revision(static_cast<std::int64_t>(next_ - 1));
    } else if (next_ > 1) {
      caught_up.mutable_caught_up()->mutable_position()->set_commit_position(next_ - 1);
      caught_up.mutable_caught_up()->mutable_position()->set_prepare_position(next_ - 1);
    }
    chunk.messages.push_back(std::move(caught_up));
  }
  chunk.wait = chunk.messages.empty();
}

void ReadCursor::add_event(ReadChunk& chunk, const EventView& event, std::size_t& bytes) {
  streams::ReadResp message;
  fill_read_event(event, plan_.structured_uuids, &message);
  bytes += event.data.size() + event.metadata.size();
  chunk.messages.push_back(std::move(message));
  if (remaining_ != UINT64_MAX) --remaining_;
}

void ReadCursor::add_checkpoint(ReadChunk& chunk, std::uint64_t position) {
  streams::ReadResp checkpoint;
  checkpoint.mutable_checkpoint()->set_commit_position(position);
  checkpoint.mutable_checkpoint()->set_prepare_position(position);
  set_now(checkpoint.mutable_checkpoint()->mutable_timestamp());
  chunk.messages.push_back(std::move(checkpoint));
  scanned_since_checkpoint_ = 0;
}

std::size_t ReadCursor::chunk_limit() const {
  return static_cast<std::size_t>(std::min<std::uint64_t>(remaining_, kChunkEvents));
}

void ReadCursor::read_stream_chunk(runtime::EventLogReader& reader, ReadChunk& chunk) {
  const std::size_t limit = std::min<std::size_t>(chunk_limit(), 32);
  auto events = reader.read_stream(*plan_.stream, next_, limit,
                                   plan_.forward ? runtime::Direction::forward : runtime::Direction::backward);
  if (!events.ok()) {
    fail(chunk, events.error().message);
    return;
  }
  std::size_t bytes = 0;
  for (const auto& event : events.value()) add_event(chunk, view_of(event), bytes);
  if (!events.value().empty()) {
    const auto last = events.value().back().revision;
    if (plan_.forward) {
      next_ = last + 1;
    } else if (last == 0) {
      exhausted_ = true;
    } else {
      next_ = last - 1;
    }
  }
  const bool at_end = events.value().size() < limit || exhausted_ || remaining_ == 0;
  finish_or_wait(chunk, at_end);
}

// $all forwards: one scan, stopping at the chunk's limits; filtered events are looked at
// (stream and type only) and skipped, with a checkpoint every checkpoint_interval of them.
void ReadCursor::scan_all_chunk(runtime::EventLogReader& reader, ReadChunk& chunk) {
  const std::size_t limit = chunk_limit();
  std::size_t taken = 0;
  std::size_t bytes = 0;
  std::size_t visited = 0;
  bool stopped = false;
  auto scanned =
      reader.scan(runtime::LogPosition(next_), plan_.filter ? kScanBudget : limit, [&](const runtime::EventRow& row) {
        ++visited;
        last_scanned_ = row.position().value();
        if (!plan_.filter || plan_.filter->matches(row.stream(), row.event_type())) {
          add_event(chunk, view_of(row), bytes);
          ++taken;
        }
        if (plan_.filter && plan_.subscription && ++scanned_since_checkpoint_ >= plan_.filter->checkpoint_interval()) {
          add_checkpoint(chunk, last_scanned_);
        }
        stopped = taken >= limit || bytes >= kChunkBytes;
        return !stopped;
      });
  if (!scanned.ok()) {
    fail(chunk, scanned.error().message);
    return;
  }
  if (scanned.value().value() != 0) next_ = scanned.value().value() + 1;
  const std::size_t asked = plan_.filter ? kScanBudget : limit;
  const bool at_end = (!stopped && visited < asked) || remaining_ == 0;
  finish_or_wait(chunk, at_end);
}

void ReadCursor::read_all_backward_chunk(runtime::EventLogReader& reader, ReadChunk& chunk) {
  const std::size_t limit = chunk_limit();
  auto events = reader.read_all(runtime::LogPosition(next_), limit, runtime::Direction::backward);
  if (!events.ok()) {
    fail(chunk, events.error().message);
    return;
  }
  std::size_t bytes = 0;
  for (const auto& event : events.value()) {
    if (remaining_ == 0) break;
    if (!plan_.filter || plan_.filter->matches(event.stream, event.event_type)) add_event(chunk, view_of(event), bytes);
  }
  if (!events.value().empty()) next_ = events.value().back().position.value() - 1;
  if (events.value().empty() || next_ == 0) exhausted_ = true;
  finish_or_wait(chunk, exhausted_ || remaining_ == 0);
}

}  // namespace sinkhost::management_api::grpc_face
