// Fuzz target: connector settings as JSON, validated the way PUT
// /connector-plugins/{type}/config/validate does it: the common settings, the plugin's table,
// the subscription filter and the plugin's cross-setting rules. The first byte picks the plugin
// (kafka-sink or logger-sink), the rest is the body.
// Invariants: a refusal is a 400 google.rpc.Status; an accepted set's canonical settings are
// accepted again unchanged (validation is idempotent).
#include <cstddef>
#include <cstdint>

#include <nlohmann/json.hpp>

#include "fuzz_host.hpp"
#include "sinkhost/runtime/secrets/secret_box.hpp"
#include "sinkhost/runtime/secrets/token.hpp"

using namespace sinkhost;
using nlohmann::json;

namespace {

management_api::HttpResponse validate(const char* type, std::string body) {
  management_api::HttpRequest request{.method = "PUT",
                                      .target = std::string("/connector-plugins/") + type + "/config/validate",
                                      .headers = {{"content-type", "application/json"}},
                                      .body = std::move(body)};
  return fuzz::FuzzHost::instance().handle(request);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size == 0) return 0;
  const char* type = (data[0] & 1) == 0 ? "kafka-sink" : "logger-sink";
  auto text = fuzz::as_text(data + 1, size - 1);
  auto first = validate(type, std::string(text));
  fuzz::print_if_asked("answer", first.body);
  if (first.status != 200) {
    fuzz::require(first.status == 400 || first.status == 404, "a refused setting is a 400", first.body);
    fuzz::require(fuzz::is_status_body(first.body), "a refusal is a google.rpc.Status", first.body);
    return 0;
  }
  auto accepted = json::parse(first.body, nullptr, false);
  fuzz::require(accepted.is_object() && accepted["valid"] == true && accepted["settings"].is_object(),
                "an acceptance is {valid: true, settings: {...}}", first.body);
  for (const auto& [key, value] : accepted["settings"].items()) {
    // A secret comes back masked, and the mask alone is not a value: nothing to compare.
    if (value == std::string(runtime::kSecretMask)) return 0;
  }
  auto second = validate(type, accepted["settings"].dump());
  fuzz::require(second.status == 200, "canonical settings are valid", first.body + "\n" + second.body);
  fuzz::require(json::parse(second.body, nullptr, false) == accepted, "validation is idempotent",
                first.body + "\n" + second.body);
  return 0;
}
