#include "log_format.hpp"

#include <ctime>
#include <string_view>

#include <nlohmann/json.hpp>
#include <spdlog/details/log_msg.h>

namespace sinkhost::daemon {

namespace {

bool is_connector_id(std::string_view text) {
  if (text.size() < 5 || text.size() > 50) return false;
  for (char c : text) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

std::string utc_time(spdlog::log_clock::time_point time) {
  const auto since_epoch = time.time_since_epoch();
  const auto seconds = std::chrono::duration_cast<std::chrono::seconds>(since_epoch);
  const auto millis = std::chrono::duration_cast<std::chrono::milliseconds>(since_epoch - seconds).count();
  const std::time_t t = seconds.count();
  std::tm parts{};
  ::gmtime_r(&t, &parts);
  char text[40];
  const auto size = std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%S", &parts);
  return std::string(text, size) + "." + std::to_string(1000 + millis).substr(1) + "Z";
}

class JsonLogFormatter final : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    std::string_view message(msg.payload.data(), msg.payload.size());
    nlohmann::ordered_json line;
    line["time"] = utc_time(msg.time);
    const auto level = spdlog::level::to_string_view(msg.level);
    line["level"] = std::string_view(level.data(), level.size());
    // Connector workers prefix their lines with "[connector-id] ".
    if (message.starts_with('[')) {
      const auto end = message.find("] ");
      if (end != std::string_view::npos && is_connector_id(message.substr(1, end - 1))) {
        line["connector"] = message.substr(1, end - 1);
        message.remove_prefix(end + 2);
      }
    }
    line["message"] = message;
    if (msg.level >= spdlog::level::warn) {
      if (const auto colon = message.find(": "); colon != std::string_view::npos) {
        line["error"] = message.substr(colon + 2);
      }
    }
    // Invalid UTF-8 (a plugin quoting raw bytes) is replaced, never a failure to log.
    const auto text = line.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
    dest.append(text.data(), text.data() + text.size());
    dest.push_back('\n');
  }

  std::unique_ptr<spdlog::formatter> clone() const override { return std::make_unique<JsonLogFormatter>(); }
};

}  // namespace

std::unique_ptr<spdlog::formatter> json_log_formatter() { return std::make_unique<JsonLogFormatter>(); }

}  // namespace sinkhost::daemon
