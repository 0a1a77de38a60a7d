#pragma once
// Data protection: secret connector settings are encrypted at rest with a key derived from the
// data protection token, and their values never leave memory in clear. See docs/security.md.
// libsodium stays inside secret_box.cpp: this header is cheap to include.

#include <cstddef>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "sinkhost/connector/result.hpp"
#include "sinkhost/connector/settings.hpp"
#include "sinkhost/runtime/state_store.hpp"

namespace sinkhost::runtime {

// What every route, log line and error message shows instead of a secret value. A reconfigure
// that sends it back for a secret setting keeps the stored value.
inline constexpr std::string_view kSecretMask = "********";

// How to give sinkhost a token: the 400 for a secret setting without one, and the start-up
// refusals, say it.
inline constexpr std::string_view kTokenHelp =
    "start sinkhost with --data-protection-token-file PATH or the environment variable "
    "SINKHOST_DATA_PROTECTION_TOKEN (`sinkhost token generate` makes a token); see docs/security.md";

// Overwrites a string's whole buffer (its capacity, so that the characters of an earlier,
// longer value and the short-string buffer are covered too), then empties it.
void wipe(std::string& text) noexcept;

// Plaintext bytes (a token, a decrypted setting): one allocation of the final size, so no
// reallocation leaves a copy behind, wiped with sodium_memzero on destruction. Move-only.
class SecretBytes {
 public:
  SecretBytes() = default;
  explicit SecretBytes(std::string_view bytes);
  explicit SecretBytes(std::size_t size);  // zero-filled, to be written through data()
  ~SecretBytes();
  SecretBytes(SecretBytes&& other) noexcept;
  SecretBytes& operator=(SecretBytes&& other) noexcept;
  SecretBytes(const SecretBytes&) = delete;
  SecretBytes& operator=(const SecretBytes&) = delete;

  std::string_view view() const { return {data_, size_}; }
  char* data() { return data_; }
  std::size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }

 private:
  void release() noexcept;
  char* data_ = nullptr;
  std::size_t size_ = 0;
};

// Tokens. A generated token is "sinkhost-dpt1-" followed by 32 random bytes in unpadded
// base64url: it has 256 bits of entropy, so a fast KDF (keyed BLAKE2b) turns it into the key.
// Anything else is a passphrase (16 to 4096 bytes), stretched with Argon2id.
inline constexpr std::string_view kGeneratedTokenPrefix = "sinkhost-dpt1-";
SecretBytes generate_token();
// Checks a token's form (not whether it is the right one for a data directory). Errors never
// contain the token.
Result<void> check_token(std::string_view token);

// A token file: its content less trailing line ends. `warning` receives a note when the file
// can be read by other users. Errors never contain the content.
Result<SecretBytes> read_token_file(const std::string& path, std::string* warning = nullptr);

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

// At start-up, before any connector is restored: with a token, opens the data directory's key
// (setting it up on first use) and refuses a wrong token; without one, refuses a state store
// that holds encrypted settings. Returns the key, or nullptr when there is no token (secret
// settings are then refused with a 400).
Result<std::shared_ptr<const SecretBox>> open_data_protection(StateStore& store, const SecretBytes* token);

// `sinkhost token rotate`: checks the old token, then re-encrypts every stored secret value
// under a key from the new token (new salt) in one transaction, and compacts state.db so the
// old ciphertexts are gone from its files. Returns how many values were re-encrypted.
Result<std::size_t> rotate_token(StateStore& store, std::string_view old_token, std::string_view new_token);

// Replaces every occurrence of the registered values in a text with kSecretMask. For a
// multi-line value (a PEM key), each long enough line is replaced on its own too, so a message
// quoting one line of it does not leak it. Values shorter than 4 bytes are not searched for:
// masking every "a" would garble every message while hiding little. Thread-safe.
class SecretRedactor {
 public:
  // The values of the secret settings of the running connectors: the log sink and the errors
  // a connector reports are passed through it.
  static SecretRedactor& global();

  void add(const std::string& owner, std::string_view value);
  void remove(const std::string& owner);
  std::string redact(std::string_view text) const;
  bool empty() const;

 private:
  mutable std::mutex mutex_;
  std::multimap<std::string, SecretBytes> values_;  // owner -> value
};

// The same replacement over explicit values (validation messages).
std::string redact(std::string_view text, std::span<const std::string_view> values);

// Makes spdlog's default logger pass every message through SecretRedactor::global() before
// writing it to standard error (or, for tests, handing each formatted line to `write`), so no
// log line carries the value of a running connector's secret setting, whoever wrote it (a
// plugin, librdkafka). Call once, before logging.
void install_redacting_logger(std::function<void(std::string_view line)> write = {});

}  // namespace sinkhost::runtime
