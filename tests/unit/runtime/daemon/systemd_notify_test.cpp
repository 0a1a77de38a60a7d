#include "systemd_notify.hpp"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>

#include <gtest/gtest.h>

namespace sinkhost::daemon {
namespace {

// A datagram socket standing in for systemd's notification socket.
class NotifySocket {
 public:
  explicit NotifySocket(const std::string& name) {
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::memcpy(address.sun_path, name.data(), name.size());
    if (name[0] == '@') address.sun_path[0] = '\0';
    const auto length = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + name.size());
    EXPECT_EQ(::bind(fd_, reinterpret_cast<const sockaddr*>(&address), length), 0) << std::strerror(errno);
    timeval timeout{.tv_sec = 2, .tv_usec = 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  }
  ~NotifySocket() { ::close(fd_); }
  std::string receive() {
    char buffer[256];
    const auto n = ::recv(fd_, buffer, sizeof buffer, 0);
    return n > 0 ? std::string(buffer, static_cast<std::size_t>(n)) : std::string();
  }

 private:
  int fd_ = -1;
};

TEST(SystemdNotify, SendsTheStateToThePathInNotifySocket) {
  const auto path =
      (std::filesystem::temp_directory_path() / ("sinkhost-notify-" + std::to_string(::getpid()))).string();
  std::filesystem::remove(path);
  NotifySocket manager(path);
  ::setenv("NOTIFY_SOCKET", path.c_str(), 1);
  EXPECT_TRUE(notify_service_manager("READY=1"));
  EXPECT_EQ(manager.receive(), "READY=1");
  ::unsetenv("NOTIFY_SOCKET");
  std::filesystem::remove(path);
}

TEST(SystemdNotify, SendsToAnAbstractSocket) {
  const std::string name = "@sinkhost-notify-test-" + std::to_string(::getpid());
  NotifySocket manager(name);
  ::setenv("NOTIFY_SOCKET", name.c_str(), 1);
  EXPECT_TRUE(notify_service_manager("STOPPING=1"));
  EXPECT_EQ(manager.receive(), "STOPPING=1");
  ::unsetenv("NOTIFY_SOCKET");
}

TEST(SystemdNotify, DoesNothingOutsideSystemd) {
  ::unsetenv("NOTIFY_SOCKET");
  EXPECT_FALSE(notify_service_manager("READY=1"));
  ::setenv("NOTIFY_SOCKET", "relative/path", 1);
  EXPECT_FALSE(notify_service_manager("READY=1"));
  ::unsetenv("NOTIFY_SOCKET");
}

}  // namespace
}  // namespace sinkhost::daemon
