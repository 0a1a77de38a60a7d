#include "sinkhost/runtime/secrets/token.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>

#include "sodium_support.hpp"

namespace sinkhost::runtime {

using connector::Error;
using connector::ErrorCode;
using connector::make_error;
using namespace secrets_detail;

SecretBytes generate_token() {
  if (!sodium_ready()) return SecretBytes();
  std::array<unsigned char, kGeneratedTokenBytes> raw{};
  randombytes_buf(raw.data(), raw.size());
  auto encoded = to_base64url(raw.data(), raw.size());
  sodium_memzero(raw.data(), raw.size());
  std::string token(kGeneratedTokenPrefix);
  token += encoded;
  SecretBytes out(token);
  wipe(encoded);
  wipe(token);
  return out;
}

Result<void> check_token(std::string_view token) {
  if (!sodium_ready()) return sodium_unavailable();
  if (token.empty()) return make_error(ErrorCode::invalid_argument, "the data protection token is empty");
  if (token.size() > kMaxToken) {
    return make_error(ErrorCode::invalid_argument, "the data protection token is longer than 4096 bytes");
  }
  if (is_generated(token)) {
    std::array<unsigned char, kMaxToken> decoded{};
    auto length = from_base64url(token.substr(kGeneratedTokenPrefix.size()), decoded.data(), decoded.size());
    sodium_memzero(decoded.data(), decoded.size());
    if (length != static_cast<long>(kGeneratedTokenBytes)) {
      return make_error(ErrorCode::invalid_argument,
                        "the data protection token starts like a generated one (sinkhost-dpt1-) but is damaged: "
                        "43 base64url characters must follow the prefix");
    }
    return {};
  }
  if (token.size() < kMinPassphrase) {
    return make_error(ErrorCode::invalid_argument,
                      "a data protection passphrase needs at least 16 characters; `sinkhost token generate` makes "
                      "a strong token");
  }
  return {};
}

Result<SecretBytes> read_token_file(const std::string& path, std::string* warning) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    return make_error(ErrorCode::invalid_argument,
                      "cannot open the data protection token file " + path + ": " + std::strerror(errno));
  }
  struct stat st {};
  if (::fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & (S_IRGRP | S_IROTH)) != 0 && warning) {
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
    *warning = "the data protection token file " + path + " can be read by other users (mode " + mode +
               "); make it readable by sinkhost's user only (chmod 600)";
  }
  // One buffer of the largest accepted size, so reading never reallocates (which would leave
  // a copy of the token behind); wiped when it goes away.
  SecretBytes buffer(kMaxTokenFile + 1);
  std::size_t length = 0;
  int error = 0;
  while (length < buffer.size()) {
    auto n = ::read(fd, buffer.data() + length, buffer.size() - length);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) error = errno;
    if (n <= 0) break;
    length += static_cast<std::size_t>(n);
  }
  ::close(fd);
  if (error != 0) {
    return make_error(ErrorCode::invalid_argument,
                      "cannot read the data protection token file " + path + ": " + std::strerror(error));
  }
  if (length > kMaxTokenFile) {
    return make_error(ErrorCode::invalid_argument,
                      "the data protection token file " + path + " is larger than 64 KiB: it is not a token file");
  }
  // An editor or `echo` adds a line end; it is not part of the token.
  while (length > 0 && (buffer.data()[length - 1] == '\n' || buffer.data()[length - 1] == '\r')) --length;
  auto token = SecretBytes(std::string_view(buffer.data(), length));
  if (auto valid = check_token(token.view()); !valid.ok()) {
    return make_error(ErrorCode::invalid_argument, path + ": " + valid.error().message);
  }
  return token;
}

}  // namespace sinkhost::runtime
