#include "config_sources.hpp"

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "options.hpp"

namespace sinkhost::daemon {
namespace {

namespace fs = std::filesystem;

// The daemon's parser, as main.cpp builds it.
struct Daemon {
  CLI::App app;
  Options options;
  Commands commands;
  Daemon() {
    add_daemon_options(app, options);
    add_commands(app, options, commands);
  }
};

class ConfigSourcesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("sinkhost-config-" + std::to_string(::getpid()) + "-" +
                                        ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }

  std::string file(const std::string& text) {
    auto path = (dir_ / "sinkhost.yaml").string();
    std::ofstream(path) << text;
    return path;
  }

  // Parses as main() does; returns the error message, or "" with `daemon` parsed.
  std::string parse(Daemon& daemon, std::vector<std::string> command_line,
                    const std::map<std::string, std::string>& environment = {}) {
    auto gathered = gather_arguments(daemon.app, command_line, environment, &daemon_options_parser);
    if (!gathered.ok()) return gathered.error().message;
    origins_ = gathered->origins;
    std::vector<std::string> reversed(gathered->arguments.rbegin(), gathered->arguments.rend());
    daemon.app.parse(reversed);
    return "";
  }

  fs::path dir_;
  std::map<std::string, std::string> origins_;
};

TEST_F(ConfigSourcesTest, KeysAreTheLongFlagNames) {
  auto path = file("# comment\nlisten: 0.0.0.0:3113\ndata-dir: /var/lib/sinkhost\nlog-level: warn\ninsecure: true\n");
  Daemon d;
  ASSERT_EQ(parse(d, {"--config", path}), "");
  EXPECT_EQ(d.options.listen, "0.0.0.0:3113");
  EXPECT_EQ(d.options.data_dir, "/var/lib/sinkhost");
  EXPECT_EQ(d.options.log_level, "warn");
  EXPECT_TRUE(d.options.insecure);
  EXPECT_EQ(origins_["data-dir"], path + " line 3");
}

TEST_F(ConfigSourcesTest, FlagBeatsEnvironmentBeatsFileBeatsDefault) {
  auto path = file("listen: 127.0.0.1:1001\ndata-dir: /from/file\nlog-level: debug\n");
  const std::map<std::string, std::string> environment = {{"SINKHOST_LISTEN", "127.0.0.1:1002"},
                                                          {"SINKHOST_DATA_DIR", "/from/env"}};
  Daemon d;
  ASSERT_EQ(parse(d, {"--config", path, "--listen", "127.0.0.1:1003"}, environment), "");
  EXPECT_EQ(d.options.listen, "127.0.0.1:1003");  // flag
  EXPECT_EQ(d.options.data_dir, "/from/env");     // environment over file
  EXPECT_EQ(d.options.log_level, "debug");        // file
  EXPECT_EQ(d.options.auth, "none");              // default
  auto shown = effective_configuration(d.app, origins_);
  EXPECT_NE(shown.find("listen: \"127.0.0.1:1003\"  # command line\n"), std::string::npos) << shown;
  EXPECT_NE(shown.find("data-dir: \"/from/env\"  # SINKHOST_DATA_DIR\n"), std::string::npos) << shown;
  EXPECT_NE(shown.find("log-level: \"debug\"  # " + path + " line 3\n"), std::string::npos) << shown;
  EXPECT_NE(shown.find("auth: \"none\"  # default\n"), std::string::npos) << shown;
}

TEST_F(ConfigSourcesTest, TheConfigFileCanComeFromTheEnvironment) {
  auto path = file("data-dir: /from/file\n");
  Daemon d;
  ASSERT_EQ(parse(d, {}, {{"SINKHOST_CONFIG", path}}), "");
  EXPECT_EQ(d.options.data_dir, "/from/file");
}

TEST_F(ConfigSourcesTest, AnUnknownKeyIsRefusedWithItsLine) {
  auto path = file("listen: 127.0.0.1:2113\nlisen: 127.0.0.1:2113\n");
  Daemon d;
  auto error = parse(d, {"--config", path});
  EXPECT_NE(error.find(path + " line 2: unknown key 'lisen'"), std::string::npos) << error;
  EXPECT_NE(error.find("listen, "), std::string::npos) << error;  // the known keys are listed
}

TEST_F(ConfigSourcesTest, ABadValueIsRefusedWithItsLineAndWhatIsAllowed) {
  auto path = file("data-dir: /x\nlog-level: loud\n");
  Daemon d;
  auto error = parse(d, {"--config", path});
  EXPECT_NE(error.find(path + " line 2: log-level 'loud' is not allowed"), std::string::npos) << error;
  EXPECT_NE(error.find("debug"), std::string::npos) << error;
}

TEST_F(ConfigSourcesTest, ABadEnvironmentValueNamesTheVariable) {
  Daemon d;
  auto error = parse(d, {}, {{"SINKHOST_MAX_CONNECTIONS", "many"}});
  EXPECT_NE(error.find("SINKHOST_MAX_CONNECTIONS: max-connections 'many' is not allowed"), std::string::npos) << error;
}

TEST_F(ConfigSourcesTest, AListOrAMissingValueIsRefused) {
  Daemon d;
  auto error = parse(d, {"--config", file("listen:\n  - a\n  - b\n")});
  EXPECT_NE(error.find("line 1: 'listen' needs one value"), std::string::npos) << error;
  Daemon d2;
  error = parse(d2, {"--config", file("data-dir:\n")});
  EXPECT_NE(error.find("line 1: 'data-dir' needs one value"), std::string::npos) << error;
}

TEST_F(ConfigSourcesTest, AKeyGivenTwiceIsRefused) {
  Daemon d;
  auto error = parse(d, {"--config", file("data-dir: /a\nDATA-DIR: /b\n")});
  EXPECT_NE(error.find("line 2: 'data-dir' is given twice (also line 1)"), std::string::npos) << error;
}

TEST_F(ConfigSourcesTest, NotValidYamlNamesTheLine) {
  Daemon d;
  auto error = parse(d, {"--config", file("listen: 127.0.0.1:2113\n  data-dir: [unclosed\n")});
  EXPECT_NE(error.find("line 2: not valid YAML"), std::string::npos) << error;
}

TEST_F(ConfigSourcesTest, AMissingFileIsRefused) {
  Daemon d;
  auto error = parse(d, {"--config", (dir_ / "absent.yaml").string()});
  EXPECT_NE(error.find("cannot read the config file"), std::string::npos) << error;
}

TEST_F(ConfigSourcesTest, ASecretWhereAFileNameBelongsIsRefused) {
  Daemon d;
  auto error = parse(
      d, {"--config", file("data-protection-token-file: sinkhost-dpt1-AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8\n")});
  EXPECT_NE(error.find("line 1: data-protection-token-file: this is a data protection token, not a file name"),
            std::string::npos)
      << error;
  EXPECT_EQ(error.find("AAECAwQF"), std::string::npos) << "the token is not repeated: " << error;
  Daemon d2;
  error = parse(d2, {"--config", file("source-file: kurrentdb://admin:changeit@db:2113\n")});
  EXPECT_NE(error.find("this is a connection string, not a file name"), std::string::npos) << error;
  Daemon d3;
  error = parse(d3, {"--config", file("Connectors:\n  DataProtection:\n    Token: abc\n")});
  EXPECT_NE(error.find("line 3: sinkhost does not take the data protection token itself"), std::string::npos) << error;
}

TEST_F(ConfigSourcesTest, KurrentDbNamesAreAccepted) {
  auto path = file(
      "NodeIp: 0.0.0.0\nHttpPort: 2200\nDb: /var/lib/kdb\nCertificateFile: /c.pem\n"
      "CertificatePrivateKeyFile: /k.pem\nConnectors:\n  DataProtection:\n    TokenFile: /etc/token\n");
  Daemon d;
  ASSERT_EQ(parse(d, {"--config", path}), "");
  EXPECT_EQ(d.options.listen, "0.0.0.0:2200");
  EXPECT_EQ(d.options.data_dir, "/var/lib/kdb");
  EXPECT_EQ(d.options.tls_cert, "/c.pem");
  EXPECT_EQ(d.options.tls_key, "/k.pem");
  EXPECT_EQ(d.options.token_file, "/etc/token");
}

TEST_F(ConfigSourcesTest, ListenAndHttpPortTogetherAreRefused) {
  Daemon d;
  auto error = parse(d, {"--config", file("listen: 127.0.0.1:1\nHttpPort: 2\n")});
  EXPECT_NE(error.find("give either listen or KurrentDB's NodeIp/HttpPort"), std::string::npos) << error;
}

TEST_F(ConfigSourcesTest, TheSourcePasswordIsMaskedInTheEffectiveConfiguration) {
  Daemon d;
  ASSERT_EQ(parse(d, {}, {{"SINKHOST_SOURCE", "kurrentdb://admin:s3cret-pw@db:2113?tls=false"}}), "");
  auto shown = effective_configuration(d.app, origins_);
  EXPECT_EQ(shown.find("s3cret-pw"), std::string::npos) << shown;
  EXPECT_NE(shown.find("source: \"kurrentdb://admin:"), std::string::npos) << shown;
}

TEST_F(ConfigSourcesTest, OptionsThatPrintAndExitAreNotConfigurable) {
  Daemon d;
  auto names = configurable_options(d.app);
  for (const char* absent : {"help", "config", "version", "settings-reference"}) {
    EXPECT_EQ(std::find(names.begin(), names.end(), absent), names.end()) << absent;
  }
  EXPECT_NE(std::find(names.begin(), names.end(), "log-format"), names.end());
  auto error = parse(d, {"--config", file("version: true\n")});
  EXPECT_NE(error.find("unknown key 'version'"), std::string::npos) << error;
}

}  // namespace
}  // namespace sinkhost::daemon
