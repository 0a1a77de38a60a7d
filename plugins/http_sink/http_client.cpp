#include "http_client.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <openssl/ssl.h>

#include <atomic>

namespace sinkhost::http_sink {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = boost::beast::http;
namespace ssl = boost::asio::ssl;
using tcp = asio::ip::tcp;
using boost::system::error_code;
using connector::ErrorCode;
using connector::make_error;

class TlsContext {
 public:
  ssl::context ctx{ssl::context::tls_client};
  bool verify = true;
};

connector::Result<std::shared_ptr<TlsContext>> make_tls_context(const HttpSinkSettings& s) {
  auto tls = std::make_shared<TlsContext>();
  tls->verify = s.verify_certificates;
  error_code ec;
  tls->ctx.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                       ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
  if (s.ca_certificate) {
    tls->ctx.add_certificate_authority(asio::buffer(*s.ca_certificate), ec);
    if (ec) {
      return make_error(ErrorCode::invalid_argument, "authentication:tls:caCertificate does not load: " + ec.message(),
                        {{"authentication:tls:caCertificate", "not a PEM certificate: " + ec.message()}});
    }
  } else {
    tls->ctx.set_default_verify_paths(ec);
  }
  if (s.client_certificate && s.client_key) {
    tls->ctx.use_certificate_chain(asio::buffer(*s.client_certificate), ec);
    if (ec) {
      return make_error(ErrorCode::invalid_argument,
                        "authentication:tls:clientCertificate does not load: " + ec.message(),
                        {{"authentication:tls:clientCertificate", "not a PEM certificate: " + ec.message()}});
    }
    tls->ctx.use_private_key(asio::buffer(*s.client_key), ssl::context::pem, ec);
    if (ec) {
      return make_error(ErrorCode::invalid_argument, "authentication:tls:clientKey does not load: " + ec.message(),
                        {{"authentication:tls:clientKey", "not a PEM private key matching the certificate"}});
    }
  }
  tls->ctx.set_verify_mode(tls->verify ? ssl::verify_peer : ssl::verify_none);
  return tls;
}

struct Connection::State {
  const UrlTemplate& url;
  std::shared_ptr<TlsContext> tls;
  std::chrono::milliseconds timeout;
  std::chrono::milliseconds lifetime;
  asio::io_context ioc;
  std::unique_ptr<beast::tcp_stream> plain;
  std::unique_ptr<beast::ssl_stream<beast::tcp_stream>> secure;
  std::chrono::steady_clock::time_point opened;
  std::atomic<bool> stopped{false};
  beast::flat_buffer buffer;

  State(const UrlTemplate& u, std::shared_ptr<TlsContext> t, std::chrono::milliseconds to,
        std::chrono::milliseconds life)
      : url(u), tls(std::move(t)), timeout(to), lifetime(life) {}

  bool open() const { return plain || secure; }

  beast::tcp_stream& lowest() { return secure ? beast::get_lowest_layer(*secure) : *plain; }

  void arm() {
    if (timeout.count() > 0) lowest().expires_after(timeout);
  }

  // Runs what was started on the io_context until it completes; error_code from `handler`.
  template <class Start>
  error_code run(Start start) {
    error_code result = asio::error::operation_aborted;
    start([&result](error_code ec, auto&&...) { result = ec; });
    ioc.restart();
    if (stopped.load()) return asio::error::operation_aborted;
    ioc.run();
    return result;
  }

  void close() {
    error_code ignored;
    if (secure) beast::get_lowest_layer(*secure).socket().close(ignored);
    if (plain) plain->socket().close(ignored);
    secure.reset();
    plain.reset();
    buffer.clear();
  }

  // Connects (and shakes hands); an error text, empty when connected.
  std::string connect(Response& response) {
    close();
    tcp::resolver resolver(ioc);
    tcp::resolver::results_type endpoints;
    auto ec = run([&](auto handler) {
      resolver.async_resolve(url.host(), url.port(),
                             [&endpoints, handler](error_code e, tcp::resolver::results_type r) mutable {
                               endpoints = std::move(r);
                               handler(e);
                             });
    });
    if (ec) return "cannot resolve " + url.host() + ": " + ec.message();
    beast::tcp_stream* stream = nullptr;
    if (url.tls()) {
      secure = std::make_unique<beast::ssl_stream<beast::tcp_stream>>(ioc, tls->ctx);
      stream = &beast::get_lowest_layer(*secure);
    } else {
      plain = std::make_unique<beast::tcp_stream>(ioc);
      stream = plain.get();
    }
    if (timeout.count() > 0) stream->expires_after(timeout);
    ec = run([&](auto handler) { stream->async_connect(endpoints, handler); });
    if (ec) {
      close();
      return "cannot connect to " + url.origin() + ": " + ec.message();
    }
    stream->socket().set_option(tcp::no_delay(true), ec);
    if (secure) {
      if (::SSL_set_tlsext_host_name(secure->native_handle(), url.host().c_str()) != 1) {
        close();
        response.tls_error = true;
        return "cannot set the TLS server name";
      }
      if (tls->verify) secure->set_verify_callback(ssl::host_name_verification(url.host()));
      arm();
      ec = run([&](auto handler) { secure->async_handshake(ssl::stream_base::client, handler); });
      if (ec) {
        close();
        // OpenSSL refused (a certificate, a protocol version): retrying cannot help. A reset
        // or a timeout during the handshake can pass.
        response.tls_error = ec.category() == asio::error::get_ssl_category();
        return "TLS handshake with " + url.origin() + " failed: " + ec.message();
      }
    }
    opened = std::chrono::steady_clock::now();
    return {};
  }

  // Sends the request and reads the answer in one run of the io_context, under one deadline (the
  // request timeout bounds the whole attempt): the fewest system calls and timer changes per
  // request.
  template <class Stream>
  error_code exchange(Stream& stream, http::request<http::string_body>& req, http::response<http::string_body>& res) {
    http::response_parser<http::string_body> parser;
    parser.body_limit(16 * 1024 * 1024);
    parser.skip(req.method() == http::verb::head);  // a HEAD answer has no body, whatever it announces
    arm();
    auto ec = run([&](auto handler) {
      http::async_write(stream, req, [&stream, &parser, this, handler](error_code written, std::size_t) mutable {
        if (written) return handler(written);
        http::async_read(stream, buffer, parser, handler);
      });
    });
    if (!ec) res = parser.release();
    return ec;
  }
};

Connection::Connection(const UrlTemplate& url, std::shared_ptr<TlsContext> tls, std::chrono::milliseconds timeout,
                       std::chrono::milliseconds lifetime)
    : state_(std::make_unique<State>(url, std::move(tls), timeout, lifetime)) {}

Connection::~Connection() { state_->close(); }

void Connection::close() { state_->close(); }

void Connection::stop() {
  state_->stopped.store(true);
  state_->ioc.stop();
}

Response Connection::send(const Request& request) {
  auto& s = *state_;
  Response response;
  if (s.open() && std::chrono::steady_clock::now() - s.opened >= s.lifetime) s.close();

  http::request<http::string_body> req;
  req.method_string(request.method);
  req.target(request.target);
  req.version(11);
  req.set(http::field::host, s.url.host_header());
  req.set(http::field::user_agent, "sinkhost-http-sink");
  for (const auto& h : request.headers) req.insert(h.name, h.value);
  req.body() = request.body;
  req.keep_alive(true);
  req.prepare_payload();

  // A kept-alive connection the server has closed meanwhile fails at once: try once more on a
  // new connection before calling it a failure.
  for (int attempt = 0; attempt < 2; ++attempt) {
    const bool reused = s.open();
    if (!reused) {
      if (auto error = s.connect(response); !error.empty()) {
        response.transport_error = error;
        return response;
      }
    }
    http::response<http::string_body> res;
    auto ec = s.secure ? s.exchange(*s.secure, req, res) : s.exchange(*s.plain, req, res);
    if (ec) {
      s.close();
      if (s.stopped.load()) {
        response.transport_error = "the sink is closing";
        return response;
      }
      if (ec.category() == asio::error::get_ssl_category()) {
        // A TLS alert after the handshake: with TLS 1.3 that is how a server refuses a client
        // certificate (or the lack of one).
        response.tls_error = true;
        response.transport_error = "TLS error from " + s.url.origin() + ": " + ec.message();
        return response;
      }
      if (reused && ec != beast::error::timeout) continue;
      response.transport_error =
          (ec == beast::error::timeout ? std::string("no answer from ") + s.url.origin() + " within the request timeout"
                                       : "request to " + s.url.origin() + " failed: " + ec.message());
      return response;
    }
    response.status = static_cast<int>(res.result_int());
    response.reason = std::string(res.reason());
    if (auto it = res.find(http::field::retry_after); it != res.end()) response.retry_after = std::string(it->value());
    response.body = std::move(res.body());
    if (!res.keep_alive()) s.close();
    return response;
  }
  response.transport_error = "the connection to " + s.url.origin() + " was closed";
  return response;
}

}  // namespace sinkhost::http_sink
