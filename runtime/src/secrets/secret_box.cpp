#include "sinkhost/runtime/secrets/secret_box.hpp"

#include <algorithm>

#include "sodium_support.hpp"

namespace sinkhost::runtime {

using connector::Error;
using connector::ErrorCode;
using connector::make_error;
using namespace secrets_detail;

SecretBox::SecretBox() = default;

SecretBox::~SecretBox() {
  if (key_ != nullptr) sodium_free(key_);  // wipes it
}

namespace {

// Derives the key of `record` from `token` into `key` (kKeyBytes, writable).
Result<void> derive_key(std::string_view token, const DataProtectionRecord& record, unsigned char* key) {
  if (record.format != 1) {
    return make_error(ErrorCode::failed_precondition,
                      "state.db's data protection record has format " + std::to_string(record.format) +
                          ", which this sinkhost does not know: it was written by a newer version");
  }
  if (record.salt.size() != crypto_pwhash_SALTBYTES) {
    return make_error(ErrorCode::internal, "state.db's data protection record is damaged (its salt)");
  }
  const auto* salt = reinterpret_cast<const unsigned char*>(record.salt.data());
  if (record.kdf != kdf_for(token)) {
    // The form of the token already tells it is not the one the directory was set up with.
    if (record.kdf != kKdfArgon2id && record.kdf != kKdfBlake2b) {
      return make_error(ErrorCode::internal, "state.db's data protection record names an unknown key derivation");
    }
    auto error = wrong_token();
    error.message += record.kdf == kKdfArgon2id ? ": it was set up with a passphrase, and a generated token was given"
                                                : ": it was set up with a generated token, and a passphrase was given";
    return error;
  }
  if (record.kdf == kKdfBlake2b) {
    std::array<unsigned char, kMaxToken> master{};
    auto length = from_base64url(token.substr(kGeneratedTokenPrefix.size()), master.data(), master.size());
    if (length != static_cast<long>(kGeneratedTokenBytes)) {
      sodium_memzero(master.data(), master.size());
      return make_error(ErrorCode::invalid_argument, "the data protection token is damaged");
    }
    std::string message(kBlake2bContext);
    message += record.salt;
    crypto_generichash(key, kKeyBytes, reinterpret_cast<const unsigned char*>(message.data()), message.size(),
                       master.data(), kGeneratedTokenBytes);
    sodium_memzero(master.data(), master.size());
    return {};
  }
  // A tampered record must not make start-up allocate without bound or spin for hours.
  if (record.opslimit < static_cast<std::int64_t>(crypto_pwhash_OPSLIMIT_MIN) || record.opslimit > 64 ||
      record.memlimit < static_cast<std::int64_t>(crypto_pwhash_MEMLIMIT_MIN) ||
      record.memlimit > (std::int64_t{4} << 30)) {
    return make_error(ErrorCode::internal, "state.db's data protection record is damaged (its Argon2id limits)");
  }
  if (crypto_pwhash(key, kKeyBytes, token.data(), token.size(), salt, static_cast<unsigned long long>(record.opslimit),
                    static_cast<std::size_t>(record.memlimit), crypto_pwhash_ALG_ARGON2ID13) != 0) {
    return make_error(ErrorCode::resource_exhausted,
                      "not enough memory to derive the data protection key (Argon2id needs " +
                          std::to_string(record.memlimit >> 20) + " MiB)");
  }
  return {};
}

}  // namespace

Result<std::unique_ptr<SecretBox>> SecretBox::create(std::string_view token, DataProtectionRecord& record) {
  if (auto valid = check_token(token); !valid.ok()) return valid.error();
  record = DataProtectionRecord{};
  record.format = 1;
  record.kdf = std::string(kdf_for(token));
  record.salt.assign(crypto_pwhash_SALTBYTES, '\0');
  randombytes_buf(record.salt.data(), record.salt.size());
  if (record.kdf == kKdfArgon2id) {
    // Moderate limits (~0.5-1 s, 256 MiB, once per start): a passphrase is guessable, so each
    // guess must be expensive; a generated token is not, and takes the fast path.
    record.opslimit = crypto_pwhash_OPSLIMIT_MODERATE;
    record.memlimit = static_cast<std::int64_t>(crypto_pwhash_MEMLIMIT_MODERATE);
  }
  std::unique_ptr<SecretBox> box(new SecretBox());
  box->key_ = static_cast<unsigned char*>(sodium_malloc(kKeyBytes));
  if (box->key_ == nullptr) return make_error(ErrorCode::resource_exhausted, "cannot allocate the data protection key");
  if (auto derived = derive_key(token, record, box->key_); !derived.ok()) return derived.error();
  sodium_mprotect_readonly(box->key_);
  record.verifier = box->seal("", kVerifierSetting, kVerifierText);
  return box;
}

Result<std::unique_ptr<SecretBox>> SecretBox::open(std::string_view token, const DataProtectionRecord& record) {
  if (auto valid = check_token(token); !valid.ok()) return valid.error();
  std::unique_ptr<SecretBox> box(new SecretBox());
  box->key_ = static_cast<unsigned char*>(sodium_malloc(kKeyBytes));
  if (box->key_ == nullptr) return make_error(ErrorCode::resource_exhausted, "cannot allocate the data protection key");
  if (auto derived = derive_key(token, record, box->key_); !derived.ok()) return derived.error();
  sodium_mprotect_readonly(box->key_);
  auto verified = box->unseal("", kVerifierSetting, record.verifier);
  if (!verified.ok() || verified->view() != kVerifierText) return wrong_token();
  return box;
}

std::string SecretBox::seal(std::string_view connector_id, std::string_view setting, std::string_view plaintext) const {
  const auto ad = associated_data(connector_id, setting);
  std::vector<unsigned char> out(kNonceBytes + plaintext.size() + kTagBytes);
  randombytes_buf(out.data(), kNonceBytes);  // random 192-bit nonces never repeat in practice
  unsigned long long length = 0;
  crypto_aead_xchacha20poly1305_ietf_encrypt(
      out.data() + kNonceBytes, &length, reinterpret_cast<const unsigned char*>(plaintext.data()), plaintext.size(),
      reinterpret_cast<const unsigned char*>(ad.data()), ad.size(), nullptr, out.data(), key_);
  return std::string(kSealedV1) + to_base64url(out.data(), kNonceBytes + static_cast<std::size_t>(length));
}

Result<SecretBytes> SecretBox::unseal(std::string_view connector_id, std::string_view setting,
                                      std::string_view sealed) const {
  if (!sealed.starts_with(kSealedPrefix)) {
    return make_error(ErrorCode::failed_precondition, "the stored value is not an encrypted value");
  }
  if (!sealed.starts_with(kSealedV1)) {
    return make_error(
        ErrorCode::failed_precondition,
        "the stored value is encrypted in a format this sinkhost does not know (a newer version wrote it)");
  }
  auto encoded = sealed.substr(kSealedV1.size());
  std::vector<unsigned char> bytes(encoded.size());  // base64 decodes to fewer bytes than characters
  auto length = from_base64url(encoded, bytes.data(), bytes.size());
  if (length < static_cast<long>(kNonceBytes + kTagBytes)) {
    return make_error(ErrorCode::failed_precondition, "the stored encrypted value is damaged");
  }
  const auto ad = associated_data(connector_id, setting);
  const auto cipher_length = static_cast<std::size_t>(length) - kNonceBytes;
  SecretBytes plain(cipher_length - kTagBytes);
  unsigned long long plain_length = 0;
  std::array<unsigned char, 1> empty{};
  auto* target = plain.size() ? reinterpret_cast<unsigned char*>(plain.data()) : empty.data();
  if (crypto_aead_xchacha20poly1305_ietf_decrypt(target, &plain_length, nullptr, bytes.data() + kNonceBytes,
                                                 cipher_length, reinterpret_cast<const unsigned char*>(ad.data()),
                                                 ad.size(), bytes.data(), key_) != 0) {
    return make_error(ErrorCode::failed_precondition,
                      "the stored encrypted value does not decrypt: it was written for another connector or setting, "
                      "under another token, or changed outside sinkhost");
  }
  return plain;
}

bool is_sealed(std::string_view text) { return text.starts_with(kSealedPrefix); }

}  // namespace sinkhost::runtime
