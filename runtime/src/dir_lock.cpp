#include "sinkhost/runtime/dir_lock.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>

namespace sinkhost::runtime {

DirLock::DirLock(const std::string& path, Target target, Wait wait) {
  fd_ = target == Target::directory ? ::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC)
                                    : ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (fd_ < 0) {
    failed_step_ = Step::open;
    errno_ = errno;
    return;
  }
  const int operation = wait == Wait::until_free ? LOCK_EX : LOCK_EX | LOCK_NB;
  while (::flock(fd_, operation) != 0) {
    if (errno == EINTR && wait == Wait::until_free) continue;
    failed_step_ = Step::lock;
    errno_ = errno;
    ::close(fd_);
    fd_ = -1;
    return;
  }
}

DirLock::DirLock(DirLock&& other) noexcept : fd_(other.fd_), failed_step_(other.failed_step_), errno_(other.errno_) {
  other.fd_ = -1;
}

DirLock::~DirLock() {
  if (fd_ >= 0) ::close(fd_);  // closing releases the lock
}

bool DirLock::held_elsewhere() const { return failed_step_ == Step::lock && errno_ == EWOULDBLOCK; }

void DirLock::keep_until_exit() { fd_ = -1; }

}  // namespace sinkhost::runtime
