#include <algorithm>
#include "process.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include <boost/asio/ip/tcp.hpp>
#include <gtest/gtest.h>

#include "http_client.hpp"

namespace sinkhost::test {

namespace fs = std::filesystem;

std::uint16_t free_port() {
  boost::asio::io_context io;
  boost::asio::ip::tcp::acceptor acceptor(io, {boost::asio::ip::make_address("127.0.0.1"), 0});
  return acceptor.local_endpoint().port();
}

TempDir::TempDir() {
  auto pattern = (fs::temp_directory_path() / "sinkhost-test-XXXXXX").string();
  std::vector<char> buffer(pattern.begin(), pattern.end());
  buffer.push_back('\0');
  if (mkdtemp(buffer.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  path_ = buffer.data();
}

TempDir::~TempDir() {
  std::error_code ec;
  fs::remove_all(path_, ec);
}

SinkhostProcess::SinkhostProcess(std::string data_dir, std::vector<std::string> extra_args)
    : data_dir_(std::move(data_dir)), extra_args_(std::move(extra_args)), log_path_(data_dir_ + ".log") {}

SinkhostProcess::~SinkhostProcess() {
  if (pid_ > 0) stop();
}

void SinkhostProcess::launch() {
  port_ = free_port();
  const auto host = listen_host_.find(':') != std::string::npos ? "[" + listen_host_ + "]" : listen_host_;
  std::vector<std::string> args = {SINKHOST_BINARY, "--listen", host + ":" + std::to_string(port_), "--data-dir",
                                   data_dir_};
  if (std::find(extra_args_.begin(), extra_args_.end(), "--grpc-listen") == extra_args_.end()) {
#ifdef SINKHOST_TEST_WITHOUT_GRPC
    // ThreadSanitizer cannot see the synchronization inside Debian's gRPC and abseil libraries
    // (not built with -fsanitize=thread) and reports races in them: a TSan daemon runs without
    // its gRPC face (docs/development.md, "ThreadSanitizer").
    args.insert(args.end(), {"--grpc-listen", "none"});
#else
    grpc_port_ = free_port();
    args.insert(args.end(), {"--grpc-listen", host + ":" + std::to_string(grpc_port_)});
#endif
  }
  args.insert(args.end(), extra_args_.begin(), extra_args_.end());
  pid_ = fork();
  if (pid_ == 0) {
    int fd = ::open(log_path_.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    dup2(fd, 1);
    dup2(fd, 2);
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    execv(argv[0], argv.data());
    _exit(127);
  }
}

void SinkhostProcess::start() {
  launch();
  ASSERT_GT(pid_, 0) << "fork failed";
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      FAIL() << "sinkhost exited during start-up:\n" << log();
    }
    try {
      if (ready_check_ ? ready_check_(port_) : http_request(port_, "GET", "/health").status == 200) return;
    } catch (const std::exception&) {
      // not listening yet
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  FAIL() << "sinkhost was not ready within 20 s:\n" << log();
}

int SinkhostProcess::run_expecting_exit(std::chrono::seconds timeout) {
  launch();
  if (pid_ <= 0) {
    ADD_FAILURE() << "fork failed";
    return -1;
  }
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    int status = 0;
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  kill_hard();
  ADD_FAILURE() << "sinkhost was expected to refuse to start but still ran after " << timeout.count() << " s:\n"
                << log();
  return -1;
}

int SinkhostProcess::stop() {
  if (pid_ <= 0) return -1;
  ::kill(pid_, SIGTERM);
  int status = 0;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (std::chrono::steady_clock::now() < deadline) {
    if (waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  kill_hard();
  ADD_FAILURE() << "sinkhost did not stop within 30 s of SIGTERM:\n" << log();
  return -1;
}

void SinkhostProcess::kill_hard() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  int status = 0;
  waitpid(pid_, &status, 0);
  pid_ = -1;
}

std::string SinkhostProcess::log() const {
  std::ifstream in(log_path_);
  std::stringstream out;
  out << in.rdbuf();
  return out.str();
}

std::string run_command(const std::string& command, int* exit_code) {
  std::string output;
  FILE* pipe = popen(command.c_str(), "r");
  if (pipe == nullptr) throw std::runtime_error("popen failed: " + command);
  std::array<char, 4096> buffer;
  std::size_t n;
  while ((n = fread(buffer.data(), 1, buffer.size(), pipe)) > 0) output.append(buffer.data(), n);
  int status = pclose(pipe);
  if (exit_code) *exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return output;
}

}  // namespace sinkhost::test
