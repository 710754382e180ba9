// SPDX-License-Identifier: GPL-3.0-or-later
#include "base/flock.h"

#include <gtest/gtest.h>
#include <sys/wait.h>

#include "base/fs.h"

namespace imager {
namespace {

class FileLockTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto d = MakeTempDir("/tmp", "flock-test-");
    ASSERT_TRUE(d) << d.error();
    dir_ = *d;
    path_ = dir_ + "/lock";
  }
  void TearDown() override { ASSERT_TRUE(RemoveTree(dir_)); }
  std::string dir_, path_;
};

TEST_F(FileLockTest, SharedLocksCoexistExclusiveDoesNot) {
  auto a = FileLock::Acquire(path_, FileLock::Mode::kShared);
  auto b = FileLock::TryAcquire(path_, FileLock::Mode::kShared);
  ASSERT_TRUE(a && b);
  EXPECT_TRUE(b->held());
  auto c = FileLock::TryAcquire(path_, FileLock::Mode::kExclusive);
  ASSERT_TRUE(c);
  EXPECT_FALSE(c->held());
  a->Release();
  b->Release();
  auto d = FileLock::TryAcquire(path_, FileLock::Mode::kExclusive);
  ASSERT_TRUE(d);
  EXPECT_TRUE(d->held());
}

TEST_F(FileLockTest, LockDiesWithItsProcessAndWaiterIsTold) {
  auto ready = MakePipe();
  ASSERT_TRUE(ready);
  pid_t pid = fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    // Child: holds the lock for a moment, then exits without releasing it explicitly.
    auto l = FileLock::Acquire(path_, FileLock::Mode::kExclusive);
    WriteAll(ready->write.get(), "x");
    usleep(200 * 1000);
    _exit(l ? 0 : 1);
  }
  // Parent: waits until the child holds the lock, then blocks behind it.
  ready->write.reset();
  char c;
  ASSERT_EQ(::read(ready->read.get(), &c, 1), 1);
  int waited = 0;
  auto l = FileLock::Acquire(path_, FileLock::Mode::kExclusive, [&] { ++waited; });
  ASSERT_TRUE(l) << l.error();
  EXPECT_TRUE(l->held());
  EXPECT_EQ(waited, 1);
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  EXPECT_EQ(WEXITSTATUS(status), 0);
}

}  // namespace
}  // namespace imager
