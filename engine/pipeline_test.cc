// SPDX-License-Identifier: GPL-3.0-or-later
#include "engine/pipeline.h"

#include <dirent.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <set>
#include <stdexcept>
#include <thread>

#include "base/fd.h"
#include "base/fs.h"
#include "base/strings.h"

namespace imager::engine {
namespace {

// Records every event as one short line (from any thread).
class FakeSink : public ProgressSink {
 public:
  void StageStarted(const std::string& s) override { Add("start " + s); }
  void StageProgress(const std::string& s, uint64_t done, uint64_t total,
                     const std::string& unit) override {
    Add("progress " + s + " " + std::to_string(done) + "/" + std::to_string(total) + " " + unit);
  }
  void StageNote(const std::string& s, const std::string& note) override {
    Add("note " + s + " " + note);
  }
  void StageDone(const std::string& s, double) override { Add("done " + s); }
  void StageCached(const std::string& s, const std::string&) override { Add("cached " + s); }
  void StageFailed(const std::string& s, double, const std::string&) override {
    Add("failed " + s);
  }
  void Add(std::string e) {
    std::lock_guard lock(mu);
    events.push_back(std::move(e));
  }
  std::mutex mu;
  std::vector<std::string> events;
};

class PipelineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto d = MakeTempDir("/tmp", "pipeline-test-");
    ASSERT_TRUE(d) << d.error();
    dir_ = *d;
    overlay_ = dir_ + "/overlay";
    ASSERT_EQ(mkdir(overlay_.c_str(), 0755), 0);
    ASSERT_TRUE(WriteFile(overlay_ + "/motd", "hi"));
    cache_ = OpenCache();
  }
  void TearDown() override {
    cache_ = Cache();
    ASSERT_TRUE(RemoveTree(dir_));
  }
  Cache OpenCache() {
    Cache::Options o;
    o.durable = false;
    auto c = Cache::Open(dir_ + "/cache", Cache::Access::kBuild, o);
    EXPECT_TRUE(c) << c.error();
    return std::move(*c);
  }

  // a (layer) <- b (layer) <- c (artifact): each writes its parent's text wrapped in its name.
  std::vector<Stage> Stages() {
    auto wrap = [this](const std::string& name, const std::string& file) {
      return [this, name, file](StageContext& ctx) -> Status {
        ++runs_[name];
        std::string inner = "x";
        if (!ctx.parents().empty()) inner = *ReadFile(ctx.parents()[0].dir + "/out");
        ctx.log("building " + name);
        return WriteFile(ctx.output_dir() + "/" + file, name + "(" + inner + ")");
      };
    };
    return {
        {"a", 1, {KeyInput::Value("variant", variant_)}, {}, OutputKind::kLayer, wrap("a", "out")},
        {"b", 1, {KeyInput::Value("users", users_)}, {"a"}, OutputKind::kLayer, wrap("b", "out")},
        {"c",
         1,
         {KeyInput::Content("overlay", overlay_)},
         {"b"},
         OutputKind::kArtifact,
         wrap("c", "image")},
    };
  }
  Result<PipelineReport> Run(PipelineOptions o = {}) {
    if (o.log_dir.empty()) o.log_dir = dir_ + "/logs";
    sink_.events.clear();
    Pipeline p(cache_, sink_, o);
    for (auto& s : Stages()) p.Add(std::move(s));
    return p.Run();
  }
  std::vector<std::pair<std::string, std::string>> Keys() {
    Pipeline p(cache_, sink_, {});
    for (auto& s : Stages()) p.Add(std::move(s));
    auto keys = p.Keys();
    EXPECT_TRUE(keys) << keys.error();
    if (!keys) return {};
    return *keys;
  }
  std::vector<std::string> Ran() {
    std::vector<std::string> out;
    for (const auto& e : sink_.events)
      if (e.rfind("done ", 0) == 0) out.push_back(e.substr(5));
    return out;
  }

  std::string dir_, overlay_;
  std::string variant_ = "minbase", users_ = "live";
  Cache cache_;
  FakeSink sink_;
  std::map<std::string, int> runs_;
};

TEST_F(PipelineTest, FirstRunBuildsEverythingSecondRunNothing) {
  auto r1 = Run();
  ASSERT_TRUE(r1) << r1.error();
  EXPECT_EQ(sink_.events, (std::vector<std::string>{"start a", "done a", "start b", "done b",
                                                    "start c", "done c"}));
  EXPECT_EQ(*ReadFile(r1->Find("c")->dir + "/image"), "c(b(a(x)))");
  auto r2 = Run();
  ASSERT_TRUE(r2) << r2.error();
  EXPECT_EQ(sink_.events, (std::vector<std::string>{"cached a", "cached b", "cached c"}));
  EXPECT_EQ(runs_, (std::map<std::string, int>{{"a", 1}, {"b", 1}, {"c", 1}}));
  EXPECT_TRUE(r2->Find("c")->cached);
  EXPECT_EQ(r2->Find("c")->dir, r1->Find("c")->dir);
  auto log = Split(*ReadFile(dir_ + "/logs/b.log"), '\n');
  ASSERT_EQ(log.size(), 4u);
  EXPECT_EQ(log[0].rfind("imager: stage b version 1, key " + r1->Find("b")->key + ", started ", 0),
            0u);
  EXPECT_EQ(log[1], "building b");
  EXPECT_EQ(log[2].rfind("imager: stage b done in ", 0), 0u);
}

// A remote cache that serves what another cache holds (a copy of its data directories), or
// fails for the stages in `broken`.
class FakeRemote : public RemoteCache {
 public:
  Result<bool> Fetch(const std::string& stage, const std::string& key, OutputKind,
                     const std::string& dir) override {
    std::lock_guard lock(mu);
    asked.push_back(stage);
    if (broken.count(stage)) return Error{"blob sha256:00 does not match its digest"};
    auto it = held.find(key);
    if (it == held.end()) return false;
    if (mkdir(dir.c_str(), 0755) != 0) return ErrnoError("mkdir " + dir);
    for (const auto& [name, text] : it->second)
      if (auto st = WriteFile(dir + "/" + name, text); !st) return st.take_error();
    return true;
  }
  std::string Describe() const override { return "fake://cache"; }
  std::mutex mu;
  std::map<std::string, std::map<std::string, std::string>> held;  // key -> file -> text
  std::set<std::string> broken;
  std::vector<std::string> asked;
};

TEST_F(PipelineTest, StagesMissingLocallyComeFromTheRemoteCacheWithoutRunning) {
  auto built = Run();
  ASSERT_TRUE(built) << built.error();
  FakeRemote remote;
  for (const char* name : {"a", "b"}) {
    const StageReport* s = built->Find(name);
    remote.held[s->key]["out"] = *ReadFile(s->dir + "/out");
  }
  // Another machine: an empty local cache.
  cache_ = Cache();
  ASSERT_TRUE(RemoveTree(dir_ + "/cache"));
  cache_ = OpenCache();
  runs_.clear();
  remote.broken = {"b"};
  PipelineOptions o;
  o.remote = &remote;
  o.jobs = 1;
  auto r = Run(o);
  ASSERT_TRUE(r) << r.error();
  // a arrives, b's fetch fails (built here, said why), c is not held (built).
  EXPECT_EQ(sink_.events,
            (std::vector<std::string>{
                "cached a", "note a from the remote cache fake://cache",
                "note b not from the remote cache fake://cache: blob sha256:00 does not match "
                "its digest; building it here",
                "start b", "done b", "start c", "done c"}));
  EXPECT_EQ(runs_, (std::map<std::string, int>{{"b", 1}, {"c", 1}}));
  EXPECT_TRUE(r->Find("a")->cached);
  EXPECT_TRUE(r->Find("a")->remote);
  EXPECT_FALSE(r->Find("b")->remote);
  EXPECT_EQ(*ReadFile(r->Find("c")->dir + "/image"), "c(b(a(x)))");
  // Committed like a build: the next run finds everything locally and asks nobody.
  remote.asked.clear();
  auto again = Run(o);
  ASSERT_TRUE(again) << again.error();
  EXPECT_EQ(sink_.events, (std::vector<std::string>{"cached a", "cached b", "cached c"}));
  EXPECT_TRUE(remote.asked.empty());
  EXPECT_TRUE(cache_.Verify(*cache_.Find(r->Find("a")->key, OutputKind::kLayer)));
  // --rebuild does not ask the remote cache for what it rebuilds.
  remote.broken.clear();
  o.rebuild = {"a"};
  auto rebuilt = Run(o);
  ASSERT_TRUE(rebuilt) << rebuilt.error();
  EXPECT_TRUE(remote.asked.empty());
  EXPECT_EQ(runs_["a"], 1);
}

TEST_F(PipelineTest, ADamagedEntryIsRebuiltAndSaysWhy) {
  auto r1 = Run();
  ASSERT_TRUE(r1) << r1.error();
  ASSERT_TRUE(WriteFile(r1->Find("b")->dir + "/out", "b(tampered)"));
  auto r2 = Run();
  ASSERT_TRUE(r2) << r2.error();
  EXPECT_EQ(sink_.events,
            (std::vector<std::string>{"cached a",
                                      "note b the cache entry " + cache_.root() + "/layers/" +
                                          r1->Find("b")->key +
                                          " changed on disk (out: content changed); building it "
                                          "again",
                                      "start b", "done b", "cached c"}));
  EXPECT_EQ(*ReadFile(r2->Find("b")->dir + "/out"), "b(a(x))");
  EXPECT_EQ(runs_, (std::map<std::string, int>{{"a", 1}, {"b", 2}, {"c", 1}}));
}

TEST_F(PipelineTest, ChangedInputRerunsOnlyThatStageAndItsDependents) {
  ASSERT_TRUE(Run());
  users_ = "live,admin";
  ASSERT_TRUE(Run());
  EXPECT_EQ(Ran(), (std::vector<std::string>{"b", "c"}));
  ASSERT_TRUE(WriteFile(overlay_ + "/motd", "hello"));
  ASSERT_TRUE(Run());
  EXPECT_EQ(Ran(), (std::vector<std::string>{"c"}));
  EXPECT_EQ(runs_, (std::map<std::string, int>{{"a", 1}, {"b", 2}, {"c", 3}}));
}

TEST_F(PipelineTest, CommonInputsChangeEveryKey) {
  ASSERT_TRUE(Run());
  ASSERT_TRUE(Run());
  EXPECT_EQ(Ran(), std::vector<std::string>{});
  PipelineOptions single;
  single.common_inputs = {KeyInput::Value("idmode", "single")};
  ASSERT_TRUE(Run(single));
  EXPECT_EQ(Ran(), (std::vector<std::string>{"a", "b", "c"}));
}

TEST_F(PipelineTest, KeysIgnoreUnrelatedInputs) {
  auto before = Keys();
  ASSERT_EQ(before.size(), 3u);
  ASSERT_TRUE(WriteFile(overlay_ + "/motd", "changed"));
  auto after = Keys();
  EXPECT_EQ(after[0], before[0]);
  EXPECT_EQ(after[1], before[1]);
  EXPECT_NE(after[2].second, before[2].second);
  variant_ = "essential";
  auto all = Keys();
  for (size_t i = 0; i < 3; ++i) EXPECT_NE(all[i].second, after[i].second) << all[i].first;
}

TEST_F(PipelineTest, RebuildForcesTheStageAndItsDependents) {
  ASSERT_TRUE(Run());
  auto keys = Keys();
  auto r = Run({.rebuild = {"b"}});
  ASSERT_TRUE(r) << r.error();
  EXPECT_EQ(sink_.events,
            (std::vector<std::string>{"cached a", "start b", "done b", "start c", "done c"}));
  EXPECT_EQ(Keys(), keys);
  ASSERT_TRUE(Run());
  EXPECT_EQ(sink_.events, (std::vector<std::string>{"cached a", "cached b", "cached c"}));
}

TEST_F(PipelineTest, RebuildWithoutDependentsRerunsOnlyTheNamedStage) {
  ASSERT_TRUE(Run());
  ASSERT_TRUE(Run({.rebuild = {"b"}, .rebuild_dependents = false}));
  EXPECT_EQ(sink_.events, (std::vector<std::string>{"cached a", "start b", "done b", "cached c"}));
  EXPECT_EQ(runs_, (std::map<std::string, int>{{"a", 1}, {"b", 2}, {"c", 1}}));
}

TEST_F(PipelineTest, RebuildOfAnUnknownStageSuggestsOne) {
  auto r = Run({.rebuild = {"bb"}});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), "rebuild: there is no stage 'bb' (did you mean 'b'?); stages: a, b, c");
  EXPECT_TRUE(runs_.empty());
}

TEST_F(PipelineTest, OrderPutsParentsFirstAndKeepsAddOrderOtherwise) {
  Pipeline p(cache_, sink_, {});
  p.Add({.name = "iso", .parents = {"squashfs", "initramfs"}});
  p.Add({.name = "squashfs", .parents = {"rootfs"}});
  p.Add({.name = "initramfs", .parents = {"tools"}});
  p.Add({.name = "rootfs"});
  p.Add({.name = "tools"});
  auto order = p.Order();
  ASSERT_TRUE(order) << order.error();
  EXPECT_EQ(*order, (std::vector<std::string>{"rootfs", "squashfs", "tools", "initramfs", "iso"}));
}

TEST_F(PipelineTest, CyclesUnknownParentsAndDuplicatesAreErrors) {
  Pipeline cyclic(cache_, sink_, {});
  cyclic.Add({.name = "x"});
  cyclic.Add({.name = "a", .parents = {"x", "c"}});
  cyclic.Add({.name = "b", .parents = {"a"}});
  cyclic.Add({.name = "c", .parents = {"b"}});
  cyclic.Add({.name = "d", .parents = {"c"}});
  auto r = cyclic.Run();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(), "stages depend on each other in a cycle: a needs c needs b needs a");
  Pipeline self(cache_, sink_, {});
  self.Add({.name = "a", .parents = {"a"}});
  EXPECT_EQ(self.Order().error(), "stages depend on each other in a cycle: a needs a");
  Pipeline bad(cache_, sink_, {});
  bad.Add({.name = "rootfs"});
  bad.Add({.name = "rootfs"});
  bad.Add({.name = "iso", .parents = {"rotfs", "zzz"}});
  EXPECT_EQ(bad.Order().error(),
            "stage 'rootfs' is defined twice\n"
            "stage 'iso' has unknown parent 'rotfs' (did you mean 'rootfs'?)\n"
            "stage 'iso' has unknown parent 'zzz'");
}

TEST_F(PipelineTest, FailingStageShowsTheTailOfItsLogAndCommitsNothing) {
  bool fail = true;
  auto run = [&] {
    Pipeline p(cache_, sink_, {.log_dir = dir_ + "/logs"});
    p.Add({.name = "a", .run = [&](StageContext& ctx) -> Status {
             for (int i = 1; i <= 30; ++i) ctx.log("line " + std::to_string(i));
             if (fail) return Error{"boom"};
             return WriteFile(ctx.output_dir() + "/ok", "");
           }});
    p.Add({.name = "b", .parents = {"a"}, .run = [](StageContext&) { return Status(); }});
    return p.Run();
  };
  auto r = run();
  ASSERT_FALSE(r);
  std::string log = dir_ + "/logs/a.log";
  std::string expected = "stage 'a' failed: boom\nlast 20 lines of " + log + ":";
  for (int i = 11; i <= 30; ++i) expected += "\n  | line " + std::to_string(i);
  EXPECT_EQ(r.error(), expected + "\nfull log: " + log);
  EXPECT_EQ(sink_.events, (std::vector<std::string>{"start a", "failed a"}));
  EXPECT_EQ(LogTail(log, 1), "imager: stage a failed: boom");
  EXPECT_EQ(std::string(), [&] {
    std::string names;
    if (DIR* d = opendir((dir_ + "/cache/layers").c_str())) {
      while (dirent* e = readdir(d)) names += e->d_name[0] == '.' ? "" : e->d_name;
      closedir(d);
    }
    return names;
  }());
  fail = false;
  sink_.events.clear();
  ASSERT_TRUE(run());
  EXPECT_EQ(sink_.events, (std::vector<std::string>{"start a", "done a", "start b", "done b"}));
}

TEST_F(PipelineTest, ExceptionsAndMissingRunFunctionsAreStageFailures) {
  Pipeline p(cache_, sink_, {.log_dir = dir_ + "/logs", .log_tail_lines = 0});
  p.Add({.name = "a", .run = [](StageContext&) -> Status { throw std::runtime_error("oops"); }});
  auto r = p.Run();
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error(),
            "stage 'a' failed: uncaught exception: oops\nfull log: " + dir_ + "/logs/a.log");
  Pipeline q(cache_, sink_, {.log_dir = dir_ + "/logs", .log_tail_lines = 0});
  q.Add({.name = "b"});
  EXPECT_EQ(q.Run().error(),
            "stage 'b' failed: the stage has nothing to run\nfull log: " + dir_ + "/logs/b.log");
}

TEST_F(PipelineTest, ContextReportsProgressAndNamesParents) {
  Pipeline p(cache_, sink_, {.log_dir = dir_ + "/logs"});
  p.Add({.name = "a", .run = [](StageContext&) { return Status(); }});
  p.Add({.name = "b", .parents = {"a"}, .run = [](StageContext& ctx) -> Status {
           if (!ctx.parent("a") || ctx.parent("zzz")) return Error{"bad parents"};
           if (ctx.parent("a")->kind != OutputKind::kLayer) return Error{"bad kind"};
           ctx.progress(3, 10, "packages");
           return Status();
         }});
  auto r = p.Run();
  ASSERT_TRUE(r) << r.error();
  EXPECT_EQ(sink_.events, (std::vector<std::string>{"start a", "done a", "start b",
                                                    "progress b 3/10 packages", "done b"}));
}

TEST_F(PipelineTest, TwoProcessesSharingTheCacheBuildEachStageOnce) {
  std::string counter = dir_ + "/runs";
  cache_ = Cache();
  auto build = [&](const std::string& logs) {
    // Runs in a forked child: a full pipeline whose first stage is slow.
    Cache cache = OpenCache();
    FakeSink sink;
    Pipeline p(cache, sink, {.log_dir = logs});
    auto count = [counter](const std::string& name, int delay_ms) {
      return [=](StageContext& ctx) -> Status {
        UniqueFd fd(open(counter.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644));
        WriteAll(fd.get(), name + "\n");
        usleep(delay_ms * 1000);
        return WriteFile(ctx.output_dir() + "/out", name);
      };
    };
    p.Add({.name = "slow", .run = count("slow", 300)});
    p.Add({.name = "next", .parents = {"slow"}, .run = count("next", 0)});
    return p.Run() ? 0 : 1;
  };
  std::vector<pid_t> pids;
  for (const char* logs : {"/logs1", "/logs2"}) {
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) _exit(build(dir_ + logs));  // child: one whole build, then exit
    pids.push_back(pid);
  }
  for (pid_t pid : pids) {
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  }
  EXPECT_EQ(*ReadFile(counter), "slow\nnext\n");
}

// a <- b, a <- c, (b, c) <- d: b and c sleep and count how many stages run at once.
class ParallelTest : public PipelineTest {
 protected:
  Result<PipelineReport> RunDiamond(int jobs, const std::string& failing = "") {
    sink_.events.clear();
    Pipeline p(cache_, sink_, {.log_dir = dir_ + "/logs", .jobs = jobs});
    auto stage = [&](const std::string& name, std::vector<std::string> parents) {
      Stage s{name, 1, {KeyInput::Value("v", "1")}, std::move(parents), OutputKind::kArtifact, {}};
      s.run = [this, name, failing](StageContext& ctx) -> Status {
        int now = ++running_;
        int seen = max_running_.load();
        while (now > seen && !max_running_.compare_exchange_weak(seen, now)) {
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(name == "c" ? 600 : 200));
        --running_;
        if (name == failing) return Error{"stage " + name + " broke"};
        return WriteFile(ctx.output_dir() + "/out", name);
      };
      return s;
    };
    p.Add(stage("a", {}));
    p.Add(stage("b", {"a"}));
    p.Add(stage("c", {"a"}));
    p.Add(stage("d", {"b", "c"}));
    return p.Run();
  }
  std::atomic<int> running_{0}, max_running_{0};
};

TEST_F(ParallelTest, IndependentStagesRunTogetherAndChildrenWaitForAllParents) {
  auto r = RunDiamond(2);
  ASSERT_TRUE(r) << r.error();
  EXPECT_EQ(max_running_, 2);
  // The report follows Order(), whichever finished first.
  ASSERT_EQ(r->stages.size(), 4u);
  EXPECT_EQ(r->stages[1].name, "b");
  EXPECT_EQ(r->stages[2].name, "c");
  auto& e = sink_.events;
  auto at = [&](const std::string& what) {
    return std::find(e.begin(), e.end(), what) - e.begin();
  };
  EXPECT_LT(at("start c"), at("done b"));  // c started while b ran
  EXPECT_GT(at("start d"), at("done b"));
  EXPECT_GT(at("start d"), at("done c"));
}

TEST_F(ParallelTest, OneJobRunsThemOneAfterTheOtherInOrder) {
  auto r = RunDiamond(1);
  ASSERT_TRUE(r) << r.error();
  EXPECT_EQ(max_running_, 1);
  EXPECT_EQ(sink_.events, (std::vector<std::string>{"start a", "done a", "start b", "done b",
                                                    "start c", "done c", "start d", "done d"}));
}

TEST_F(ParallelTest, AFailureStartsNothingNewAndWhatRanIsKept) {
  auto r = RunDiamond(2, "b");
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().find("stage b broke"), std::string::npos) << r.error();
  auto& e = sink_.events;
  EXPECT_EQ(std::count(e.begin(), e.end(), "start d"), 0);
  EXPECT_EQ(std::count(e.begin(), e.end(), "done c"), 1);  // c finished after b failed
  // The next run reuses a and c and builds b and d.
  auto again = RunDiamond(2);
  ASSERT_TRUE(again) << again.error();
  EXPECT_TRUE(again->Find("a")->cached);
  EXPECT_TRUE(again->Find("c")->cached);
  EXPECT_FALSE(again->Find("b")->cached);
  EXPECT_FALSE(again->Find("d")->cached);
}

TEST(LogTailTest, ReturnsTheLastLines) {
  auto d = MakeTempDir("/tmp", "logtail-test-");
  ASSERT_TRUE(d);
  ASSERT_TRUE(WriteFile(*d + "/log", "one\ntwo\nthree\n"));
  EXPECT_EQ(LogTail(*d + "/log", 2), "two\nthree");
  EXPECT_EQ(LogTail(*d + "/log", 5), "one\ntwo\nthree");
  EXPECT_EQ(LogTail(*d + "/log", 0), "");
  EXPECT_EQ(LogTail(*d + "/missing", 3), "");
  ASSERT_TRUE(RemoveTree(*d));
}

}  // namespace
}  // namespace imager::engine
