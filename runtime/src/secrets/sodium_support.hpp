#pragma once
// What the secrets module's files share: libsodium's constants, the formats and the helpers
// around them. Private to runtime/src/secrets.

#include <sodium.h>

#include <cstring>
#include <string>
#include <string_view>

#include "sinkhost/connector/result.hpp"
#include "sinkhost/runtime/secrets/token.hpp"

namespace sinkhost::runtime::secrets_detail {

using connector::Error;
using connector::ErrorCode;
using connector::make_error;

constexpr std::string_view kSealedPrefix = "sinkhost:enc:";
constexpr std::string_view kSealedV1 = "sinkhost:enc:v1:";
// Bound in as associated data with the connector id and the setting name: a ciphertext only
// opens for the connector and setting it was written for, in this format version.
constexpr std::string_view kAssociatedPrefix{"sinkhost:v1\0", 12};
constexpr std::string_view kKdfArgon2id = "argon2id13";
constexpr std::string_view kKdfBlake2b = "blake2b";
// The message keyed BLAKE2b hashes (with the salt) to turn a generated token into the key.
constexpr std::string_view kBlake2bContext = "sinkhost data protection key v1";
// The verifier: a known text sealed under a connector id no connector can have (ids have at
// least 5 characters), so no stored setting can be swapped in for it.
constexpr std::string_view kVerifierText = "sinkhost data protection verifier v1";
constexpr std::string_view kVerifierSetting = "data-protection-verifier";

constexpr std::size_t kKeyBytes = crypto_aead_xchacha20poly1305_ietf_KEYBYTES;
constexpr std::size_t kNonceBytes = crypto_aead_xchacha20poly1305_ietf_NPUBBYTES;
constexpr std::size_t kTagBytes = crypto_aead_xchacha20poly1305_ietf_ABYTES;
constexpr std::size_t kGeneratedTokenBytes = 32;
constexpr std::size_t kMinPassphrase = 16;
constexpr std::size_t kMaxToken = 4096;
constexpr std::size_t kMaxTokenFile = 64 * 1024;
// Shorter values are not searched for by the redactor (see SecretRedactor); lines of a
// multi-line value shorter than this are not searched for on their own.
constexpr std::size_t kMinRedacted = 4;
constexpr std::size_t kMinRedactedLine = 16;

static_assert(crypto_generichash_KEYBYTES_MAX >= kGeneratedTokenBytes && kKeyBytes <= crypto_generichash_BYTES_MAX);

// libsodium initialized (secret_bytes.cpp runs sodium_init once).
inline bool sodium_ready() { return crypto_ready(); }

inline Error sodium_unavailable() { return make_error(ErrorCode::internal, "libsodium failed to initialize"); }

inline std::string associated_data(std::string_view connector_id, std::string_view setting) {
  std::string ad(kAssociatedPrefix);
  ad += connector_id;
  ad += '\0';
  ad += setting;
  return ad;
}

inline std::string to_base64url(const unsigned char* bytes, std::size_t size) {
  const auto variant = sodium_base64_VARIANT_URLSAFE_NO_PADDING;
  std::string out(sodium_base64_encoded_len(size, variant), '\0');
  sodium_bin2base64(out.data(), out.size(), bytes, size, variant);
  out.resize(std::strlen(out.c_str()));
  return out;
}

// Decodes into `out` (sized for the longest result); returns the decoded length, or -1.
inline long from_base64url(std::string_view text, unsigned char* out, std::size_t capacity) {
  std::size_t length = 0;
  const char* end = nullptr;
  if (sodium_base642bin(out, capacity, text.data(), text.size(), nullptr, &length, &end,
                        sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
      end != text.data() + text.size()) {
    return -1;
  }
  return static_cast<long>(length);
}

inline bool is_generated(std::string_view token) { return token.starts_with(kGeneratedTokenPrefix); }

// The kind of KDF a token's form calls for.
inline std::string_view kdf_for(std::string_view token) { return is_generated(token) ? kKdfBlake2b : kKdfArgon2id; }

inline Error wrong_token() {
  return make_error(ErrorCode::permission_denied,
                    "the data protection token is not the one this data directory's secret settings were encrypted "
                    "with (state.db was set up with another token)");
}

}  // namespace sinkhost::runtime::secrets_detail
