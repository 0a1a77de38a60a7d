#include "sinkhost/management_api/server.hpp"

#include <utility>  // before Asio, see docs/architecture.md

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <spdlog/spdlog.h>

namespace sinkhost::management_api {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::ip::tcp;
using connector::ErrorCode;
using connector::make_error;

namespace {

constexpr auto use_nothrow = asio::as_tuple(asio::use_awaitable);

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

http::response<http::string_body> to_beast(HttpResponse&& in, unsigned version, bool keep_alive) {
  http::response<http::string_body> out{static_cast<http::status>(in.status), version};
  out.set(http::field::server, "sinkhost");
  out.set(http::field::content_type, in.content_type);
  for (auto& [name, value] : in.headers) out.set(name, value);
  out.body() = std::move(in.body);
  out.keep_alive(keep_alive);
  out.prepare_payload();
  return out;
}

HttpResponse parse_failure(const beast::error_code& ec) {
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

}  // namespace

struct HttpServer::Impl {
  Impl(Handler h, Options o) : handler(std::move(h)), options(std::move(o)), handlers(options.handler_threads) {}

  asio::awaitable<void> accept_loop() {
    for (;;) {
      auto [ec, socket] = co_await acceptor.async_accept(use_nothrow);
      if (ec == asio::error::operation_aborted) co_return;
      if (ec) {
        // Out of file descriptors, say: log and keep accepting; the condition may pass.
        spdlog::warn("accept failed: {}", ec.message());
        continue;
      }
      asio::co_spawn(io, session(beast::tcp_stream(std::move(socket))), asio::detached);
    }
  }

  asio::awaitable<void> session(beast::tcp_stream stream) {
    beast::flat_buffer buffer;
    for (;;) {
      http::request_parser<http::string_body> parser;
      parser.body_limit(options.body_limit);
      parser.header_limit(static_cast<std::uint32_t>(options.header_limit));
      stream.expires_after(options.io_timeout);
      auto [read_ec, read_bytes] = co_await http::async_read(stream, buffer, parser, use_nothrow);
      if (read_ec) {
        bool peer_gone = read_ec == http::error::end_of_stream || read_ec == beast::error::timeout ||
                         read_ec == asio::error::connection_reset || read_ec == asio::error::eof;
        if (!peer_gone) {
          // Tell the client what was wrong with its request, then close: the stream is unusable.
          auto response = to_beast(parse_failure(read_ec), 11, false);
          stream.expires_after(options.io_timeout);
          co_await http::async_write(stream, response, use_nothrow);
        }
        break;
      }
      auto request = parser.release();
      const bool keep_alive = request.keep_alive();
      const unsigned version = request.version();
      // Routes may block (a stop waits for a flush): run them off the I/O thread.
      auto converted = to_request(std::move(request));
      HttpResponse response = co_await asio::co_spawn(
          handlers, [this, &converted]() -> asio::awaitable<HttpResponse> { co_return handler(converted); },
          asio::use_awaitable);
      auto out = to_beast(std::move(response), version, keep_alive);
      stream.expires_after(options.io_timeout);
      auto [write_ec, written] = co_await http::async_write(stream, out, use_nothrow);
      if (write_ec || !keep_alive) break;
    }
    beast::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
  }

  Handler handler;
  Options options;
  asio::io_context io{1};
  asio::thread_pool handlers;
  tcp::acceptor acceptor{io};
  asio::signal_set signals{io, SIGINT, SIGTERM};
};

HttpServer::HttpServer(Handler handler, Options options)
    : impl_(std::make_unique<Impl>(std::move(handler), std::move(options))) {}

HttpServer::~HttpServer() {
  stop();
  impl_->handlers.join();
}

connector::Result<void> HttpServer::listen() {
  beast::error_code ec;
  auto address = asio::ip::make_address(impl_->options.host, ec);
  if (ec) return make_error(ErrorCode::invalid_argument, "'" + impl_->options.host + "' is not an IP address");
  tcp::endpoint endpoint{address, impl_->options.port};
  auto& acceptor = impl_->acceptor;
  acceptor.open(endpoint.protocol(), ec);
  if (!ec) acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor.bind(endpoint, ec);
  if (!ec) acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    return make_error(ErrorCode::unavailable, "cannot listen on " + impl_->options.host + ":" +
                                                  std::to_string(impl_->options.port) + ": " + ec.message());
  }
  return {};
}

std::uint16_t HttpServer::port() const { return impl_->acceptor.local_endpoint().port(); }

void HttpServer::run() {
  impl_->signals.async_wait([this](const beast::error_code& ec, int signal) {
    if (!ec) spdlog::info("received signal {}, shutting down", signal);
    stop();
  });
  asio::co_spawn(impl_->io, impl_->accept_loop(), asio::detached);
  impl_->io.run();
}

void HttpServer::stop() { asio::post(impl_->io, [this] {
  beast::error_code ignored;
  impl_->acceptor.close(ignored);
  impl_->signals.cancel(ignored);
  impl_->io.stop();
}); }

}  // namespace sinkhost::management_api
