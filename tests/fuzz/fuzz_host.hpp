#pragma once
// What the fuzz targets run against: a management API wired to a real event log, state store,
// data protection token and the plugins of the build tree, in a temp data directory. Not opened
// per input (opening SQLite per input would leave few executions per second), but renewed every
// kInputsPerHost inputs: connectors and events that inputs create pile up otherwise, and every
// list, read and metrics request gets slower (a long run fell from ~1,000 to ~200 executions
// per second). Removed at exit.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "sinkhost/management_api/api.hpp"
#include "sinkhost/management_api/http.hpp"

namespace sinkhost::fuzz {

class FuzzHost {
 public:
  static FuzzHost& instance();

  management_api::Api& api();
  // Api::handle, except that connectors are never started: a running connector is a thread
  // (and for kafka-sink librdkafka's threads dialling a broker that is not there), and inputs
  // would pile them up. Starting is covered by the unit and e2e tests.
  management_api::HttpResponse handle(const management_api::HttpRequest& request);

  ~FuzzHost();

  static constexpr std::uint64_t kInputsPerHost = 5000;

 private:
  FuzzHost();
  void renew();  // a fresh data directory, log, store and service
  struct State;
  std::unique_ptr<State> state_;
  std::uint64_t handled_ = 0;
};

// The fuzzer's bytes as text.
inline std::string_view as_text(const std::uint8_t* data, std::size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

// Ends the run as a crash (libFuzzer keeps the input) when an invariant does not hold; prints
// what did not hold first.
[[noreturn]] void invariant_failed(std::string_view what, std::string_view detail);
inline void require(bool condition, std::string_view what, std::string_view detail = {}) {
  if (!condition) invariant_failed(what, detail);
}

// SINKHOST_FUZZ_PRINT=1 prints what a target's input produced (to see what a corpus file
// exercises).
void print_if_asked(std::string_view label, std::string_view text);

// True for a google.rpc.Status body: a JSON object with an integer code, a non-empty string
// message and a details array.
bool is_status_body(std::string_view body);

}  // namespace sinkhost::fuzz
