// SPDX-License-Identifier: GPL-3.0-or-later
#include "sandbox/seccomp.h"

#include <fcntl.h>
#include <linux/sched.h>
#include <seccomp.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <memory>

#include "base/fd.h"

namespace imager::sandbox {
namespace {

using CtxPtr = std::unique_ptr<std::remove_pointer_t<scmp_filter_ctx>, void (*)(scmp_filter_ctx)>;

void Deny(SeccompPolicy* p, std::initializer_list<const char*> names, int err = EPERM) {
  for (const char* n : names) p->rules.push_back({n, err, std::nullopt});
}

}  // namespace

SeccompPolicy BuildPolicy(const SeccompOptions& options) {
  SeccompPolicy p;
  p.arches = {"x86_64", "x86", "x32"};
  // Reaching the running kernel, its modules or its keys.
  Deny(&p, {"kexec_load",
            "kexec_file_load",
            "init_module",
            "finit_module",
            "delete_module",
            "bpf",
            "perf_event_open",
            "keyctl",
            "add_key",
            "request_key",
            "reboot",
            "swapon",
            "swapoff",
            "acct",
            "quotactl",
            "quotactl_fd",
            "open_by_handle_at",
            "name_to_handle_at",
            "userfaultfd",
            "lookup_dcookie",
            "iopl",
            "ioperm",
            "fanotify_init",
            "vhangup"});
  // io_uring: a second system call interface that seccomp cannot see into, and a steady source
  // of kernel bugs; package managers do not use it (Docker's default profile denies it too).
  Deny(&p, {"io_uring_setup", "io_uring_enter", "io_uring_register"});
  // The host's clock.
  Deny(&p, {"settimeofday", "clock_settime", "clock_settime64", "clock_adjtime", "clock_adjtime64",
            "adjtimex", "stime"});
  // Nested user namespaces: they would bring back the capabilities dropped here.
  const ArgMatch newuser{0, CLONE_NEWUSER, CLONE_NEWUSER};
  p.rules.push_back({"unshare", EPERM, newuser});
  p.rules.push_back({"clone", EPERM, newuser});
  // clone3 passes its flags in memory that BPF cannot read: ENOSYS makes libc fall back to clone.
  p.rules.push_back({"clone3", ENOSYS, std::nullopt});
  // Faking input on the controlling terminal, which may be the user's own outside.
  p.rules.push_back({"ioctl", EPERM, ArgMatch{1, 0xffffffffu, TIOCSTI}});
  p.rules.push_back({"ioctl", EPERM, ArgMatch{1, 0xffffffffu, TIOCLINUX}});
  const auto chowns = {"chown", "fchown", "lchown", "fchownat", "chown32", "fchown32", "lchown32"};
  if (options.record_chown) {
    for (const char* n : chowns) p.rules.push_back({n, 0, std::nullopt, true});
    // The stat family, so that a program reads the owner it set or copies (shadow's backups,
    // sed -i, cp -p); a file without a record is left to the kernel (owner_recorder.h).
    for (const char* n : {"stat", "lstat", "fstat", "newfstatat", "statx"})
      p.rules.push_back({n, 0, std::nullopt, true});
  } else if (options.fake_chown) {
    Deny(&p, chowns, 0);
  }
  if (options.noop_fsync)
    Deny(&p, {"fsync", "fdatasync", "sync", "syncfs", "sync_file_range", "sync_file_range2"}, 0);
  return p;
}

Result<SeccompProgram> Compile(const SeccompPolicy& policy) {
  CtxPtr ctx(seccomp_init(SCMP_ACT_ALLOW), seccomp_release);
  if (!ctx) return Error{"seccomp_init failed"};
  // A process that switches to an ABI the filter does not know is killed, not let through.
  if (seccomp_attr_set(ctx.get(), SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS) != 0)
    return Error{"seccomp: cannot set the bad-architecture action"};
  for (const auto& a : policy.arches) {
    uint32_t token = seccomp_arch_resolve_name(a.c_str());
    if (token == 0) return Error{"seccomp: unknown architecture " + a};
    int rc = seccomp_arch_add(ctx.get(), token);
    if (rc != 0 && rc != -EEXIST) return Error{"seccomp: cannot add architecture " + a};
  }
  for (const auto& r : policy.rules) {
    int nr = seccomp_syscall_resolve_name(r.syscall.c_str());
    if (nr == __NR_SCMP_ERROR) return Error{"seccomp: unknown syscall " + r.syscall};
    uint32_t action =
        r.notify ? SCMP_ACT_NOTIFY : SCMP_ACT_ERRNO(static_cast<uint16_t>(r.errno_value));
    int rc;
    if (r.when) {
      scmp_arg_cmp cmp = SCMP_CMP(r.when->arg, SCMP_CMP_MASKED_EQ, r.when->mask, r.when->value);
      rc = seccomp_rule_add(ctx.get(), action, nr, 1, cmp);
    } else {
      rc = seccomp_rule_add(ctx.get(), action, nr, 0);
    }
    // Syscalls that exist on no registered ABI (e.g. stime on x86-64 only) resolve to a
    // negative pseudo-number that libseccomp skips; anything else is a real failure.
    if (rc != 0 && nr >= 0) return Error{"seccomp: cannot add rule for " + r.syscall};
  }
  UniqueFd mem(memfd_create("imager-seccomp", MFD_CLOEXEC));
  if (!mem.valid()) return ErrnoError("memfd_create");
  if (int rc = seccomp_export_bpf(ctx.get(), mem.get()); rc != 0)
    return Error{"seccomp_export_bpf: " + std::string(strerror(-rc))};
  if (lseek(mem.get(), 0, SEEK_SET) < 0) return ErrnoError("lseek");
  std::string bytes;
  if (!ReadAll(mem.get(), &bytes)) return ErrnoError("read seccomp program");
  SeccompProgram prog;
  prog.notifies = std::any_of(policy.rules.begin(), policy.rules.end(),
                              [](const SyscallRule& r) { return r.notify; });
  prog.insns.resize(bytes.size() / sizeof(sock_filter));
  memcpy(prog.insns.data(), bytes.data(), prog.insns.size() * sizeof(sock_filter));
  return prog;
}

int Install(const SeccompProgram& program) {
  sock_fprog fprog{static_cast<unsigned short>(program.insns.size()),
                   const_cast<sock_filter*>(program.insns.data())};
  return prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &fprog, 0, 0);
}

int InstallWithListener(const SeccompProgram& program) {
  sock_fprog fprog{static_cast<unsigned short>(program.insns.size()),
                   const_cast<sock_filter*>(program.insns.data())};
  return static_cast<int>(
      syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, SECCOMP_FILTER_FLAG_NEW_LISTENER, &fprog));
}

}  // namespace imager::sandbox
