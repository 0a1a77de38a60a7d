#include "wire.hpp"

#include <cctype>
#include <exception>
#include <sstream>

#include <boost/asio/buffer.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/write.hpp>
#include <spdlog/spdlog.h>

namespace sinkhost::management_api {

namespace wire {

using connector::ErrorCode;
using connector::make_error;

void apply_limits(Parser& parser, const WireLimits& limits) {
  parser.body_limit(limits.body_limit);
  parser.header_limit(static_cast<std::uint32_t>(limits.header_limit));
}

HttpRequest to_request(http::request<http::string_body>&& in) {
  HttpRequest out;
  out.method = std::string(in.method_string());
  out.target = std::string(in.target());
  for (const auto& field : in) {
    std::string name(field.name_string());
    for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    out.headers[name] = std::string(field.value());
  }
  out.body = std::move(in.body());
  return out;
}

http::response<http::string_body> to_beast(HttpResponse&& in, unsigned version, bool keep_alive, bool head_request) {
  http::response<http::string_body> out{static_cast<http::status>(in.status), version};
  out.set(http::field::server, "sinkhost");
  out.set(http::field::content_type, in.content_type);
  for (auto& [name, value] : in.headers) out.set(name, value);
  out.body() = std::move(in.body);
  out.keep_alive(keep_alive);
  out.prepare_payload();
  if (head_request) {
    const auto length = out.body().size();
    out.body().clear();
    out.content_length(length);
  }
  return out;
}

HttpResponse parse_failure(const boost::beast::error_code& ec) {
  if (ec == http::error::body_limit) {
    auto r = error_response(make_error(ErrorCode::resource_exhausted, "the request body is larger than the limit"));
    r.status = 413;
    return r;
  }
  if (ec == http::error::header_limit) {
    auto r = error_response(make_error(ErrorCode::resource_exhausted, "the request headers are larger than the limit"));
    r.status = 431;
    return r;
  }
  return error_response(make_error(ErrorCode::invalid_argument, "malformed HTTP request: " + ec.message()));
}

HttpResponse call_handler(const std::function<HttpResponse(const HttpRequest&)>& handler,
                          const HttpRequest& request) noexcept {
  try {
    return handler(request);
  } catch (const std::exception& e) {
    spdlog::error("{} failed: {}", request.method, e.what());
  } catch (...) {
    spdlog::error("{} failed with an unknown exception", request.method);
  }
  return error_response(make_error(ErrorCode::internal, "internal error; see the sinkhost log"));
}

}  // namespace wire

namespace {

namespace http = boost::beast::http;

std::string serialize(http::response<http::string_body>&& response) {
  std::ostringstream out;
  out << response;
  return std::move(out).str();
}

}  // namespace

std::string serve_bytes(std::string_view bytes, const std::function<HttpResponse(const HttpRequest&)>& handler,
                        const WireLimits& limits) {
  std::string written;
  std::string_view rest = bytes;
  // One request per turn, as the server's session loop reads them.
  while (!rest.empty()) {
    wire::Parser parser;
    wire::apply_limits(parser, limits);
    parser.eager(true);
    boost::beast::error_code ec;
    while (!parser.is_done()) {
      if (rest.empty()) {
        // The client closed mid-request: the server's read fails the same way.
        parser.put_eof(ec);
        if (!ec) continue;
        break;
      }
      const auto used = parser.put(boost::asio::buffer(rest.data(), rest.size()), ec);
      rest.remove_prefix(used);
      if (ec == http::error::need_more) {
        ec = {};
        if (used == 0) rest = {};  // the header is incomplete: nothing more arrives
        continue;
      }
      if (ec) break;
    }
    if (ec) {
      if (ec == http::error::end_of_stream) break;
      written += serialize(wire::to_beast(wire::parse_failure(ec), 11, false));
      break;
    }
    auto request = parser.release();
    const bool keep_alive = request.keep_alive();
    const unsigned version = request.version();
    const bool head = request.method() == http::verb::head;
    auto response = wire::call_handler(handler, wire::to_request(std::move(request)));
    written += serialize(wire::to_beast(std::move(response), version, keep_alive, head));
    if (!keep_alive) break;
  }
  return written;
}

}  // namespace sinkhost::management_api
