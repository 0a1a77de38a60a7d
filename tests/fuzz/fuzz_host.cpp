#include "fuzz_host.hpp"

#include <stdlib.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <stdexcept>

#include <nlohmann/json.hpp>
#include <spdlog/spdlog.h>

#include "sinkhost/runtime/connector_service.hpp"
#include "sinkhost/runtime/embedded_log/event_log.hpp"
#include "sinkhost/runtime/plugin_registry.hpp"
#include "sinkhost/runtime/secrets/data_protection.hpp"
#include "sinkhost/runtime/secrets/redaction.hpp"
#include "sinkhost/runtime/secrets/token.hpp"
#include "sinkhost/runtime/state_store.hpp"

namespace sinkhost::fuzz {

namespace {

// A well-formed generated token (as tests/support/token.hpp), so secret settings are accepted.
constexpr std::string_view kToken = "sinkhost-dpt1-AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8";

template <class T>
T take(connector::Result<T> result, const char* what) {
  if (!result.ok()) throw std::runtime_error(std::string(what) + ": " + result.error().message);
  return std::move(result).value();
}

}  // namespace

struct FuzzHost::State {
  std::filesystem::path dir;
  runtime::PluginRegistry plugins;
  std::unique_ptr<runtime::EventLog> log;
  std::unique_ptr<runtime::StateStore> store;
  std::shared_ptr<const runtime::SecretBox> secrets;
  std::unique_ptr<runtime::ConnectorService> service;
  std::unique_ptr<management_api::Api> api;
};

FuzzHost& FuzzHost::instance() {
  static FuzzHost host;
  return host;
}

FuzzHost::FuzzHost() {
  // Errors the routes log on purpose (a refused request) would drown the fuzzer's output.
  if (std::getenv("SINKHOST_FUZZ_PRINT") == nullptr) spdlog::set_level(spdlog::level::off);
  renew();
}

void FuzzHost::renew() {
  if (state_) {
    auto old_dir = state_->dir;
    state_.reset();
    std::error_code ignored;
    std::filesystem::remove_all(old_dir, ignored);
  }
  state_ = std::make_unique<State>();
  std::string pattern = (std::filesystem::temp_directory_path() / "sinkhost-fuzz-XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  auto& s = *state_;
  s.dir = pattern;
  if (auto loaded = s.plugins.load_directory(SINKHOST_PLUGIN_DIR); !loaded.ok()) {
    throw std::runtime_error("loading the plugins: " + loaded.error().message);
  }
  s.log = take(runtime::EventLog::open((s.dir / "events.db").string()), "opening the event log");
  s.store = take(runtime::StateStore::open((s.dir / "state.db").string()), "opening the state store");
  runtime::SecretBytes token{kToken};
  s.secrets = take(runtime::open_data_protection(*s.store, &token), "opening data protection");
  s.service = std::make_unique<runtime::ConnectorService>(*s.log, *s.store, s.plugins, s.secrets);
  s.api = std::make_unique<management_api::Api>(*s.log, *s.service, management_api::ApiOptions{.version = "fuzz"});
}

FuzzHost::~FuzzHost() {
  auto dir = state_->dir;
  state_.reset();
  std::error_code ignored;
  std::filesystem::remove_all(dir, ignored);
}

management_api::Api& FuzzHost::api() { return *state_->api; }

management_api::HttpResponse FuzzHost::handle(const management_api::HttpRequest& request) {
  if (++handled_ % kInputsPerHost == 0) renew();
  auto target = management_api::parse_target(request.target);
  // Starting (and reset, which starts as KurrentDB's does) would wait up to 10 s for a sink to
  // open: not what a fuzzer should spend its time on.
  if (target.ok() && target->segments.size() >= 3 && target->segments[0] == "connectors" &&
      (target->segments[2] == "start" || target->segments[2] == "reset")) {
    return management_api::json_response(202, R"({"fuzz":"connectors are not started while fuzzing"})");
  }
  return state_->api->handle(request);
}

void invariant_failed(std::string_view what, std::string_view detail) {
  std::fprintf(stderr, "invariant failed: %.*s\n%.*s\n", static_cast<int>(what.size()), what.data(),
               static_cast<int>(std::min<std::size_t>(detail.size(), 2000)), detail.data());
  std::abort();
}

void print_if_asked(std::string_view label, std::string_view text) {
  static const bool asked = std::getenv("SINKHOST_FUZZ_PRINT") != nullptr;
  if (!asked) return;
  std::fprintf(stderr, "--- %.*s\n%.*s\n", static_cast<int>(label.size()), label.data(), static_cast<int>(text.size()),
               text.data());
}

bool is_status_body(std::string_view body) {
  auto json = nlohmann::json::parse(body, nullptr, false);
  if (!json.is_object()) return false;
  auto code = json.find("code");
  auto message = json.find("message");
  auto details = json.find("details");
  return code != json.end() && code->is_number_integer() && message != json.end() && message->is_string() &&
         !message->get<std::string>().empty() && details != json.end() && details->is_array();
}

}  // namespace sinkhost::fuzz
