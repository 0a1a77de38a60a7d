// Fuzz target: the gRPC face's request handling (management_api/src/grpc) without the transport:
// Append (the options message, then proposed events, appended to a real log) and Read (the plan,
// then the read cursor run to its end over a real log). Input layout:
//   byte 0: even = an append, odd = a read
//   then messages, each a 2-byte little-endian length and that many bytes of protobuf
// Invariants: every refusal is a known status with a message; accepted events are within the
// limits, have a canonical UUID, a type and JSON data when they say JSON; a read never sends
// more events than its count, sends a forwards read's events in ascending position order, and
// ends or waits within a bounded number of chunks.
#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

#include <nlohmann/json.hpp>

#include "fuzz_host.hpp"
#include "grpc/conversions.hpp"
#include "grpc/read_cursor.hpp"
#include "grpc/services.hpp"

using namespace sinkhost;
using namespace sinkhost::management_api::grpc_face;

namespace {

const AppendLimits kLimits{.max_event_bytes = 512, .max_append_bytes = 2048, .max_append_events = 8};
constexpr std::uint64_t kMaxLogEvents = 20000;  // appends stop here, so the log stays small

// A log with a few streams and types, made once per process.
struct FuzzLog {
  FuzzLog() {
    char pattern[] = "/tmp/sinkhost-fuzz-grpc-XXXXXX";
    dir = mkdtemp(pattern);
    log = std::move(runtime::EventLog::open(dir + "/events.db")).value();
    reader = std::move(log->open_reader()).value();
    int n = 0;
    for (const char* stream : {"order-1", "order-2", "cart-1", "$system", "order-1"}) {
      runtime::AppendRequest request{.stream = stream};
      for (int i = 0; i < 20; ++i) {
        char id[40];
        std::snprintf(id, sizeof id, "00000000-0000-4000-8000-%012d", ++n);
        request.events.push_back(
            {.event_id = id, .event_type = i % 2 ? "Paid" : "Placed", .data = "{}", .metadata = "{}"});
      }
      (void)log->append(std::move(request));
    }
  }
  ~FuzzLog() {
    reader.reset();
    log.reset();
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
  std::string dir;
  std::unique_ptr<runtime::EventLog> log;
  std::unique_ptr<runtime::EventLogReader> reader;
};

FuzzLog& fuzz_log() {
  static FuzzLog instance;
  return instance;
}

std::vector<std::string_view> split_messages(const std::uint8_t* data, std::size_t size) {
  std::vector<std::string_view> out;
  while (size >= 2 && out.size() < 16) {
    std::size_t length = data[0] | (static_cast<std::size_t>(data[1]) << 8);
    data += 2;
    size -= 2;
    length = std::min(length, size);
    out.emplace_back(reinterpret_cast<const char*>(data), length);
    data += length;
    size -= length;
  }
  return out;
}

void check_refusal(const CallError& error) {
  fuzz::print_if_asked("refused", error.message);
  fuzz::require(!error.message.empty(), "a refusal says why");
  fuzz::require(error.code == grpc::StatusCode::INVALID_ARGUMENT || error.code == grpc::StatusCode::PERMISSION_DENIED ||
                    error.code == grpc::StatusCode::RESOURCE_EXHAUSTED,
                "a refusal is INVALID_ARGUMENT, PERMISSION_DENIED or RESOURCE_EXHAUSTED", error.message);
}

void run_append(const std::vector<std::string_view>& messages) {
  if (messages.empty()) return;
  streams::AppendReq first;
  if (!first.ParseFromArray(messages[0].data(), static_cast<int>(messages[0].size()))) return;
  auto options = append_options_of(first);
  if (auto* error = std::get_if<CallError>(&options)) return check_refusal(*error);
  auto request = std::get<runtime::AppendRequest>(std::move(options));
  fuzz::require(!request.stream.empty() && request.stream.front() != '$', "an accepted append names a user stream");
  std::size_t bytes = 0;
  for (std::size_t i = 1; i < messages.size(); ++i) {
    streams::AppendReq message;
    if (!message.ParseFromArray(messages[i].data(), static_cast<int>(messages[i].size()))) return;
    if (!message.has_proposed_message()) return;
    auto event = new_event_of(*message.mutable_proposed_message(), kLimits);
    if (auto* error = std::get_if<CallError>(&event)) return check_refusal(*error);
    auto& e = std::get<runtime::NewEvent>(event);
    fuzz::require(e.event_id.size() == 36, "an event id is a canonical UUID", e.event_id);
    fuzz::require(!e.event_type.empty(), "an event has a type");
    fuzz::require(e.data.size() + e.metadata.size() <= kLimits.max_event_bytes, "an event is within the limit");
    if (e.is_json && !e.data.empty()) fuzz::require(nlohmann::json::accept(e.data), "JSON data is JSON", e.data);
    bytes += e.data.size() + e.metadata.size();
    request.events.push_back(std::move(e));
    if (request.events.size() > kLimits.max_append_events || bytes > kLimits.max_append_bytes) return;
  }
  auto& log = fuzz_log();
  if (log.log->head().value() >= kMaxLogEvents) return;
  const auto expected = request.expected_version;
  const auto count = request.events.size();
  auto result = count > 0 ? log.log->append(std::move(request)) : [&]() -> connector::Result<runtime::AppendResult> {
    auto last = log.reader->last_revision(request.stream);
    if (!last.ok()) return last.error();
    return check_empty_append(expected, last.value());
  }();
  if (!result.ok()) {
    // The log refuses event ids reused with other events; the face answers FAILED_PRECONDITION.
    auto refusal = append_refused(result.error(), "fuzz");
    fuzz::require(refusal.code == grpc::StatusCode::FAILED_PRECONDITION, "the log takes an accepted append",
                  result.error().message);
    return;
  }
  streams::AppendResp response;
  fill_append_response(expected, count, result.value(), &response);
  fuzz::require(response.has_success() || response.has_wrong_expected_version(), "an append answers success or WEV");
  if (response.has_success() && count > 0) {
    fuzz::require(response.success().position().commit_position() > 0, "a success carries the position");
  }
}

void run_read(std::string_view bytes) {
  streams::ReadReq request;
  if (!request.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) return;
  auto plan = plan_read(request);
  if (auto* error = std::get_if<CallError>(&plan)) return check_refusal(*error);
  const auto read_plan = std::get<ReadPlan>(plan);
  auto& log = fuzz_log();
  ReadCursor cursor(read_plan);
  std::uint64_t events = 0;
  std::uint64_t last_position = 0;
  for (int chunks = 0;; ++chunks) {
    fuzz::require(chunks < 1000, "a read ends or waits within a bounded number of chunks");
    auto chunk = cursor.next(*log.reader, log.log->head().value());
    for (const auto& message : chunk.messages) {
      fuzz::require(message.content_case() != streams::ReadResp::CONTENT_NOT_SET, "every message has content");
      if (!message.has_event()) continue;
      ++events;
      const auto position = message.event().event().commit_position();
      if (read_plan.forward) fuzz::require(position > last_position, "forwards reads ascend");
      last_position = position;
      const auto& metadata = message.event().event().metadata();
      fuzz::require(metadata.count("type") && metadata.count("content-type") && metadata.count("created"),
                    "every event carries type, content-type and created");
    }
    fuzz::require(events <= read_plan.count, "a read sends at most its count");
    if (chunk.end || chunk.wait) break;
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  auto messages = split_messages(data + 1, size - 1);
  if (data[0] % 2 == 0) {
    run_append(messages);
  } else if (!messages.empty()) {
    run_read(messages[0]);
  }
  return 0;
}
