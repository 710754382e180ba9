// SPDX-License-Identifier: GPL-3.0-or-later
#include "engine/cache.h"

#include <dirent.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <algorithm>
#include <functional>

#include "base/fd.h"
#include "base/fs.h"
#include "base/sha256.h"

namespace imager::engine {
namespace {

const std::string kKeyA = Sha256Hex("a");
const std::string kKeyB = Sha256Hex("b");

std::vector<std::string> Names(const std::string& dir) {
  std::vector<std::string> out;
  if (DIR* d = opendir(dir.c_str())) {
    while (dirent* e = readdir(d))
      if (std::string(e->d_name) != "." && std::string(e->d_name) != "..") out.push_back(e->d_name);
    closedir(d);
  }
  std::sort(out.begin(), out.end());
  return out;
}

// A forked child that signals readiness through a pipe; the parent waits for that signal.
class Child {
 public:
  explicit Child(const std::function<int(int ready_fd)>& body) {
    auto p = MakePipe();
    if (!p) return;
    pid_ = fork();
    if (pid_ == 0) {
      // Child process: runs the body and exits without returning into the test framework.
      p->read.reset();
      _exit(body(p->write.get()));
    }
    p->write.reset();
    ready_ = std::move(p->read);
  }
  ~Child() {
    if (pid_ > 0) Kill();
  }
  bool WaitReady() {
    char c;
    return ::read(ready_.get(), &c, 1) == 1;
  }
  int Wait() {
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }
  int Kill() {
    kill(pid_, SIGKILL);
    return Wait();
  }

 private:
  pid_t pid_ = -1;
  UniqueFd ready_;
};

class CacheTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto d = MakeTempDir("/tmp", "cache-test-");
    ASSERT_TRUE(d) << d.error();
    dir_ = *d;
    root_ = dir_ + "/cache";
  }
  void TearDown() override { ASSERT_TRUE(RemoveTree(dir_)); }

  Cache Open(Cache::Access access = Cache::Access::kBuild) {
    Cache::Options o;
    o.durable = false;
    o.wait = false;
    auto c = Cache::Open(root_, access, o);
    EXPECT_TRUE(c) << c.error();
    return std::move(*c);
  }
  // Builds `key` with one file "f" holding `content`.
  Entry Build(const Cache& cache, const std::string& key, const std::string& content,
              const std::string& stage = "rootfs") {
    auto claim = cache.Reserve(key, OutputKind::kLayer, false);
    EXPECT_TRUE(claim && claim->slot);
    EXPECT_TRUE(WriteFile(claim->slot->output_dir() + "/f", content));
    auto e = claim->slot->Commit({.stage = stage, .parents = {kKeyB}, .profile = "live"});
    EXPECT_TRUE(e) << e.error();
    return *e;
  }

  std::string dir_, root_;
};

TEST_F(CacheTest, CommittedEntryIsFoundWithItsMeta) {
  Cache cache = Open();
  EXPECT_FALSE(cache.Find(kKeyA, OutputKind::kLayer));
  Entry built = Build(cache, kKeyA, "hello");
  auto e = cache.Find(kKeyA, OutputKind::kLayer);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->path, root_ + "/layers/" + kKeyA);
  EXPECT_EQ(e->data_dir, root_ + "/layers/" + kKeyA + "/tree");
  EXPECT_EQ(e->meta.key, kKeyA);
  EXPECT_EQ(e->meta.stage, "rootfs");
  EXPECT_EQ(e->meta.size, 5u);
  EXPECT_EQ(e->meta.parents, std::vector<std::string>{kKeyB});
  EXPECT_EQ(e->meta.profile, "live");
  EXPECT_EQ(e->meta.created, built.meta.created);
  EXPECT_EQ(*ReadFile(e->data_dir + "/f"), "hello");
  EXPECT_FALSE(cache.Find(kKeyA, OutputKind::kArtifact));
  EXPECT_EQ(Names(root_ + "/tmp"), std::vector<std::string>{});
  EXPECT_EQ(Names(e->path), (std::vector<std::string>{"index", "meta.json", "tree"}));
}

TEST_F(CacheTest, VerifyFindsBytesChangedAfterTheCommit) {
  Cache cache = Open();
  Entry e = Build(cache, kKeyA, "hello");
  EXPECT_FALSE(e.meta.digest.empty());
  EXPECT_TRUE(cache.Verify(e));
  auto found = cache.Find(kKeyA, OutputKind::kLayer);
  ASSERT_TRUE(found);
  EXPECT_EQ(found->meta.digest, e.meta.digest);
  EXPECT_TRUE(cache.Verify(*found));
  ASSERT_TRUE(WriteFile(e.data_dir + "/f", "jello"));
  auto st = cache.Verify(*found);
  ASSERT_FALSE(st);
  EXPECT_EQ(st.error(), "f: content changed");
  // An entry without a digest (an older imager) or with its index gone is not trusted either.
  Entry b = Build(cache, kKeyB, "hello");
  EXPECT_TRUE(cache.Verify(b));
  ASSERT_EQ(unlink((b.path + "/index").c_str()), 0);
  EXPECT_FALSE(cache.Verify(b));
  Entry old = *found;
  old.meta.digest.clear();
  EXPECT_EQ(cache.Verify(old).error(), "it has no digest (an older imager wrote it)");
}

TEST_F(CacheTest, VerifyRefreshesFingerprintsWhenOnlyTheyMoved) {
  Cache cache = Open();
  Entry e = Build(cache, kKeyA, "hello");
  std::string before = *ReadFile(e.path + "/index");
  ASSERT_EQ(link((e.data_dir + "/f").c_str(), (dir_ + "/f-link").c_str()), 0);
  EXPECT_TRUE(cache.Verify(e));
  std::string after = *ReadFile(e.path + "/index");
  EXPECT_NE(after, before);  // the new ctime is recorded
  EXPECT_TRUE(cache.Verify(e));
  EXPECT_EQ(*ReadFile(e.path + "/index"), after);
}

TEST_F(CacheTest, ANewCacheIsTheUsersAlone) {
  Cache cache = Open();
  struct stat st;
  ASSERT_EQ(stat(root_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0700u);
  // An existing cache keeps the mode its owner gave it (e.g. one shared on purpose).
  ASSERT_EQ(chmod(root_.c_str(), 0750), 0);
  Cache again = Open();
  ASSERT_EQ(stat(root_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0750u);
}

TEST_F(CacheTest, ArtifactsLiveInFiles) {
  Cache cache = Open();
  auto claim = cache.Reserve(kKeyA, OutputKind::kArtifact, false);
  ASSERT_TRUE(claim && claim->slot);
  ASSERT_TRUE(WriteFile(claim->slot->output_dir() + "/image.iso", "iso"));
  auto e = claim->slot->Commit({.stage = "iso"});
  ASSERT_TRUE(e) << e.error();
  EXPECT_EQ(e->data_dir, root_ + "/artifacts/" + kKeyA + "/files");
  EXPECT_EQ(*ReadFile(e->data_dir + "/image.iso"), "iso");
}

TEST_F(CacheTest, AbandonedSlotLeavesNothing) {
  Cache cache = Open();
  {
    auto claim = cache.Reserve(kKeyA, OutputKind::kLayer, false);
    ASSERT_TRUE(claim && claim->slot);
    ASSERT_TRUE(WriteFile(claim->slot->output_dir() + "/f", "x"));
    ASSERT_EQ(chmod(claim->slot->scratch_dir().c_str(), 0), 0);  // like an overlay work dir
  }
  EXPECT_EQ(Names(root_ + "/tmp"), std::vector<std::string>{});
  EXPECT_FALSE(cache.Find(kKeyA, OutputKind::kLayer));
}

TEST_F(CacheTest, KilledBuildIsNotTrustedAndIsCleanedOnNextOpen) {
  Child builder([&](int ready) {
    // Child: dies after writing its output and meta.json, just before the rename.
    Cache cache = Open();
    auto claim = cache.Reserve(kKeyA, OutputKind::kLayer, false);
    if (!claim || !claim->slot) return 1;
    (void)WriteFile(claim->slot->output_dir() + "/f", "partial");
    (void)WriteFile(claim->slot->output_dir() + "/../meta.json", "{}");
    WriteAll(ready, "x");
    pause();
    return 0;
  });
  ASSERT_TRUE(builder.WaitReady());
  EXPECT_EQ(Names(root_ + "/tmp").size(), 2u);  // the entry and its scratch directory
  {
    Cache other = Open();  // the builder is alive: its work stays
    EXPECT_EQ(Names(root_ + "/tmp").size(), 2u);
  }
  EXPECT_EQ(builder.Kill(), 128 + SIGKILL);
  Cache cache = Open();
  EXPECT_FALSE(cache.Find(kKeyA, OutputKind::kLayer));
  EXPECT_EQ(Names(root_ + "/tmp"), std::vector<std::string>{});
  EXPECT_EQ(Names(root_ + "/layers"), std::vector<std::string>{});
  auto claim = cache.Reserve(kKeyA, OutputKind::kLayer, false);
  ASSERT_TRUE(claim);
  EXPECT_TRUE(claim->slot);
}

TEST_F(CacheTest, SecondProcessWaitsAndReusesTheFirstOnesBuild) {
  Child first([&](int ready) {
    // Child: holds the key while "building" for a while, then commits.
    Cache cache = Open();
    auto claim = cache.Reserve(kKeyA, OutputKind::kLayer, false);
    if (!claim || !claim->slot) return 1;
    WriteAll(ready, "x");
    usleep(300 * 1000);
    (void)WriteFile(claim->slot->output_dir() + "/f", "from child");
    return claim->slot->Commit({.stage = "rootfs"}) ? 0 : 2;
  });
  ASSERT_TRUE(first.WaitReady());
  Cache cache = Open();
  int waited = 0;
  auto claim = cache.Reserve(kKeyA, OutputKind::kLayer, false, [&] { ++waited; });
  ASSERT_TRUE(claim) << claim.error();
  EXPECT_EQ(waited, 1);
  EXPECT_FALSE(claim->slot);
  ASSERT_TRUE(claim->entry);
  EXPECT_EQ(*ReadFile(claim->entry->data_dir + "/f"), "from child");
  EXPECT_EQ(first.Wait(), 0);
}

TEST_F(CacheTest, ForcedRebuildReplacesTheEntryAndRetiresTheOldOne) {
  {
    Cache cache = Open();
    Build(cache, kKeyA, "old");
    auto claim = cache.Reserve(kKeyA, OutputKind::kLayer, true);
    ASSERT_TRUE(claim && claim->slot);
    ASSERT_TRUE(WriteFile(claim->slot->output_dir() + "/f", "new"));
    ASSERT_TRUE(claim->slot->Commit({.stage = "rootfs"}));
    EXPECT_EQ(*ReadFile(cache.Find(kKeyA, OutputKind::kLayer)->data_dir + "/f"), "new");
    EXPECT_EQ(Names(root_ + "/trash").size(), 1u);
  }
  Cache alone = Open();  // no other user: the trash is emptied
  EXPECT_EQ(Names(root_ + "/trash"), std::vector<std::string>{});
}

TEST_F(CacheTest, EntriesWithBadMetaAreIgnored) {
  Cache cache = Open();
  Entry e = Build(cache, kKeyA, "x");
  ASSERT_TRUE(WriteFile(e.path + "/meta.json", "{\"key\": \"" + kKeyB + "\"}"));
  EXPECT_FALSE(cache.Find(kKeyA, OutputKind::kLayer));
  ASSERT_TRUE(WriteFile(e.path + "/meta.json", "not json"));
  EXPECT_FALSE(cache.Find(kKeyA, OutputKind::kLayer));
  EXPECT_FALSE(cache.Find("../../etc", OutputKind::kLayer));
  auto bad = cache.Reserve("../x", OutputKind::kLayer, false);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error(), "reserve: malformed key '../x'");
}

TEST_F(CacheTest, PruneRefusesWhileABuildRuns) {
  Child build([&](int ready) {
    // Child: a running build holding the cache shared.
    Cache cache = Open();
    WriteAll(ready, "x");
    pause();
    return 0;
  });
  ASSERT_TRUE(build.WaitReady());
  Cache::Options o;
  o.wait = false;
  auto prune = Cache::Open(root_, Cache::Access::kPrune, o);
  ASSERT_FALSE(prune);
  EXPECT_EQ(prune.error(),
            "cache " + root_ + ": in use by a running build; try again when it has finished");
  build.Kill();
  auto after = Cache::Open(root_, Cache::Access::kPrune, o);
  EXPECT_TRUE(after) << after.error();
}

TEST_F(CacheTest, RemoveTakesAnEntryOutOfViewEvenWithLockedDownDirs) {
  {
    Cache cache = Open();
    Entry e = Build(cache, kKeyA, "x");
    ASSERT_EQ(mkdir((e.data_dir + "/work").c_str(), 0), 0);
  }
  Cache build = Open();
  auto list = build.List();
  ASSERT_TRUE(list && list->size() == 1u);
  auto refused = build.Remove((*list)[0]);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error(), "remove: the cache is not open for pruning");
  build = Cache();
  Cache prune = Open(Cache::Access::kPrune);
  ASSERT_TRUE(prune.Remove((*list)[0]));
  EXPECT_FALSE(prune.Find(kKeyA, OutputKind::kLayer));
  EXPECT_EQ(Names(root_ + "/layers"), std::vector<std::string>{});
  EXPECT_EQ(Names(root_ + "/trash"), std::vector<std::string>{});
}

TEST_F(CacheTest, SelectForPruneKeepsTheMostRecentlyUsedPerProfileAndStage) {
  auto entry = [](std::string key, std::string stage, std::string profile, int64_t used) {
    Entry e;
    e.meta.key = std::move(key);
    e.meta.stage = std::move(stage);
    e.meta.profile = std::move(profile);
    e.last_used = used;
    return e;
  };
  std::vector<Entry> all = {entry("r1", "rootfs", "live", 10), entry("r2", "rootfs", "live", 30),
                            entry("r3", "rootfs", "live", 20), entry("i1", "iso", "live", 5),
                            entry("o1", "rootfs", "other", 1)};
  std::vector<std::string> keys;
  for (const auto& e : SelectForPrune(all, 1)) keys.push_back(e.meta.key);
  EXPECT_EQ(keys, (std::vector<std::string>{"r3", "r1"}));
  EXPECT_EQ(SelectForPrune(all, 0).size(), 5u);
  EXPECT_EQ(SelectForPrune(all, 3).size(), 0u);
}

TEST_F(CacheTest, UsageAndListCountEntries) {
  Cache cache = Open();
  Build(cache, kKeyA, "12345", "rootfs");
  Build(cache, kKeyB, "123", "customize");
  auto list = cache.List();
  ASSERT_TRUE(list);
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].meta.stage, "customize");
  auto u = cache.Usage();
  ASSERT_TRUE(u);
  EXPECT_EQ(u->layers, 2u);
  EXPECT_EQ(u->layer_bytes, 8u);
  EXPECT_EQ(u->artifacts, 0u);
  EXPECT_EQ(u->tmp_bytes, 0u);
}

TEST_F(CacheTest, ReadAccessCreatesNothing) {
  auto c = Cache::Open(root_, Cache::Access::kRead);
  ASSERT_TRUE(c);
  auto list = c->List();
  ASSERT_TRUE(list);
  EXPECT_TRUE(list->empty());
  struct stat st;
  EXPECT_NE(stat(root_.c_str(), &st), 0);
}

}  // namespace
}  // namespace imager::engine
