// SPDX-License-Identifier: GPL-3.0-or-later
#include "oci/unpack.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <map>
#include <set>

#include "base/fd.h"
#include "base/fs.h"
#include "base/inroot.h"
#include "base/strings.h"
#include "formats/archive_util.h"

namespace imager::oci {
namespace {

using formats::ArchiveError;
using formats::ArchivePtr;

constexpr char kWhiteout[] = ".wh.";
constexpr char kOpaque[] = ".wh..wh..opq";

// "./a/b/" -> "a/b"; an error for empty, "..", or absolute names that climb.
Result<std::string> CleanName(const std::string& name, const std::string& origin) {
  std::vector<std::string> parts;
  for (const auto& p : Split(name, '/')) {
    if (p.empty() || p == ".") continue;
    if (p == "..") return Error{origin + ": entry '" + name + "' climbs out with '..'"};
    parts.push_back(p);
  }
  return parts.empty() ? std::string(".") : Join(parts, "/");
}

std::pair<std::string, std::string> SplitParent(const std::string& path) {
  size_t slash = path.rfind('/');
  if (slash == std::string::npos) return {"/", path};
  return {"/" + path.substr(0, slash), path.substr(slash + 1)};
}

// Removes `name` in the open directory `dir` (a whole tree for a directory), never following
// symlinks; a missing name is not an error.
Status RemoveAt(int dir, const std::string& name, const std::string& shown) {
  struct stat st;
  if (fstatat(dir, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0)
    return errno == ENOENT ? Status{} : ErrnoError("stat " + shown);
  if (S_ISDIR(st.st_mode)) {
    UniqueFd sub(openat(dir, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!sub.valid()) return ErrnoError("open " + shown);
    auto names = ListDirFd(sub.get());
    if (!names) return names.take_error();
    for (const auto& n : *names)
      if (auto s = RemoveAt(sub.get(), n, shown + "/" + n); !s) return s;
  }
  if (unlinkat(dir, name.c_str(), S_ISDIR(st.st_mode) ? AT_REMOVEDIR : 0) != 0)
    return ErrnoError("remove " + shown);
  return {};
}

Result<ArchivePtr> OpenLayer(const std::string& file) {
  ArchivePtr in(archive_read_new(), archive_read_free);
  archive_read_support_format_tar(in.get());
  archive_read_support_filter_all(in.get());
  if (archive_read_open_filename(in.get(), file.c_str(), 1 << 16) != ARCHIVE_OK)
    return ArchiveError("open " + file, in.get());
  return in;
}

struct Whiteouts {
  std::set<std::string> opaque;   // directories to empty, relative to dest
  std::set<std::string> removed;  // paths to remove, relative to dest
};

// Pass 1: the layer's whiteouts, which apply to lower layers only (image-spec layer.md).
Result<Whiteouts> CollectWhiteouts(const std::string& file, const std::string& origin) {
  auto in = OpenLayer(file);
  if (!in) return in.take_error();
  Whiteouts w;
  archive_entry* e = nullptr;
  int rc;
  while ((rc = archive_read_next_header(in->get(), &e)) == ARCHIVE_OK || rc == ARCHIVE_WARN) {
    auto path = formats::EntryPath(e, origin);
    if (!path) return path.take_error();
    auto name = CleanName(*path, origin);
    if (!name) return name.take_error();
    auto [parent, base] = SplitParent(*name);
    if (base == kOpaque)
      w.opaque.insert(parent);
    else if (StartsWith(base, kWhiteout))
      w.removed.insert((parent == "/" ? "" : parent) + "/" + base.substr(4));
  }
  if (rc != ARCHIVE_EOF) return ArchiveError(origin, in->get());
  return w;
}

Status ApplyWhiteouts(const Whiteouts& w, const std::string& dest, const std::string& origin,
                      UnpackReport* report) {
  auto root = InRoot::Open(dest);
  if (!root) return root.take_error();
  for (const auto& dir : w.opaque) {
    ++report->whiteouts;
    if (!root->Exists(dir)) continue;
    auto fd = root->Dir(dir, false);
    if (!fd) return Error{origin + ": opaque directory " + dir + ": " + fd.error()};
    auto names = ListDirFd(fd->get());
    if (!names) return names.take_error();
    for (const auto& n : *names)
      if (auto st = RemoveAt(fd->get(), n, dest + dir + "/" + n); !st) return st;
  }
  for (const auto& path : w.removed) {
    ++report->whiteouts;
    auto [parent, base] = SplitParent(path.substr(1));
    if (!root->Exists(parent)) continue;
    auto fd = root->Dir(parent, false);
    if (!fd) return Error{origin + ": whiteout " + path + ": " + fd.error()};
    if (auto st = RemoveAt(fd->get(), base, dest + path); !st) return st;
  }
  return {};
}

// What a regular file or directory entry asked for.
struct Wanted {
  RecordedOwner owner;
  mode_t mode = 0;
};

// Pass 3: the owners the layer gives that could not be set (single-id mode: no id but 0 exists;
// libarchive also took the set-id bits off) are recorded (base/owner_record.h) and the entry's
// mode restored; an owner that was set clears a record left by a lower layer.
Status RecordOwners(const std::map<std::string, Wanted>& wanted, const std::string& dest,
                    const std::string& origin, UnpackReport* report) {
  auto root = InRoot::Open(dest);
  if (!root) return root.take_error();
  for (const auto& [name, w] : wanted) {
    const std::string path = "/" + name;
    auto f = root->Lstat(path);
    if (!f) return f.take_error();
    if (!*f || (!S_ISREG((*f)->st.st_mode) && !S_ISDIR((*f)->st.st_mode))) continue;
    const RecordedOwner has{(*f)->st.st_uid, (*f)->st.st_gid};
    Status st;
    if (has != w.owner) {
      st = root->RecordOwner(path, w.owner, w.mode);
      ++report->recorded_owners;
    } else if ((*f)->record && *(*f)->record != w.owner) {
      // A stale record of a lower layer (in single-id mode the stat above already shows the
      // record the sandbox just made: that one is the owner and stays).
      st = root->RecordOwner(path, std::nullopt, w.mode);
    }
    if (!st) return Error{origin + ": " + name + ": " + st.error()};
  }
  return {};
}

// Pass 2: every entry but the whiteouts, with owners, modes, times and xattrs.
Status Extract(const std::string& file, const std::string& origin, const std::string& dest,
               UnpackReport* report) {
  auto in = OpenLayer(file);
  if (!in) return in.take_error();
  ArchivePtr out(archive_write_disk_new(), archive_write_free);
  archive_write_disk_set_options(
      out.get(), ARCHIVE_EXTRACT_OWNER | ARCHIVE_EXTRACT_PERM | ARCHIVE_EXTRACT_TIME |
                     ARCHIVE_EXTRACT_XATTR | ARCHIVE_EXTRACT_ACL | ARCHIVE_EXTRACT_UNLINK |
                     ARCHIVE_EXTRACT_SECURE_SYMLINKS | ARCHIVE_EXTRACT_SECURE_NODOTDOT);
  std::map<std::string, Wanted> wanted;  // by name; the last entry of a name wins
  archive_entry* e = nullptr;
  int rc;
  while ((rc = archive_read_next_header(in->get(), &e)) == ARCHIVE_OK || rc == ARCHIVE_WARN) {
    auto path = formats::EntryPath(e, origin);
    if (!path) return path.take_error();
    auto name = CleanName(*path, origin);
    if (!name) return name.take_error();
    if (StartsWith(SplitParent(*name).second, kWhiteout)) continue;
    mode_t type = archive_entry_filetype(e);
    wanted.erase(*name);
    if ((type == AE_IFREG || type == AE_IFDIR) && !archive_entry_hardlink(e))
      wanted[*name] = {{static_cast<uint32_t>(archive_entry_uid(e)),
                        static_cast<uint32_t>(archive_entry_gid(e))},
                       archive_entry_mode(e)};
    if (type == AE_IFCHR || type == AE_IFBLK) {
      report->skipped_devices.push_back(*name);  // mknod is not allowed in a user namespace
      continue;
    }
    // libarchive would replace `dest` itself by a file or link named "." (ARCHIVE_EXTRACT_UNLINK).
    if (*name == "." && (type != AE_IFDIR || archive_entry_hardlink(e)))
      return Error{origin + ": entry '" + *path + "' would replace the root directory"};
    archive_entry_set_pathname(e, (dest + "/" + *name).c_str());
    if (const char* hl = archive_entry_hardlink(e)) {
      auto target = CleanName(hl, origin);
      if (!target) return target.take_error();
      archive_entry_set_hardlink(e, (dest + "/" + *target).c_str());
    }
    if (archive_write_header(out.get(), e) < ARCHIVE_WARN)
      return ArchiveError(origin + ": " + *name, out.get());
    const void* buf;
    size_t size;
    la_int64_t offset;
    while ((rc = archive_read_data_block(in->get(), &buf, &size, &offset)) == ARCHIVE_OK)
      if (archive_write_data_block(out.get(), buf, size, offset) < ARCHIVE_OK)
        return ArchiveError(origin + ": " + *name, out.get());
    if (rc < ARCHIVE_WARN) return ArchiveError(origin + ": " + *name, in->get());
    if (archive_write_finish_entry(out.get()) < ARCHIVE_WARN)
      return ArchiveError(origin + ": " + *name, out.get());
    ++report->entries;
  }
  if (rc != ARCHIVE_EOF) return ArchiveError(origin, in->get());
  if (archive_write_close(out.get()) != ARCHIVE_OK) return ArchiveError(dest, out.get());
  return RecordOwners(wanted, dest, origin, report);
}

}  // namespace

Result<UnpackReport> ApplyLayer(const std::string& file, const std::string& origin,
                                const std::string& dest) {
  UnpackReport report;
  auto w = CollectWhiteouts(file, origin);
  if (!w) return w.take_error();
  if (auto st = ApplyWhiteouts(*w, dest, origin, &report); !st) return st.take_error();
  if (auto st = Extract(file, origin, dest, &report); !st) return st.take_error();
  return report;
}

Result<UnpackReport> Unpack(const Image& image, const std::string& dest) {
  UnpackReport total;
  for (const auto& l : image.layers) {
    auto r = ApplyLayer(BlobPath(image.dir, l.digest), "layer " + l.digest, dest);
    if (!r) return r.take_error();
    total.entries += r->entries;
    total.whiteouts += r->whiteouts;
    total.recorded_owners += r->recorded_owners;
    total.skipped_devices.insert(total.skipped_devices.end(), r->skipped_devices.begin(),
                                 r->skipped_devices.end());
  }
  return total;
}

}  // namespace imager::oci
