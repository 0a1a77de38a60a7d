#include "sinkhost/runtime/secrets/secret_bytes.hpp"

#include "sodium_support.hpp"

namespace sinkhost::runtime {

using connector::Error;
using connector::ErrorCode;
using connector::make_error;
using namespace secrets_detail;

bool crypto_ready() {
  // sodium_init() must run before any other libsodium call; idempotent and thread-safe, and a
  // function-local static makes it run once.
  static const bool ready = sodium_init() >= 0;
  return ready;
}

void wipe(void* data, std::size_t size) noexcept { sodium_memzero(data, size); }

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

}  // namespace sinkhost::runtime
