// SPDX-License-Identifier: GPL-3.0-or-later
#include "formats/ext4.h"

#include <fcntl.h>
#include <ftw.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <set>

#include "base/fd.h"
#include "base/fs.h"
#include "base/owner_record.h"
#include "base/strings.h"

extern char** environ;

namespace imager::formats::ext4 {
namespace {

constexpr uint64_t kBlock = 4096;
constexpr uint64_t kMiB = 1 << 20;

// The features and sizes of the filesystem, fixed here rather than taken from the host's
// /etc/mke2fs.conf (what e2fsprogs' Debian 12 defaults for ext4 are).
constexpr const char* kConfig =
    "[defaults]\n"
    "\tbase_features = sparse_super,large_file,filetype,resize_inode,dir_index,ext_attr\n"
    "\tdefault_mntopts = acl,user_xattr\n"
    "\tenable_periodic_fsck = 0\n"
    "\tblocksize = 4096\n"
    "\tinode_size = 256\n"
    "\tinode_ratio = 16384\n"
    "[fs_types]\n"
    "\text4 = {\n"
    "\t\tfeatures = has_journal,extent,huge_file,flex_bg,metadata_csum,64bit,dir_nlink,"
    "extra_isize\n"
    "\t}\n";

// Runs argv (found in PATH) with `env` added to the environment; its output goes to ours
// (standard output to /dev/null when `quiet`: debugfs echoes every command; standard error to
// the file `errors` when given).
Status Run(const std::vector<std::string>& argv, const std::vector<std::string>& env,
           bool quiet = false, const std::string& errors = "") {
  std::vector<std::string> envs = env;
  for (char** e = environ; *e; ++e) envs.emplace_back(*e);
  std::vector<char*> a, e;
  for (const auto& s : argv) a.push_back(const_cast<char*>(s.c_str()));
  for (const auto& s : envs) e.push_back(const_cast<char*>(s.c_str()));
  a.push_back(nullptr);
  e.push_back(nullptr);
  pid_t pid;
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  if (quiet) posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
  // Not O_CLOEXEC: the child opens it as its descriptor 2 (glibc closes 2 first).
  if (!errors.empty())
    posix_spawn_file_actions_addopen(&actions, 2, errors.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                     0600);
  // Child: the e2fsprogs tool, in this sandbox, with our descriptors 0-2.
  int err = posix_spawnp(&pid, a[0], &actions, nullptr, a.data(), e.data());
  posix_spawn_file_actions_destroy(&actions);
  if (err != 0) {
    errno = err;
    return ErrnoError("run " + argv[0]);
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0)
    if (errno != EINTR) return ErrnoError("wait for " + argv[0]);
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return {};
  return Error{Join(argv, " ") + ": " +
               (WIFEXITED(status) ? "exit status " + std::to_string(WEXITSTATUS(status))
                                  : "signal " + std::to_string(WTERMSIG(status)))};
}

// debugfs -f exits 0 whatever its commands did: what it printed on standard error besides its
// version banner ("debugfs 1.47.0 (5-Feb-2023)") is a command that failed.
Status DebugfsErrors(const std::string& errors_file) {
  auto text = ReadFile(errors_file);
  if (!text) return text.take_error();
  std::vector<std::string> failed;
  for (const auto& raw : Split(*text, '\n')) {
    std::string line(Trim(raw));
    if (!line.empty() && !(failed.empty() && StartsWith(line, "debugfs ") && line.ends_with(")")))
      failed.push_back(line);
  }
  if (failed.empty()) return {};
  return Error{"debugfs could not finish the ext4 image: " + Join(failed, "; ")};
}

// debugfs commands take a path in double quotes, without escapes.
constexpr char kUnquotable[] =
    "': its name has a quote, backslash or newline, which debugfs cannot be given";
bool Quotable(const std::string& path) { return path.find_first_of("\"\n\\") == std::string::npos; }

uint32_t Le32(const std::string& s, size_t off) {
  return static_cast<uint32_t>(static_cast<uint8_t>(s[off]) |
                               static_cast<uint8_t>(s[off + 1]) << 8 |
                               static_cast<uint8_t>(s[off + 2]) << 16 |
                               static_cast<uint32_t>(static_cast<uint8_t>(s[off + 3])) << 24);
}

Result<std::string> ReadAt(int fd, uint64_t offset, size_t size) {
  std::string buf(size, '\0');
  size_t done = 0;
  while (done < size) {
    ssize_t n = pread(fd, buf.data() + done, size - done, static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return ErrnoError("read the ext4 image");
    done += static_cast<size_t>(n);
  }
  return buf;
}

Content* measuring = nullptr;
size_t measuring_root = 0;  // length of the root's path, cut from every path
int64_t measuring_newer = 0;
std::set<std::pair<dev_t, ino_t>>* seen_links = nullptr;

int MeasureOne(const char* path, const struct stat* st, int, struct FTW*) {
  std::string rel = path + measuring_root;
  if (rel.empty()) rel = "/";
  if (st->st_mtim.tv_sec > measuring_newer) measuring->newer.push_back(rel);
  if (st->st_nlink > 1 && !S_ISDIR(st->st_mode) &&
      !seen_links->insert({st->st_dev, st->st_ino}).second)
    return 0;  // a hard link: its inode and data were counted (and its owner)
  if (S_ISREG(st->st_mode) || S_ISDIR(st->st_mode))
    if (auto owner = ReadOwnerRecord(path)) measuring->recorded.push_back({rel, *owner});
  measuring->inodes++;
  // A directory as one block: its st_size depends on the history of the filesystem it is on
  // (two builds of the same tree would get different sizes); the margin covers large ones.
  if (S_ISDIR(st->st_mode))
    measuring->bytes += kBlock;
  else if (S_ISREG(st->st_mode) || (S_ISLNK(st->st_mode) && st->st_size > 59))
    measuring->bytes += (static_cast<uint64_t>(st->st_size) + kBlock - 1) / kBlock * kBlock;
  return 0;
}

}  // namespace

uint64_t Content::FilesystemSize() const {
  // Data and a fifth more, inode tables for twice the entries, the journal (64 MiB at this
  // size), 64 MiB to spare, and the 5% reserved for root.
  uint64_t need = bytes + bytes / 5 + inodes * 2 * 256 + 64 * kMiB + 64 * kMiB;
  need = need / 95 * 100;
  return (need + kMiB - 1) / kMiB * kMiB;
}

Result<Content> Measure(const std::string& root, int64_t newer_than) {
  Content c;
  std::set<std::pair<dev_t, ino_t>> links;
  measuring = &c;
  measuring_root = root.size() - (root.ends_with('/') ? 1 : 0);
  measuring_newer = newer_than;
  seen_links = &links;
  int r = nftw(root.c_str(), MeasureOne, 64, FTW_PHYS | FTW_MOUNT);
  measuring = nullptr;
  seen_links = nullptr;
  if (r != 0) return ErrnoError("walk " + root);
  return c;
}

Result<std::vector<uint32_t>> UsedInodes(const std::string& image, uint32_t first) {
  UniqueFd fd(open(image.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return ErrnoError("open " + image);
  auto sb = ReadAt(fd.get(), 1024, 1024);
  if (!sb) return sb.take_error();
  if (static_cast<uint8_t>((*sb)[56]) != 0x53 || static_cast<uint8_t>((*sb)[57]) != 0xef)
    return Error{image + " is not an ext2/3/4 filesystem"};
  const uint32_t inodes = Le32(*sb, 0), first_data = Le32(*sb, 20);
  const uint64_t block = uint64_t{1024} << Le32(*sb, 24);
  const uint32_t per_group = Le32(*sb, 40);
  const bool is64 = Le32(*sb, 96) & 0x80;
  const uint32_t desc_size =
      is64 ? (static_cast<uint8_t>((*sb)[254]) | static_cast<uint8_t>((*sb)[255]) << 8) : 32;
  if (per_group == 0 || desc_size < 32) return Error{image + ": a damaged superblock"};
  const uint32_t groups = (inodes + per_group - 1) / per_group;
  auto descs = ReadAt(fd.get(), (first_data + 1) * block, size_t{groups} * desc_size);
  if (!descs) return descs.take_error();
  std::vector<uint32_t> used;
  for (uint32_t g = 0; g < groups; ++g) {
    const size_t d = size_t{g} * desc_size;
    const uint16_t flags = static_cast<uint16_t>(static_cast<uint8_t>((*descs)[d + 0x12]) |
                                                 static_cast<uint8_t>((*descs)[d + 0x13]) << 8);
    if (flags & 0x1) continue;  // EXT4_BG_INODE_UNINIT: none in use
    uint64_t bitmap = Le32(*descs, d + 4);
    if (desc_size >= 64) bitmap |= uint64_t{Le32(*descs, d + 0x24)} << 32;
    auto bits = ReadAt(fd.get(), bitmap * block, per_group / 8);
    if (!bits) return bits.take_error();
    for (uint32_t i = 0; i < per_group; ++i)
      if (static_cast<uint8_t>((*bits)[i / 8]) & (1u << (i % 8))) {
        uint32_t ino = g * per_group + i + 1;
        if (ino >= first) used.push_back(ino);
      }
  }
  return used;
}

Result<WriteStats> Write(const WriteOptions& o) {
  auto content = Measure(o.root, o.source_date_epoch);
  if (!content) return content.take_error();
  WriteStats stats{.bytes = o.size ? o.size : content->FilesystemSize(),
                   .content_bytes = content->bytes,
                   .inodes = content->inodes};
  if (o.size && o.size < content->FilesystemSize())
    return Error{"the root filesystem needs about " +
                 std::to_string(content->FilesystemSize() / kMiB) + " MiB for " +
                 std::to_string(content->bytes / kMiB) + " MiB of files, but only " +
                 std::to_string(o.size / kMiB) + " MiB are left for it on the disk"};
  const uint64_t inode_count =
      std::max<uint64_t>(stats.bytes / 16384, content->inodes + content->inodes / 2 + 1024);
  const std::string config = o.output + ".mke2fs.conf";
  if (auto st = WriteFile(config, kConfig); !st) return st.take_error();
  const std::string epoch = std::to_string(o.source_date_epoch);
  const std::vector<std::string> env = {"MKE2FS_CONFIG=" + config, "E2FSPROGS_FAKE_TIME=" + epoch,
                                        "SOURCE_DATE_EPOCH=" + epoch};
  (void)unlink(o.output.c_str());
  auto st = Run(
      {"mke2fs", "-q", "-F", "-t", "ext4", "-N", std::to_string(inode_count), "-L", o.label, "-U",
       o.uuid, "-E", "hash_seed=" + o.hash_seed + ",root_owner=0:0,nodiscard,lazy_itable_init=0",
       "-d", o.root, o.output, std::to_string(stats.bytes / 1024) + "k"},
      env);
  (void)unlink(config.c_str());
  if (!st) return st.take_error();

  // mke2fs -d copied every inode's ctime and atime from the tree (the build's time).
  auto used = UsedInodes(o.output, 2);
  if (!used) return used.take_error();
  std::string script;
  for (uint32_t ino : *used) {
    if (ino > 2 && ino < 11) continue;  // reserved inodes other than the root: mke2fs's own
    std::string i = std::to_string(ino);
    script += "sif <" + i + "> ctime @" + epoch + "\nsif <" + i + "> atime @" + epoch + "\n";
  }
  // Modification times after SOURCE_DATE_EPOCH (files the build made) clamped to it, by path.
  for (const auto& path : content->newer) {
    if (!Quotable(path)) return Error{"cannot clamp the time of '" + path + kUnquotable};
    script += "sif \"" + path + "\" mtime @" + epoch + "\n";
  }
  // Recorded owners (single-id mode: mke2fs gave every file the caller's), and the record, which
  // mke2fs copied with the other attributes, removed.
  for (const auto& [path, owner] : content->recorded) {
    if (!Quotable(path)) return Error{"cannot set the owner of '" + path + kUnquotable};
    const std::string q = "\"" + path + "\"";
    script += "sif " + q + " uid " + std::to_string(owner.uid) + "\nsif " + q + " gid " +
              std::to_string(owner.gid) + "\nea_rm " + q + " " + kOwnerXattr + "\n";
  }
  const std::string script_file = o.output + ".debugfs", errors = o.output + ".debugfs-errors";
  if (auto w = WriteFile(script_file, script); !w) return w.take_error();
  st = Run({"debugfs", "-w", "-f", script_file, o.output}, env, /*quiet=*/true, errors);
  (void)unlink(script_file.c_str());
  if (st) st = DebugfsErrors(errors);
  (void)unlink(errors.c_str());
  if (!st) return st.take_error();
  return stats;
}

}  // namespace imager::formats::ext4
