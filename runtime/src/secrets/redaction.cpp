#include "sinkhost/runtime/secrets/redaction.hpp"

#include <algorithm>
#include <utility>

#include <spdlog/sinks/base_sink.h>
#include <spdlog/sinks/sink.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "sodium_support.hpp"

namespace sinkhost::runtime {

using connector::Error;
using connector::ErrorCode;
using connector::make_error;
using namespace secrets_detail;

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
  if (write)
    next = std::make_shared<FunctionSink>(std::move(write));
  else
    next = std::make_shared<spdlog::sinks::stderr_color_sink_mt>();
  auto sink = std::make_shared<RedactingSink>(std::move(next));
  auto logger = std::make_shared<spdlog::logger>("", std::move(sink));
  spdlog::set_default_logger(std::move(logger));
}

}  // namespace sinkhost::runtime
