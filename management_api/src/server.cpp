#include "sinkhost/management_api/server.hpp"

#include <utility>  // before Asio, see docs/architecture.md

#include <array>
#include <exception>
#include <optional>
#include <type_traits>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <spdlog/spdlog.h>

#include "tls_context.hpp"
#include "wire.hpp"

namespace sinkhost::management_api {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;
using asio::ip::tcp;
using connector::ErrorCode;
using connector::make_error;
using wire::parse_failure;
using wire::to_beast;

namespace {

constexpr auto use_nothrow = asio::as_tuple(asio::use_awaitable);

// A connection that is only answered and closed (over the cap, plain HTTP on the HTTPS port)
// gets at most this long, whatever io_timeout says: it must not hold resources for long.
constexpr std::chrono::seconds kRejectTimeout{5};
// How long, and how many bytes, a connection closing after an error keeps reading and dropping
// what the client still sends. Closing a socket with unread data makes the kernel send a reset,
// which can destroy the response before the client has read it.
constexpr std::chrono::seconds kLingerTimeout{2};
constexpr std::size_t kLingerBytes = 64 * 1024;
// Rejections answered at once. Past it a connection over the cap is closed unanswered, so a
// flood of connections cannot turn the 503 answers into another way to exhaust the server.
constexpr std::size_t kMaxRejecting = 64;

using TlsStream = beast::ssl_stream<beast::tcp_stream>;
template <class Stream>
constexpr bool is_tls = std::is_same_v<Stream, TlsStream>;

HttpResponse too_many_connections(std::size_t limit) {
  auto r = error_response(make_error(ErrorCode::unavailable,
                                     "too many connections: the server already serves its "
                                     "maximum of " +
                                         std::to_string(limit) + " (--max-connections); retry later"));
  r.headers.emplace_back("Retry-After", "1");
  return r;
}

HttpResponse plain_http_on_https_port() {
  return error_response(make_error(ErrorCode::invalid_argument, "this port serves HTTPS only: use an https:// URL"));
}

// The connection ended because the client went away or stopped talking: nothing to answer.
bool peer_gone(const beast::error_code& ec) {
  return ec == http::error::end_of_stream || ec == beast::error::timeout || ec == asio::error::connection_reset ||
         ec == asio::error::eof || ec == ssl::error::stream_truncated;
}

// Counts a connection for as long as the coroutine owning it lives, however it ends (also when
// the io_context is destroyed with the coroutine suspended).
class CountedSlot {
 public:
  explicit CountedSlot(std::size_t& counter) : counter_(&counter) { ++*counter_; }
  CountedSlot(CountedSlot&& other) noexcept : counter_(std::exchange(other.counter_, nullptr)) {}
  CountedSlot& operator=(CountedSlot&&) = delete;
  ~CountedSlot() {
    if (counter_ != nullptr) --*counter_;
  }

 private:
  std::size_t* counter_;
};

// The completion of every coroutine spawned on the io_context: an exception must not escape
// into Asio (asio::detached would drop it silently), so it is logged here.
struct LogException {
  const char* what;
  void operator()(std::exception_ptr e) const noexcept {
    if (!e) return;
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& ex) {
      spdlog::error("{} ended with an exception: {}", what, ex.what());
    } catch (...) {
      spdlog::error("{} ended with an unknown exception", what);
    }
  }
};

}  // namespace

struct HttpServer::Impl {
  Impl(Handler h, Options o) : handler(std::move(h)), options(std::move(o)), handlers(options.handler_threads) {}

  connector::Result<void> load_tls() {
    if (options.tls_cert_file.empty() && options.tls_key_file.empty()) return {};
    auto context = tls_server_context(options.tls_cert_file, options.tls_key_file);
    if (!context.ok()) return context.error();
    tls.emplace(std::move(context).value());
    return {};
  }

  asio::awaitable<void> accept_loop() {
    asio::steady_timer backoff(io);
    for (;;) {
      auto [ec, socket] = co_await acceptor.async_accept(use_nothrow);
      if (ec == asio::error::operation_aborted) co_return;
      if (ec) {
        // Out of file descriptors, say: log and keep accepting, as the condition may pass, but
        // not in a tight loop.
        spdlog::warn("accept failed: {}", ec.message());
        backoff.expires_after(std::chrono::milliseconds(100));
        co_await backoff.async_wait(use_nothrow);
        continue;
      }
      // The count goes up here, before the next accept, so the cap holds however fast
      // connections arrive; it goes down when the connection's coroutine ends.
      if (active_connections < options.max_connections) {
        at_cap_logged = false;
        asio::co_spawn(io, serve(std::move(socket), CountedSlot(active_connections)), LogException{"a connection"});
        continue;
      }
      if (!at_cap_logged) {
        spdlog::warn("{} connections are open (--max-connections): new ones get 503 until some close",
                     active_connections);
        at_cap_logged = true;
      }
      if (rejecting_connections < kMaxRejecting) {
        asio::co_spawn(io, reject(std::move(socket), CountedSlot(rejecting_connections)),
                       LogException{"a rejected connection"});
      } else {
        beast::error_code ignored;
        socket.close(ignored);
      }
    }
  }

  asio::awaitable<void> serve(tcp::socket socket, CountedSlot) {
    beast::tcp_stream tcp(std::move(socket));
    if (!tls) {
      co_await session(tcp);
      co_return;
    }
    TlsStream stream(std::move(tcp), *tls);
    if (co_await handshake(stream, options.io_timeout)) co_await session(stream);
  }

  // Answers 503 and closes, without reading a request first: the client learns at once why.
  asio::awaitable<void> reject(tcp::socket socket, CountedSlot) {
    const auto timeout = std::min(options.io_timeout, kRejectTimeout);
    auto response = to_beast(too_many_connections(options.max_connections), 11, false);
    beast::tcp_stream tcp(std::move(socket));
    if (!tls) {
      tcp.expires_after(timeout);
      auto [ec, written] = co_await http::async_write(tcp, response, use_nothrow);
      if (!ec) co_await linger_close(tcp);
      co_return;
    }
    TlsStream stream(std::move(tcp), *tls);
    if (!co_await handshake(stream, timeout)) co_return;
    beast::get_lowest_layer(stream).expires_after(timeout);
    auto [ec, written] = co_await http::async_write(stream, response, use_nothrow);
    if (!ec) co_await linger_close(stream);
  }

  // True when the connection speaks TLS now; false when it is over (answered if possible).
  asio::awaitable<bool> handshake(TlsStream& stream, std::chrono::seconds timeout) {
    beast::get_lowest_layer(stream).expires_after(timeout);
    auto [ec] = co_await stream.async_handshake(ssl::stream_base::server, use_nothrow);
    if (!ec) co_return true;
    if (ec.category() == asio::error::get_ssl_category() &&
        ERR_GET_REASON(static_cast<unsigned long>(ec.value())) == SSL_R_HTTP_REQUEST) {
      // Plain HTTP on the HTTPS port: the only answer this client can read is a plain one.
      ERR_clear_error();
      auto response = to_beast(plain_http_on_https_port(), 11, false);
      auto& tcp = stream.next_layer();
      tcp.expires_after(kRejectTimeout);
      auto [write_ec, written] = co_await http::async_write(tcp, response, use_nothrow);
      if (!write_ec) co_await linger_close(tcp);
      co_return false;
    }
    spdlog::debug("TLS handshake failed: {}", openssl_reason(ec));
    co_return false;
  }

  // One implementation for HTTP and HTTPS: Stream is beast::tcp_stream or TlsStream.
  template <class Stream>
  asio::awaitable<void> session(Stream& stream) {
    auto& tcp = beast::get_lowest_layer(stream);
    beast::flat_buffer buffer;
    bool gone = false;
    for (;;) {
      wire::Parser parser;
      wire::apply_limits(parser, {.body_limit = options.body_limit, .header_limit = options.header_limit});
      // Covers the whole request, so a client trickling bytes cannot hold the connection longer.
      tcp.expires_after(options.io_timeout);
      auto [read_ec, read_bytes] = co_await http::async_read(stream, buffer, parser, use_nothrow);
      if (read_ec) {
        gone = peer_gone(read_ec);
        if (!gone) {
          // Tell the client what was wrong with its request, then close: the stream is unusable.
          auto response = to_beast(parse_failure(read_ec), 11, false);
          tcp.expires_after(options.io_timeout);
          auto [write_ec, written] = co_await http::async_write(stream, response, use_nothrow);
          if (!write_ec) co_await linger_close(stream);
          co_return;
        }
        break;
      }
      auto request = parser.release();
      const bool keep_alive = request.keep_alive();
      const unsigned version = request.version();
      const bool head = request.method() == http::verb::head;
      // Routes may block (a stop waits for a flush): run them off the I/O thread.
      auto converted = wire::to_request(std::move(request));
      HttpResponse response = co_await asio::co_spawn(
          handlers,
          [this, &converted]() -> asio::awaitable<HttpResponse> { co_return wire::call_handler(handler, converted); },
          asio::use_awaitable);
      auto out = to_beast(std::move(response), version, keep_alive, head);
      tcp.expires_after(options.io_timeout);
      auto [write_ec, written] = co_await http::async_write(stream, out, use_nothrow);
      if (write_ec) {
        gone = true;
        break;
      }
      if (!keep_alive) break;
    }
    beast::error_code ignored;
    if constexpr (is_tls<Stream>) {
      if (!gone) {
        // close_notify, so the client knows the response was not cut short.
        tcp.expires_after(std::min(options.io_timeout, kRejectTimeout));
        co_await stream.async_shutdown(use_nothrow);
      }
    } else {
      if (!gone) tcp.socket().shutdown(asio::socket_base::shutdown_send, ignored);
    }
    tcp.socket().close(ignored);
  }

  // Closes after a final response: drops what the client still sends until it closes (bounded
  // in time and bytes), so unread data does not make the kernel reset the connection before the
  // client has read the response.
  template <class Stream>
  asio::awaitable<void> linger_close(Stream& stream) {
    auto& tcp = beast::get_lowest_layer(stream);
    beast::error_code ignored;
    if constexpr (!is_tls<Stream>) tcp.socket().shutdown(asio::socket_base::shutdown_send, ignored);
    tcp.expires_after(kLingerTimeout);
    std::array<char, 4096> sink;
    std::size_t dropped = 0;
    while (dropped < kLingerBytes) {
      auto [ec, n] = co_await stream.async_read_some(asio::buffer(sink), use_nothrow);
      if (ec) break;
      dropped += n;
    }
    tcp.socket().close(ignored);
  }

  Handler handler;
  Options options;
  // The TLS context and the counters outlive io: destroying io destroys suspended connection
  // coroutines, whose streams and CountedSlots still refer to them.
  std::optional<ssl::context> tls;
  std::size_t active_connections = 0;     // only touched on the io thread
  std::size_t rejecting_connections = 0;  // only touched on the io thread
  bool at_cap_logged = false;
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
  if (impl_->options.max_connections == 0) {
    return make_error(ErrorCode::invalid_argument, "the connection limit must be at least 1");
  }
  if (auto loaded = impl_->load_tls(); !loaded.ok()) return loaded;
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

bool HttpServer::https() const { return impl_->tls.has_value(); }

void HttpServer::run() {
  impl_->signals.async_wait([this](const beast::error_code& ec, int signal) {
    if (!ec) spdlog::info("received signal {}, shutting down", signal);
    stop();
  });
  asio::co_spawn(impl_->io, impl_->accept_loop(), LogException{"the accept loop"});
  impl_->io.run();
}

void HttpServer::stop() {
  asio::post(impl_->io, [this] {
    beast::error_code ignored;
    impl_->acceptor.close(ignored);
    impl_->signals.cancel(ignored);
    impl_->io.stop();
  });
}

}  // namespace sinkhost::management_api
