// Secrets against the sinkhost binary: no secret in any file or log; restarts keep working;
// the token's start-up checks, its sources, and `sinkhost token generate/rotate`.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <regex>
#include <set>
#include <sstream>

#include "e2e_helpers.hpp"
#include "file_search.hpp"
#include "kafka.hpp"
#include "token.hpp"

namespace sinkhost::test {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;

const std::string kBinary = SINKHOST_BINARY;
const std::string kOtherToken = "sinkhost-dpt1-HxAdHBsaGRgXFhUUExIREA8ODQwLCgkIBwYFBAMCAQA";

// `sinkhost token rotate` on a data directory; returns its exit status, `output` its output.
int rotate(const std::string& data, const std::string& old_file, const std::string& new_file, std::string* output) {
  int code = -1;
  *output = run_command(kBinary + " token rotate --data-dir '" + data + "' --old-token-file '" + old_file +
                            "' --new-token-file '" + new_file + "' 2>&1",
                        &code);
  return code;
}

std::vector<std::string> token_args(const std::string& file) { return {"--data-protection-token-file", file}; }

// The lines of a PEM text that carry key material (not the armour), each long enough that
// finding one anywhere means the key leaked.
std::vector<std::string> pem_body_lines(const std::string& pem) {
  std::vector<std::string> out;
  std::istringstream in(pem);
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.size() >= 16 && !line.starts_with("-----")) out.push_back(line);
  }
  return out;
}

// Every encrypted value in the files of a data directory.
std::set<std::string> sealed_values(const std::string& data) {
  static const std::regex sealed("sinkhost:enc:v1:[A-Za-z0-9_-]+");
  std::set<std::string> out;
  for (const auto& file : files_under(data)) {
    const auto bytes = read_whole_file(file);
    for (std::sregex_iterator it(bytes.begin(), bytes.end(), sealed), end; it != end; ++it) out.insert(it->str());
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Without a broker: kafka-sink connectors with secrets are created, never started.

class Secrets : public ::testing::Test {
 protected:
  void SetUp() override { fs::create_directories(data_); }

  // A kafka-sink connector with a SASL password; `port` is a running host's.
  static HttpResult create_with_password(std::uint16_t port, const std::string& id, const std::string& password) {
    json settings = {{"instanceTypeName", "kafka-sink"},   {"topic", "orders"},
                     {"bootstrapServers", "127.0.0.1:1"},  {"authentication:securityProtocol", "saslPlaintext"},
                     {"authentication:username", "alice"}, {"authentication:password", password}};
    return http_request(port, "POST", "/connectors/" + id, json{{"settings", settings}}.dump());
  }

  TempDir dir_;
  std::string data_ = dir_.path() + "/data";
  std::string token_ = write_token_file(dir_.path());
  std::string other_token_ = write_token_file(dir_.path(), kOtherToken, "other-token");
};

TEST_F(Secrets, WithoutATokenASecretSettingIsRefusedWith400SayingHowToConfigureOne) {
  SinkhostProcess host(data_);
  host.start();
  auto refused = create_with_password(host.port(), "sasl-sink", "pw-never-stored");
  EXPECT_EQ(refused.status, 400);
  EXPECT_NE(refused.body.find("\"field\":\"authentication:password\""), std::string::npos) << refused.body;
  EXPECT_NE(refused.body.find("--data-protection-token-file"), std::string::npos) << refused.body;
  EXPECT_NE(refused.body.find("SINKHOST_DATA_PROTECTION_TOKEN"), std::string::npos) << refused.body;
  EXPECT_EQ(refused.body.find("pw-never-stored"), std::string::npos) << refused.body;
  EXPECT_EQ(http_request(host.port(), "GET", "/connectors/sasl-sink").status, 404);
  EXPECT_NE(host.log().find("no data protection token"), std::string::npos) << host.log();
  EXPECT_EQ(host.stop(), 0);
  EXPECT_EQ(files_containing(data_, "pw-never-stored"), std::vector<std::string>{});
}

TEST_F(Secrets, AWrongTokenOrNoTokenAtStartIsRefusedSayingSoAndTheRightOneStillWorks) {
  {
    SinkhostProcess host(data_, token_args(token_));
    host.start();
    auto created = create_with_password(host.port(), "sasl-sink", "pw-kept-safe");
    ASSERT_EQ(created.status, 200) << created.body;
    ASSERT_EQ(host.stop(), 0);
  }
  SinkhostProcess wrong(data_, token_args(other_token_));
  EXPECT_NE(wrong.run_expecting_exit(), 0);
  EXPECT_NE(wrong.log().find("refusing to start: the data protection token is not the one"), std::string::npos)
      << wrong.log();
  EXPECT_EQ(wrong.log().find(kOtherToken), std::string::npos) << "the token is never echoed";

  SinkhostProcess none(data_);
  EXPECT_NE(none.run_expecting_exit(), 0);
  EXPECT_NE(none.log().find("refusing to start: state.db holds encrypted secret settings"), std::string::npos)
      << none.log();
  EXPECT_NE(none.log().find("--data-protection-token-file"), std::string::npos) << none.log();

  const auto damaged_file = write_token_file(dir_.path(), "sinkhost-dpt1-tooShort", "damaged");
  SinkhostProcess damaged(data_, token_args(damaged_file));
  EXPECT_NE(damaged.run_expecting_exit(), 0);
  EXPECT_NE(damaged.log().find("damaged"), std::string::npos) << damaged.log();

  SinkhostProcess right(data_, token_args(token_));
  right.start();
  auto settings = get_json(right.port(), "/connectors/sasl-sink/settings");
  EXPECT_EQ(settings["settings"]["authentication:password"], "********") << settings.dump();
}

TEST_F(Secrets, TheTokenMayComeFromTheEnvironmentAndIsWipedFromTheProcessEnvironment) {
  ::setenv("SINKHOST_DATA_PROTECTION_TOKEN", kTestToken.c_str(), 1);
  SinkhostProcess host(data_);
  host.start();
  ::unsetenv("SINKHOST_DATA_PROTECTION_TOKEN");
  auto created = create_with_password(host.port(), "env-sink", "pw-from-env-host");
  EXPECT_EQ(created.status, 200) << created.body;
  auto environment = read_whole_file("/proc/" + std::to_string(host.pid()) + "/environ");
  EXPECT_FALSE(environment.empty());
  EXPECT_EQ(environment.find(kTestToken), std::string::npos) << "the token must not stay readable in /proc/PID/environ";
  ASSERT_EQ(host.stop(), 0);

  // The same data directory opens with the same token given as a file.
  SinkhostProcess again(data_, token_args(token_));
  again.start();
  EXPECT_EQ(get_json(again.port(), "/connectors/env-sink/settings")["settings"]["authentication:password"], "********");
}

TEST_F(Secrets, TokenGenerateMakesDistinctTokensAndNeverOverwritesAFile) {
  int code = -1;
  auto a = run_command(kBinary + " token generate", &code);
  ASSERT_EQ(code, 0);
  auto b = run_command(kBinary + " token generate", &code);
  ASSERT_EQ(code, 0);
  EXPECT_TRUE(a.starts_with("sinkhost-dpt1-")) << a;
  EXPECT_EQ(a.size(), std::string("sinkhost-dpt1-").size() + 43 + 1) << a;
  EXPECT_NE(a, b);

  const auto file = dir_.path() + "/generated";
  run_command(kBinary + " token generate --output '" + file + "' 2>&1", &code);
  ASSERT_EQ(code, 0);
  EXPECT_EQ(fs::status(file).permissions() & fs::perms::all, fs::perms::owner_read | fs::perms::owner_write);
  const auto first = read_whole_file(file);
  auto refused = run_command(kBinary + " token generate --output '" + file + "' 2>&1", &code);
  EXPECT_NE(code, 0);
  EXPECT_NE(refused.find("never overwritten"), std::string::npos) << refused;
  EXPECT_EQ(read_whole_file(file), first);

  // A generated token file works as it is.
  SinkhostProcess host(data_, token_args(file));
  host.start();
  EXPECT_EQ(create_with_password(host.port(), "gen-sink", "pw-generated").status, 200);
}

TEST_F(Secrets, TokenRotateIsAllOrNothingAndRefusedWhileTheHostRuns) {
  SinkhostProcess host(data_, token_args(token_));
  host.start();
  ASSERT_EQ(create_with_password(host.port(), "rot-sink-1", "pw-rotated-1").status, 200);
  ASSERT_EQ(create_with_password(host.port(), "rot-sink-2", "pw-rotated-2").status, 200);

  std::string output;
  EXPECT_NE(rotate(data_, token_, other_token_, &output), 0);
  EXPECT_NE(output.find("another sinkhost process is using the data directory"), std::string::npos) << output;
  ASSERT_EQ(host.stop(), 0);
  const auto sealed_before = sealed_values(data_);
  ASSERT_EQ(sealed_before.size(), 3u) << "two passwords and the token verifier";

  EXPECT_NE(rotate(data_, other_token_, token_, &output), 0) << "the old token is checked first";
  EXPECT_NE(output.find("the old token is not the one"), std::string::npos) << output;
  EXPECT_NE(output.find("nothing changed"), std::string::npos) << output;
  EXPECT_TRUE(sealed_values(data_) == sealed_before) << "a refused rotation changes nothing";

  ASSERT_EQ(rotate(data_, token_, other_token_, &output), 0) << output;
  EXPECT_NE(output.find("re-encrypted 2 secret settings"), std::string::npos) << output;
  const auto sealed_after = sealed_values(data_);
  EXPECT_EQ(sealed_after.size(), 3u);
  for (const auto& old : sealed_before) {
    EXPECT_EQ(sealed_after.count(old), 0u) << "an old ciphertext is still in the data directory: " << old;
  }

  SinkhostProcess old_token(data_, token_args(token_));
  EXPECT_NE(old_token.run_expecting_exit(), 0) << "the old token stops working";
  EXPECT_NE(old_token.log().find("is not the one"), std::string::npos) << old_token.log();

  SinkhostProcess new_token(data_, token_args(other_token_));
  new_token.start();
  auto list = get_json(new_token.port(), "/connectors?includeSettings=true");
  ASSERT_EQ(list["totalSize"], 2) << list.dump();
  for (const auto& item : list["items"]) EXPECT_EQ(item["settings"]["authentication:password"], "********");
  // A change that keeps the secret works under the new key too.
  json settings = list["items"][0]["settings"];
  settings["topic"] = "orders-2";
  auto put = http_request(new_token.port(), "PUT", "/connectors/rot-sink-1/settings", settings.dump());
  EXPECT_EQ(put.status, 200) << put.body;
  ASSERT_EQ(new_token.stop(), 0);
  for (const char* pw : {"pw-rotated-1", "pw-rotated-2"})
    EXPECT_EQ(files_containing(data_, pw), std::vector<std::string>{});
}

// ---------------------------------------------------------------------------------------------
// Against the real broker: the SASL and mTLS listeners accept the decrypted values.

class KafkaSecrets : public ::testing::Test {
 protected:
  void SetUp() override {
    env_ = kafka_env();
    password_ = env_["KAFKA_SASL_PASSWORD"];
    ASSERT_FALSE(password_.empty()) << "the broker env file has no KAFKA_SASL_PASSWORD";
    ca_ = read_whole_file(env_["KAFKA_CA_PEM"]);
    certificate_ = read_whole_file(env_["KAFKA_CLIENT_CERT_PEM"]);
    client_key_ = read_whole_file(env_["KAFKA_CLIENT_KEY_PEM"]);
    ASSERT_NE(client_key_.find("PRIVATE KEY-----"), std::string::npos)
        << "no client key in " << env_["KAFKA_CLIENT_KEY_PEM"];
    key_lines_ = pem_body_lines(client_key_);
    ASSERT_GE(key_lines_.size(), 5u);
    sasl_topic_ = unique_topic("secret-sasl");
    mtls_topic_ = unique_topic("secret-mtls");
  }

  // Both connectors, started: SASL/SCRAM with the password, and mTLS with the client key.
  // librdkafka's own debug output about configuration and security is on, so that the log
  // holds everything it could have printed about them.
  void create_and_start(std::uint16_t port) {
    json sasl = {{"instanceTypeName", "kafka-sink"},
                 {"topic", sasl_topic_},
                 {"bootstrapServers", env_["KAFKA_SASL_PLAINTEXT_BOOTSTRAP"]},
                 {"authentication:securityProtocol", "saslPlaintext"},
                 {"authentication:saslMechanism", "scramSha256"},
                 {"authentication:username", env_["KAFKA_SASL_USERNAME"]},
                 {"authentication:password", password_},
                 {"producer:debug", "conf,security,broker"},
                 {"subscription:initialPosition", "earliest"},
                 {"autocommit:interval", "100"}};
    json mtls = {{"instanceTypeName", "kafka-sink"},
                 {"topic", mtls_topic_},
                 {"bootstrapServers", env_["KAFKA_MTLS_BOOTSTRAP"]},
                 {"authentication:securityProtocol", "ssl"},
                 {"authentication:tls:caCertificate", ca_},
                 {"authentication:tls:clientCertificate", certificate_},
                 {"authentication:tls:clientKey", client_key_},
                 {"producer:debug", "conf,security,broker"},
                 {"subscription:initialPosition", "earliest"},
                 {"autocommit:interval", "100"}};
    for (const auto& [id, settings] : {std::pair{"sasl-sink", sasl}, std::pair{"mtls-sink", mtls}}) {
      auto created = http_request(port, "POST", std::string("/connectors/") + id, json{{"settings", settings}}.dump());
      ASSERT_EQ(created.status, 200) << created.body;
      auto started = http_request(port, "POST", std::string("/connectors/") + id + "/start");
      ASSERT_EQ(started.status, 200) << started.body;
    }
  }

  // Appends one event and waits until both connectors delivered it: `count` messages in each
  // topic, and both checkpoints past it. Only a connector the broker authenticated gets there.
  void expect_both_deliver(SinkhostProcess& host, std::size_t count) {
    auto position = append_event(host.port(), "order-" + std::to_string(count), "OrderPlaced", {{"n", count}});
    for (const auto& [connector, topic] : {std::pair{"sasl-sink", sasl_topic_}, std::pair{"mtls-sink", mtls_topic_}}) {
      // A plain copy for the lambda: clang 14 cannot capture a structured binding.
      const std::string id = connector;
      EXPECT_EQ(consume(topic, count).size(), count) << id << "\n" << host.log();
      EXPECT_TRUE(eventually([&] {
        auto c = get_json(host.port(), std::string("/connectors/") + id);
        return c.contains("position") && c["position"].get<std::uint64_t>() >= position;
      })) << get_json(host.port(), std::string("/connectors/") + id).dump();
    }
  }

  void expect_running(SinkhostProcess& host) {
    for (const char* id : {"sasl-sink", "mtls-sink"}) {
      EXPECT_TRUE(eventually([&] {
        return get_json(host.port(), std::string("/connectors/") + id)["state"] == "CONNECTOR_STATE_RUNNING";
      })) << get_json(host.port(), std::string("/connectors/") + id).dump();
    }
  }

  // Neither the password nor any line of the key, anywhere in `text`.
  void expect_no_secret_in(const std::string& text, const std::string& where) {
    EXPECT_EQ(text.find(password_), std::string::npos) << "the SASL password is in " << where;
    for (const auto& line : key_lines_) {
      EXPECT_EQ(text.find(line), std::string::npos) << "a line of the client key is in " << where << ": " << line;
    }
  }

  void expect_no_secret_in_data_dir() {
    const auto files = files_under(data_);
    EXPECT_TRUE(std::any_of(files.begin(), files.end(), [](const auto& f) { return f.ends_with("state.db"); }));
    for (const auto& file : files) expect_no_secret_in(read_whole_file(file), file);
  }

  TempDir dir_;
  std::string data_ = dir_.path() + "/data";
  std::string token_ = write_token_file(dir_.path());
  std::map<std::string, std::string> env_;
  std::string password_, ca_, certificate_, client_key_;
  std::vector<std::string> key_lines_;
  std::string sasl_topic_, mtls_topic_;
};

TEST_F(KafkaSecrets, PasswordAndClientKeyNeverReachTheDiskOrTheLogAndStillAuthenticateAfterARestart) {
  std::vector<std::string> args = token_args(token_);
  args.insert(args.end(), {"--log-level", "debug"});
  SinkhostProcess host(data_, args);
  host.start();
  create_and_start(host.port());
  expect_both_deliver(host, 1);

  for (const auto& target : {"/connectors/sasl-sink/settings", "/connectors/mtls-sink/configuration",
                             "/connectors?includeSettings=true", "/connectors/mtls-sink", "/metrics"}) {
    auto response = http_request(host.port(), "GET", target);
    EXPECT_EQ(response.status, 200) << target;
    expect_no_secret_in(response.body, target);
  }
  auto shown = get_json(host.port(), "/connectors?includeSettings=true");
  for (const auto& item : shown["items"]) {
    const auto& s = item["settings"];
    const auto key = s.contains("authentication:password") ? "authentication:password" : "authentication:tls:clientKey";
    EXPECT_EQ(s[key], "********") << item.dump();
  }

  ASSERT_EQ(host.stop(), 0) << host.log();  // the connectors stay asked to run
  expect_no_secret_in_data_dir();

  host.start();
  expect_running(host);
  expect_both_deliver(host, 2);
  ASSERT_EQ(host.stop(), 0);

  expect_no_secret_in_data_dir();
  const auto log = host.log();
  expect_no_secret_in(log, "the log");
  // The log did see the producers' configuration and security work, so the check above means
  // something: librdkafka's debug lines for both connectors are there.
  EXPECT_NE(log.find("[sasl-sink] librdkafka"), std::string::npos) << log;
  EXPECT_NE(log.find("[mtls-sink] librdkafka"), std::string::npos) << log;
  // librdkafka's configuration dump names the secret properties (it prints "[redacted]" for
  // them; sinkhost's log redaction would mask the values if a version did not).
  EXPECT_NE(log.find("sasl.password = "), std::string::npos) << log;
  EXPECT_NE(log.find("ssl.key.pem = "), std::string::npos) << log;
}

TEST_F(KafkaSecrets, AfterATokenRotationBothConnectorsStillAuthenticateAndTheOldTokenIsRefused) {
  {
    SinkhostProcess host(data_, token_args(token_));
    host.start();
    create_and_start(host.port());
    expect_both_deliver(host, 1);
    ASSERT_EQ(host.stop(), 0);
  }
  const auto new_token = write_token_file(dir_.path(), "a passphrase that replaces the generated token", "new-token");
  std::string output;
  ASSERT_EQ(rotate(data_, token_, new_token, &output), 0) << output;
  EXPECT_NE(output.find("re-encrypted 2 secret settings"), std::string::npos) << output;

  SinkhostProcess old_host(data_, token_args(token_));
  EXPECT_NE(old_host.run_expecting_exit(), 0);
  EXPECT_NE(old_host.log().find("is not the one"), std::string::npos) << old_host.log();

  SinkhostProcess host(data_, token_args(new_token));
  host.start();
  expect_running(host);
  expect_both_deliver(host, 2);
  ASSERT_EQ(host.stop(), 0);
  expect_no_secret_in_data_dir();
  expect_no_secret_in(host.log() + old_host.log() + output, "the log");
}

}  // namespace
}  // namespace sinkhost::test
