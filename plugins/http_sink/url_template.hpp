#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "sinkhost/connector/record.hpp"
#include "sinkhost/connector/result.hpp"

namespace sinkhost::http_sink {

// The url setting, split into where to connect (scheme, host, port: fixed) and the request
// target (path and query), whose placeholders {schema-subject}, {event-type} (the same: the
// event type) and {stream} are filled per record with the value percent-encoded.
class UrlTemplate {
 public:
  // An invalid_argument error naming what is wrong: not http(s), no host, a bad port, a
  // placeholder in the host, an unknown or unclosed placeholder.
  static connector::Result<UrlTemplate> parse(const std::string& url);

  bool tls() const { return tls_; }
  const std::string& host() const { return host_; }
  const std::string& port() const { return port_; }
  // The Host header's value: the host, with the port when it is not the scheme's default.
  std::string host_header() const;
  // Whether the target has placeholders.
  bool templated() const;
  // The request target for `record` ("/orders/order-1?type=OrderPlaced").
  std::string target(const connector::Record& record) const;
  // The target with every placeholder left out: the URL's fixed part (connection check).
  std::string fixed_target() const;
  // scheme://host[:port] (for messages).
  std::string origin() const;

 private:
  enum class Part { literal, schema_subject, stream };
  struct Piece {
    Part part = Part::literal;
    std::string text;
  };
  bool tls_ = false;
  std::string host_;
  std::string port_;
  std::vector<Piece> target_;
};

// RFC 3986 percent-encoding of everything but the unreserved characters (A-Z a-z 0-9 - . _ ~).
std::string percent_encode(std::string_view text);

}  // namespace sinkhost::http_sink
