// SPDX-License-Identifier: GPL-3.0-or-later
#include "inside/accounts.h"

#include <crypt.h>
#include <gtest/gtest.h>

#include <cstring>

namespace imager::inside {
namespace {

AccountFiles Debian() {
  return {
      "root:x:0:0:root:/root:/bin/bash\nsystemd-network:x:998:998::/:/usr/sbin/nologin\n"
      "nobody:x:65534:65534::/nonexistent:/usr/sbin/nologin\n",
      "root:x:0:\nsudo:x:27:\naudio:x:29:bob\nsystemd-network:x:998:\nnogroup:x:65534:\n",
      "root:*:19000:0:99999:7:::\n", "root:*::\nsudo:*::\naudio:*::bob\n"};
}

profiles::User User(std::string name, std::vector<std::string> groups = {}) {
  profiles::User u;
  u.name = std::move(name);
  u.groups = std::move(groups);
  return u;
}

TEST(AccountsTest, AddsUserWithPersonalGroupAndSupplementaryGroups) {
  AccountFiles f = Debian();
  auto u = User("live", {"sudo", "audio"});
  u.password = {profiles::Password::Kind::kHash, "$6$salt$hash"};
  auto homes = ApplyAccounts(&f, {u}, {}, 20000);
  ASSERT_TRUE(homes) << homes.error();
  EXPECT_NE(f.passwd.find("live:x:1000:1000:live:/home/live:/bin/bash\n"), std::string::npos);
  EXPECT_NE(f.group.find("live:x:1000:\n"), std::string::npos);
  EXPECT_NE(f.group.find("sudo:x:27:live\n"), std::string::npos);
  EXPECT_NE(f.group.find("audio:x:29:bob,live\n"), std::string::npos);
  EXPECT_NE(f.shadow.find("live:$6$salt$hash:20000:0:99999:7:::\n"), std::string::npos);
  EXPECT_NE(f.gshadow.find("sudo:*::live\n"), std::string::npos);
  ASSERT_EQ(homes->size(), 1u);
  EXPECT_EQ((*homes)[0].path, "/home/live");
  EXPECT_EQ((*homes)[0].uid, 1000u);
}

TEST(AccountsTest, NextFreeIdsAndExplicitUid) {
  AccountFiles f = Debian();
  auto a = User("a"), b = User("b");
  b.uid = 1500;
  auto homes = ApplyAccounts(&f, {a, b, User("c")}, {}, 1);
  ASSERT_TRUE(homes) << homes.error();
  EXPECT_NE(f.passwd.find("a:x:1000:1000:"), std::string::npos);
  EXPECT_NE(f.passwd.find("b:x:1500:1500:"), std::string::npos);
  EXPECT_NE(f.passwd.find("c:x:1001:1001:"), std::string::npos);
  // No password: the account is locked.
  EXPECT_NE(f.shadow.find("c:!:1:"), std::string::npos);
}

TEST(AccountsTest, ErrorsNameTheUser) {
  AccountFiles f = Debian();
  auto r = ApplyAccounts(&f, {User("live", {"wheel"})}, {}, 1);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().find("user 'live': group 'wheel' does not exist"), std::string::npos)
      << r.error();
  auto taken = User("x");
  taken.uid = 998;
  r = ApplyAccounts(&f, {taken}, {}, 1);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().find("uid 998 is taken"), std::string::npos) << r.error();
  r = ApplyAccounts(&f, {User("nobody")}, {}, 1);
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().find("already exists"), std::string::npos) << r.error();
}

TEST(AccountsTest, RootPasswordHashedDeterministically) {
  AccountFiles f1 = Debian(), f2 = Debian();
  profiles::Password pw{profiles::Password::Kind::kPlain, "secret"};
  ASSERT_TRUE(ApplyAccounts(&f1, {}, pw, 5));
  ASSERT_TRUE(ApplyAccounts(&f2, {}, pw, 5));
  EXPECT_EQ(f1.shadow, f2.shadow);
  ASSERT_EQ(f1.shadow.rfind("root:$y$", 0), 0u) << f1.shadow;
  std::string hash = f1.shadow.substr(5, f1.shadow.find(':', 5) - 5);
  crypt_data data{};
  EXPECT_STREQ(crypt_r("secret", hash.c_str(), &data), hash.c_str());
  EXPECT_STRNE(crypt_r("wrong", hash.c_str(), &data), hash.c_str());
}

}  // namespace
}  // namespace imager::inside
