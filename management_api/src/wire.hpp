#pragma once
// The Beast side of the request path, shared by the server (server.cpp) and serve_bytes
// (wire.cpp) so that what is fuzzed is what serves. Internal to management_api.

#include <functional>

#include <boost/beast/core/error.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>

#include "sinkhost/management_api/http.hpp"
#include "sinkhost/management_api/wire.hpp"

namespace sinkhost::management_api::wire {

namespace http = boost::beast::http;
using Parser = http::request_parser<http::string_body>;

void apply_limits(Parser& parser, const WireLimits& limits);
HttpRequest to_request(http::request<http::string_body>&& in);
// The answer to a HEAD request (head_request) has the headers of the GET, Content-Length included,
// and no body: a body there would be read as the start of the next answer on the connection.
http::response<http::string_body> to_beast(HttpResponse&& in, unsigned version, bool keep_alive,
                                           bool head_request = false);
// The answer to a request the parser refused (413, 431 or 400).
HttpResponse parse_failure(const boost::beast::error_code& ec);
// Runs the handler; an exception becomes a 500 (logged), never an unanswered request.
HttpResponse call_handler(const std::function<HttpResponse(const HttpRequest&)>& handler,
                          const HttpRequest& request) noexcept;

}  // namespace sinkhost::management_api::wire
