// SPDX-License-Identifier: GPL-3.0-or-later
#include "engine/cache.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <ctime>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <utility>

#include "base/fd.h"
#include "base/fs.h"
#include "base/log.h"
#include "base/sha256.h"

namespace imager::engine {
namespace {

constexpr const char* kMeta = "meta.json";
constexpr const char* kIndex = "index";
constexpr const char* kSubuidHint =
    " (a sandboxed build may have created files under a subordinate uid, which your own uid "
    "cannot delete; delete them from a user namespace that maps your range, e.g. 'podman "
    "unshare rm -rf PATH'; 'imager cache prune' removes them through its sandbox)";

const char* AreaDir(OutputKind kind) { return kind == OutputKind::kLayer ? "layers" : "artifacts"; }
const char* DataName(OutputKind kind) { return kind == OutputKind::kLayer ? "tree" : "files"; }

bool IsKey(std::string_view s) { return IsSha256Hex(s); }

Status EnsureDir(const std::string& path) {
  if (mkdir(path.c_str(), 0755) != 0 && errno != EEXIST) return ErrnoError("create " + path);
  return {};
}

// The names in `dir`, sorted; nothing when it cannot be read.
std::vector<std::string> ListNames(const std::string& dir) {
  auto names = ListDir(dir);
  return names ? *names : std::vector<std::string>{};
}

Status FsyncPath(const std::string& path) {
  UniqueFd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return ErrnoError("open " + path);
  if (fsync(fd.get()) != 0) return ErrnoError("fsync " + path);
  return {};
}

// Flushes the whole filesystem holding `path`: one call instead of an fsync per file of a tree.
Status SyncFilesystem(const std::string& path) {
  UniqueFd fd(open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd.valid()) return ErrnoError("open " + path);
  if (syncfs(fd.get()) != 0) return ErrnoError("syncfs " + path);
  return {};
}

std::string MetaToJson(const EntryMeta& m) {
  nlohmann::json j = {{"format", 1},          {"key", m.key},
                      {"stage", m.stage},     {"kind", KindName(m.kind)},
                      {"created", m.created}, {"size", m.size},
                      {"parents", m.parents}, {"profile", m.profile},
                      {"digest", m.digest},   {"indexed_in_ids", m.indexed_in_ids}};
  return j.dump(2) + "\n";
}

Result<EntryMeta> MetaFromJson(const std::string& text) {
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (j.is_discarded()) return Error{"not JSON"};
  try {
    EntryMeta m;
    m.key = j.at("key").get<std::string>();
    m.stage = j.at("stage").get<std::string>();
    std::string kind = j.at("kind").get<std::string>();
    if (kind != "layer" && kind != "artifact") return Error{"unknown kind '" + kind + "'"};
    m.kind = kind == "layer" ? OutputKind::kLayer : OutputKind::kArtifact;
    m.created = j.at("created").get<int64_t>();
    m.size = j.at("size").get<uint64_t>();
    m.parents = j.at("parents").get<std::vector<std::string>>();
    m.profile = j.value("profile", "");
    m.digest = j.value("digest", "");
    m.indexed_in_ids = j.value("indexed_in_ids", false);
    return m;
  } catch (const nlohmann::json::exception& e) {
    return Error{e.what()};
  }
}

// An entry directory counts only when its meta.json names it and its data directory exists.
std::optional<Entry> ReadEntry(const std::string& path, const std::string& key) {
  auto text = ReadFile(path + "/" + kMeta);
  if (!text) return std::nullopt;
  auto meta = MetaFromJson(*text);
  if (!meta || meta->key != key) return std::nullopt;
  Entry e{std::move(*meta), path, path + "/" + DataName(meta->kind), 0};
  struct stat st;
  if (stat((path + "/" + kMeta).c_str(), &st) != 0) return std::nullopt;
  e.last_used = st.st_mtime;
  if (stat(e.data_dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) return std::nullopt;
  return e;
}

// Moves `path` (if present) into ROOT/trash under a fresh name; deleted later, when no build runs.
Result<std::string> Retire(const std::string& root, const std::string& path,
                           const std::string& key) {
  struct stat st;
  if (lstat(path.c_str(), &st) != 0) return std::string();
  auto dest = MakeTempDir(root + "/trash", key + "." + std::to_string(getpid()) + ".");
  if (!dest) return dest.take_error();
  if (rename(path.c_str(), dest->c_str()) != 0) {
    int err = errno;
    rmdir(dest->c_str());
    return ErrnoError("move " + path + " to the trash", err);
  }
  return dest;
}

void SumSizes(int dir_fd, std::set<std::pair<dev_t, ino_t>>* seen, uint64_t* total) {
  DIR* d = fdopendir(dup(dir_fd));
  if (!d) return;
  while (dirent* e = readdir(d)) {
    std::string n = e->d_name;
    struct stat st;
    if (n == "." || n == ".." || fstatat(dir_fd, n.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0)
      continue;
    if (S_ISDIR(st.st_mode)) {
      UniqueFd sub(openat(dir_fd, n.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      if (sub.valid()) SumSizes(sub.get(), seen, total);
    } else if (st.st_nlink < 2 || seen->emplace(st.st_dev, st.st_ino).second) {
      *total += static_cast<uint64_t>(st.st_size);
    }
  }
  closedir(d);
}

}  // namespace

const char* KindName(OutputKind kind) { return kind == OutputKind::kLayer ? "layer" : "artifact"; }

uint64_t TreeSize(const std::string& path) {
  UniqueFd fd(open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd.valid()) return 0;
  std::set<std::pair<dev_t, ino_t>> seen;
  uint64_t total = 0;
  SumSizes(fd.get(), &seen, &total);
  return total;
}

// ---- Slot ----------------------------------------------------------------------------------

Slot::~Slot() { Discard(); }

Slot& Slot::operator=(Slot&& o) noexcept {
  if (this == &o) return *this;
  Discard();
  root_ = std::move(o.root_);
  key_ = std::move(o.key_);
  tmp_ = std::exchange(o.tmp_, {});
  output_dir_ = std::move(o.output_dir_);
  scratch_dir_ = std::exchange(o.scratch_dir_, {});
  kind_ = o.kind_;
  durable_ = o.durable_;
  remove_tree_ = std::move(o.remove_tree_);
  index_tree_ = std::move(o.index_tree_);
  lock_ = std::move(o.lock_);
  return *this;
}

void Slot::Discard() {
  for (std::string* dir : {&tmp_, &scratch_dir_}) {
    if (dir->empty()) continue;
    Status st = remove_tree_ ? remove_tree_(*dir) : RemoveTree(*dir);
    if (!st) log::Warn("discard: " + st.error() + kSubuidHint);
    dir->clear();
  }
  lock_.Release();
}

Result<Entry> Slot::Commit(EntryMeta meta) {
  if (tmp_.empty()) return Error{"commit " + key_ + ": the slot is no longer open"};
  meta.key = key_;
  meta.kind = kind_;
  meta.created = time(nullptr);
  bool in_ids = false;
  auto index = index_tree_(output_dir_, nullptr, &in_ids);
  if (!index) return Wrap("commit: index the entry", index.error());
  meta.size = index->ApparentSize();
  meta.digest = index->Digest();
  meta.indexed_in_ids = in_ids;
  if (auto st = WriteFile(tmp_ + "/" + kIndex, index->Serialize()); !st)
    return Wrap("commit", st.error());
  std::string area = root_ + "/" + AreaDir(kind_), final_path = area + "/" + key_;
  if (auto st = WriteFile(tmp_ + "/" + kMeta, MetaToJson(meta)); !st)
    return Wrap("commit", st.error());
  if (durable_) {
    if (auto st = SyncFilesystem(tmp_); !st) return Wrap("commit", st.error());
  }
  if (auto old = Retire(root_, final_path, key_); !old) return Wrap("commit", old.error());
  if (rename(tmp_.c_str(), final_path.c_str()) != 0)
    return ErrnoError("commit: rename " + tmp_ + " to " + final_path);
  tmp_.clear();
  if (durable_) {
    if (auto st = FsyncPath(area); !st) return Wrap("commit", st.error());
  }
  Discard();
  return Entry{std::move(meta), final_path, final_path + "/" + DataName(kind_),
               static_cast<int64_t>(time(nullptr))};
}

// ---- Cache ---------------------------------------------------------------------------------

Result<Cache> Cache::Open(const std::string& root, Access access, Options options) {
  Cache cache;
  cache.root_ = root;
  cache.access_ = access;
  cache.options_ = std::move(options);
  if (!cache.options_.index_tree)
    cache.options_.index_tree = [](const std::string& dir, const TreeIndex* previous,
                                   bool* in_ids) -> Result<TreeIndex> {
      if (*in_ids) return Error{"it was indexed inside an id mapping, which this process lacks"};
      return IndexTree(dir, previous);
    };
  if (auto st = cache.Prepare(); !st) return Wrap("cache " + root, st.error());
  return cache;
}

Result<FileLock> Cache::LockCache(bool* exclusive) const {
  std::string path = root_ + "/lock";
  auto lock = FileLock::TryAcquire(path, FileLock::Mode::kExclusive);
  *exclusive = lock && lock->held();
  if (!lock || lock->held()) return lock;
  bool prune = access_ == Access::kPrune;
  auto mode = prune ? FileLock::Mode::kExclusive : FileLock::Mode::kShared;
  if (!prune) {
    lock = FileLock::TryAcquire(path, mode);
    if (!lock || lock->held()) return lock;
  }
  if (!options_.wait)
    return Error{prune ? "in use by a running build; try again when it has finished"
                       : "being pruned by another imager process; try again later"};
  *exclusive = prune;
  return FileLock::Acquire(path, mode, [&] {
    if (options_.on_wait)
      options_.on_wait(prune ? "waiting for running builds to finish"
                             : "waiting for another imager process to finish pruning the cache");
  });
}

Status Cache::Prepare() {
  if (access_ == Access::kRead) return {};
  // A new cache is the user's alone (as podman's storage): its layers hold set-id programs
  // and files the image gives to other users, which nobody else should reach through it.
  struct stat before;
  const bool existed = stat(root_.c_str(), &before) == 0;
  if (auto st = MakeDirs(root_); !st) return st;
  if (!existed && chmod(root_.c_str(), 0700) != 0) return ErrnoError("chmod 0700 " + root_);
  for (const char* sub : {"locks", "tmp", "layers", "artifacts", "trash"})
    if (auto st = EnsureDir(root_ + "/" + sub); !st) return st;
  bool exclusive = false;
  auto lock = LockCache(&exclusive);
  if (!lock) return lock.take_error();
  lock_ = std::move(*lock);
  if (exclusive) {
    // Nobody else uses the cache: retired entries and lock files can go.
    EmptyTrash();
    if (auto st = RemoveLockFiles(); !st) return st;
    if (access_ == Access::kBuild) {
      if (auto st = lock_.Downgrade(); !st) return st;
    }
  }
  CleanTmp();
  return {};
}

Status Cache::RemoveDir(const std::string& path) const {
  return options_.remove_tree ? options_.remove_tree(path) : RemoveTree(path);
}

// Deletes tmp/ entries whose key nobody holds: their builder died.
void Cache::CleanTmp() const {
  for (const auto& name : ListNames(root_ + "/tmp")) {
    std::string key = name.substr(0, name.find('.'));
    if (!IsKey(key)) continue;
    auto lock = FileLock::TryAcquire(LockPath(key), FileLock::Mode::kExclusive);
    if (!lock || !lock->held()) continue;
    if (auto st = RemoveDir(root_ + "/tmp/" + name); !st)
      log::Warn("cache: leftover of an interrupted build: " + st.error() + kSubuidHint);
  }
}

void Cache::EmptyTrash() const {
  for (const auto& name : ListNames(root_ + "/trash"))
    if (auto st = RemoveDir(root_ + "/trash/" + name); !st)
      log::Warn("cache: emptying the trash: " + st.error() + kSubuidHint);
}

// Only while holding the cache exclusively: no process can be between opening and locking one.
Status Cache::RemoveLockFiles() const {
  for (const auto& name : ListNames(root_ + "/locks")) {
    std::string path = root_ + "/locks/" + name;
    if (unlink(path.c_str()) != 0 && errno != ENOENT) return ErrnoError("remove " + path);
  }
  return {};
}

std::string Cache::LockPath(const std::string& key) const {
  return root_ + "/locks/" + key + ".lock";
}

std::optional<Entry> Cache::Find(const std::string& key, OutputKind kind) const {
  if (!IsKey(key)) return std::nullopt;
  return ReadEntry(root_ + "/" + AreaDir(kind) + "/" + key, key);
}

void Cache::Touch(const Entry& entry) const {
  utimensat(AT_FDCWD, (entry.path + "/" + kMeta).c_str(), nullptr, 0);
}

Status Cache::Verify(const Entry& entry) const {
  if (entry.meta.digest.empty()) return Error{"it has no digest (an older imager wrote it)"};
  auto text = ReadFile(entry.path + "/" + kIndex);
  if (!text) return Error{"its index is unreadable: " + text.error()};
  auto before = TreeIndex::Parse(*text);
  if (!before) return Error{"its " + before.error()};
  if (before->Digest() != entry.meta.digest) return Error{"its index does not match its digest"};
  bool in_ids = entry.meta.indexed_in_ids;
  auto now = options_.index_tree(entry.data_dir, &*before, &in_ids);
  if (!now) return Error{"it could not be read: " + now.error()};
  if (now->Digest() != entry.meta.digest) return Error{DescribeChange(*before, *now)};
  // Same bytes, moved fingerprints (a copied cache, a hard link): remember them, or the next
  // build hashes those files again. Best effort: a read-only cache still verifies.
  std::string fresh = now->Serialize();
  if (access_ != Access::kRead && fresh != *text) {
    std::string tmp = entry.path + "/" + kIndex + "." + std::to_string(getpid());
    if (!WriteFile(tmp, fresh) || rename(tmp.c_str(), (entry.path + "/" + kIndex).c_str()) != 0)
      unlink(tmp.c_str());
  }
  return {};
}

Result<Claim> Cache::Reserve(const std::string& key, OutputKind kind, bool force,
                             const std::function<void()>& on_wait) const {
  if (access_ != Access::kBuild) return Error{"reserve: the cache is not open for building"};
  if (!IsKey(key)) return Error{"reserve: malformed key '" + key + "'"};
  if (!force) {
    if (auto e = Find(key, kind)) return Claim{std::move(e), std::nullopt};
  }
  auto lock = FileLock::Acquire(LockPath(key), FileLock::Mode::kExclusive, on_wait);
  if (!lock) return Wrap("reserve", lock.error());
  // Whoever held the lock may have just committed the key.
  if (!force) {
    if (auto e = Find(key, kind)) return Claim{std::move(e), std::nullopt};
  }
  return NewSlot(key, kind, std::move(*lock));
}

Result<Claim> Cache::NewSlot(const std::string& key, OutputKind kind, FileLock lock) const {
  Slot slot;
  slot.root_ = root_;
  slot.key_ = key;
  slot.kind_ = kind;
  slot.durable_ = options_.durable;
  slot.remove_tree_ = options_.remove_tree;
  slot.index_tree_ = options_.index_tree;
  slot.lock_ = std::move(lock);
  auto tmp = MakeTempDir(root_ + "/tmp", key + "." + std::to_string(getpid()) + ".");
  if (!tmp) return Wrap("reserve", tmp.error());
  slot.tmp_ = *tmp;
  slot.output_dir_ = slot.tmp_ + "/" + DataName(kind);
  if (auto st = EnsureDir(slot.output_dir_); !st) return Wrap("reserve", st.error());
  slot.scratch_dir_ = slot.tmp_ + ".scratch";
  if (auto st = EnsureDir(slot.scratch_dir_); !st) return Wrap("reserve", st.error());
  return Claim{std::nullopt, std::move(slot)};
}

Result<std::vector<Entry>> Cache::List() const {
  std::vector<Entry> entries;
  for (OutputKind kind : {OutputKind::kLayer, OutputKind::kArtifact}) {
    std::string area = root_ + "/" + AreaDir(kind);
    for (const auto& name : ListNames(area)) {
      if (!IsKey(name)) continue;
      if (auto e = ReadEntry(area + "/" + name, name)) entries.push_back(std::move(*e));
    }
  }
  std::sort(entries.begin(), entries.end(), [](const Entry& a, const Entry& b) {
    return std::tie(a.meta.stage, b.last_used, a.meta.key) <
           std::tie(b.meta.stage, a.last_used, b.meta.key);
  });
  return entries;
}

Result<CacheUsage> Cache::Usage() const {
  auto entries = List();
  if (!entries) return entries.take_error();
  CacheUsage u;
  for (const auto& e : *entries) {
    bool layer = e.meta.kind == OutputKind::kLayer;
    ++(layer ? u.layers : u.artifacts);
    (layer ? u.layer_bytes : u.artifact_bytes) += e.meta.size;
  }
  u.tmp_bytes = TreeSize(root_ + "/tmp");
  u.trash_bytes = TreeSize(root_ + "/trash");
  return u;
}

Status Cache::Remove(const Entry& entry) const {
  if (access_ != Access::kPrune) return Error{"remove: the cache is not open for pruning"};
  auto trash = Retire(root_, entry.path, entry.meta.key);
  if (!trash) return trash.take_error();
  if (trash->empty()) return {};  // already gone
  if (auto st = RemoveDir(*trash); !st) return Error{st.error() + kSubuidHint};
  return {};
}

std::vector<Entry> SelectForPrune(std::vector<Entry> entries, size_t keep_last) {
  std::map<std::pair<std::string, std::string>, std::vector<Entry>> groups;
  for (auto& e : entries) groups[{e.meta.profile, e.meta.stage}].push_back(std::move(e));
  std::vector<Entry> doomed;
  for (auto& [_, group] : groups) {
    std::sort(group.begin(), group.end(), [](const Entry& a, const Entry& b) {
      return std::tie(b.last_used, b.meta.created, a.meta.key) <
             std::tie(a.last_used, a.meta.created, b.meta.key);
    });
    for (size_t i = keep_last; i < group.size(); ++i) doomed.push_back(std::move(group[i]));
  }
  return doomed;
}

}  // namespace imager::engine
