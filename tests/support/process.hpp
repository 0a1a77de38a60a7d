#pragma once

#include <sys/types.h>

#include <cstdint>
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

  // Starts it and waits until GET /health answers 200. Fails the test otherwise.
  void start();
  // SIGTERM, then waits for a clean exit; returns the exit status.
  int stop();
  void kill_hard();  // SIGKILL
  bool running() const { return pid_ > 0; }
  std::uint16_t port() const { return port_; }
  std::string log() const;

 private:
  std::string data_dir_;
  std::vector<std::string> extra_args_;
  std::string log_path_;
  std::uint16_t port_ = 0;
  pid_t pid_ = -1;
};

// Runs a shell command and returns its standard output; `exit_code` gets its exit status.
std::string run_command(const std::string& command, int* exit_code = nullptr);

}  // namespace sinkhost::test
