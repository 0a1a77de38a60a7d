#include "http_client.hpp"

#include <sys/socket.h>
#include <sys/time.h>

#include <cerrno>
#include <utility>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

namespace sinkhost::test {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using asio::ip::tcp;

namespace {

http::request<http::string_body> make_request(const std::string& method, const std::string& target,
                                              const std::map<std::string, std::string>& headers,
                                              const std::string& body, const std::string& content_type,
                                              bool keep_alive) {
  http::request<http::string_body> request{http::string_to_verb(method), target, 11};
  request.set(http::field::host, "127.0.0.1");
  if (!body.empty() || method == "POST" || method == "PUT") {
    request.set(http::field::content_type, content_type);
    request.body() = body;
  }
  for (const auto& [name, value] : headers) request.set(name, value);
  request.keep_alive(keep_alive);
  request.prepare_payload();
  return request;
}

HttpResult read_response(tcp::socket& socket, boost::beast::flat_buffer& buffer) {
  http::response_parser<http::string_body> parser;
  parser.body_limit(64 * 1024 * 1024);
  http::read(socket, buffer, parser);
  auto response = parser.release();
  HttpResult result;
  result.status = static_cast<int>(response.result_int());
  for (const auto& field : response) {
    std::string name(field.name_string());
    for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    result.headers[name] = std::string(field.value());
  }
  result.body = response.body();
  return result;
}

}  // namespace

HttpResult http_request(std::uint16_t port, const std::string& method, const std::string& target,
                        const std::string& body, const std::string& content_type) {
  return http_request_with_headers(port, method, target, {}, body, content_type);
}

HttpResult http_request_with_headers(std::uint16_t port, const std::string& method, const std::string& target,
                                     const std::map<std::string, std::string>& headers, const std::string& body,
                                     const std::string& content_type) {
  asio::io_context io;
  tcp::socket socket(io);
  socket.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
  auto request = make_request(method, target, headers, body, content_type, false);
  http::write(socket, request);
  boost::beast::flat_buffer buffer;
  return read_response(socket, buffer);
}

std::string basic_authorization(const std::string& name, const std::string& password) {
  static constexpr char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  const std::string in = name + ":" + password;
  std::string out;
  std::size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    const auto n = (static_cast<unsigned char>(in[i]) << 16) | (static_cast<unsigned char>(in[i + 1]) << 8) |
                   static_cast<unsigned char>(in[i + 2]);
    out += alphabet[(n >> 18) & 63];
    out += alphabet[(n >> 12) & 63];
    out += alphabet[(n >> 6) & 63];
    out += alphabet[n & 63];
  }
  if (i + 1 == in.size()) {
    const auto n = static_cast<unsigned char>(in[i]) << 16;
    out += alphabet[(n >> 18) & 63];
    out += alphabet[(n >> 12) & 63];
    out += "==";
  } else if (i + 2 == in.size()) {
    const auto n = (static_cast<unsigned char>(in[i]) << 16) | (static_cast<unsigned char>(in[i + 1]) << 8);
    out += alphabet[(n >> 18) & 63];
    out += alphabet[(n >> 12) & 63];
    out += alphabet[(n >> 6) & 63];
    out += '=';
  }
  return "Basic " + out;
}

struct HttpConnection::Impl {
  asio::io_context io;
  tcp::socket socket{io};
  boost::beast::flat_buffer buffer;
};

HttpConnection::HttpConnection(std::uint16_t port) : impl_(std::make_unique<Impl>()) {
  impl_->socket.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
}

HttpConnection::~HttpConnection() { close(); }

HttpResult HttpConnection::request(const std::string& method, const std::string& target,
                                   const std::map<std::string, std::string>& headers) {
  auto request = make_request(method, target, headers, "", "application/json", true);
  http::write(impl_->socket, request);
  return read_response(impl_->socket, impl_->buffer);
}

void HttpConnection::send_raw(const std::string& bytes) { asio::write(impl_->socket, asio::buffer(bytes)); }

std::string HttpConnection::read_until_close(std::chrono::milliseconds timeout, bool* closed) {
  // A receive timeout on the blocking socket: each read gives up after what is left of `timeout`.
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  std::string out(static_cast<const char*>(impl_->buffer.data().data()), impl_->buffer.size());
  impl_->buffer.consume(impl_->buffer.size());
  if (closed) *closed = false;
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::microseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return out;
    timeval tv{static_cast<time_t>(left.count() / 1000000), static_cast<suseconds_t>(left.count() % 1000000)};
    ::setsockopt(impl_->socket.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    // ::recv, not Asio's read_some: Asio waits again with poll() after EAGAIN, so it would
    // ignore the receive timeout.
    char chunk[4096];
    auto n = ::recv(impl_->socket.native_handle(), chunk, sizeof chunk, 0);
    if (n > 0) {
      out.append(chunk, static_cast<std::size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n == 0 || errno == ECONNRESET) {
      if (closed) *closed = true;
    }
    return out;  // closed, or the timeout (EAGAIN)
  }
}

void HttpConnection::close() {
  boost::system::error_code ec;
  impl_->socket.shutdown(tcp::socket::shutdown_both, ec);
  impl_->socket.close(ec);
}

std::string raw_request(std::uint16_t port, const std::string& bytes) {
  asio::io_context io;
  tcp::socket socket(io);
  socket.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
  boost::system::error_code ec;
  // The server may answer and close before reading everything (a 413 or 431): not an error here.
  asio::write(socket, asio::buffer(bytes), ec);
  socket.shutdown(tcp::socket::shutdown_send, ec);  // the request ends here, complete or not
  std::string out;
  asio::read(socket, asio::dynamic_buffer(out), ec);  // until the server closes
  return out;
}

}  // namespace sinkhost::test
