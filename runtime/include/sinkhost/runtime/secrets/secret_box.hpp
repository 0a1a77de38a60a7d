#pragma once
// The key of a data directory and the encryption of secret setting values with it.
// See docs/security.md.
#include <memory>
#include <string>
#include <string_view>

#include "sinkhost/connector/result.hpp"
#include "sinkhost/runtime/secrets/secret_bytes.hpp"
#include "sinkhost/runtime/state_store.hpp"

namespace sinkhost::runtime {

using connector::Result;

// What every route, log line and error message shows instead of a secret value. A reconfigure
// that sends it back for a secret setting keeps the stored value.
inline constexpr std::string_view kSecretMask = "********";

// The key of a data directory, in memory that libsodium locks (no swap), leaves out of core
// dumps and keeps read-only. Encrypts each secret value with XChaCha20-Poly1305, binding the
// connector id and the setting name in as associated data, so a ciphertext copied to another
// connector or setting does not decrypt. Thread-safe (it never changes after creation).
class SecretBox {
 public:
  // A data directory without a record: a new salt, the key for `token`, and the record to store.
  static Result<std::unique_ptr<SecretBox>> create(std::string_view token, DataProtectionRecord& record);
  // A data directory with a record: derives the key and checks it against the verifier; a wrong
  // token is an error of its own kind (permission_denied).
  static Result<std::unique_ptr<SecretBox>> open(std::string_view token, const DataProtectionRecord& record);
  ~SecretBox();
  SecretBox(const SecretBox&) = delete;
  SecretBox& operator=(const SecretBox&) = delete;

  // "sinkhost:enc:v1:" + base64url(24-byte nonce + ciphertext + 16-byte tag).
  std::string seal(std::string_view connector_id, std::string_view setting, std::string_view plaintext) const;
  Result<SecretBytes> unseal(std::string_view connector_id, std::string_view setting, std::string_view sealed) const;

 private:
  SecretBox();
  unsigned char* key_ = nullptr;  // sodium_malloc'd
};

// True for text in the sealed format (any version).
bool is_sealed(std::string_view text);

}  // namespace sinkhost::runtime
