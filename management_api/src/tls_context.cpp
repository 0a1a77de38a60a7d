// The server side of HTTPS: an OpenSSL context from a PEM certificate chain and key, with
// messages that name the file and what is wrong with it.
#include "tls_context.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>

#include <boost/asio/ssl/error.hpp>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

namespace sinkhost::management_api {

namespace asio = boost::asio;
namespace ssl = asio::ssl;
using connector::ErrorCode;
using connector::make_error;

std::string openssl_reason(const boost::system::error_code& ec) {
  std::string text = ec.message();
  ERR_clear_error();
  return text;
}

namespace {

// fopen first, so that a missing or unreadable file gets the system's words for it rather
// than OpenSSL's.
std::string unreadable(const std::string& path) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) return std::strerror(errno);
  std::fclose(f);
  return {};
}

}  // namespace

connector::Result<ssl::context> tls_server_context(const std::string& cert, const std::string& key) {
  if (cert.empty() || key.empty()) {
    return make_error(ErrorCode::invalid_argument,
                      "--tls-cert and --tls-key go together: give both for HTTPS, or neither for HTTP");
  }
  if (auto why = unreadable(cert); !why.empty()) {
    return make_error(ErrorCode::invalid_argument, "cannot read the TLS certificate " + cert + ": " + why);
  }
  if (auto why = unreadable(key); !why.empty()) {
    return make_error(ErrorCode::invalid_argument, "cannot read the TLS key " + key + ": " + why);
  }
  boost::system::error_code ec;
  ssl::context context(ssl::context::tls_server);
  context.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                          ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1,
                      ec);
  if (!ec && SSL_CTX_set_min_proto_version(context.native_handle(), TLS1_2_VERSION) != 1) {
    return make_error(ErrorCode::internal, "cannot require TLS 1.2 or later from OpenSSL");
  }
  // An encrypted key would make OpenSSL prompt on the terminal: answer with an empty
  // passphrase instead, so loading fails with a message.
  if (!ec) context.set_password_callback([](std::size_t, ssl::context::password_purpose) { return std::string(); }, ec);
  if (ec) return make_error(ErrorCode::internal, "cannot set up TLS: " + openssl_reason(ec));
  context.use_certificate_chain_file(cert, ec);
  if (ec) {
    return make_error(ErrorCode::invalid_argument,
                      "cannot load the TLS certificate " + cert + " (expected PEM): " + openssl_reason(ec));
  }
  context.use_private_key_file(key, ssl::context::pem, ec);
  if (ec && ec.category() == asio::error::get_ssl_category() &&
      ERR_GET_REASON(static_cast<unsigned long>(ec.value())) == X509_R_KEY_VALUES_MISMATCH) {
    ERR_clear_error();
    return make_error(ErrorCode::invalid_argument,
                      "the TLS key " + key + " does not belong to the certificate " + cert);
  }
  if (ec) {
    return make_error(
        ErrorCode::invalid_argument,
        "cannot load the TLS key " + key + " (expected an unencrypted PEM private key): " + openssl_reason(ec));
  }
  if (SSL_CTX_check_private_key(context.native_handle()) != 1) {
    ERR_clear_error();
    return make_error(ErrorCode::invalid_argument,
                      "the TLS key " + key + " does not belong to the certificate " + cert);
  }
  return context;
}

}  // namespace sinkhost::management_api
