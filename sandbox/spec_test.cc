// SPDX-License-Identifier: GPL-3.0-or-later
#include "sandbox/spec.h"

#include <gtest/gtest.h>

namespace imager::sandbox {
namespace {

std::vector<std::string> Describe(const std::vector<MountOp>& ops) {
  std::vector<std::string> out;
  for (const auto& op : ops) out.push_back(op.Describe());
  return out;
}

SandboxSpec DirSpec() {
  SandboxSpec s;
  s.root.kind = RootSpec::Kind::kDir;
  s.root.dir = "/srv/root";
  s.argv = {"/bin/true"};
  return s;
}

}  // namespace

TEST(SpecTest, PlanOrdersRootThenKernelFilesystemsThenDevThenBinds) {
  SandboxSpec s = DirSpec();
  s.binds = {{"/home/u/out", "/out", false}, {"/etc/resolv.conf", "/etc/resolv.conf", true}};
  EXPECT_EQ(Describe(PlanMounts(s)),
            (std::vector<std::string>{"bind /srv/root -> / (root)",
                                      "proc -> /proc",
                                      "sysfs -> /sys (ro)",
                                      "tmpfs -> /dev (mode=0755,size=1m)",
                                      "device /dev/null -> /dev/null",
                                      "device /dev/zero -> /dev/zero",
                                      "device /dev/full -> /dev/full",
                                      "device /dev/random -> /dev/random",
                                      "device /dev/urandom -> /dev/urandom",
                                      "device /dev/tty -> /dev/tty",
                                      "devpts -> /dev/pts",
                                      "symlink /dev/ptmx -> pts/ptmx",
                                      "symlink /dev/fd -> /proc/self/fd",
                                      "symlink /dev/stdin -> /proc/self/fd/0",
                                      "symlink /dev/stdout -> /proc/self/fd/1",
                                      "symlink /dev/stderr -> /proc/self/fd/2",
                                      "tmpfs -> /dev/shm (mode=1777,size=1024m)",
                                      "tmpfs -> /tmp (mode=1777,size=1024m)",
                                      "tmpfs -> /run (mode=0755,size=1024m)",
                                      "bind /home/u/out -> /out",
                                      "bind /etc/resolv.conf -> /etc/resolv.conf (ro)"}));
}

TEST(SpecTest, RunCanStayTheRootsOwn) {
  SandboxSpec s = DirSpec();
  s.tmpfs_run = false;
  for (const auto& d : Describe(PlanMounts(s)))
    EXPECT_NE(d, "tmpfs -> /run (mode=0755,size=1024m)");
}

TEST(SpecTest, HostNetworkBindsSysReadOnlyInsteadOfNewSysfs) {
  SandboxSpec s = DirSpec();
  s.network = true;
  auto ops = PlanMounts(s);
  EXPECT_EQ(ops[2].Describe(), "bind /sys -> /sys (ro)");
}

TEST(SpecTest, OverlayRootKeepsLayerOrderAndReadOnlyComesLast) {
  SandboxSpec s;
  s.root.kind = RootSpec::Kind::kOverlay;
  s.root.lowers = {"/l/base", "/l/top"};
  s.root.upper = "/l/up";
  s.root.work = "/l/work";
  s.root.readonly = true;
  auto ops = PlanMounts(s);
  EXPECT_EQ(ops.front().kind, MountOp::Kind::kRootOverlay);
  EXPECT_EQ(ops.front().lowers, (std::vector<std::string>{"/l/base", "/l/top"}));
  EXPECT_EQ(ops.back().Describe(), "read-only /");
}

TEST(SpecTest, SingleLowerWithoutUpperIsAReadOnlyBind) {
  SandboxSpec s;
  s.root.kind = RootSpec::Kind::kOverlay;
  s.root.lowers = {"/l/base"};
  EXPECT_EQ(PlanMounts(s).front().Describe(), "bind /l/base -> / (root) (ro)");
}

TEST(SpecTest, ValidateCollectsEveryProblem) {
  SandboxSpec s;
  s.root.kind = RootSpec::Kind::kOverlay;
  s.root.lowers = {"relative", "/nonexistent-imager-test"};
  s.root.upper = "/tmp";
  s.root.work = "/tmp:x";
  s.binds = {{"/nonexistent-src", "rel", false}};
  s.cwd = "here";
  auto st = Validate(s);
  ASSERT_FALSE(st);
  const std::string& e = st.error();
  for (const char* want : {"lower 'relative' must be an absolute path",
                           "'/nonexistent-imager-test' is not an existing", "contains ':' or ','",
                           "bind source '/nonexistent-src' does not exist",
                           "bind target 'rel' must be an absolute path", "no command to run",
                           "working directory 'here' must be absolute"})
    EXPECT_NE(e.find(want), std::string::npos) << want << "\n in: " << e;
}

TEST(SpecTest, DefaultEnvironmentIsAnAllowList) {
  const char* host[] = {"TERM=xterm",   "SSH_AUTH_SOCK=/tmp/agent",
                        "HOME=/home/u", "SOURCE_DATE_EPOCH=1",
                        "TERMINAL=x",   nullptr};
  auto env = DefaultEnvironment(const_cast<char**>(host));
  EXPECT_EQ(env, (std::vector<std::string>{
                     "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                     "HOME=/root", "LANG=C.UTF-8", "TERM=xterm", "SOURCE_DATE_EPOCH=1"}));
}

}  // namespace imager::sandbox
