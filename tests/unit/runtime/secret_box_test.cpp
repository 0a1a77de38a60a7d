// Secrets: the secret box, the token, masking on every route, the mask round trip, rotation,
// and that no secret value reaches the disk, an answer, an error or the log in clear.
#include <sys/stat.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <mutex>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "file_search.hpp"
#include "process.hpp"
#include "sinkhost/management_api/api.hpp"
#include "sinkhost/runtime/connector_service.hpp"
#include "sinkhost/runtime/embedded_log/event_log.hpp"
#include "sinkhost/runtime/plugin_registry.hpp"
#include "sinkhost/runtime/secrets/data_protection.hpp"
#include "sinkhost/runtime/secrets/redaction.hpp"
#include "sinkhost/runtime/secrets/token.hpp"
#include "sqlite.hpp"
#include "sinkhost/runtime/state_store.hpp"

namespace sinkhost::runtime {
namespace {

using connector::ErrorCode;
using nlohmann::json;

// A generated token and a passphrase, fixed so that failures are reproducible.
const std::string kToken = "sinkhost-dpt1-AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8";
const std::string kOtherToken = "sinkhost-dpt1-HxAdHBsaGRgXFhUUExIREA8ODQwLCgkIBwYFBAMCAQA";
const std::string kPassphrase = "correct horse battery staple";

// ---------------------------------------------------------------------------------------------
// The secret box and the token.

std::unique_ptr<SecretBox> make_box(const std::string& token, DataProtectionRecord* record_out = nullptr) {
  DataProtectionRecord record;
  auto box = SecretBox::create(token, record);
  EXPECT_TRUE(box.ok()) << (box.ok() ? "" : box.error().message);
  if (record_out) *record_out = record;
  return box.ok() ? std::move(box).value() : nullptr;
}

TEST(SecretBox, ASealedValueOpensOnlyForTheConnectorAndSettingItWasWrittenFor) {
  auto box = make_box(kToken);
  ASSERT_TRUE(box);
  auto sealed = box->seal("orders-sink", "authentication:password", "alice-secret");
  EXPECT_TRUE(sealed.starts_with("sinkhost:enc:v1:")) << "a versioned format: " << sealed;
  EXPECT_EQ(sealed.find("alice-secret"), std::string::npos);

  auto opened = box->unseal("orders-sink", "authentication:password", sealed);
  ASSERT_TRUE(opened.ok()) << opened.error().message;
  EXPECT_EQ(opened->view(), "alice-secret");

  auto other_connector = box->unseal("other-sink", "authentication:password", sealed);
  ASSERT_FALSE(other_connector.ok()) << "a ciphertext copied to another connector must not decrypt";
  EXPECT_NE(other_connector.error().message.find("another connector or setting"), std::string::npos);
  EXPECT_FALSE(box->unseal("orders-sink", "authentication:username", sealed).ok())
      << "a ciphertext copied to another setting must not decrypt";
  // The separator between id and setting is part of what is bound: shifting characters from
  // one to the other does not open it either.
  EXPECT_FALSE(box->unseal("orders-sinka", "uthentication:password", sealed).ok());

  auto other_key = make_box(kToken);  // same token, new salt: another data directory
  EXPECT_FALSE(other_key->unseal("orders-sink", "authentication:password", sealed).ok());
}

TEST(SecretBox, TamperedTruncatedAndUnknownVersionValuesAreRefused) {
  auto box = make_box(kToken);
  auto sealed = box->seal("orders-sink", "authentication:password", "alice-secret");
  auto flipped = sealed;
  flipped[flipped.size() - 5] = flipped[flipped.size() - 5] == 'A' ? 'B' : 'A';
  EXPECT_FALSE(box->unseal("orders-sink", "authentication:password", flipped).ok());
  EXPECT_FALSE(box->unseal("orders-sink", "authentication:password", sealed.substr(0, 30)).ok());
  EXPECT_FALSE(box->unseal("orders-sink", "authentication:password", "alice-secret").ok())
      << "a clear value is not taken for an encrypted one";
  auto v2 = "sinkhost:enc:v2:" + sealed.substr(16);
  auto refused = box->unseal("orders-sink", "authentication:password", v2);
  ASSERT_FALSE(refused.ok());
  EXPECT_NE(refused.error().message.find("newer version"), std::string::npos) << refused.error().message;
}

TEST(SecretBox, EachValueGetsAFreshNonceAndEmptyValuesWork) {
  auto box = make_box(kToken);
  EXPECT_NE(box->seal("orders-sink", "k", "same"), box->seal("orders-sink", "k", "same"))
      << "equal values must not give equal ciphertexts";
  auto empty = box->unseal("orders-sink", "k", box->seal("orders-sink", "k", ""));
  ASSERT_TRUE(empty.ok());
  EXPECT_TRUE(empty->view().empty());
}

TEST(SecretBox, GeneratedTokensAreRandomAndTakeTheFastKdfPassphrasesTakeArgon2id) {
  auto a = generate_token();
  auto b = generate_token();
  EXPECT_TRUE(a.view().starts_with("sinkhost-dpt1-"));
  EXPECT_EQ(a.size(), std::string("sinkhost-dpt1-").size() + 43) << "32 bytes in unpadded base64url";
  EXPECT_NE(a.view(), b.view());
  EXPECT_TRUE(check_token(a.view()).ok());

  DataProtectionRecord fast;
  auto started = std::chrono::steady_clock::now();
  ASSERT_TRUE(make_box(std::string(a.view()), &fast));
  EXPECT_EQ(fast.kdf, "blake2b");
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::milliseconds(200));

  DataProtectionRecord slow;
  ASSERT_TRUE(make_box(kPassphrase, &slow));
  EXPECT_EQ(slow.kdf, "argon2id13");
  EXPECT_GE(slow.opslimit, 3) << "moderate limits: a guessed passphrase must cost";
  EXPECT_GE(slow.memlimit, std::int64_t{256} << 20);
  EXPECT_EQ(slow.salt.size(), 16u);
  EXPECT_TRUE(SecretBox::open(kPassphrase, slow).ok());
  auto wrong = SecretBox::open("correct horse battery stapler", slow);
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(wrong.error().code, ErrorCode::permission_denied);
}

TEST(SecretBox, BadTokensAreRefusedWithoutBeingEchoed) {
  auto empty = check_token("");
  ASSERT_FALSE(empty.ok());
  EXPECT_NE(empty.error().message.find("empty"), std::string::npos);

  auto short_passphrase = check_token("hunter2-hunter");
  ASSERT_FALSE(short_passphrase.ok());
  EXPECT_NE(short_passphrase.error().message.find("at least 16 characters"), std::string::npos);
  EXPECT_EQ(short_passphrase.error().message.find("hunter2"), std::string::npos);

  auto damaged = check_token("sinkhost-dpt1-AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh");  // one character short
  ASSERT_FALSE(damaged.ok());
  EXPECT_NE(damaged.error().message.find("damaged"), std::string::npos) << damaged.error().message;
  EXPECT_EQ(damaged.error().message.find("AAECAwQF"), std::string::npos);
}

TEST(SecretBox, ATokenFileLosesItsLineEndAndAReadableFileIsWarnedAbout) {
  test::TempDir dir;
  const auto path = dir.path() + "/token";
  std::ofstream(path) << kToken << "\r\n";
  ::chmod(path.c_str(), 0600);
  std::string warning;
  auto token = read_token_file(path, &warning);
  ASSERT_TRUE(token.ok()) << token.error().message;
  EXPECT_EQ(token->view(), kToken);
  EXPECT_TRUE(warning.empty()) << warning;

  ::chmod(path.c_str(), 0644);
  ASSERT_TRUE(read_token_file(path, &warning).ok());
  EXPECT_NE(warning.find("chmod 600"), std::string::npos) << warning;

  auto missing = read_token_file(dir.path() + "/nothing", nullptr);
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.error().message.find(dir.path() + "/nothing"), std::string::npos);

  std::ofstream(path) << "too short\n";
  auto bad = read_token_file(path, nullptr);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.error().message.find("too short"), std::string::npos) << "the content is never echoed";
}

TEST(SecretRedactor, MasksWholeValuesAndEachLongLineOfAMultiLineOne) {
  const std::string key =
      "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcw\nggSjAgEAAoIBAQC7\n"
      "-----END PRIVATE KEY-----\n";
  std::vector<std::string_view> values = {"alice-secret", key, "abc"};
  EXPECT_EQ(redact("login alice-secret failed", values), "login ******** failed");
  EXPECT_EQ(redact("bad key " + key, values), "bad key ********");
  EXPECT_EQ(redact("bad line MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcw here", values), "bad line ******** here");
  EXPECT_EQ(redact("must be -----BEGIN PRIVATE KEY-----", values), "must be -----BEGIN PRIVATE KEY-----")
      << "PEM armour is public, and messages name it";
  EXPECT_EQ(redact("abc is short", values), "abc is short") << "values under 4 bytes are not searched for";
}

// ---------------------------------------------------------------------------------------------
// Connectors with secret settings, through the management API.

// What the in-process "vault-sink" was opened with, so tests see what a connector really runs
// with after masks, restarts and rotations.
struct Opened {
  std::mutex mutex;
  std::map<std::string, connector::Settings> by_connector;
};
Opened& opened() {
  static Opened instance;
  return instance;
}

class VaultSink final : public connector::Sink {
 public:
  explicit VaultSink(connector::SinkContext context) : context_(std::move(context)) {}
  connector::Result<void> open() override {
    {
      std::lock_guard lock(opened().mutex);
      opened().by_connector[context_.connector_id] = context_.settings;
    }
    const auto key = connector::get_or(context_.settings, "apiKey", "");
    // A careless plugin: it logs and reports the secret it was given.
    context_.log(connector::LogLevel::info, "connecting with api key " + key);
    if (connector::get_bool(context_.settings, "failOpen", false)) {
      return connector::make_error(ErrorCode::permission_denied, "the vault refused api key " + key);
    }
    return {};
  }
  connector::Result<void> write(const connector::Record& record) override {
    context_.listener->delivered(record.position);
    return {};
  }
  void close(std::chrono::milliseconds) noexcept override {}

 private:
  connector::SinkContext context_;
};

connector::Result<std::unique_ptr<connector::Sink>> create_vault(connector::SinkContext context) {
  return std::unique_ptr<connector::Sink>(std::make_unique<VaultSink>(std::move(context)));
}

// A careless rule as well: it quotes the value it refuses.
std::vector<connector::FieldViolation> check_vault(const connector::Settings& settings) {
  auto key = connector::get_or(settings, "apiKey", "");
  if (key.starts_with("revoked-")) return {{"apiKey", "the api key '" + key + "' was revoked"}};
  return {};
}

const connector::SinkDescriptor& vault_descriptor() {
  static const connector::SinkDescriptor descriptor{
      .type_name = "vault-sink",
      .aliases = {},
      .description = "A test sink with secret settings.",
      .settings = {{.name = "apiKey", .secret = true, .doc = "secret"},
                   {.name = "clientKey", .secret = true, .doc = "secret, multi-line"},
                   {.name = "region", .doc = "not secret"},
                   {.name = "failOpen", .type = connector::SettingType::boolean, .default_value = "false", .doc = ""}},
      .create = &create_vault,
      .check = &check_vault,
  };
  return descriptor;
}

const std::string kApiKey = "vault-api-key-7f3a9c";
const std::string kClientKey =
    "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7\n"
    "-----END PRIVATE KEY-----\n";

class SecretsApi : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(plugins_.load_directory(SINKHOST_PLUGIN_DIR).ok());
    ASSERT_TRUE(plugins_.add(&vault_descriptor(), "secrets_test").ok());
    ASSERT_TRUE(open_host(kToken));
  }
  void TearDown() override { close_host(); }

  // A host over the fixture's data directory, as `sinkhost` opens it: state store, data
  // protection (with `token`, or none when empty), connectors restored. False when the data
  // protection refused, with the error in `refusal_`.
  bool open_host(const std::string& token) {
    close_host();
    auto log = EventLog::open(dir_.path() + "/events.db");
    EXPECT_TRUE(log.ok());
    log_ = std::move(log).value();
    auto store = StateStore::open(dir_.path() + "/state.db");
    EXPECT_TRUE(store.ok()) << (store.ok() ? "" : store.error().message);
    store_ = std::move(store).value();
    std::optional<SecretBytes> bytes;
    if (!token.empty()) bytes.emplace(token);
    auto secrets = open_data_protection(*store_, bytes ? &*bytes : nullptr);
    if (!secrets.ok()) {
      refusal_ = secrets.error();
      return false;
    }
    service_ = std::make_unique<ConnectorService>(*log_, *store_, plugins_, *secrets);
    api_ = std::make_unique<management_api::Api>(*log_, *service_, management_api::ApiOptions{.version = "test"});
    auto restored = service_->restore();
    if (!restored.ok()) refusal_ = restored.error();
    return restored.ok();
  }
  void close_host() {
    api_.reset();
    if (service_) service_->shutdown();
    service_.reset();
    store_.reset();
    log_.reset();
  }

  management_api::HttpResponse call(const std::string& method, const std::string& target,
                                    const std::string& body = "") {
    management_api::HttpRequest request{.method = method, .target = target, .headers = {}, .body = body};
    if (!body.empty()) request.headers["content-type"] = "application/json";
    return api_->handle(request);
  }
  static json body(const management_api::HttpResponse& response) { return json::parse(response.body); }
  static std::map<std::string, std::string> violations(const management_api::HttpResponse& response) {
    std::map<std::string, std::string> out;
    const auto parsed = body(response);
    for (const auto& detail : parsed["details"]) {
      for (const auto& v : detail["fieldViolations"]) out[v["field"]] = v["description"];
    }
    return out;
  }

  static json vault_settings(const std::string& api_key = kApiKey, const std::string& client_key = kClientKey) {
    return {{"instanceTypeName", "vault-sink"}, {"apiKey", api_key}, {"clientKey", client_key}, {"region", "eu-1"}};
  }
  void create_vault(const std::string& id, const json& settings = vault_settings()) {
    auto created = call("POST", "/connectors/" + id, json{{"settings", settings}}.dump());
    ASSERT_EQ(created.status, 200) << created.body;
  }
  // Starts the connector and returns the settings its sink was opened with.
  connector::Settings run_with(const std::string& id) {
    {
      std::lock_guard lock(opened().mutex);
      opened().by_connector.erase(id);
    }
    auto started = call("POST", "/connectors/" + id + "/start");
    EXPECT_EQ(started.status, 200) << started.body;
    EXPECT_EQ(body(call("GET", "/connectors/" + id))["state"], "CONNECTOR_STATE_RUNNING");
    EXPECT_EQ(call("POST", "/connectors/" + id + "/stop").status, 200);
    std::lock_guard lock(opened().mutex);
    return opened().by_connector[id];
  }
  std::string sealed_in_store(const std::string& id, const std::string& key) {
    auto all = store_->load_all();
    EXPECT_TRUE(all.ok());
    for (const auto& d : *all) {
      if (d.id == id && d.sealed_settings.contains(key)) return d.sealed_settings.at(key);
    }
    return "";
  }

  test::TempDir dir_;
  PluginRegistry plugins_;
  std::unique_ptr<EventLog> log_;
  std::unique_ptr<StateStore> store_;
  std::unique_ptr<ConnectorService> service_;
  std::unique_ptr<management_api::Api> api_;
  connector::Error refusal_;
};

TEST_F(SecretsApi, WithoutATokenASecretSettingIsRefusedWith400SayingHowToConfigureOne) {
  ASSERT_TRUE(open_host(""));
  auto refused = call("POST", "/connectors/kafka-auth",
                      json{{"settings",
                            {{"instanceTypeName", "kafka-sink"},
                             {"topic", "orders"},
                             {"authentication:securityProtocol", "saslPlaintext"},
                             {"authentication:username", "alice"},
                             {"authentication:password", "alice-secret"}}}}
                          .dump());
  EXPECT_EQ(refused.status, 400);
  auto v = violations(refused);
  ASSERT_EQ(v.count("authentication:password"), 1u) << refused.body;
  EXPECT_NE(v["authentication:password"].find("--data-protection-token-file"), std::string::npos);
  EXPECT_NE(v["authentication:password"].find("SINKHOST_DATA_PROTECTION_TOKEN"), std::string::npos);
  EXPECT_EQ(v.count("authentication:username"), 0u) << "only the secret setting is at fault";
  EXPECT_EQ(refused.body.find("alice-secret"), std::string::npos);
  EXPECT_EQ(call("GET", "/connectors/kafka-auth").status, 404) << "nothing was created";

  // The dry run predicts the same; connectors without secrets are fine; so is a reconfigure
  // that does not add one, and one that adds one is refused the same way.
  auto dry = call("PUT", "/connector-plugins/vault-sink/config/validate", json{{"apiKey", "x-x-x-x"}}.dump());
  EXPECT_EQ(dry.status, 400);
  EXPECT_EQ(violations(dry).count("apiKey"), 1u);
  ASSERT_EQ(call("POST", "/connectors/plain-vault",
                 json{{"settings", {{"instanceTypeName", "vault-sink"}, {"region", "eu-1"}}}}.dump())
                .status,
            200);
  auto put = call("PUT", "/connectors/plain-vault/settings",
                  json{{"instanceTypeName", "vault-sink"}, {"apiKey", kApiKey}}.dump());
  EXPECT_EQ(put.status, 400);
  EXPECT_EQ(violations(put).count("apiKey"), 1u);
  EXPECT_EQ(put.body.find(kApiKey), std::string::npos);
}

TEST_F(SecretsApi, EveryRouteShowsTheMaskAndNeverTheValue) {
  create_vault("vault-one");
  const std::vector<std::string> targets = {"/connectors/vault-one/settings",
                                            "/connectors/vault-one/configuration",
                                            "/connectors?includeSettings=true",
                                            "/connectors/vault-one",
                                            "/connectors?includeSettings=true&showDeleted=true",
                                            "/metrics"};
  for (const auto& target : targets) {
    auto response = call("GET", target);
    ASSERT_EQ(response.status, 200) << target;
    EXPECT_EQ(response.body.find(kApiKey), std::string::npos) << target << ": " << response.body;
    EXPECT_EQ(response.body.find("MIIEvQIBADANBgkqhkiG9w0BAQEFAASC"), std::string::npos) << target;
  }
  auto settings = body(call("GET", "/connectors/vault-one/settings"))["settings"];
  EXPECT_EQ(settings["apiKey"], "********");
  EXPECT_EQ(settings["clientKey"], "********");
  EXPECT_EQ(settings["region"], "eu-1") << "other settings show as they are";
  EXPECT_EQ(body(call("GET", "/connectors/vault-one/configuration"))["configuration"]["apiKey"], "********");
  EXPECT_EQ(body(call("GET", "/connectors?includeSettings=true"))["items"][0]["settings"]["clientKey"], "********");

  // The dry run answers with the canonical settings: masked too.
  auto dry = call("PUT", "/connector-plugins/vault-sink/config/validate", vault_settings().dump());
  ASSERT_EQ(dry.status, 200) << dry.body;
  EXPECT_EQ(body(dry)["settings"]["apiKey"], "********");
  EXPECT_EQ(dry.body.find(kApiKey), std::string::npos);
}

TEST_F(SecretsApi, APutWithTheMaskKeepsTheStoredValueAndANewValueReplacesIt) {
  create_vault("vault-keep");
  auto first = run_with("vault-keep");
  EXPECT_EQ(first["apiKey"], kApiKey) << "the sink gets the value itself";
  EXPECT_EQ(first["clientKey"], kClientKey);
  const auto sealed_before = sealed_in_store("vault-keep", "apiKey");

  // What GET returns, sent back with one change: the secrets stay as they were.
  auto shown = body(call("GET", "/connectors/vault-keep/settings"))["settings"];
  shown["region"] = "us-2";
  ASSERT_EQ(call("PUT", "/connectors/vault-keep/settings", shown.dump()).status, 200);
  auto second = run_with("vault-keep");
  EXPECT_EQ(second["apiKey"], kApiKey);
  EXPECT_EQ(second["clientKey"], kClientKey);
  EXPECT_EQ(second["region"], "us-2");
  EXPECT_EQ(sealed_in_store("vault-keep", "apiKey"), sealed_before) << "a kept value is not even re-encrypted";

  // The nested form too, with a new api key: it replaces the old one; the client key is kept.
  auto nested =
      call("PUT", "/connectors/vault-keep/configuration",
           json{{"instanceTypeName", "vault-sink"}, {"apiKey", "new-api-key-11"}, {"clientKey", "********"}}.dump());
  ASSERT_EQ(nested.status, 200) << nested.body;
  auto third = run_with("vault-keep");
  EXPECT_EQ(third["apiKey"], "new-api-key-11");
  EXPECT_EQ(third["clientKey"], kClientKey);

  // Leaving a secret out removes it (a PUT is a full replacement).
  ASSERT_EQ(call("PUT", "/connectors/vault-keep/settings",
                 json{{"instanceTypeName", "vault-sink"}, {"apiKey", "********"}}.dump())
                .status,
            200);
  auto fourth = run_with("vault-keep");
  EXPECT_EQ(fourth["apiKey"], "new-api-key-11");
  EXPECT_EQ(fourth.count("clientKey"), 0u);
  EXPECT_FALSE(body(call("GET", "/connectors/vault-keep/settings"))["settings"].contains("clientKey"));
  EXPECT_EQ(sealed_in_store("vault-keep", "clientKey"), "");

  // The same after a restart of the host: the kept values come from state.db.
  ASSERT_TRUE(open_host(kToken));
  EXPECT_EQ(run_with("vault-keep")["apiKey"], "new-api-key-11");
}

TEST_F(SecretsApi, TheMaskForASecretWithNoStoredValueIs400) {
  auto created = call("POST", "/connectors/vault-mask", json{{"settings", vault_settings("********")}}.dump());
  EXPECT_EQ(created.status, 400);
  auto v = violations(created);
  ASSERT_EQ(v.count("apiKey"), 1u) << created.body;
  EXPECT_NE(v["apiKey"].find("send the value itself"), std::string::npos) << v["apiKey"];

  ASSERT_EQ(
      call("POST", "/connectors/vault-mask", json{{"settings", {{"instanceTypeName", "vault-sink"}}}}.dump()).status,
      200);
  auto put = call("PUT", "/connectors/vault-mask/settings",
                  json{{"instanceTypeName", "vault-sink"}, {"clientKey", "********"}}.dump());
  EXPECT_EQ(put.status, 400);
  EXPECT_EQ(violations(put).count("clientKey"), 1u) << put.body;
  EXPECT_FALSE(body(call("GET", "/connectors/vault-mask/settings"))["settings"].contains("clientKey"))
      << "nothing changed";
}

TEST_F(SecretsApi, AKeptKafkaClientKeyStillPassesKafkaSinksPemCheck) {
  // kafka-sink checks that a client key looks like a PEM key; a kept key is checked in clear.
  json settings = {
      {"instanceTypeName", "kafka-sink"},
      {"topic", "orders"},
      {"bootstrapServers", "127.0.0.1:1"},
      {"authentication:securityProtocol", "ssl"},
      {"authentication:tls:clientCertificate", "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"},
      {"authentication:tls:clientKey", kClientKey}};
  ASSERT_EQ(call("POST", "/connectors/kafka-mtls", json{{"settings", settings}}.dump()).status, 200);
  settings["authentication:tls:clientKey"] = "********";
  settings["topic"] = "orders-2";
  auto put = call("PUT", "/connectors/kafka-mtls/settings", settings.dump());
  EXPECT_EQ(put.status, 200) << put.body;

  auto plugins = body(call("GET", "/connector-plugins"));
  std::set<std::string> secret;
  for (const auto& plugin : plugins["items"]) {
    if (plugin["instanceTypeName"] != "kafka-sink") continue;
    for (const auto& s : plugin["settings"]) {
      if (s["secret"] == true) secret.insert(s["name"]);
    }
  }
  EXPECT_TRUE(secret.contains("authentication:password"));
  EXPECT_TRUE(secret.contains("authentication:tls:clientKey"));
}

TEST_F(SecretsApi, OnlyCiphertextReachesTheDataDirectory) {
  create_vault("vault-disk");
  (void)run_with("vault-disk");
  ASSERT_EQ(call("PUT", "/connectors/vault-disk/settings", vault_settings().dump()).status, 200);
  auto stored = sealed_in_store("vault-disk", "apiKey");
  EXPECT_TRUE(stored.starts_with("sinkhost:enc:v1:")) << stored;
  close_host();  // whatever is in the WAL stays there: look at every file as it is
  ASSERT_FALSE(test::files_under(dir_.path()).empty());
  EXPECT_EQ(test::files_containing(dir_.path(), kApiKey), std::vector<std::string>{});
  EXPECT_EQ(test::files_containing(dir_.path(), "MIIEvQIBADANBgkqhkiG9w0BAQEFAASC"), std::vector<std::string>{});
}

TEST_F(SecretsApi, ACiphertextCopiedToAnotherConnectorOrSettingDoesNotDecrypt) {
  create_vault("vault-src");
  ASSERT_EQ(call("POST", "/connectors/vault-dst",
                 json{{"settings", {{"instanceTypeName", "vault-sink"}, {"apiKey", "dst-own-key"}}}}.dump())
                .status,
            200);
  auto all = store_->load_all();
  ASSERT_TRUE(all.ok());
  ConnectorDefinition src, dst;
  for (auto& d : *all) (d.id == "vault-src" ? src : dst) = d;

  // Someone with write access to state.db moves vault-src's key to vault-dst...
  dst.sealed_settings["apiKey"] = src.sealed_settings.at("apiKey");
  ASSERT_TRUE(store_->save_definition(dst).ok());
  // ... and the client key of vault-src into its own apiKey.
  src.sealed_settings["apiKey"] = src.sealed_settings.at("clientKey");
  ASSERT_TRUE(store_->save_definition(src).ok());
  ASSERT_TRUE(open_host(kToken));

  for (const char* id : {"vault-dst", "vault-src"}) {
    auto started = call("POST", std::string("/connectors/") + id + "/start");
    EXPECT_EQ(started.status, 409) << started.body;
    EXPECT_NE(started.body.find("'apiKey'"), std::string::npos) << started.body;
    EXPECT_NE(started.body.find("cannot be decrypted"), std::string::npos) << started.body;
    EXPECT_EQ(body(call("GET", std::string("/connectors/") + id))["state"], "CONNECTOR_STATE_STOPPED");
    std::lock_guard lock(opened().mutex);
    EXPECT_EQ(opened().by_connector.count(id), 0u) << "no sink was given a value that was not its own";
  }
}

TEST_F(SecretsApi, ValidationMessagesRunErrorsAndLogsNeverCarryASecret) {
  std::mutex log_mutex;
  std::string log;
  install_redacting_logger([&](std::string_view line) {
    std::lock_guard lock(log_mutex);
    log += line;
  });

  // A plugin rule quoting the value it refuses.
  auto refused = call("POST", "/connectors/vault-bad", json{{"settings", vault_settings("revoked-key-5521")}}.dump());
  EXPECT_EQ(refused.status, 400);
  EXPECT_EQ(refused.body.find("revoked-key-5521"), std::string::npos) << refused.body;
  EXPECT_NE(refused.body.find("the api key '********' was revoked"), std::string::npos) << refused.body;

  // A sink that logs its secret and fails with it in the message.
  auto settings = vault_settings();
  settings["failOpen"] = "true";
  create_vault("vault-fail", settings);
  ASSERT_EQ(call("POST", "/connectors/vault-fail/start").status, 200);
  auto failed = call("GET", "/connectors/vault-fail");
  ASSERT_TRUE(body(failed).contains("errorDetails")) << failed.body;
  EXPECT_EQ(failed.body.find(kApiKey), std::string::npos) << failed.body;
  EXPECT_NE(failed.body.find("the vault refused api key ********"), std::string::npos) << failed.body;

  install_redacting_logger();  // back to standard error
  {
    // Released before close_host(): the service logs while holding its own locks, so holding
    // log_mutex around it would take the two in the opposite order (ThreadSanitizer reports it).
    std::lock_guard lock(log_mutex);
    EXPECT_NE(log.find("connecting with api key ********"), std::string::npos) << log;
    EXPECT_EQ(log.find(kApiKey), std::string::npos) << log;
  }
  close_host();
  EXPECT_EQ(test::files_containing(dir_.path(), kApiKey), std::vector<std::string>{})
      << "errorDetails are stored redacted too";
  EXPECT_TRUE(SecretRedactor::global().empty()) << "a stopped connector's values are forgotten";
}

TEST_F(SecretsApi, AWrongTokenOrAMissingOneIsRefusedOnceSecretsAreStored) {
  create_vault("vault-tok");
  EXPECT_FALSE(open_host(kOtherToken));
  EXPECT_EQ(refusal_.code, ErrorCode::permission_denied);
  EXPECT_NE(refusal_.message.find("not the one"), std::string::npos) << refusal_.message;
  EXPECT_FALSE(open_host(kPassphrase)) << "a passphrase is not the generated token either";
  EXPECT_NE(refusal_.message.find("set up with a generated token"), std::string::npos) << refusal_.message;
  EXPECT_FALSE(open_host(""));
  EXPECT_NE(refusal_.message.find("--data-protection-token-file"), std::string::npos) << refusal_.message;
  ASSERT_TRUE(open_host(kToken));
  EXPECT_EQ(run_with("vault-tok")["apiKey"], kApiKey);
}

TEST_F(SecretsApi, RotationReencryptsEverySecretAndOnlyTheNewTokenOpensThem) {
  create_vault("vault-rot-a");
  create_vault("vault-rot-b",
               vault_settings("second-api-key", "-----BEGIN PRIVATE KEY-----\nBBBB\n-----END PRIVATE KEY-----\n"));
  const auto before = sealed_in_store("vault-rot-a", "apiKey");
  close_host();

  auto store = StateStore::open(dir_.path() + "/state.db");
  ASSERT_TRUE(store.ok());
  auto wrong = rotate_token(**store, kOtherToken, kPassphrase);
  ASSERT_FALSE(wrong.ok());
  EXPECT_NE(wrong.error().message.find("old token"), std::string::npos) << wrong.error().message;
  auto rotated = rotate_token(**store, kToken, kPassphrase);
  ASSERT_TRUE(rotated.ok()) << rotated.error().message;
  EXPECT_EQ(*rotated, 4u) << "two connectors, two secrets each";
  store->reset();

  EXPECT_FALSE(open_host(kToken)) << "the old token stops working";
  EXPECT_EQ(refusal_.code, ErrorCode::permission_denied);
  ASSERT_TRUE(open_host(kPassphrase));
  EXPECT_NE(sealed_in_store("vault-rot-a", "apiKey"), before);
  auto a = run_with("vault-rot-a");
  EXPECT_EQ(a["apiKey"], kApiKey) << "nothing lost";
  EXPECT_EQ(a["clientKey"], kClientKey);
  auto b = run_with("vault-rot-b");
  EXPECT_EQ(b["apiKey"], "second-api-key");
  EXPECT_EQ(b["region"], "eu-1");
  close_host();
  EXPECT_EQ(test::files_containing(dir_.path(), before.substr(16, 40)), std::vector<std::string>{})
      << "the old ciphertexts are gone from every file (the old token may be why the rotation happened)";
}

TEST_F(SecretsApi, ARotationThatMeetsAnUndecryptableValueChangesNothing) {
  create_vault("vault-ok-1");
  create_vault("vault-broken");
  auto all = store_->load_all();
  ASSERT_TRUE(all.ok());
  for (auto d : *all) {
    if (d.id != "vault-broken") continue;
    d.sealed_settings["apiKey"] = d.sealed_settings.at("clientKey");  // damaged: bound to another setting
    ASSERT_TRUE(store_->save_definition(d).ok());
  }
  const auto good_before = sealed_in_store("vault-ok-1", "apiKey");
  close_host();

  auto store = StateStore::open(dir_.path() + "/state.db");
  ASSERT_TRUE(store.ok());
  auto rotated = rotate_token(**store, kToken, kOtherToken);
  ASSERT_FALSE(rotated.ok());
  EXPECT_NE(rotated.error().message.find("'vault-broken'"), std::string::npos) << rotated.error().message;
  EXPECT_NE(rotated.error().message.find("'apiKey'"), std::string::npos) << rotated.error().message;
  store->reset();

  EXPECT_FALSE(open_host(kOtherToken)) << "the new token was not installed";
  ASSERT_TRUE(open_host(kToken)) << "the old one still opens everything";
  EXPECT_EQ(sealed_in_store("vault-ok-1", "apiKey"), good_before) << "no value was re-encrypted";
  EXPECT_EQ(run_with("vault-ok-1")["apiKey"], kApiKey);
}

TEST_F(SecretsApi, DeletingAConnectorDropsItsSecrets) {
  create_vault("vault-gone");
  ASSERT_EQ(call("DELETE", "/connectors/vault-gone").status, 200);
  EXPECT_EQ(sealed_in_store("vault-gone", "apiKey"), "");
  auto deleted = body(call("GET", "/connectors?showDeleted=true&includeSettings=true"))["items"][0];
  EXPECT_TRUE(deleted.contains("deleteTime"));
  EXPECT_FALSE(deleted["settings"].contains("apiKey"));
  EXPECT_EQ(deleted["settings"]["region"], "eu-1");
}

TEST_F(SecretsApi, SecretsAnOlderVersionStoredInClearAreEncryptedAtTheNextStartWithAToken) {
  // What an older sinkhost wrote: the secret in the settings column.
  ConnectorDefinition legacy;
  legacy.id = "vault-old";
  legacy.name = "vault-old";
  legacy.instance_type_name = "vault-sink";
  legacy.settings = {{"instanceTypeName", "vault-sink"}, {"apiKey", "legacy-clear-key"}};
  ASSERT_TRUE(store_->replace(legacy).ok());
  close_host();
  ASSERT_FALSE(test::files_containing(dir_.path(), "legacy-clear-key").empty()) << "the test wrote it in clear";

  EXPECT_FALSE(open_host("")) << "without a token it is refused, not served in clear";
  EXPECT_NE(refusal_.message.find("in clear text"), std::string::npos) << refusal_.message;
  EXPECT_NE(refusal_.message.find("--data-protection-token-file"), std::string::npos) << refusal_.message;
  ASSERT_TRUE(open_host(kToken));
  EXPECT_TRUE(sealed_in_store("vault-old", "apiKey").starts_with("sinkhost:enc:v1:"));
  EXPECT_EQ(body(call("GET", "/connectors/vault-old/settings"))["settings"]["apiKey"], "********");
  EXPECT_EQ(run_with("vault-old")["apiKey"], "legacy-clear-key");
  close_host();
  EXPECT_EQ(test::files_containing(dir_.path(), "legacy-clear-key"), std::vector<std::string>{})
      << "the clear value is gone from the database, its WAL and its free pages";
}

TEST(StateStoreSchema, AVersion1StateStoreIsUpgradedInPlace) {
  test::TempDir dir;
  const auto path = dir.path() + "/state.db";
  {
    auto db = sqlite::Database::open(path);
    db.exec(R"sql(
      CREATE TABLE connectors (id TEXT PRIMARY KEY, name TEXT NOT NULL, instance_type_name TEXT NOT NULL,
        settings TEXT NOT NULL, run_requested INTEGER NOT NULL, checkpoint INTEGER, error_code TEXT,
        error_message TEXT, create_time_ms INTEGER NOT NULL, update_time_ms INTEGER NOT NULL,
        settings_update_time_ms INTEGER NOT NULL, delete_time_ms INTEGER);
      INSERT INTO connectors VALUES ('old-sink', 'old', 'logger-sink', '{"instanceTypeName":"logger-sink"}', 1, 7,
        NULL, NULL, 1, 2, 3, NULL);
      PRAGMA user_version = 1;)sql");
  }
  auto store = StateStore::open(path);
  ASSERT_TRUE(store.ok()) << store.error().message;
  auto all = (*store)->load_all();
  ASSERT_TRUE(all.ok()) << all.error().message;
  ASSERT_EQ(all->size(), 1u);
  EXPECT_EQ((*all)[0].checkpoint, (SourcePosition{7, 7}));
  EXPECT_TRUE((*all)[0].sealed_settings.empty());
  auto record = (*store)->load_data_protection();
  ASSERT_TRUE(record.ok());
  EXPECT_FALSE(record->has_value());
}

}  // namespace
}  // namespace sinkhost::runtime
