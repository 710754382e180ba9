// SPDX-License-Identifier: GPL-3.0-or-later
#include "sandbox/seccomp.h"

#include <gtest/gtest.h>
#include <linux/sched.h>
#include <sys/ioctl.h>

#include <algorithm>

namespace imager::sandbox {
namespace {

const SyscallRule* Find(const SeccompPolicy& p, const std::string& name) {
  auto it = std::find_if(p.rules.begin(), p.rules.end(),
                         [&](const SyscallRule& r) { return r.syscall == name; });
  return it == p.rules.end() ? nullptr : &*it;
}

}  // namespace

TEST(SeccompTest, DenyListCoversKernelAndClockAndKeys) {
  SeccompPolicy p = BuildPolicy({});
  for (const char* name : {"kexec_load",
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
                           "settimeofday",
                           "clock_settime",
                           "adjtimex",
                           "acct",
                           "quotactl",
                           "open_by_handle_at",
                           "userfaultfd"}) {
    const SyscallRule* r = Find(p, name);
    ASSERT_NE(r, nullptr) << name;
    EXPECT_EQ(r->errno_value, EPERM) << name;
    EXPECT_FALSE(r->when.has_value()) << name;
  }
}

TEST(SeccompTest, NestedUserNamespacesAndTerminalInjectionAreConditional) {
  SeccompPolicy p = BuildPolicy({});
  const SyscallRule* u = Find(p, "unshare");
  ASSERT_TRUE(u && u->when);
  EXPECT_EQ(u->when->arg, 0u);
  EXPECT_EQ(u->when->mask, static_cast<uint64_t>(CLONE_NEWUSER));
  EXPECT_EQ(Find(p, "clone3")->errno_value, ENOSYS);
  int ioctls = 0;
  for (const auto& r : p.rules)
    if (r.syscall == "ioctl") {
      ++ioctls;
      EXPECT_TRUE(r.when->value == TIOCSTI || r.when->value == TIOCLINUX);
    }
  EXPECT_EQ(ioctls, 2);
}

TEST(SeccompTest, CompatArchitecturesAreRegistered) {
  SeccompPolicy p = BuildPolicy({});
  EXPECT_EQ(p.arches, (std::vector<std::string>{"x86_64", "x86", "x32"}));
}

TEST(SeccompTest, ChownAndFsyncBecomeSuccessOnlyWhenAsked) {
  EXPECT_EQ(Find(BuildPolicy({}), "fchownat"), nullptr);
  EXPECT_EQ(Find(BuildPolicy({}), "fsync"), nullptr);
  SeccompPolicy p = BuildPolicy({.fake_chown = true, .noop_fsync = true});
  for (const char* n : {"chown", "fchown", "lchown", "fchownat", "fsync", "fdatasync", "syncfs"}) {
    ASSERT_NE(Find(p, n), nullptr) << n;
    EXPECT_EQ(Find(p, n)->errno_value, 0) << n;
  }
}

TEST(SeccompTest, PolicyCompilesForAllArchitectures) {
  auto prog = Compile(BuildPolicy({.fake_chown = true, .noop_fsync = true}));
  ASSERT_TRUE(prog) << prog.error();
  // Three architectures with their own checks: far more than a handful of instructions.
  EXPECT_GT(prog->insns.size(), 60u);
}

TEST(SeccompTest, UnknownSyscallIsAnError) {
  SeccompPolicy p = BuildPolicy({});
  p.rules.push_back({"no_such_syscall", EPERM, std::nullopt});
  auto prog = Compile(p);
  ASSERT_FALSE(prog);
  EXPECT_NE(prog.error().find("no_such_syscall"), std::string::npos);
}

}  // namespace imager::sandbox
