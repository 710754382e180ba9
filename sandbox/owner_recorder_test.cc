// SPDX-License-Identifier: GPL-3.0-or-later
#include "sandbox/owner_recorder.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <linux/audit.h>

#include "sandbox/seccomp.h"

namespace imager::sandbox {
namespace {

const OwnerSyscall* Find(const std::vector<OwnerSyscall>& calls, uint32_t arch, int nr) {
  for (const auto& c : calls)
    if (c.arch == arch && c.nr == nr) return &c;
  return nullptr;
}

TEST(OwnerRecorderTest, KnowsTheChownAndStatFamiliesOfEveryAbi) {
  auto calls = ResolveOwnerSyscalls();
  ASSERT_TRUE(calls) << calls.error();
  EXPECT_EQ(calls->size(), 26u);  // 9 x86-64, 9 x32, 8 i386
  using K = OwnerSyscall::Kind;
  // x86-64 (asm/unistd_64.h): chown 92, fchown 93, lchown 94, fchownat 260; stat 4, fstat 5,
  // lstat 6, newfstatat 262, statx 332.
  ASSERT_NE(Find(*calls, AUDIT_ARCH_X86_64, 92), nullptr);
  EXPECT_EQ(Find(*calls, AUDIT_ARCH_X86_64, 92)->kind, K::kChown);
  EXPECT_EQ(Find(*calls, AUDIT_ARCH_X86_64, 93)->kind, K::kFchown);
  EXPECT_EQ(Find(*calls, AUDIT_ARCH_X86_64, 94)->kind, K::kLchown);
  EXPECT_EQ(Find(*calls, AUDIT_ARCH_X86_64, 260)->kind, K::kFchownat);
  EXPECT_EQ(Find(*calls, AUDIT_ARCH_X86_64, 4)->kind, K::kStat);
  EXPECT_EQ(Find(*calls, AUDIT_ARCH_X86_64, 6)->kind, K::kLstat);
  EXPECT_EQ(Find(*calls, AUDIT_ARCH_X86_64, 5)->kind, K::kFstat);
  EXPECT_EQ(Find(*calls, AUDIT_ARCH_X86_64, 262)->kind, K::kFstatat);
  EXPECT_EQ(Find(*calls, AUDIT_ARCH_X86_64, 332)->kind, K::kStatx);
  EXPECT_TRUE(Find(*calls, AUDIT_ARCH_X86_64, 332)->IsStat());
  EXPECT_FALSE(Find(*calls, AUDIT_ARCH_X86_64, 260)->IsStat());
  // x32 reports x86-64's arch with __X32_SYSCALL_BIT in the number.
  ASSERT_NE(Find(*calls, AUDIT_ARCH_X86_64, 0x40000000 | 260), nullptr);
  // i386: the old calls take 16-bit ids (chown 182, lchown 16, fchown 95), the *32 ones do not.
  ASSERT_NE(Find(*calls, AUDIT_ARCH_I386, 182), nullptr);
  EXPECT_TRUE(Find(*calls, AUDIT_ARCH_I386, 182)->ids16);
  EXPECT_TRUE(Find(*calls, AUDIT_ARCH_I386, 16)->ids16);
  EXPECT_EQ(Find(*calls, AUDIT_ARCH_I386, 16)->kind, K::kLchown);
  ASSERT_NE(Find(*calls, AUDIT_ARCH_I386, 383), nullptr);  // statx
  EXPECT_EQ(Find(*calls, AUDIT_ARCH_I386, 106), nullptr);  // stat: another struct, not emulated
  ASSERT_NE(Find(*calls, AUDIT_ARCH_I386, 212), nullptr);  // chown32
  EXPECT_FALSE(Find(*calls, AUDIT_ARCH_I386, 212)->ids16);
}

TEST(OwnerRecorderTest, MinusOneKeepsWhatIsRecorded) {
  const uint32_t keep = static_cast<uint32_t>(-1);
  EXPECT_EQ(OwnerAfterChown({0, 42}, 7, keep), (RecordedOwner{7, 42}));
  EXPECT_EQ(OwnerAfterChown({5, 6}, keep, keep), (RecordedOwner{5, 6}));
  EXPECT_EQ(OwnerAfterChown({5, 6}, 0, 0), (RecordedOwner{0, 0}));
}

TEST(OwnerRecorderTest, RecordingPolicyNotifiesInsteadOfFaking) {
  SeccompPolicy p = BuildPolicy({.record_chown = true});
  int notified = 0;
  for (const auto& r : p.rules) {
    if (!r.notify) continue;
    ++notified;
    EXPECT_FALSE(r.when) << r.syscall;  // every call of the family, whatever its arguments
    EXPECT_TRUE(r.syscall.find("chown") != std::string::npos ||
                r.syscall.find("stat") != std::string::npos)
        << r.syscall;
  }
  EXPECT_EQ(notified, 12);  // 7 chown, stat, lstat, fstat, newfstatat, statx
  auto prog = Compile(p);
  ASSERT_TRUE(prog) << prog.error();
  EXPECT_TRUE(prog->notifies);
  auto plain = Compile(BuildPolicy({.fake_chown = true}));
  ASSERT_TRUE(plain) << plain.error();
  EXPECT_FALSE(plain->notifies);
}

}  // namespace
}  // namespace imager::sandbox
