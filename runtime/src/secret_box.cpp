#include "sinkhost/runtime/secret_box.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <utility>

#include <sodium.h>
#include <spdlog/sinks/base_sink.h>
#include <spdlog/sinks/sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

namespace sinkhost::runtime {

using connector::Error;
using connector::ErrorCode;
using connector::make_error;

namespace {

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

// sodium_init() must run before any other libsodium call; idempotent and thread-safe, and a
// function-local static makes it run once.
bool sodium_ready() {
  static const bool ready = sodium_init() >= 0;
  return ready;
}

Error sodium_unavailable() { return make_error(ErrorCode::internal, "libsodium failed to initialize"); }

std::string associated_data(std::string_view connector_id, std::string_view setting) {
  std::string ad(kAssociatedPrefix);
  ad += connector_id;
  ad += '\0';
  ad += setting;
  return ad;
}

std::string to_base64url(const unsigned char* bytes, std::size_t size) {
  const auto variant = sodium_base64_VARIANT_URLSAFE_NO_PADDING;
  std::string out(sodium_base64_encoded_len(size, variant), '\0');
  sodium_bin2base64(out.data(), out.size(), bytes, size, variant);
  out.resize(std::strlen(out.c_str()));
  return out;
}

// Decodes into `out` (sized for the longest result); returns the decoded length, or -1.
long from_base64url(std::string_view text, unsigned char* out, std::size_t capacity) {
  std::size_t length = 0;
  const char* end = nullptr;
  if (sodium_base642bin(out, capacity, text.data(), text.size(), nullptr, &length, &end,
                        sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
      end != text.data() + text.size()) {
    return -1;
  }
  return static_cast<long>(length);
}

bool is_generated(std::string_view token) { return token.starts_with(kGeneratedTokenPrefix); }

// The kind of KDF a token's form calls for.
std::string_view kdf_for(std::string_view token) { return is_generated(token) ? kKdfBlake2b : kKdfArgon2id; }

Error wrong_token() {
  return make_error(ErrorCode::permission_denied,
                    "the data protection token is not the one this data directory's secret settings were encrypted "
                    "with (state.db was set up with another token)");
}

}  // namespace

void wipe(std::string& text) noexcept {
  text.resize(text.capacity());  // never reallocates: the whole current buffer becomes reachable
  sodium_memzero(text.data(), text.size());
  text.clear();
}

SecretBytes::SecretBytes(std::string_view bytes) : SecretBytes(bytes.size()) {
  if (!bytes.empty()) std::memcpy(data_, bytes.data(), bytes.size());
}

SecretBytes::SecretBytes(std::size_t size) : data_(size ? new char[size]() : nullptr), size_(size) {}

SecretBytes::~SecretBytes() { release(); }

SecretBytes::SecretBytes(SecretBytes&& other) noexcept : data_(other.data_), size_(other.size_) {
  other.data_ = nullptr;
  other.size_ = 0;
}

SecretBytes& SecretBytes::operator=(SecretBytes&& other) noexcept {
  if (this != &other) {
    release();
    data_ = std::exchange(other.data_, nullptr);
    size_ = std::exchange(other.size_, 0);
  }
  return *this;
}

void SecretBytes::release() noexcept {
  if (data_ != nullptr) {
    sodium_memzero(data_, size_);
    delete[] data_;
  }
  data_ = nullptr;
  size_ = 0;
}

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
  crypto_aead_xchacha20poly1305_ietf_encrypt(out.data() + kNonceBytes, &length,
                                             reinterpret_cast<const unsigned char*>(plaintext.data()), plaintext.size(),
                                             reinterpret_cast<const unsigned char*>(ad.data()), ad.size(), nullptr,
                                             out.data(), key_);
  return std::string(kSealedV1) + to_base64url(out.data(), kNonceBytes + static_cast<std::size_t>(length));
}

Result<SecretBytes> SecretBox::unseal(std::string_view connector_id, std::string_view setting,
                                      std::string_view sealed) const {
  if (!sealed.starts_with(kSealedPrefix)) {
    return make_error(ErrorCode::failed_precondition, "the stored value is not an encrypted value");
  }
  if (!sealed.starts_with(kSealedV1)) {
    return make_error(ErrorCode::failed_precondition,
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

Result<std::shared_ptr<const SecretBox>> open_data_protection(StateStore& store, const SecretBytes* token) {
  if (!sodium_ready()) return sodium_unavailable();
  auto record = store.load_data_protection();
  if (!record.ok()) return record.error();
  auto sealed = store.count_sealed();
  if (!sealed.ok()) return sealed.error();
  if (token == nullptr) {
    if (*sealed > 0) {
      return make_error(ErrorCode::failed_precondition,
                        "state.db holds encrypted secret settings of " + std::to_string(*sealed) +
                            " connector(s) and no data protection token was given: " + std::string(kTokenHelp));
    }
    return std::shared_ptr<const SecretBox>();
  }
  if (*record) {
    auto box = SecretBox::open(token->view(), **record);
    if (!box.ok()) return box.error();
    return std::shared_ptr<const SecretBox>(std::move(box).value());
  }
  if (*sealed > 0) {
    return make_error(ErrorCode::internal,
                      "state.db holds encrypted secret settings but no data protection record: it was changed "
                      "outside sinkhost; restore it from a backup");
  }
  DataProtectionRecord created;
  auto box = SecretBox::create(token->view(), created);
  if (!box.ok()) return box.error();
  if (auto saved = store.create_data_protection(created); !saved.ok()) return saved.error();
  spdlog::info("data protection set up for this data directory ({}): secret settings are encrypted with a key from "
               "this token from now on",
               created.kdf == kKdfArgon2id ? "passphrase, Argon2id" : "generated token");
  return std::shared_ptr<const SecretBox>(std::move(box).value());
}

Result<std::size_t> rotate_token(StateStore& store, std::string_view old_token, std::string_view new_token) {
  if (!sodium_ready()) return sodium_unavailable();
  if (auto valid = check_token(new_token); !valid.ok()) {
    return make_error(ErrorCode::invalid_argument, "the new token: " + valid.error().message);
  }
  auto record = store.load_data_protection();
  if (!record.ok()) return record.error();
  if (!*record) {
    return make_error(ErrorCode::failed_precondition,
                      "this state.db has no data protection set up, so there is nothing to re-encrypt: start "
                      "sinkhost with the new token instead");
  }
  auto old_box = SecretBox::open(old_token, **record);
  if (!old_box.ok()) {
    auto error = old_box.error();
    if (error.code == ErrorCode::permission_denied) {
      error.message = "the old token is not the one this data directory's secret settings were encrypted with";
    }
    return error;
  }
  DataProtectionRecord next;
  auto new_box = SecretBox::create(new_token, next);
  if (!new_box.ok()) return new_box.error();
  auto count = store.reseal_all(next, [&](const std::string& id, const std::string& setting,
                                          const std::string& sealed) -> Result<std::string> {
    auto plain = (*old_box)->unseal(id, setting, sealed);
    if (!plain.ok()) {
      return make_error(ErrorCode::failed_precondition,
                        "connector '" + id + "', setting '" + setting + "': " + plain.error().message);
    }
    return (*new_box)->seal(id, setting, plain->view());
  });
  if (!count.ok()) return count.error();
  if (auto compacted = store.compact(); !compacted.ok()) {
    return make_error(ErrorCode::unavailable,
                      "the secret settings were re-encrypted under the new token, but state.db could not be "
                      "compacted, so its free pages may still hold the old ciphertexts (" +
                          compacted.error().message + "); run `sqlite3 state.db VACUUM` with sinkhost stopped");
  }
  return count;
}

// --- Redaction ---

namespace {

// The strings to search for in a value: the value, and each long enough line of a multi-line
// one (PEM armour lines are public and would mask the messages that name them).
template <class Add>
void searched_parts(std::string_view value, Add&& add) {
  if (value.size() >= kMinRedacted) add(value);
  if (value.find('\n') == std::string_view::npos) return;
  std::size_t start = 0;
  while (start < value.size()) {
    auto end = value.find('\n', start);
    if (end == std::string_view::npos) end = value.size();
    auto line = value.substr(start, end - start);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.size() >= kMinRedactedLine && !line.starts_with("-----")) add(line);
    start = end + 1;
  }
}

std::string replace_all(std::string_view text, std::vector<std::string_view> parts) {
  // Longest first, so that a value is masked whole before any of its lines is looked for.
  std::sort(parts.begin(), parts.end(), [](auto a, auto b) { return a.size() > b.size(); });
  std::string out(text);
  for (auto part : parts) {
    for (auto at = out.find(part); at != std::string::npos; at = out.find(part, at + kSecretMask.size())) {
      out.replace(at, part.size(), kSecretMask);
    }
  }
  return out;
}

}  // namespace

SecretRedactor& SecretRedactor::global() {
  static SecretRedactor instance;
  return instance;
}

void SecretRedactor::add(const std::string& owner, std::string_view value) {
  std::lock_guard lock(mutex_);
  searched_parts(value, [&](std::string_view part) { values_.emplace(owner, SecretBytes(part)); });
}

void SecretRedactor::remove(const std::string& owner) {
  std::lock_guard lock(mutex_);
  values_.erase(owner);
}

bool SecretRedactor::empty() const {
  std::lock_guard lock(mutex_);
  return values_.empty();
}

std::string SecretRedactor::redact(std::string_view text) const {
  std::lock_guard lock(mutex_);
  if (values_.empty()) return std::string(text);
  std::vector<std::string_view> parts;
  for (const auto& [owner, value] : values_) parts.push_back(value.view());
  return replace_all(text, std::move(parts));
}

std::string redact(std::string_view text, std::span<const std::string_view> values) {
  std::vector<std::string_view> parts;
  for (auto value : values) searched_parts(value, [&](std::string_view part) { parts.push_back(part); });
  return replace_all(text, std::move(parts));
}

namespace {

// A sink in front of another that masks registered secret values in each message.
class RedactingSink final : public spdlog::sinks::sink {
 public:
  explicit RedactingSink(std::shared_ptr<spdlog::sinks::sink> next) : next_(std::move(next)) {}

  void log(const spdlog::details::log_msg& message) override {
    const std::string_view payload(message.payload.data(), message.payload.size());
    auto redacted = SecretRedactor::global().redact(payload);
    if (redacted == payload) {
      next_->log(message);
      return;
    }
    auto copy = message;
    copy.payload = spdlog::string_view_t(redacted.data(), redacted.size());
    next_->log(copy);
  }
  void flush() override { next_->flush(); }
  void set_pattern(const std::string& pattern) override { next_->set_pattern(pattern); }
  void set_formatter(std::unique_ptr<spdlog::formatter> formatter) override {
    next_->set_formatter(std::move(formatter));
  }

 private:
  std::shared_ptr<spdlog::sinks::sink> next_;
};

// Hands each formatted line to a function (tests read the log this way).
class FunctionSink final : public spdlog::sinks::base_sink<std::mutex> {
 public:
  explicit FunctionSink(std::function<void(std::string_view)> write) : write_(std::move(write)) {}

 protected:
  void sink_it_(const spdlog::details::log_msg& message) override {
    spdlog::memory_buf_t formatted;
    formatter_->format(message, formatted);
    write_(std::string_view(formatted.data(), formatted.size()));
  }
  void flush_() override {}

 private:
  std::function<void(std::string_view)> write_;
};

}  // namespace

void install_redacting_logger(std::function<void(std::string_view line)> write) {
  std::shared_ptr<spdlog::sinks::sink> next;
  if (write) next = std::make_shared<FunctionSink>(std::move(write));
  else next = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
  auto sink = std::make_shared<RedactingSink>(std::move(next));
  auto logger = std::make_shared<spdlog::logger>("", std::move(sink));
  spdlog::set_default_logger(std::move(logger));
}

}  // namespace sinkhost::runtime
