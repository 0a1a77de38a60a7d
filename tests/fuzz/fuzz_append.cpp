// Fuzz target: the body parsers of POST /streams/{stream} (parse_append): the batch form and
// the single-event form, with their headers. Input layout:
//   STREAM NAME\n
//   Header-Name: value\n        (any number; an empty line ends them)
//   \n
//   BODY
// Invariants: a refusal is a google.rpc.Status with a 4xx status; an accepted append has at
// least one event, each with a UUID id, a non-empty UTF-8 type, JSON metadata, JSON data when
// it says JSON, and within the size limits.
#include <algorithm>
#include <cctype>
#include <cstddef>
#include <cstdint>

#include <nlohmann/json.hpp>

#include "fuzz_host.hpp"
#include "sinkhost/management_api/append.hpp"

using namespace sinkhost;

namespace {

// Small limits so short inputs reach the 413 paths.
const management_api::ApiOptions kOptions{.version = "fuzz", .max_event_bytes = 512, .max_batch_events = 8};

std::string_view next_line(std::string_view& text) {
  auto end = text.find('\n');
  auto line = text.substr(0, end);
  text.remove_prefix(end == std::string_view::npos ? text.size() : end + 1);
  return line;
}

bool uuid(const std::string& text) {
  return text.size() == 36 && std::all_of(text.begin(), text.end(), [](char c) {
           return c == '-' || std::isxdigit(static_cast<unsigned char>(c));
         });
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto text = fuzz::as_text(data, size);
  const std::string stream(next_line(text));
  management_api::HttpRequest request{.method = "POST", .target = "/streams/x", .headers = {}, .body = {}};
  for (auto line = next_line(text); !line.empty(); line = next_line(text)) {
    auto colon = line.find(':');
    std::string name(line.substr(0, colon));
    std::transform(name.begin(), name.end(), name.begin(),
                   [](char c) { return static_cast<char>(std::tolower(static_cast<unsigned char>(c))); });
    auto value = colon == std::string_view::npos ? std::string_view() : line.substr(colon + 1);
    while (!value.empty() && value.front() == ' ') value.remove_prefix(1);
    request.headers[name] = std::string(value);
  }
  request.body = std::string(text);

  auto parsed = management_api::parse_append(request, stream, kOptions);
  if (auto* error = std::get_if<management_api::HttpResponse>(&parsed)) {
    fuzz::print_if_asked("refused", error->body);
    fuzz::require(error->status >= 400 && error->status < 500, "a refused append is a 4xx", error->body);
    fuzz::require(fuzz::is_status_body(error->body), "a refusal is a google.rpc.Status", error->body);
    return 0;
  }
  const auto& append = std::get<runtime::AppendRequest>(parsed);
  fuzz::print_if_asked("accepted", std::to_string(append.events.size()) + " events");
  fuzz::require(append.stream == stream, "the append names the stream");
  fuzz::require(!append.events.empty() && append.events.size() <= kOptions.max_batch_events,
                "an accepted append has 1 to max_batch_events events");
  for (const auto& event : append.events) {
    fuzz::require(uuid(event.event_id), "an event id is a UUID", event.event_id);
    fuzz::require(!event.event_type.empty(), "an event type is not empty");
    fuzz::require(event.data.size() <= kOptions.max_event_bytes, "an event is within max_event_bytes", event.data);
    if (event.is_json) fuzz::require(nlohmann::json::accept(event.data), "JSON data is valid JSON", event.data);
    auto metadata = nlohmann::json::parse(event.metadata, nullptr, false);
    fuzz::require(metadata.is_object(), "metadata is a JSON object", event.metadata);
  }
  return 0;
}
