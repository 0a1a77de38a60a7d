#pragma once

#include <string>

namespace sinkhost::runtime {

// An exclusive flock(2) held for this object's life: on a directory itself (for a
// read-modify-write of files in it that are replaced by rename, as the users file is) or on a
// lock file created if missing (the daemon's `<data dir>/sinkhost.lock`, one process per data
// directory). The lock goes with the descriptor: closing it, or the process ending, releases it.
// Not thread-safe; move-only.
class DirLock {
 public:
  enum class Target { directory, lock_file };
  enum class Wait { until_free, fail_if_held };
  // Which step failed, with its errno (EWOULDBLOCK from `lock` under fail_if_held: held by
  // another process); callers word the message.
  enum class Step { none, open, lock };

  DirLock(const std::string& path, Target target, Wait wait);
  DirLock(DirLock&& other) noexcept;
  DirLock& operator=(DirLock&&) = delete;
  DirLock(const DirLock&) = delete;
  DirLock& operator=(const DirLock&) = delete;
  ~DirLock();

  bool locked() const { return failed_step_ == Step::none; }
  Step failed_step() const { return failed_step_; }
  int error_number() const { return errno_; }
  // "the lock is held elsewhere" (fail_if_held only).
  bool held_elsewhere() const;

  // Keeps the lock until the process ends (the descriptor is never closed).
  void keep_until_exit();

 private:
  int fd_ = -1;
  Step failed_step_ = Step::none;
  int errno_ = 0;
};

}  // namespace sinkhost::runtime
