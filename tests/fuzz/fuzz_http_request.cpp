// Fuzz target: raw bytes as what one client connection sends, through the server's parser,
// limits and conversions (serve_bytes) and Api::handle's routing, with a real event log behind.
// Invariants: every answer is well-formed HTTP/1.x; an error answer is a google.rpc.Status
// body; no answer is a 500 (an exception in a route); every JSON answer is valid JSON (so
// valid UTF-8).
#include <cstddef>
#include <cstdint>
#include <vector>

#include <boost/asio/buffer.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>
#include <nlohmann/json.hpp>

#include "fuzz_host.hpp"
#include "sinkhost/management_api/wire.hpp"

namespace http = boost::beast::http;
using namespace sinkhost;

namespace {

// Small limits so inputs of a few kilobytes reach the 413 and 431 paths.
constexpr management_api::WireLimits kLimits{.body_limit = 2048, .header_limit = 1024};

// `heads[i]`: the i-th request the API handled was a HEAD, whose answer has headers only (a
// Content-Length, no body). A last answer past them is the wire's refusal of a malformed request.
void check_responses(std::string_view written, const std::vector<bool>& heads) {
  for (std::size_t i = 0; !written.empty(); ++i) {
    const bool head = i < heads.size() && heads[i];
    http::response_parser<http::string_body> parser;
    parser.skip(head);
    parser.eager(true);
    parser.body_limit(64 * 1024 * 1024);
    boost::beast::error_code ec;
    const auto used = parser.put(boost::asio::buffer(written.data(), written.size()), ec);
    fuzz::require(!ec && parser.is_done(), "the server's answer is one complete HTTP response", written);
    written.remove_prefix(used);
    const auto& response = parser.get();
    const auto status = response.result_int();
    fuzz::require(status >= 200 && status < 600, "the status is 2xx to 5xx", response.body());
    // Api::handle turns an exception into a 500: with a healthy disk, that is always a bug.
    fuzz::require(status != 500, "no request makes an internal error", response.body());
    if (head) continue;
    if (response[http::field::content_type] == "application/json") {
      fuzz::require(nlohmann::json::accept(response.body()), "a JSON answer is valid JSON", response.body());
    }
    if (status >= 400)
      fuzz::require(fuzz::is_status_body(response.body()), "an error is a google.rpc.Status", response.body());
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  auto& host = fuzz::FuzzHost::instance();
  std::vector<bool> heads;
  const auto written = management_api::serve_bytes(
      fuzz::as_text(data, size),
      [&host, &heads](const management_api::HttpRequest& r) {
        heads.push_back(r.method == "HEAD");
        return host.handle(r);
      },
      kLimits);
  fuzz::print_if_asked("answer", written);
  check_responses(written, heads);
  return 0;
}
