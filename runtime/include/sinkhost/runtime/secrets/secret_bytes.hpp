#pragma once
// Bytes that hold a secret (a token, a password, a decrypted setting) and how they are wiped.
// libsodium stays inside runtime/src/secrets: this header is cheap to include.
#include <cstddef>
#include <string>
#include <string_view>

namespace sinkhost::runtime {

// libsodium is ready for use (it initializes once, on the first call); false when it cannot be.
bool crypto_ready();

// Overwrites `size` bytes at `data` in a way the compiler cannot optimize away.
void wipe(void* data, std::size_t size) noexcept;

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

}  // namespace sinkhost::runtime
