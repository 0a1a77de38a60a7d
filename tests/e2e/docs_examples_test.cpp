// The curl examples of the docs run against a live sinkhost, so the docs cannot rot.
//
// Convention in the Markdown: a ```sh block is an example; the ```output block right after it
// (optional) lists lines that must each appear in what the example prints. Examples of a
// section run in order, in one data directory, with 127.0.0.1:2113 replaced by the test's port.
#include <sys/socket.h>
#include <unistd.h>

#include <arpa/inet.h>
#include <netinet/in.h>

#include <fstream>
#include <sstream>

#include <gtest/gtest.h>

#include "e2e_helpers.hpp"
#include "kafka.hpp"

namespace sinkhost::test {
namespace {

struct Example {
  std::string script;
  std::vector<std::string> expected_lines;
  int line = 0;  // where the example starts in the file
};

// The examples between the heading `section` (a line starting with it) and the next heading of
// the same level.
std::vector<Example> examples(const std::string& file, const std::string& section) {
  std::ifstream in(std::string(SINKHOST_SOURCE_DIR) + "/" + file);
  std::vector<Example> out;
  std::string line;
  bool inside = false;
  const auto level = section.substr(0, section.find(' ') + 1);
  enum { text, sh, output } mode = text;
  for (int n = 1; std::getline(in, line); ++n) {
    if (mode == text && line.starts_with(level) && !line.starts_with(level + "#")) inside = line.starts_with(section);
    if (!inside) continue;
    if (mode == text && line == "```sh") {
      out.push_back({"", {}, n});
      mode = sh;
    } else if (mode == text && line == "```output" && !out.empty()) {
      mode = output;
    } else if (mode != text && line == "```") {
      mode = text;
    } else if (mode == sh) {
      out.back().script += line + "\n";
    } else if (mode == output && !line.empty()) {
      out.back().expected_lines.push_back(line);
    }
  }
  return out;
}

std::string replace_all(std::string text, const std::string& from, const std::string& to) {
  for (auto pos = text.find(from); pos != std::string::npos; pos = text.find(from, pos + to.size())) {
    text.replace(pos, from.size(), to);
  }
  return text;
}

void run_examples(const std::string& file, const std::string& section,
                  const std::map<std::string, std::string>& replacements, std::size_t at_least) {
  auto list = examples(file, section);
  ASSERT_GE(list.size(), at_least) << "examples found in " << file << " under '" << section << "'";
  TempDir scripts;
  for (const auto& example : list) {
    auto script = example.script;
    for (const auto& [from, to] : replacements) script = replace_all(script, from, to);
    auto path = scripts.path() + "/example.sh";
    std::ofstream(path) << "set -e\ncd " << SINKHOST_SOURCE_DIR << "\n" << script;
    int exit_code = -1;
    auto printed = run_command("bash " + path + " 2>&1", &exit_code);
    EXPECT_EQ(exit_code, 0) << file << ":" << example.line << " failed:\n" << script << "\nprinted:\n" << printed;
    for (const auto& expected : example.expected_lines) {
      EXPECT_NE(printed.find(expected), std::string::npos)
          << file << ":" << example.line << " did not print\n  " << expected << "\nprinted:\n"
          << printed;
    }
  }
}

// A port in [first, last] nothing listens on.
int free_port(int first, int last) {
  for (int port = first; port <= last; ++port) {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<std::uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    const bool free = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    ::close(fd);
    if (free) return port;
  }
  throw std::runtime_error("no free port in " + std::to_string(first) + "-" + std::to_string(last));
}

// Runs a section of docs/api.md against a fresh sinkhost.
void run_api_md_section(const std::string& section, std::size_t at_least) {
  TempDir dir;
  SinkhostProcess host(dir.path() + "/data");
  host.start();
  run_examples("docs/api.md", section, {{"127.0.0.1:2113", "127.0.0.1:" + std::to_string(host.port())}}, at_least);
}

TEST(DocsExamples, StreamsApiExamplesInDocsApiMdWork) { run_api_md_section("## Streams", 8); }
TEST(DocsExamples, HealthExampleInDocsApiMdWorks) { run_api_md_section("## Health", 1); }
TEST(DocsExamples, OpenApiExampleInDocsApiMdWorks) { run_api_md_section("## OpenAPI description", 1); }
TEST(DocsExamples, ConnectorApiExamplesInDocsApiMdWork) { run_api_md_section("## Connectors", 20); }
// docs/transforms.md produces to Kafka: its sections run in order against one sinkhost and the
// test broker, with topics of their own.
TEST(KafkaDocsExamples, TransformExamplesInDocsTransformsMdWork) {
  TempDir dir;
  SinkhostProcess host(dir.path() + "/data");
  host.start();
  const std::map<std::string, std::string> replacements = {
      {"127.0.0.1:2113", "127.0.0.1:" + std::to_string(host.port())},
      {"127.0.0.1:9092", kafka_bootstrap()},
      {"deploy/kafka/kafka.sh", "KAFKA_STATE_DIR=" + kafka_env()["KAFKA_STATE_DIR"] + " deploy/kafka/kafka.sh"},
      {"transformed-orders", unique_topic("transformed-orders")},
      {"checked-orders", unique_topic("checked-orders")}};
  run_examples("docs/transforms.md", "## Example", replacements, 5);
  run_examples("docs/transforms.md", "## When the function fails", replacements, 3);
}

// docs/plugins/http-sink.md: a connector POSTs an event to the test suite's webhook receiver.
TEST(DocsExamples, HttpSinkTryItInDocsHttpSinkMdWorks) {
  TempDir dir;
  SinkhostProcess host(dir.path() + "/data");
  host.start();
  const auto receiver = std::to_string(free_port(19590, 19599));
  run_examples("docs/plugins/http-sink.md", "## Try it",
               {{"127.0.0.1:2113", "127.0.0.1:" + std::to_string(host.port())}, {"8085", receiver}}, 3);
}

TEST(DocsExamples, KurrentDbDocExamplesWorkUnmodified) { run_api_md_section("## KurrentDB's examples", 5); }

// docs/kurrentdb-compatibility.md: a KurrentDB setting without effect is answered with a warning,
// an unknown key names the closest known one.
TEST(DocsExamples, CompatibilityWarningsInDocsKurrentDbCompatibilityMdWork) {
  TempDir dir;
  SinkhostProcess host(dir.path() + "/data");
  host.start();
  run_examples("docs/kurrentdb-compatibility.md", "## Warnings",
               {{"127.0.0.1:2113", "127.0.0.1:" + std::to_string(host.port())}}, 2);
}

}  // namespace
}  // namespace sinkhost::test
