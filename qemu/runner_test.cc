// SPDX-License-Identifier: GPL-3.0-or-later
#include "qemu/runner.h"

#include <gtest/gtest.h>

namespace imager::qemu {
namespace {

// A stand-in for QEMU: a shell that plays a guest's serial console on stdout/stdin. `get VAR`
// reads a line ended by "\r" (Enter), as a guest's tty would hand it to its reader.
std::vector<std::string> FakeGuest(const std::string& script) {
  return {"/bin/bash", "-c", "get() { IFS= read -r -d $'\\r' \"$1\"; }; " + script};
}

TEST(RunnerTest, TypesEachSendAfterItsPromptThenWaitsForExpect) {
  const std::string guest =
      "printf 'login: '; get user; printf 'Password: '; get pass;"
      "printf '$ '; get cmd; printf 'welcome %s/%s ran [%s]\\n' \"$user\" \"$pass\" \"$cmd\";"
      "exec sleep 30";
  std::regex expect("^welcome ");
  RunOptions o{.capture = true,
               .sends = {{std::regex("login: $"), "live"},
                         {std::regex("Password: $"), "secret"},
                         {std::regex("\\$ $"), "echo ok"}},
               .expect = &expect,
               .timeout_seconds = 20,
               .echo = false};
  auto r = qemu::Run(FakeGuest(guest), o);
  ASSERT_TRUE(r) << r.error();
  ASSERT_EQ(r->kind, RunOutcome::kMatched);
  EXPECT_EQ(r->matched_line, "welcome live/secret ran [echo ok]");
  EXPECT_EQ(r->sent_seconds.size(), 3u);
}

TEST(RunnerTest, ExpectIsNotMatchedBeforeTheLastSend) {
  // "ready" is on the console before the prompt is answered: it must not count.
  std::regex expect("ready");
  RunOptions o{.capture = true,
               .sends = {{std::regex("login: $"), "x"}},
               .expect = &expect,
               .timeout_seconds = 20,
               .echo = false};
  auto r = qemu::Run(
      FakeGuest("echo ready; printf 'login: '; get x; echo ready again; exec sleep 30"), o);
  ASSERT_TRUE(r) << r.error();
  ASSERT_EQ(r->kind, RunOutcome::kMatched);
  EXPECT_EQ(r->matched_line, "ready again");
}

TEST(RunnerTest, AGuestThatNeverPromptsTimesOutOrExits) {
  std::regex expect("never");
  RunOptions o{.capture = true,
               .sends = {{std::regex("login: $"), "x"}},
               .expect = &expect,
               .timeout_seconds = 20,
               .echo = false};
  auto r = qemu::Run(FakeGuest("echo no prompt here; exit 3"), o);
  ASSERT_TRUE(r) << r.error();
  EXPECT_EQ(r->kind, RunOutcome::kQemuExited);
  EXPECT_EQ(r->qemu_status, 3);
}

}  // namespace
}  // namespace imager::qemu
