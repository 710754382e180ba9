// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

/// Single-id mode keeps owners: the sandbox's pid 1 records the ownership changes its command
/// makes on the image's layers instead of losing them.
///
/// In single-id mode the sandbox has one id (0 -> the caller), so a chown to any other id cannot
/// happen. The command's seccomp filter hands chown, fchown, lchown, fchownat (and their i386
/// forms) to pid 1 through a seccomp user-notification descriptor; pid 1, which is not under the
/// filter, resolves the file the call names as the calling process would (its cwd, its
/// descriptor, its root: /proc/PID inside the sandbox), and when that file lies on a layer mount
/// of the sandbox records the owner as `user.imager.owner` (base/owner_record.h), then answers the
/// call with success. It never changes the file's real owner, mode or content, and it works from
/// inside the sandbox's mount namespace, after the host's root was detached: no path or descriptor
/// the command names can lead it to a host file. A file on any other mount (a tmpfs, a bind of a
/// host directory, an inherited descriptor) gets no record; the call succeeds without effect, as
/// before recording existed.
///
/// A program that reads back what it set, or copies an owner it read (shadow's tools give
/// `/etc/shadow-` the owner `fstat` reports for `/etc/shadow`; `sed -i` and `cp -p` do the same
/// for the file they write), must see the recorded owner: the stat family (stat, lstat, fstat,
/// newfstatat, statx) goes to pid 1 too. A file without a record, the common case, is left to
/// the kernel after one look at its attribute (SECCOMP_USER_NOTIF_FLAG_CONTINUE); for a recorded
/// one pid 1 makes the call itself on the file it resolved and writes the result, with the
/// recorded owner, into the caller's buffer.
///
/// Not covered: i386 programs' stat calls other than statx (their structures differ; they see
/// 0:0); symlinks, fifos and sockets cannot carry user.* attributes, so their non-root owners are
/// reported on the command's stderr and lost.

#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <string>
#include <vector>

#include "base/owner_record.h"
#include "base/result.h"

struct seccomp_notif;

namespace imager::sandbox {

/// The system call numbers of the chown and stat families for each ABI the filter lets through,
/// resolved before the fork (libseccomp allocates).
struct OwnerSyscall {
  enum class Kind { kChown, kLchown, kFchown, kFchownat, kStat, kLstat, kFstat, kFstatat, kStatx };
  uint32_t arch = 0;  // AUDIT_ARCH_* as seccomp_data.arch reports it
  int nr = 0;         // x32's carry their __X32_SYSCALL_BIT
  Kind kind = Kind::kChown;
  bool ids16 = false;  // i386's old chown/lchown/fchown: 16-bit ids, 0xffff = unchanged
  const char* name = "";
  bool IsStat() const { return kind >= Kind::kStat; }
};

Result<std::vector<OwnerSyscall>> ResolveOwnerSyscalls();

/// The owner a chown leaves: `uid`/`gid` of (uid_t)-1 keep what `current` has.
RecordedOwner OwnerAfterChown(const RecordedOwner& current, uint32_t uid, uint32_t gid);

/// Pid 1's side. Init() after the mount plan ran (targets are paths inside the new root, /proc is
/// mounted); then Serve() for each readable notification.
class OwnerRecorder {
 public:
  OwnerRecorder(std::vector<OwnerSyscall> calls, int log_fd)
      : calls_(std::move(calls)), log_fd_(log_fd) {}

  /// Finds the layer mounts; an error names the target that could not be examined.
  Status Init(const std::vector<std::string>& targets);
  /// Receives one notification from `listener` and answers it. False when nothing could be
  /// received because every process under the filter is gone.
  bool Serve(int listener);

  uint64_t recorded() const { return recorded_; }
  /// One line for the stage log: what was recorded and answered.
  std::string Summary() const;

 private:
  static constexpr int kContinue = -1;  // let the kernel run the call as it is
  // The errno the call gets (0: success), or kContinue.
  int Handle(int listener, const seccomp_notif& req);
  int OpenTarget(int listener, const seccomp_notif& req, const OwnerSyscall& c, int* fd_out,
                 std::string* what);
  int Record(int fd, const std::string& what, uint32_t uid, uint32_t gid);
  int Stat(const seccomp_notif& req, const OwnerSyscall& c, int fd);
  // A quick look whether the file a stat call names has a record (false: the kernel answers).
  bool MayHaveRecord(const seccomp_notif& req, const OwnerSyscall& c);
  void Warn(const std::string& line);

  std::vector<OwnerSyscall> calls_;
  int log_fd_;
  std::vector<uint64_t> mounts_;  // mount ids of the layers
  std::string req_buf_, resp_buf_;
  // Counted by the thread that serves, read by the one that reaps.
  std::atomic<uint64_t> recorded_ = 0, chowns_ = 0, stats_ = 0, answered_ = 0;
  int warnings_ = 0;
};

}  // namespace imager::sandbox
