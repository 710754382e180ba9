// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

/// A Pipeline runs a graph of stages against the cache. It orders the stages parents first,
/// keys each one from its name, version, inputs and its parents' keys, reuses every stage whose
/// key is cached, and runs the others one at a time into a cache slot that is committed
/// atomically when the stage succeeds. A driver adds one Stage per step and calls Run():
///
///   stages::Pipeline build(cache, *progress, {.log_dir = out + "/logs", .profile = p.name});
///   // The exact package set, pinned by the lockfile.
///   build.Add(ResolveStage(p));
///   // The root filesystem: every package unpacked and configured.
///   build.Add(RootfsStage(p));
///   auto report = build.Run();
///
/// --rebuild: a stage named in PipelineOptions::rebuild runs even when its key is cached, and
/// its new output replaces the cached one under the same key. Because a dependent's key is made
/// from its parents' keys, not their content, the dependents' keys do not change; by default
/// (rebuild_dependents) every stage downstream of a forced stage is forced too, so no cached
/// output built on the old one survives. Set rebuild_dependents = false to rerun only the named
/// stages (e.g. to repair one damaged entry) and keep their dependents cached.

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "base/fd.h"
#include "base/result.h"
#include "engine/cache.h"
#include "engine/key.h"
#include "engine/options.h"
#include "engine/progress.h"
#include "sandbox/idmap.h"

namespace imager::engine {

/// A stage's output as its dependents see it.
struct StageOutput {
  std::string name;
  std::string key;
  OutputKind kind = OutputKind::kLayer;
  std::string dir;  // the layer tree or artifact directory, read-only for dependents
};

/// What a running stage may use: its output and scratch directories, its parents' outputs, its
/// log and the progress display.
class StageContext {
 public:
  const std::string& stage() const { return stage_; }
  const std::string& key() const { return key_; }
  const std::string& output_dir() const { return output_dir_; }
  /// Empty, on the cache's filesystem (overlay work dirs go here), deleted after the stage.
  const std::string& scratch_dir() const { return scratch_dir_; }
  /// Outputs of the declared parents, in declared order.
  const std::vector<StageOutput>& parents() const { return parents_; }
  /// The output of the parent called `name`, or nullptr if there is no such parent.
  const StageOutput* parent(std::string_view name) const;

  /// Appends one line to the stage's log.
  void log(std::string_view line);
  /// The log's descriptor (append mode), for a child's stdout and stderr.
  int log_fd() const { return log_.get(); }
  const std::string& log_path() const { return log_path_; }
  /// The build's id mapping: how every sandbox of the stage maps the image's owners.
  const sandbox::IdMap& idmap() const { return *idmap_; }
  /// A line the user should see (a warning about the result), shown with the progress and
  /// written to the log.
  void note(std::string_view line);
  /// `total` 0 means unknown; `unit` "bytes" is shown as a size.
  void progress(uint64_t done, uint64_t total, std::string_view unit);
  /// The stage's time limit in seconds (PipelineOptions::stage_timeout; 0: none), and what is
  /// left of it now (at least 1 while there is a limit): a sandbox the stage starts gets that.
  int time_limit() const { return time_limit_; }
  int seconds_left() const;
  /// PipelineOptions::memory_limit.
  uint64_t memory_limit() const { return memory_limit_; }

 private:
  friend class Pipeline;
  std::string stage_, key_, output_dir_, scratch_dir_, log_path_;
  int time_limit_ = 0;
  uint64_t memory_limit_ = 0;
  std::chrono::steady_clock::time_point started_;
  std::vector<StageOutput> parents_;
  UniqueFd log_;
  ProgressSink* sink_ = nullptr;
  const sandbox::IdMap* idmap_ = nullptr;
};

/// A stage as the pipeline sees it. Stage definitions make one with MakeStage, which computes
/// `inputs` from the stage's options value and hands that value, and nothing else, to the run
/// function; the pipeline's own tests build Stages directly.
struct Stage {
  std::string name;
  int version = 1;  // bump when the stage's code changes what it produces
  std::vector<KeyInput> inputs;
  std::vector<std::string> parents;  // names of stages whose outputs this one reads
  OutputKind output = OutputKind::kLayer;
  std::function<Status(StageContext&)> run;
  /// Set by MakeStage: the inputs with each one options field changed (field name, inputs), for
  /// the tests that every field is keyed. `other_content` is a path for ContentPath fields.
  std::function<std::vector<std::pair<std::string, std::vector<KeyInput>>>(
      const std::string& other_content)>
      variants;
  /// Set by MakeStage: the options type's fields that are not keyed, with the reason.
  std::vector<std::pair<std::string, std::string>> unkeyed;
};

/// What a stage is, besides its options: name, version, output kind and parents.
struct StageInfo {
  std::string name;
  int version = 1;
  OutputKind output = OutputKind::kLayer;
  std::vector<std::string> parents;
};

/// A stage whose key inputs are exactly `options`' fields and whose run function receives
/// exactly `options`: a captureless function, so it cannot use anything else from the planner.
template <HasFields O>
Stage MakeStage(StageInfo info, O options, Status (*run)(StageContext&, const O&)) {
  Stage s;
  s.name = std::move(info.name);
  s.version = info.version;
  s.output = info.output;
  s.parents = std::move(info.parents);
  s.inputs = KeyInputsOf(options);
  std::apply(
      [&](const auto&... f) {
        (
            [&] {
              if (f.unkeyed_because) s.unkeyed.emplace_back(f.name, f.unkeyed_because);
            }(),
            ...);
      },
      O::kFields);
  auto shared = std::make_shared<const O>(std::move(options));
  s.run = [shared, run](StageContext& ctx) { return run(ctx, *shared); };
  s.variants = [shared](const std::string& other_content) {
    std::vector<std::pair<std::string, std::vector<KeyInput>>> out;
    for (auto& [field, changed] : OneFieldChanged(*shared, other_content))
      out.emplace_back(field, KeyInputsOf(changed));
    return out;
  };
  return s;
}

/// A cache of stage outputs elsewhere (stages/remote_cache.h: an OCI registry), asked for a
/// stage whose key the local cache lacks before the stage is built. Called from the threads that
/// run stages, so implementations are thread-safe.
class RemoteCache {
 public:
  virtual ~RemoteCache() = default;
  /// Makes `dir` (which does not exist yet; its parent is on the cache's filesystem) the output
  /// stored under `key`, as the stage that made it left it. False when the remote has none. An
  /// error means nothing usable arrived (unreachable, refused, a digest that did not match): the
  /// pipeline says so and builds the stage here.
  virtual Result<bool> Fetch(const std::string& stage, const std::string& key, OutputKind kind,
                             const std::string& dir) = 0;
  /// Where it is, for messages ("docker://host:5000/imager-cache").
  virtual std::string Describe() const = 0;
};

/// What FetchEntry did: the entry it committed, or why the remote cache gave nothing usable
/// (empty `refused` with no entry: the remote has none).
struct RemoteFetch {
  std::optional<Entry> entry;
  std::string refused;
};

/// Asks `remote` for the entry `meta.key` of kind `kind` and commits what arrives into `slot`
/// (reserved for that key) with `meta`'s stage, parents and profile. An error only when the
/// local cache could not commit it: the slot then holds the fetched data and must not be built
/// into.
Result<RemoteFetch> FetchEntry(RemoteCache& remote, Slot& slot, OutputKind kind, EntryMeta meta);

struct PipelineOptions {
  std::string log_dir;  // per-stage logs: LOG_DIR/STAGE.log
  std::string profile;  // recorded in each entry's meta.json
  std::vector<std::string> rebuild;
  /// Inputs every stage's key includes: what changes every layer without being a stage's input,
  /// e.g. the id mode (a layer built in single-id mode has lost owners a range would keep).
  std::vector<KeyInput> common_inputs;
  bool rebuild_dependents = true;
  /// Seconds each stage may take (its sandboxed commands together); 0: no limit.
  int stage_timeout = 0;
  /// Bytes of data each process in a stage's sandboxes may have; 0: the sandbox's default.
  uint64_t memory_limit = 0;
  sandbox::IdMap idmap;        // StageContext::idmap
  size_t log_tail_lines = 20;  // shown when a stage fails
  /// Stages run at the same time at most (those whose parents are all done); 0: DefaultJobs().
  /// 1 runs them one at a time in Order().
  int jobs = 0;
  /// Asked before building a stage that is not in the local cache (not for --rebuild's stages);
  /// what it gives is committed to the local cache like a build. Null: none.
  RemoteCache* remote = nullptr;
};

/// The machine's processors, fewer when memory is short (2 GiB per stage), at least 1.
int DefaultJobs();

struct StageReport {
  std::string name;
  std::string key;
  bool cached = false;
  double seconds = 0;
  std::string dir;      // the output in the cache
  bool remote = false;  // cached: fetched from PipelineOptions::remote by this build
};

struct PipelineReport {
  std::vector<StageReport> stages;  // in Order(), whatever ran first
  const StageReport* Find(std::string_view name) const;
};

class Pipeline {
 public:
  Pipeline(const Cache& cache, ProgressSink& progress, PipelineOptions options);

  void Add(Stage stage);
  /// True when a stage of that name was added.
  bool Has(std::string_view name) const { return Lookup(name) != nullptr; }
  /// The stages as added.
  const std::vector<Stage>& stages() const { return stages_; }

  /// Stage names, parents before children (ties in the order added); names every cycle member,
  /// unknown parent and duplicate name.
  Result<std::vector<std::string>> Order() const;
  /// The key of every stage, without running anything.
  Result<std::vector<std::pair<std::string, std::string>>> Keys() const;
  /// Runs what is not cached. On a stage failure the error names the stage, quotes the last
  /// lines of its log and gives the log's path.
  Result<PipelineReport> Run();

 private:
  const Stage* Lookup(std::string_view name) const;
  Status CheckNames() const;
  Result<std::string> KeyOf(const Stage& stage, const std::vector<StageOutput>& parents) const;
  Status CheckRebuildNames() const;
  Result<StageReport> RunStage(const Stage& stage, const std::vector<StageOutput>& parents,
                               bool force);
  Result<StageReport> Execute(const Stage& stage, const std::vector<StageOutput>& parents,
                              const std::string& key, Slot& slot);
  /// The stage's output from options_.remote, committed; nullopt when it has none or failed
  /// (said as a note). An error only when the local cache cannot commit it.
  Result<std::optional<StageReport>> FromRemote(const Stage& stage,
                                                const std::vector<StageOutput>& parents,
                                                const std::string& key, Slot& slot);
  Result<StageContext> MakeContext(const Stage& stage, const std::vector<StageOutput>& parents,
                                   const std::string& key, const Slot& slot) const;

  const Cache& cache_;
  ProgressSink& progress_;
  PipelineOptions options_;
  std::vector<Stage> stages_;
};

/// The last `lines` lines of a file ("" if unreadable); reads at most the last 64 KiB.
std::string LogTail(const std::string& path, size_t lines);

/// Whether the filesystem holding PATH has (nearly) no room left: less than 1% or 64 MiB free.
/// A failed stage then gets the pipeline's hint about the cache's filesystem.
bool NearlyFull(const std::string& path);

}  // namespace imager::engine
