#pragma once

#include <string>

#include <boost/asio/ssl/context.hpp>

#include "sinkhost/connector/result.hpp"

namespace sinkhost::management_api {

// A TLS 1.2+ server context from PEM files (`--tls-cert`, `--tls-key`; both or neither). Fails
// with invalid_argument naming the file: missing, unreadable, not PEM, an encrypted key, or a
// key that does not belong to the certificate.
// An OpenSSL error's text; clears OpenSSL's error queue, so that it cannot leak into the next.
std::string openssl_reason(const boost::system::error_code& ec);

connector::Result<boost::asio::ssl::context> tls_server_context(const std::string& cert, const std::string& key);

}  // namespace sinkhost::management_api
