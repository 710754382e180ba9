// SPDX-License-Identifier: GPL-3.0-or-later
#include "sandbox/owner_recorder.h"

#include <fcntl.h>
#include <limits.h>
#include <linux/audit.h>
#include <linux/openat2.h>
#include <linux/seccomp.h>
#include <seccomp.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "base/fd.h"
#include "base/strings.h"

namespace imager::sandbox {
namespace {

// The calling process's NUL-terminated string at `addr`, read page by page (a string may end
// just before an unmapped page). False when it cannot be read or is longer than PATH_MAX.
bool ReadRemoteString(pid_t pid, uint64_t addr, std::string* out) {
  out->clear();
  constexpr uint64_t kPage = 4096;
  while (out->size() < PATH_MAX) {
    char buf[kPage];
    size_t want = kPage - (addr % kPage);
    iovec local{buf, want}, remote{reinterpret_cast<void*>(addr), want};
    ssize_t n = process_vm_readv(pid, &local, 1, &remote, 1, 0);
    if (n <= 0) return false;
    const char* nul = static_cast<const char*>(memchr(buf, '\0', static_cast<size_t>(n)));
    if (nul) {
      out->append(buf, static_cast<size_t>(nul - buf));
      return true;
    }
    out->append(buf, static_cast<size_t>(n));
    addr += static_cast<uint64_t>(n);
  }
  return false;
}

std::string FdPath(int fd) { return "/proc/self/fd/" + std::to_string(fd); }

// Where the file behind `fd` is, as this process sees it (for messages).
std::string Describe(int fd) {
  char buf[PATH_MAX];
  ssize_t n = readlink(FdPath(fd).c_str(), buf, sizeof buf - 1);
  return n > 0 ? std::string(buf, static_cast<size_t>(n)) : "descriptor";
}

const char* TypeName(mode_t mode) {
  if (S_ISLNK(mode)) return "symlink";
  if (S_ISFIFO(mode)) return "fifo";
  if (S_ISSOCK(mode)) return "socket";
  if (S_ISCHR(mode) || S_ISBLK(mode)) return "device";
  return "file of this type";
}

}  // namespace

namespace {

using Kind = OwnerSyscall::Kind;

struct Name {
  const char* name;
  Kind kind;
  bool ids16;
};

// x86-64 and x32 share the names and struct stat.
constexpr Name kNative[] = {{"chown", Kind::kChown, false},   {"lchown", Kind::kLchown, false},
                            {"fchown", Kind::kFchown, false}, {"fchownat", Kind::kFchownat, false},
                            {"stat", Kind::kStat, false},     {"lstat", Kind::kLstat, false},
                            {"fstat", Kind::kFstat, false},   {"newfstatat", Kind::kFstatat, false},
                            {"statx", Kind::kStatx, false}};
// i386: the old chown calls take 16-bit ids; of its stat calls only statx has the structure
// this process can fill in.
constexpr Name kI386[] = {{"chown", Kind::kChown, true},        {"lchown", Kind::kLchown, true},
                          {"fchown", Kind::kFchown, true},      {"chown32", Kind::kChown, false},
                          {"lchown32", Kind::kLchown, false},   {"fchown32", Kind::kFchown, false},
                          {"fchownat", Kind::kFchownat, false}, {"statx", Kind::kStatx, false}};

}  // namespace

Result<std::vector<OwnerSyscall>> ResolveOwnerSyscalls() {
  struct Abi {
    uint32_t token, reported;
    const Name* names;
    size_t count;
  };
  // x32 reports AUDIT_ARCH_X86_64 with __X32_SYSCALL_BIT in the number, which libseccomp's x32
  // numbers carry.
  const Abi abis[] = {{SCMP_ARCH_X86_64, AUDIT_ARCH_X86_64, kNative, std::size(kNative)},
                      {SCMP_ARCH_X32, AUDIT_ARCH_X86_64, kNative, std::size(kNative)},
                      {SCMP_ARCH_X86, AUDIT_ARCH_I386, kI386, std::size(kI386)}};
  std::vector<OwnerSyscall> out;
  for (const auto& abi : abis) {
    for (size_t i = 0; i < abi.count; ++i) {
      const Name& n = abi.names[i];
      int nr = seccomp_syscall_resolve_name_arch(abi.token, n.name);
      if (nr < 0) return Error{std::string("seccomp: no number for ") + n.name};
      out.push_back({abi.reported, nr, n.kind, n.ids16, n.name});
    }
  }
  return out;
}

RecordedOwner OwnerAfterChown(const RecordedOwner& current, uint32_t uid, uint32_t gid) {
  constexpr uint32_t kKeep = static_cast<uint32_t>(-1);
  return {uid == kKeep ? current.uid : uid, gid == kKeep ? current.gid : gid};
}

Status OwnerRecorder::Init(const std::vector<std::string>& targets) {
  seccomp_notif_sizes sizes{};
  if (syscall(SYS_seccomp, SECCOMP_GET_NOTIF_SIZES, 0, &sizes) != 0)
    return ErrnoError("seccomp notification sizes");
  req_buf_.assign(std::max<size_t>(sizes.seccomp_notif, sizeof(seccomp_notif)), '\0');
  resp_buf_.assign(std::max<size_t>(sizes.seccomp_notif_resp, sizeof(seccomp_notif_resp)), '\0');
  for (const auto& t : targets) {
    struct statx stx {};
    if (statx(AT_FDCWD, t.c_str(), AT_SYMLINK_NOFOLLOW, STATX_MNT_ID, &stx) != 0)
      return ErrnoError("find the layer mounted at " + t);
    if (!(stx.stx_mask & STATX_MNT_ID))
      return Error{"the kernel does not report mount ids (statx STATX_MNT_ID, Linux 5.8)"};
    mounts_.push_back(stx.stx_mnt_id);
  }
  return {};
}

bool OwnerRecorder::Serve(int listener) {
  auto* req = reinterpret_cast<seccomp_notif*>(req_buf_.data());
  memset(req_buf_.data(), 0, req_buf_.size());
  if (ioctl(listener, SECCOMP_IOCTL_NOTIF_RECV, req) != 0)
    return errno == EINTR || errno == ENOENT;  // ENOENT: the caller died meanwhile
  int err = Handle(listener, *req);
  auto* resp = reinterpret_cast<seccomp_notif_resp*>(resp_buf_.data());
  memset(resp_buf_.data(), 0, resp_buf_.size());
  resp->id = req->id;
  if (err == kContinue)
    resp->flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
  else
    resp->error = -err;
  ioctl(listener, SECCOMP_IOCTL_NOTIF_SEND, resp);  // ENOENT: the caller died meanwhile
  return true;
}

int OwnerRecorder::Handle(int listener, const seccomp_notif& req) {
  auto call = std::find_if(calls_.begin(), calls_.end(), [&](const OwnerSyscall& c) {
    return c.arch == req.data.arch && c.nr == req.data.nr;
  });
  if (call == calls_.end()) return kContinue;  // the filter notifies nothing else
  // Most files a program stats have no record: one look at the attribute through /proc/PID and
  // the kernel answers; only a recorded file is resolved with care and answered here.
  ++(call->IsStat() ? stats_ : chowns_);
  if (call->IsStat() && !MayHaveRecord(req, *call)) return kContinue;
  int fd = -1;
  std::string what;
  int err = OpenTarget(listener, req, *call, &fd, &what);
  UniqueFd owned(fd);
  if (call->IsStat()) return err != 0 || fd < 0 ? kContinue : Stat(req, *call, fd);
  if (err != 0) return err;
  if (fd < 0) return 0;  // not on a layer: nothing to record
  const bool at = call->kind == Kind::kFchownat;
  uint64_t uid = req.data.args[at ? 2 : 1], gid = req.data.args[at ? 3 : 2];
  auto id = [&](uint64_t v) -> uint32_t {
    if (!call->ids16) return static_cast<uint32_t>(v);
    v &= 0xffff;
    return v == 0xffff ? static_cast<uint32_t>(-1) : static_cast<uint32_t>(v);
  };
  return Record(fd, what, id(uid), id(gid));
}

namespace {

// Where a call keeps its descriptor, path and flags.
struct Args {
  int fd_arg = -1, dirfd = AT_FDCWD, path_arg = -1;
  uint64_t flags = 0;
  bool nofollow = false;
};

Args Decode(const OwnerSyscall& c, const seccomp_data& d) {
  Args r;
  switch (c.kind) {
    case Kind::kFchown:
    case Kind::kFstat:
      r.fd_arg = 0;
      break;
    case Kind::kLchown:
    case Kind::kLstat:
      r.nofollow = true;
      [[fallthrough]];
    case Kind::kChown:
    case Kind::kStat:
      r.path_arg = 0;
      break;
    case Kind::kFchownat:
    case Kind::kFstatat:
    case Kind::kStatx:
      r.dirfd = static_cast<int>(d.args[0]);
      r.path_arg = 1;
      r.flags = d.args[c.kind == Kind::kFchownat ? 4 : c.kind == Kind::kFstatat ? 3 : 2];
      r.nofollow = r.flags & AT_SYMLINK_NOFOLLOW;
      break;
  }
  return r;
}

// The directory a call's relative path starts from, as the caller has it.
std::string BaseDir(const std::string& proc, int dirfd) {
  return dirfd == AT_FDCWD ? proc + "/cwd" : proc + "/fd/" + std::to_string(dirfd);
}

// /proc/self is this process here: the caller's own is meant.
std::string CallersProc(const std::string& proc, const std::string& path) {
  for (const char* self : {"/proc/self/", "/proc/thread-self/"})
    if (StartsWith(path, self)) return proc + "/" + path.substr(strlen(self));
  return path;
}

// The caller's path as this process reaches the same file through /proc/PID (its cwd, its
// descriptors), "" when the call names nothing. Exact unless the caller changed its root.
std::string ProcPath(const std::string& proc, const Args& a, std::string path) {
  if (a.fd_arg >= 0) return path;  // the caller's descriptor, already in `path`
  std::string base = BaseDir(proc, a.dirfd);
  if (path.empty()) return a.flags & AT_EMPTY_PATH ? base : "";
  path = CallersProc(proc, path);
  return path[0] == '/' ? path : base + "/" + path;
}

}  // namespace

bool OwnerRecorder::MayHaveRecord(const seccomp_notif& req, const OwnerSyscall& c) {
  const std::string proc = "/proc/" + std::to_string(req.pid);
  Args a = Decode(c, req.data);
  std::string path;
  if (a.fd_arg >= 0)
    path = proc + "/fd/" + std::to_string(static_cast<int>(req.data.args[a.fd_arg]));
  else if (!ReadRemoteString(static_cast<pid_t>(req.pid), req.data.args[a.path_arg], &path))
    return false;
  path = ProcPath(proc, a, std::move(path));
  if (path.empty()) return false;
  char buf[32];
  ssize_t n = a.nofollow ? lgetxattr(path.c_str(), kOwnerXattr, buf, sizeof buf)
                         : getxattr(path.c_str(), kOwnerXattr, buf, sizeof buf);
  return n > 0;
}

int OwnerRecorder::OpenTarget(int listener, const seccomp_notif& req, const OwnerSyscall& c,
                              int* fd_out, std::string* what) {
  const std::string proc = "/proc/" + std::to_string(req.pid);
  const auto& a = req.data.args;
  const Args args = Decode(c, req.data);
  const int fd_arg = args.fd_arg, dirfd = args.dirfd, path_arg = args.path_arg;
  const uint64_t flags = args.flags;
  const bool nofollow = args.nofollow;
  UniqueFd fd;
  if (fd_arg >= 0) {
    fd.reset(open((proc + "/fd/" + std::to_string(static_cast<int>(a[fd_arg]))).c_str(),
                  O_PATH | O_CLOEXEC));
    if (!fd.valid()) return errno == ENOENT ? EBADF : errno;
  } else {
    std::string path;
    if (!ReadRemoteString(static_cast<pid_t>(req.pid), a[path_arg], &path)) return EFAULT;
    std::string base = BaseDir(proc, dirfd);
    if (path.empty() && !(flags & AT_EMPTY_PATH)) return ENOENT;
    path = CallersProc(proc, path);
    if (path.empty()) {
      fd.reset(open(base.c_str(), O_PATH | O_CLOEXEC));
      if (!fd.valid()) return errno == ENOENT ? EBADF : errno;
    } else {
      open_how how{};
      how.flags = O_PATH | O_CLOEXEC | (nofollow ? O_NOFOLLOW : 0);
      if (path[0] == '/') {
        // An absolute path starts at the caller's root: this process's own, unless the caller
        // changed its root, then resolved inside that one.
        struct stat mine, theirs;
        bool own_root = stat("/", &mine) == 0 && stat((proc + "/root").c_str(), &theirs) == 0 &&
                        mine.st_dev == theirs.st_dev && mine.st_ino == theirs.st_ino;
        base = own_root ? "/" : proc + "/root";
        if (!own_root) how.resolve = RESOLVE_IN_ROOT;
      }
      UniqueFd dir(open(base.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
      if (!dir.valid()) return errno == ENOENT ? EBADF : errno;
      fd.reset(static_cast<int>(syscall(SYS_openat2, dir.get(), path.c_str(), &how, sizeof how)));
      if (!fd.valid()) return errno;
    }
    *what = path;
  }
  // The descriptor is opened: the process that asked must still be the one (not a pid reused).
  uint64_t id = req.id;
  if (ioctl(listener, SECCOMP_IOCTL_NOTIF_ID_VALID, &id) != 0) return ESRCH;
  struct statx stx {};
  if (statx(fd.get(), "", AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW, STATX_TYPE | STATX_MNT_ID, &stx) !=
      0)
    return errno;
  if (std::find(mounts_.begin(), mounts_.end(), stx.stx_mnt_id) == mounts_.end()) return 0;
  *fd_out = fd.release();
  return 0;
}

int OwnerRecorder::Stat(const seccomp_notif& req, const OwnerSyscall& c, int fd) {
  // getxattr, not lgetxattr: /proc/self/fd/N is a (magic) link to the file itself.
  char buf[32];
  ssize_t n = getxattr(FdPath(fd).c_str(), kOwnerXattr, buf, sizeof buf);
  auto owner = n > 0 ? ParseOwnerRecord(std::string(buf, static_cast<size_t>(n))) : std::nullopt;
  if (!owner) return kContinue;  // the kernel's answer is the right one
  const auto& a = req.data.args;
  iovec local{}, remote{};
  struct stat st;
  struct statx stx;
  if (c.kind == Kind::kStatx) {
    unsigned sync = static_cast<unsigned>(a[2]) & AT_STATX_SYNC_TYPE;
    if (statx(fd, "", AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW | sync, static_cast<unsigned>(a[3]),
              &stx) != 0)
      return errno;
    stx.stx_uid = owner->uid;
    stx.stx_gid = owner->gid;
    local = {&stx, sizeof stx};
    remote = {reinterpret_cast<void*>(a[4]), sizeof stx};
  } else {
    if (fstatat(fd, "", &st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) != 0) return errno;
    st.st_uid = owner->uid;
    st.st_gid = owner->gid;
    local = {&st, sizeof st};
    remote = {reinterpret_cast<void*>(a[c.kind == Kind::kFstatat ? 2 : 1]), sizeof st};
  }
  if (process_vm_writev(static_cast<pid_t>(req.pid), &local, 1, &remote, 1, 0) !=
      static_cast<ssize_t>(local.iov_len))
    return EFAULT;
  ++answered_;
  return 0;
}

std::string OwnerRecorder::Summary() const {
  return "imager: single-id owners: " + std::to_string(chowns_) + " chown calls, " +
         std::to_string(recorded_) + " records changed; " + std::to_string(stats_) +
         " stat calls, " + std::to_string(answered_) + " answered from a record\n";
}

int OwnerRecorder::Record(int fd, const std::string& what, uint32_t uid, uint32_t gid) {
  const std::string p = FdPath(fd);
  struct stat st;
  if (fstatat(fd, "", &st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) != 0) return errno;
  // The kernel takes the set-id bits off every chown of a regular file, root's too (set-gid only
  // with group execute: without it the bit means mandatory locking); the call ends here, so this
  // does the same, or a script's "chmod u+s f; chown u f" would keep a bit range mode drops.
  if (S_ISREG(st.st_mode)) {
    mode_t drop = (st.st_mode & S_ISUID) | ((st.st_mode & S_IXGRP) ? (st.st_mode & S_ISGID) : 0);
    if (drop && chmod(p.c_str(), st.st_mode & 07777 & ~drop) != 0)
      Warn("set-id bits of " + (what.empty() ? Describe(fd) : what) +
           " not taken off on chown: " + strerror(errno));
  }
  char buf[32];
  ssize_t n = S_ISREG(st.st_mode) || S_ISDIR(st.st_mode)
                  ? getxattr(p.c_str(), kOwnerXattr, buf, sizeof buf)
                  : -1;
  auto had = n > 0 ? ParseOwnerRecord(std::string(buf, static_cast<size_t>(n))) : std::nullopt;
  RecordedOwner current = had.value_or(RecordedOwner{});
  RecordedOwner next = OwnerAfterChown(current, uid, gid);
  if (had ? next == current : next == RecordedOwner{}) return 0;
  if (!S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode)) {
    Warn("owner " + FormatOwnerRecord(next) + " of " + (what.empty() ? Describe(fd) : what) +
         " not kept: a " + TypeName(st.st_mode) + " cannot carry the record");
    return 0;
  }
  int rc = next == RecordedOwner{} ? removexattr(p.c_str(), kOwnerXattr) : [&] {
    std::string v = FormatOwnerRecord(next);
    return setxattr(p.c_str(), kOwnerXattr, v.data(), v.size(), 0);
  }();
  if (rc != 0 && errno != ENODATA) {
    Warn("owner " + FormatOwnerRecord(next) + " of " + (what.empty() ? Describe(fd) : what) +
         " not kept: " + strerror(errno));
    return 0;
  }
  ++recorded_;
  return 0;
}

void OwnerRecorder::Warn(const std::string& line) {
  constexpr int kMaxWarnings = 20;
  if (log_fd_ < 0 || warnings_ > kMaxWarnings) return;
  std::string msg = "imager: " + line + "\n";
  if (++warnings_ > kMaxWarnings) msg = "imager: more owners not kept; not listed\n";
  WriteAll(log_fd_, msg);
}

}  // namespace imager::sandbox
