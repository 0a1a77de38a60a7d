#pragma once

#include <sys/types.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace sinkhost::test {

// A free TCP port on 127.0.0.1 (bound once and released: good enough for tests).
std::uint16_t free_port();

// A fresh empty directory under the system temp dir, removed by the destructor.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

// The sinkhost daemon as a child process, its output in a log file.
class SinkhostProcess {
 public:
  SinkhostProcess(std::string data_dir, std::vector<std::string> extra_args = {});
  ~SinkhostProcess();

  // Starts it and waits until it is ready (by default: GET /health over plain HTTP answers
  // 200; see set_ready_check). Fails the test otherwise.
  void start();
  // Starts it expecting it to refuse to start: waits until it exits (at most `timeout`) and
  // returns its exit status. Fails the test, and kills it, when it is still running then.
  int run_expecting_exit(std::chrono::seconds timeout = std::chrono::seconds(20));

  // Before start(): the host in --listen (default 127.0.0.1). Readiness is still checked on
  // 127.0.0.1, so use a wildcard or loopback address.
  void set_listen_host(std::string host) { listen_host_ = std::move(host); }
  // Before start(): how start() tells that the daemon is ready to serve (HTTPS, say), given
  // its port. Exceptions count as "not yet".
  void set_ready_check(std::function<bool(std::uint16_t port)> ready) { ready_check_ = std::move(ready); }
  // SIGTERM, then waits for a clean exit; returns the exit status.
  int stop();
  void kill_hard();  // SIGKILL
  bool running() const { return pid_ > 0; }
  // The daemon's process id while it runs (to look at /proc/PID), -1 otherwise.
  pid_t pid() const { return pid_; }
  std::uint16_t port() const { return port_; }
  // The gRPC face's port (--grpc-listen on the same host), unless the extra arguments set it.
  std::uint16_t grpc_port() const { return grpc_port_; }
  std::string log() const;

 private:
  std::string data_dir_;
  std::vector<std::string> extra_args_;
  std::string log_path_;
  std::string listen_host_ = "127.0.0.1";
  std::function<bool(std::uint16_t)> ready_check_;
  std::uint16_t port_ = 0;
  std::uint16_t grpc_port_ = 0;
  pid_t pid_ = -1;

  void launch();
};

// Runs a shell command and returns its standard output; `exit_code` gets its exit status.
std::string run_command(const std::string& command, int* exit_code = nullptr);

}  // namespace sinkhost::test
