// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

/// Cache is the content-addressed store of stage outputs under one root directory:
///
///   ROOT/lock                    shared by builds, exclusive for prune
///   ROOT/locks/KEY.lock          held by the one process building KEY
///   ROOT/tmp/KEY.PID.RAND/       an entry being built (meta.json + tree/ or files/)
///   ROOT/tmp/KEY.PID.RAND.scratch/   the builder's scratch space (overlay work dir)
///   ROOT/layers/KEY/             a committed layer: meta.json + index + tree/ (an overlay layer)
///   ROOT/artifacts/KEY/          committed artifacts: meta.json + index + files/
///   ROOT/trash/                  entries taken out of view, deleted when no build runs
///
/// Invariant: a directory under layers/ or artifacts/ is complete. It is built in tmp/, gets its
/// meta.json, is synced, and only then renamed into place; a killed build leaves only tmp/
/// debris, which the next Open deletes once the key's lock shows its builder is gone.
///
/// Integrity: Commit records a TreeIndex of the data (base/tree_index.h) in `index` and its digest
/// in meta.json; Verify checks an entry against them before a build uses it, so bytes changed on
/// disk after the commit (a bad disk, a stray edit) make a rebuild, not a wrong image.

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "base/flock.h"
#include "base/result.h"
#include "base/tree_index.h"

namespace imager::engine {

enum class OutputKind { kLayer, kArtifact };
const char* KindName(OutputKind kind);  // "layer" / "artifact"

/// What an entry's meta.json records.
struct EntryMeta {
  std::string key;
  std::string stage;
  OutputKind kind = OutputKind::kLayer;
  int64_t created = 0;  // unix seconds
  uint64_t size = 0;    // bytes of content (apparent size, hard links once)
  std::vector<std::string> parents;
  std::string profile;
  std::string digest;           // TreeIndex::Digest() of the data at commit
  bool indexed_in_ids = false;  // the index was made inside the id mapping (see IndexFunction)
};

/// Indexes the data directory `dir`. `*in_ids` says whether to index it from inside the build's id
/// mapping: on entry what the commit recorded (false at commit: try outside first), on return
/// where it was done. The default indexes in this process and cannot go inside.
using IndexFunction = std::function<Result<TreeIndex>(const std::string& dir,
                                                      const TreeIndex* previous, bool* in_ids)>;

/// A committed entry. last_used is the mtime of its meta.json, which every cache hit touches.
struct Entry {
  EntryMeta meta;
  std::string path;      // ROOT/layers/KEY
  std::string data_dir;  // path + "/tree" (layer) or "/files" (artifacts)
  int64_t last_used = 0;
};

/// A key reserved for building: owns the key's lock and a private temporary entry. Commit
/// publishes it atomically; destroying an uncommitted Slot deletes the temporary entry.
class Slot {
 public:
  Slot(Slot&& o) noexcept { *this = std::move(o); }
  Slot& operator=(Slot&& o) noexcept;
  ~Slot();

  const std::string& key() const { return key_; }
  const std::string& output_dir() const { return output_dir_; }
  /// Empty directory on the cache's filesystem, deleted after the slot ends.
  const std::string& scratch_dir() const { return scratch_dir_; }
  /// Writes meta.json (key and kind are the slot's; created and size are filled in), syncs, and
  /// renames the entry into place, retiring an older entry of the same key to the trash.
  Result<Entry> Commit(EntryMeta meta);

 private:
  friend class Cache;
  Slot() = default;
  void Discard();

  std::string root_, key_, tmp_, output_dir_, scratch_dir_;
  OutputKind kind_ = OutputKind::kLayer;
  bool durable_ = true;
  std::function<Status(const std::string&)> remove_tree_;
  IndexFunction index_tree_;
  FileLock lock_;
};

/// What Cache::Reserve found: the committed entry, or a slot this process must build into.
struct Claim {
  std::optional<Entry> entry;
  std::optional<Slot> slot;
};

/// Disk use by area, for `imager cache du`.
struct CacheUsage {
  size_t layers = 0, artifacts = 0;  // entry counts
  uint64_t layer_bytes = 0, artifact_bytes = 0, tmp_bytes = 0, trash_bytes = 0;
};

class Cache {
 public:
  enum class Access {
    kRead,   // no lock: ls, du, dry runs
    kBuild,  // shared cache lock; may Reserve keys
    kPrune,  // exclusive cache lock (waits for running builds); may Remove entries
  };
  struct Options {
    bool durable = true;  // syncfs before each commit (tests may skip it)
    bool wait = true;     // false: fail at once when the cache lock is taken
    std::function<void(const std::string&)> on_wait;  // told why Open is about to block
    /// Deletes a tree; the default is RemoveTree, which cannot delete files a sandboxed build
    /// gave to subordinate ids: builds pass one that removes from inside the id mapping.
    std::function<Status(const std::string&)> remove_tree;
    /// Indexes an entry's data for its integrity check; builds pass one that can index from
    /// inside the id mapping, where files owned by subordinate ids can be read.
    IndexFunction index_tree;
  };

  /// Opens (creating) the cache at `root`; with kBuild or kPrune also deletes what dead builds
  /// left in tmp/ and, when no build runs, the trash.
  static Result<Cache> Open(const std::string& root, Access access, Options options);
  static Result<Cache> Open(const std::string& root, Access access) {
    return Open(root, access, Options());
  }

  const std::string& root() const { return root_; }

  /// The committed entry for `key`, if there is a complete one.
  std::optional<Entry> Find(const std::string& key, OutputKind kind) const;
  /// Records a use of the entry now (prune keeps the most recently used).
  void Touch(const Entry& entry) const;
  /// Checks the entry's data against the index its commit recorded; the error says what changed
  /// ("usr/bin/ls: content changed"). Refreshes the index's fingerprints when only they moved.
  Status Verify(const Entry& entry) const;
  /// The entry when it is committed; otherwise takes the key's lock (first calling `on_wait` if
  /// another process holds it, i.e. is building it), looks again, and returns a slot to build
  /// into. With `force` it always returns a slot (a rebuild). Needs kBuild.
  Result<Claim> Reserve(const std::string& key, OutputKind kind, bool force,
                        const std::function<void()>& on_wait = {}) const;

  /// Every committed entry, by stage name, most recently used first.
  Result<std::vector<Entry>> List() const;
  Result<CacheUsage> Usage() const;
  /// Takes an entry out of view (atomically) and deletes it. Needs kPrune.
  Status Remove(const Entry& entry) const;

 private:
  Status Prepare();
  Result<FileLock> LockCache(bool* exclusive) const;
  void CleanTmp() const;
  Status RemoveDir(const std::string& path) const;
  void EmptyTrash() const;
  Status RemoveLockFiles() const;
  std::string LockPath(const std::string& key) const;
  Result<Claim> NewSlot(const std::string& key, OutputKind kind, FileLock lock) const;

  std::string root_;
  Access access_ = Access::kRead;
  Options options_;
  FileLock lock_;
};

/// The entries that `prune --keep-last N` deletes: for each (profile, stage name), all but the
/// `keep_last` most recently used.
std::vector<Entry> SelectForPrune(std::vector<Entry> entries, size_t keep_last);

/// Apparent size of a tree (hard links counted once); unreadable parts are skipped.
uint64_t TreeSize(const std::string& path);

}  // namespace imager::engine
