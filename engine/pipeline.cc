// SPDX-License-Identifier: GPL-3.0-or-later
#include "engine/pipeline.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <ctime>
#include <exception>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <thread>

#include "base/strings.h"
#include "engine/progress.h"

namespace imager::engine {
namespace {

double Seconds(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - since).count();
}

std::string Timestamp() {
  std::time_t now = std::time(nullptr);
  struct tm tm;
  localtime_r(&now, &tm);
  char buf[32];
  strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm);
  return buf;
}

std::string FailureMessage(const std::string& stage, const std::string& error,
                           const std::string& log_path, const std::string& tail, size_t lines) {
  std::string msg = "stage '" + stage + "' failed: " + error;
  if (!tail.empty()) {
    msg += "\nlast " + std::to_string(lines) + " lines of " + log_path + ":";
    for (const auto& line : Split(tail, '\n')) msg += "\n  | " + line;
  }
  return msg + "\nfull log: " + log_path;
}

// The bytes free (to an unprivileged user) and in all of the filesystem holding PATH.
bool FreeSpace(const std::string& path, uint64_t* free, uint64_t* total) {
  struct statvfs fs;
  if (statvfs(path.c_str(), &fs) != 0) return false;
  *free = static_cast<uint64_t>(fs.f_bavail) * fs.f_frsize;
  *total = static_cast<uint64_t>(fs.f_blocks) * fs.f_frsize;
  return true;
}

bool NearlyFull(uint64_t free, uint64_t total) {
  return free < std::min<uint64_t>(total / 100, 64ull << 20);
}

// When the cache's filesystem is (nearly) full: how much the stage had written, what is free,
// what to do. "" otherwise.
// (A full tmpfs of the sandbox, with room in the cache, is the stage's own hint: LimitHint.)
std::string DiskHint(const std::string& output_dir) {
  uint64_t free = 0, total = 0;
  if (!FreeSpace(output_dir, &free, &total) || !NearlyFull(free, total)) return "";
  return "\nthe cache's filesystem has " + FormatBytes(free) + " free of " + FormatBytes(total) +
         "; the stage had written " + FormatBytes(TreeSize(output_dir)) +
         " when it failed. Free space (imager cache prune, or --cache-dir on a larger disk) "
         "and build again: the completed stages are kept.";
}

// Stage code should return errors, but an exception must not skip the slot's cleanup.
Status Invoke(const Stage& stage, StageContext& ctx) {
  if (!stage.run) return Error{"the stage has nothing to run"};
  try {
    return stage.run(ctx);
  } catch (const std::exception& e) {
    return Error{std::string("uncaught exception: ") + e.what()};
  }
}

}  // namespace

std::string LogTail(const std::string& path, size_t lines) {
  constexpr off_t kWindow = 64 * 1024;
  UniqueFd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC));
  struct stat st;
  if (lines == 0 || !fd.valid() || fstat(fd.get(), &st) != 0) return "";
  off_t start = st.st_size > kWindow ? st.st_size - kWindow : 0;
  std::string text(static_cast<size_t>(st.st_size - start), '\0');
  ssize_t n = pread(fd.get(), text.data(), text.size(), start);
  text.resize(n > 0 ? static_cast<size_t>(n) : 0);
  while (!text.empty() && text.back() == '\n') text.pop_back();
  size_t pos = text.size();
  for (size_t i = 0; i < lines && pos != std::string::npos && pos > 0; ++i)
    pos = text.rfind('\n', pos - 1);
  return pos == std::string::npos ? text : text.substr(pos + 1);
}

// ---- StageContext --------------------------------------------------------------------------

const StageOutput* StageContext::parent(std::string_view name) const {
  for (const auto& p : parents_)
    if (p.name == name) return &p;
  return nullptr;
}

void StageContext::log(std::string_view line) { WriteAll(log_.get(), std::string(line) + "\n"); }

void StageContext::note(std::string_view line) {
  log(line);
  if (sink_) sink_->StageNote(stage_, std::string(line));
}

void StageContext::progress(uint64_t done, uint64_t total, std::string_view unit) {
  if (sink_) sink_->StageProgress(stage_, done, total, std::string(unit));
}

const StageReport* PipelineReport::Find(std::string_view name) const {
  for (const auto& s : stages)
    if (s.name == name) return &s;
  return nullptr;
}

// ---- Pipeline: graph -----------------------------------------------------------------------

Pipeline::Pipeline(const Cache& cache, ProgressSink& progress, PipelineOptions options)
    : cache_(cache), progress_(progress), options_(std::move(options)) {}

void Pipeline::Add(Stage stage) { stages_.push_back(std::move(stage)); }

const Stage* Pipeline::Lookup(std::string_view name) const {
  for (const auto& s : stages_)
    if (s.name == name) return &s;
  return nullptr;
}

// Follows parents among the stages Kahn's algorithm could not order until one repeats.
static std::string DescribeCycle(const std::vector<Stage>& stages,
                                 const std::set<std::string>& left) {
  std::vector<std::string> path = {*left.begin()};
  for (;;) {
    const Stage* s = nullptr;
    for (const auto& st : stages)
      if (st.name == path.back()) s = &st;
    auto next = std::find_if(s->parents.begin(), s->parents.end(),
                             [&](const std::string& p) { return left.count(p) > 0; });
    auto at = std::find(path.begin(), path.end(), *next) - path.begin();
    bool repeats = at < static_cast<std::ptrdiff_t>(path.size());
    path.push_back(*next);
    if (repeats) {
      path.erase(path.begin(), path.begin() + at);
      return "stages depend on each other in a cycle: " + Join(path, " needs ");
    }
  }
}

Status Pipeline::CheckNames() const {
  std::vector<std::string> errors, names;
  std::set<std::string> known;
  for (const auto& s : stages_) {
    if (!known.insert(s.name).second) errors.push_back("stage '" + s.name + "' is defined twice");
    names.push_back(s.name);
  }
  for (const auto& s : stages_)
    for (const auto& p : s.parents)
      if (!known.count(p)) {
        std::string hint = ClosestMatch(p, names);
        errors.push_back("stage '" + s.name + "' has unknown parent '" + p + "'" +
                         (hint.empty() ? "" : " (did you mean '" + hint + "'?)"));
      }
  if (!errors.empty()) return Error{Join(errors, "\n")};
  return {};
}

// Kahn's algorithm, always taking the earliest added stage whose parents are all done.
Result<std::vector<std::string>> Pipeline::Order() const {
  if (auto st = CheckNames(); !st) return st.take_error();
  std::vector<std::string> order;
  std::set<std::string> left, done;
  for (const auto& s : stages_) left.insert(s.name);
  auto is_done = [&](const std::string& p) { return done.count(p) > 0; };
  while (!left.empty()) {
    auto ready = std::find_if(stages_.begin(), stages_.end(), [&](const Stage& s) {
      return left.count(s.name) && std::all_of(s.parents.begin(), s.parents.end(), is_done);
    });
    if (ready == stages_.end()) return Error{DescribeCycle(stages_, left)};
    order.push_back(ready->name);
    done.insert(ready->name);
    left.erase(ready->name);
  }
  return order;
}

Result<std::string> Pipeline::KeyOf(const Stage& stage,
                                    const std::vector<StageOutput>& parents) const {
  KeyBuilder key(stage.name, stage.version);
  for (const auto& input : stage.inputs) key.Add(input);
  for (const auto& input : options_.common_inputs) key.Add(input);
  for (const auto& p : parents) key.Parent(p.key);
  return key.Build();
}

Result<std::vector<std::pair<std::string, std::string>>> Pipeline::Keys() const {
  auto order = Order();
  if (!order) return order.take_error();
  std::map<std::string, StageOutput> outputs;
  std::vector<std::pair<std::string, std::string>> keys;
  for (const auto& name : *order) {
    const Stage& stage = *Lookup(name);
    std::vector<StageOutput> parents;
    for (const auto& p : stage.parents) parents.push_back(outputs[p]);
    auto key = KeyOf(stage, parents);
    if (!key) return key.take_error();
    outputs[name] = {name, *key, stage.output, ""};
    keys.emplace_back(name, *key);
  }
  return keys;
}

// ---- Pipeline: running ---------------------------------------------------------------------

Status Pipeline::CheckRebuildNames() const {
  std::vector<std::string> names, errors;
  for (const auto& s : stages_) names.push_back(s.name);
  for (const auto& r : options_.rebuild) {
    if (Lookup(r)) continue;
    std::string hint = ClosestMatch(r, names);
    errors.push_back("rebuild: there is no stage '" + r + "'" +
                     (hint.empty() ? "" : " (did you mean '" + hint + "'?)") +
                     "; stages: " + Join(names, ", "));
  }
  if (!errors.empty()) return Error{Join(errors, "\n")};
  return {};
}

int DefaultJobs() {
  long cpus = sysconf(_SC_NPROCESSORS_ONLN);
  long pages = sysconf(_SC_AVPHYS_PAGES), page = sysconf(_SC_PAGESIZE);
  long by_memory =
      pages > 0 && page > 0 ? static_cast<long>((static_cast<uint64_t>(pages) * page) >> 31) : 1;
  return static_cast<int>(std::max(1L, std::min(cpus, by_memory)));
}

Result<PipelineReport> Pipeline::Run() {
  auto order = Order();
  if (!order) return order.take_error();
  if (auto st = CheckRebuildNames(); !st) return st.take_error();
  if (mkdir(options_.log_dir.c_str(), 0755) != 0 && errno != EEXIST)
    return ErrnoError("create the log directory " + options_.log_dir);
  const size_t jobs = static_cast<size_t>(options_.jobs > 0 ? options_.jobs : DefaultJobs());
  // A stage starts once its parents are done, the first ready in Order() first, while fewer than
  // `jobs` run. After a failure nothing new starts; what runs finishes (and is cached).
  enum class State { kWaiting, kRunning, kDone, kFailed };
  const size_t n = order->size();
  std::vector<State> state(n, State::kWaiting);
  std::vector<std::optional<StageReport>> done(n);
  std::map<std::string, size_t> index;
  for (size_t i = 0; i < n; ++i) index[(*order)[i]] = i;
  std::map<std::string, StageOutput> outputs;
  std::set<std::string> forced;
  std::optional<std::pair<size_t, Error>> failure;  // the first failed stage in Order()
  size_t running = 0, finished = 0;
  std::mutex mu;
  std::condition_variable changed;
  std::vector<std::thread> threads;
  std::unique_lock lock(mu);
  for (;;) {
    for (size_t i = 0; i < n && running < jobs && !failure; ++i) {
      if (state[i] != State::kWaiting) continue;
      const Stage& stage = *Lookup((*order)[i]);
      bool ready = true;
      for (const auto& p : stage.parents) ready = ready && state[index[p]] == State::kDone;
      if (!ready) continue;
      std::vector<StageOutput> parents;
      bool force = std::count(options_.rebuild.begin(), options_.rebuild.end(), stage.name) > 0;
      for (const auto& p : stage.parents) {
        parents.push_back(outputs[p]);
        force |= options_.rebuild_dependents && forced.count(p) > 0;
      }
      if (force) forced.insert(stage.name);
      state[i] = State::kRunning;
      ++running;
      auto run = [&, i, parents = std::move(parents), force] {
        const Stage& s = *Lookup((*order)[i]);
        auto r = RunStage(s, parents, force);
        std::lock_guard done_lock(mu);
        if (r) {
          outputs[s.name] = {s.name, r->key, s.output, r->dir};
          done[i] = std::move(*r);
          state[i] = State::kDone;
        } else {
          state[i] = State::kFailed;
          if (!failure || i < failure->first) failure.emplace(i, r.take_error());
        }
        --running;
        ++finished;
        changed.notify_all();
      };
      if (jobs == 1) {
        lock.unlock();
        run();
        lock.lock();
      } else {
        threads.emplace_back(run);
      }
    }
    if (running == 0 && !failure && finished < n)  // Order() rules it out
      failure.emplace(n, Error{"internal: no stage can start"});
    if (running == 0) break;
    changed.wait(lock);
  }
  lock.unlock();
  for (auto& t : threads) t.join();
  if (failure) return std::move(failure->second);
  PipelineReport report;
  for (auto& d : done) report.stages.push_back(std::move(*d));
  return report;
}

Result<StageReport> Pipeline::RunStage(const Stage& stage, const std::vector<StageOutput>& parents,
                                       bool force) {
  auto key = KeyOf(stage, parents);
  if (!key) return key.take_error();
  auto cached = [&](const Entry& e) {
    cache_.Touch(e);
    progress_.StageCached(stage.name, *key);
    return StageReport{stage.name, *key, true, 0, e.data_dir};
  };
  // A damaged entry is rebuilt: the new commit retires it.
  auto intact = [&](const Entry& e) {
    auto st = cache_.Verify(e);
    if (!st)
      progress_.StageNote(stage.name, "the cache entry " + e.path + " changed on disk (" +
                                          st.error() + "); building it again");
    return st.ok();
  };
  if (!force) {
    if (auto e = cache_.Find(*key, stage.output)) {
      if (intact(*e)) return cached(*e);
      force = true;
    }
  }
  auto claim = cache_.Reserve(*key, stage.output, force, [&] {
    progress_.StageNote(stage.name, "waiting for another build of this stage to finish");
  });
  if (!claim) return Wrap("stage '" + stage.name + "'", claim.error());
  if (claim->entry) {
    if (intact(*claim->entry)) return cached(*claim->entry);
    claim = cache_.Reserve(*key, stage.output, true);
    if (!claim) return Wrap("stage '" + stage.name + "'", claim.error());
  }
  if (options_.remote && !force) {
    auto fetched = FromRemote(stage, parents, *key, *claim->slot);
    if (!fetched) return Wrap("stage '" + stage.name + "'", fetched.error());
    if (*fetched) return std::move(**fetched);
  }
  return Execute(stage, parents, *key, *claim->slot);
}

Result<RemoteFetch> FetchEntry(RemoteCache& remote, Slot& slot, OutputKind kind, EntryMeta meta) {
  std::string dir = slot.scratch_dir() + "/remote";
  auto found = remote.Fetch(meta.stage, slot.key(), kind, dir);
  if (!found) return RemoteFetch{.refused = found.error()};
  if (!*found) return RemoteFetch{};
  // The slot's empty output directory is replaced by what arrived (same filesystem).
  if (rename(dir.c_str(), slot.output_dir().c_str()) != 0)
    return RemoteFetch{.refused = ErrnoError("rename " + dir + " to " + slot.output_dir()).message};
  auto entry = slot.Commit(std::move(meta));
  if (!entry) return Error{"committing what the remote cache gave: " + entry.error()};
  return RemoteFetch{.entry = std::move(*entry)};
}

Result<std::optional<StageReport>> Pipeline::FromRemote(const Stage& stage,
                                                        const std::vector<StageOutput>& parents,
                                                        const std::string& key, Slot& slot) {
  auto started = std::chrono::steady_clock::now();
  std::vector<std::string> parent_keys;
  for (const auto& p : parents) parent_keys.push_back(p.key);
  // A local cache that cannot commit fails the build, as it would after building the stage.
  auto fetched =
      FetchEntry(*options_.remote, slot, stage.output,
                 {.stage = stage.name, .parents = parent_keys, .profile = options_.profile});
  if (!fetched) return fetched.take_error();
  if (!fetched->refused.empty())
    progress_.StageNote(stage.name, "not from the remote cache " + options_.remote->Describe() +
                                        ": " + fetched->refused + "; building it here");
  if (!fetched->entry) return std::optional<StageReport>();
  const Entry* entry = &*fetched->entry;
  progress_.StageCached(stage.name, key);
  progress_.StageNote(stage.name, "from the remote cache " + options_.remote->Describe());
  return std::optional<StageReport>(StageReport{.name = stage.name,
                                                .key = key,
                                                .cached = true,
                                                .seconds = Seconds(started),
                                                .dir = entry->data_dir,
                                                .remote = true});
}

int StageContext::seconds_left() const {
  if (time_limit_ <= 0) return 0;
  auto used =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - started_);
  return std::max<int>(1, time_limit_ - static_cast<int>(used.count()));
}

Result<StageContext> Pipeline::MakeContext(const Stage& stage,
                                           const std::vector<StageOutput>& parents,
                                           const std::string& key, const Slot& slot) const {
  StageContext ctx;
  ctx.stage_ = stage.name;
  ctx.key_ = key;
  ctx.output_dir_ = slot.output_dir();
  ctx.scratch_dir_ = slot.scratch_dir();
  ctx.parents_ = parents;
  ctx.sink_ = &progress_;
  ctx.idmap_ = &options_.idmap;
  ctx.time_limit_ = options_.stage_timeout;
  ctx.memory_limit_ = options_.memory_limit;
  ctx.started_ = std::chrono::steady_clock::now();
  ctx.log_path_ = options_.log_dir + "/" + stage.name + ".log";
  ctx.log_.reset(
      open(ctx.log_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644));
  if (!ctx.log_.valid()) return ErrnoError("stage '" + stage.name + "': open " + ctx.log_path_);
  ctx.log("imager: stage " + stage.name + " version " + std::to_string(stage.version) + ", key " +
          key + ", started " + Timestamp());
  return ctx;
}

Result<StageReport> Pipeline::Execute(const Stage& stage, const std::vector<StageOutput>& parents,
                                      const std::string& key, Slot& slot) {
  auto ctx = MakeContext(stage, parents, key, slot);
  if (!ctx) return ctx.take_error();
  progress_.StageStarted(stage.name);
  auto started = std::chrono::steady_clock::now();
  Status st = Invoke(stage, *ctx);
  std::optional<Entry> entry;
  if (st) {
    std::vector<std::string> parent_keys;
    for (const auto& p : parents) parent_keys.push_back(p.key);
    auto committed =
        slot.Commit({.stage = stage.name, .parents = parent_keys, .profile = options_.profile});
    if (committed)
      entry = std::move(*committed);
    else
      st = committed.take_error();
  }
  double seconds = Seconds(started);
  if (!st) {
    std::string tail = LogTail(ctx->log_path(), options_.log_tail_lines);
    ctx->log("imager: stage " + stage.name + " failed: " + st.error());
    progress_.StageFailed(stage.name, seconds, ctx->log_path());
    return Error{
        FailureMessage(stage.name, st.error(), ctx->log_path(), tail, options_.log_tail_lines) +
        DiskHint(slot.output_dir())};
  }
  ctx->log("imager: stage " + stage.name + " done in " + FormatDuration(seconds));
  progress_.StageDone(stage.name, seconds);
  return StageReport{stage.name, key, false, seconds, entry->data_dir};
}

bool NearlyFull(const std::string& path) {
  uint64_t free = 0, total = 0;
  return FreeSpace(path, &free, &total) && NearlyFull(free, total);
}

}  // namespace imager::engine
