#pragma once
// Keeping secret values out of messages and log lines.
#include <functional>
#include <map>
#include <mutex>
#include <span>
#include <string>
#include <string_view>

#include "sinkhost/runtime/secrets/secret_box.hpp"
#include "sinkhost/runtime/secrets/secret_bytes.hpp"

namespace sinkhost::runtime {

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
