// The daemon's configuration from a YAML file and SINKHOST_* variables (docs/operations.md,
// "Configuration"), and its JSON log lines, seen from outside: exit status, output, log.
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "e2e_helpers.hpp"

namespace sinkhost::test {
namespace {

std::string write_file(const std::string& path, const std::string& text) {
  std::ofstream(path) << text;
  return path;
}

TEST(ConfigFile, ConfigCheckPrintsTheEffectiveValuesWithTheirOrigins) {
  TempDir dir;
  const auto config = write_file(dir.path() + "/sinkhost.yaml",
                                 "# a comment\nlisten: 127.0.0.1:3113\nlog-level: debug\ndata-dir: " + dir.path() +
                                     "/from-file\nmax-connections: 77\n");
  int exit_code = -1;
  const auto output = run_command("SINKHOST_LOG_LEVEL=warn " + std::string(SINKHOST_BINARY) + " --config " + config +
                                      " --data-dir " + dir.path() + "/from-flag config check 2>&1",
                                  &exit_code);
  EXPECT_EQ(exit_code, 0) << output;
  EXPECT_NE(output.find("listen: \"127.0.0.1:3113\"  # " + config + " line 2\n"), std::string::npos) << output;
  EXPECT_NE(output.find("log-level: \"warn\"  # SINKHOST_LOG_LEVEL\n"), std::string::npos) << output;
  EXPECT_NE(output.find("data-dir: \"" + dir.path() + "/from-flag\"  # command line\n"), std::string::npos) << output;
  EXPECT_NE(output.find("max-connections: \"77\"  # " + config + " line 5\n"), std::string::npos) << output;
  EXPECT_NE(output.find("auth: \"none\"  # default\n"), std::string::npos) << output;
  EXPECT_FALSE(std::filesystem::exists(dir.path() + "/from-flag")) << "a check opens nothing";
}

TEST(ConfigFile, ATypoInAKeyStopsTheStartNamingTheLineAndChangesNothing) {
  TempDir dir;
  const auto config =
      write_file(dir.path() + "/sinkhost.yaml", "data-dir: " + dir.path() + "/data\nlisen: 127.0.0.1:2113\n");
  int exit_code = -1;
  const auto output = run_command(std::string(SINKHOST_BINARY) + " --config " + config + " 2>&1", &exit_code);
  EXPECT_EQ(exit_code, 1) << output;
  EXPECT_NE(output.find(config + " line 2: unknown key 'lisen'"), std::string::npos) << output;
  EXPECT_FALSE(std::filesystem::exists(dir.path() + "/data")) << "nothing was created";
}

TEST(ConfigFile, ConfigCheckRefusesWhatAStartWouldRefuse) {
  TempDir dir;
  const auto config = write_file(dir.path() + "/sinkhost.yaml", "listen: 0.0.0.0:3113\n");
  int exit_code = -1;
  auto output = run_command(std::string(SINKHOST_BINARY) + " --config " + config + " config check 2>&1", &exit_code);
  EXPECT_EQ(exit_code, 1) << "--auth none off loopback: " << output;
  EXPECT_NE(output.find("--insecure"), std::string::npos) << output;
  output = run_command("SINKHOST_SOURCE='kurrentdb://admin:hunter22@db:2113?bogus=1' " + std::string(SINKHOST_BINARY) +
                           " config check 2>&1",
                       &exit_code);
  EXPECT_EQ(exit_code, 1) << output;
  EXPECT_NE(output.find("bogus"), std::string::npos) << output;
  EXPECT_EQ(output.find("hunter22"), std::string::npos) << "the password never shows: " << output;
}

TEST(ConfigFile, ADaemonRunsFromItsConfigFileWithJsonLogLines) {
  TempDir dir;
  const auto config =
      write_file(dir.path() + "/sinkhost.yaml", "log-format: json\nlog-level: info\nrequest-timeout-seconds: 5\n");
  SinkhostProcess host(dir.path() + "/data", {"--config", config});
  host.start();
  EXPECT_EQ(host.stop(), 0);
  std::istringstream lines(host.log());
  std::string line;
  int parsed = 0;
  bool saw_listening = false;
  while (std::getline(lines, line)) {
    if (line.empty()) continue;
    auto json = nlohmann::json::parse(line, nullptr, false);
    ASSERT_TRUE(json.is_object()) << "not a JSON line: " << line;
    EXPECT_TRUE(json["time"].is_string() && json["level"].is_string() && json["message"].is_string()) << line;
    if (json["message"].get<std::string>().find("listening on") != std::string::npos) saw_listening = true;
    ++parsed;
  }
  EXPECT_GT(parsed, 2);
  EXPECT_TRUE(saw_listening) << host.log();
}

// systemd's Type=notify (deploy/debian/sinkhost.service): READY=1 once the API serves,
// STOPPING=1 when a stop begins.
TEST(ServiceManager, TheDaemonReportsReadyAndStoppingToNotifySocket) {
  TempDir dir;
  const std::string path = dir.path() + "/notify";
  const int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::memcpy(address.sun_path, path.data(), path.size());
  ASSERT_EQ(::bind(fd, reinterpret_cast<const sockaddr*>(&address),
                   static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + path.size())),
            0);
  timeval timeout{.tv_sec = 10, .tv_usec = 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  auto receive = [fd] {
    char buffer[128];
    const auto n = ::recv(fd, buffer, sizeof buffer, 0);
    return n > 0 ? std::string(buffer, static_cast<std::size_t>(n)) : std::string("(nothing)");
  };
  ::setenv("NOTIFY_SOCKET", path.c_str(), 1);
  SinkhostProcess host(dir.path() + "/data");
  host.start();
  ::unsetenv("NOTIFY_SOCKET");
  EXPECT_EQ(receive(), "READY=1");
  EXPECT_EQ(host.stop(), 0);
  EXPECT_EQ(receive(), "STOPPING=1");
  ::close(fd);
}

}  // namespace
}  // namespace sinkhost::test
