// SPDX-License-Identifier: GPL-3.0-or-later
#include "formats/tar.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <locale.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <map>
#include <memory>
#include <optional>

#include "base/fd.h"
#include "base/fs.h"
#include "base/owner_record.h"
#include "base/strings.h"
#include "formats/archive_util.h"
#include "formats/devnodes.h"
#include "formats/gzip_writer.h"
#include "formats/xattrs.h"

namespace imager::formats::tar {
namespace {

using EntryPtr = std::unique_ptr<archive_entry, void (*)(archive_entry*)>;

bool IsGzip(const std::string& out) { return out.ends_with(".gz") || out.ends_with(".tgz"); }

// libarchive's filter for `out`'s suffix; none for .tar, and for .tar.gz, which GzipSink writes.
Status SetCompression(archive* a, const std::string& out) {
  int rc = ARCHIVE_OK;
  if (IsGzip(out))
    return {};
  else if (out.ends_with(".xz"))
    rc = archive_write_add_filter_xz(a);
  else if (out.ends_with(".zst"))
    rc = archive_write_add_filter_zstd(a);
  else if (!out.ends_with(".tar"))
    return Error{out + ": unknown tarball suffix (use .tar, .tar.gz, .tar.xz or .tar.zst)"};
  if (rc != ARCHIVE_OK) return ArchiveError("compression for " + out, a);
  return {};
}

// The tar stream of a .tar.gz into a GzipWriter (every core, libdeflate) instead of libarchive's
// zlib filter (one core): the tarball stage of a build waits for nothing else.
class GzipSink {
 public:
  explicit GzipSink(int fd) : gz_(fd, GzipWriter::Options{}) {}

  static la_ssize_t Write(archive* a, void* self, const void* data, size_t size) {
    auto st = static_cast<GzipSink*>(self)->gz_.Write(data, size);
    if (!st) {
      archive_set_error(a, EIO, "%s", st.error().c_str());
      return -1;
    }
    return static_cast<la_ssize_t>(size);
  }

  static int Close(archive* a, void* self) {
    auto st = static_cast<GzipSink*>(self)->gz_.Finish();
    if (!st) {
      archive_set_error(a, EIO, "%s", st.error().c_str());
      return ARCHIVE_FATAL;
    }
    return ARCHIVE_OK;
  }

 private:
  GzipWriter gz_;
};

Status AddXattrs(archive_entry* e, const std::string& path, bool all) {
  auto xattrs = all ? ReadAllXattrs(path) : ReadXattrs(path);
  if (!xattrs) return xattrs.take_error();
  for (const auto& x : *xattrs)
    archive_entry_xattr_add_entry(e, x.name.c_str(), x.value.data(), x.value.size());
  return {};
}

// The value of overlayfs' attribute `name` ("opaque", "whiteout") on `path`, under either prefix
// (user.overlay.* with the userxattr mount option that imager's sandbox uses; trusted.overlay.*
// otherwise); nullopt when absent or unreadable.
std::optional<std::string> OverlayXattr(const std::string& path, const char* name) {
  for (const char* prefix : {"user.overlay.", "trusted.overlay."}) {
    char value[8];
    ssize_t n = lgetxattr(path.c_str(), (std::string(prefix) + name).c_str(), value, sizeof value);
    if (n >= 0) return std::string(value, static_cast<size_t>(n));
    if (errno == ERANGE) return std::string();  // longer than any value overlayfs writes
  }
  return std::nullopt;
}

// An overlayfs whiteout: a 0:0 character device, or (Linux 6.7+) an empty file so marked.
bool IsWhiteout(const std::string& path, const struct stat& st) {
  if (S_ISCHR(st.st_mode)) return st.st_rdev == makedev(0, 0);
  return S_ISREG(st.st_mode) && st.st_size == 0 && OverlayXattr(path, "whiteout").has_value();
}

// "./a/b" -> "./a/" + prefix + "b".
std::string WithPrefix(const std::string& name, const char* prefix) {
  size_t slash = name.rfind('/');
  return name.substr(0, slash + 1) + prefix + name.substr(slash + 1);
}

constexpr char kWhiteoutPrefix[] = ".wh.";
constexpr char kOpaqueMarker[] = ".wh..wh..opq";

class Writer {
 public:
  Writer(archive* a, const WriteOptions& o) : a_(a), o_(o) {}

  Status Entry(const std::string& path, const std::string& name) {
    struct stat st;
    if (lstat(path.c_str(), &st) != 0) return ErrnoError("stat " + path);
    if (S_ISSOCK(st.st_mode)) return {};            // sockets do not belong in an image
    if (!o_.verbatim) ApplyOwnerRecord(path, &st);  // the owner in the image (single-id mode)
    // Before hard links: overlayfs links its whiteouts to one shared inode.
    if (o_.overlay_whiteouts && !o_.verbatim && IsWhiteout(path, st))
      return Marker(WithPrefix(name, kWhiteoutPrefix), st);
    EntryPtr e(archive_entry_new(), archive_entry_free);
    archive_entry_set_pathname(e.get(), name.c_str());
    archive_entry_copy_stat(e.get(), &st);
    archive_entry_set_uname(e.get(), "");
    archive_entry_set_gname(e.get(), "");
    archive_entry_unset_atime(e.get());
    archive_entry_unset_ctime(e.get());
    archive_entry_unset_birthtime(e.get());
    int64_t mtime = st.st_mtime;
    if (o_.source_date_epoch >= 0 && !o_.verbatim && mtime > o_.source_date_epoch)
      mtime = o_.source_date_epoch;
    archive_entry_set_mtime(e.get(), mtime, o_.verbatim ? st.st_mtim.tv_nsec : 0);
    archive_entry_set_ino(e.get(), 0);
    archive_entry_set_dev(e.get(), 0);
    if (!S_ISDIR(st.st_mode) && st.st_nlink > 1) {
      auto key = std::make_pair(st.st_dev, st.st_ino);
      auto it = links_.find(key);
      if (it != links_.end()) {
        archive_entry_set_hardlink(e.get(), it->second.c_str());
        archive_entry_set_size(e.get(), 0);
        return Header(e.get(), name);
      }
      links_[key] = name;
    }
    if (S_ISLNK(st.st_mode)) {
      std::string target(static_cast<size_t>(st.st_size) + 1, '\0');
      ssize_t n = readlink(path.c_str(), target.data(), target.size());
      if (n < 0) return ErrnoError("readlink " + path);
      target.resize(static_cast<size_t>(n));
      archive_entry_set_symlink(e.get(), target.c_str());
    }
    if (auto st2 = AddXattrs(e.get(), path, o_.verbatim); !st2) return st2;
    if (auto st2 = Header(e.get(), name); !st2) return st2;
    if (S_ISREG(st.st_mode)) return Data(path);
    if (S_ISDIR(st.st_mode) && o_.overlay_whiteouts && !o_.verbatim &&
        OverlayXattr(path, "opaque") == "y")
      return Marker(name + "/" + kOpaqueMarker, st);
    return {};
  }

  // An OCI whiteout entry: an empty regular file with the owner and mode of what marks it.
  Status Marker(const std::string& name, const struct stat& st) {
    EntryPtr e(archive_entry_new(), archive_entry_free);
    archive_entry_set_pathname(e.get(), name.c_str());
    archive_entry_set_filetype(e.get(), AE_IFREG);
    archive_entry_set_perm(e.get(), S_ISDIR(st.st_mode) ? 0 : st.st_mode & 07777);
    archive_entry_set_uid(e.get(), S_ISDIR(st.st_mode) ? 0 : st.st_uid);
    archive_entry_set_gid(e.get(), S_ISDIR(st.st_mode) ? 0 : st.st_gid);
    archive_entry_set_size(e.get(), 0);
    int64_t mtime = st.st_mtime;
    if (o_.source_date_epoch >= 0 && mtime > o_.source_date_epoch) mtime = o_.source_date_epoch;
    archive_entry_set_mtime(e.get(), mtime, 0);
    ++stats.whiteouts;
    return Header(e.get(), name);
  }

  Status Header(archive_entry* e, const std::string& name) {
    if (archive_write_header(a_, e) < ARCHIVE_OK) return ArchiveError("write " + name, a_);
    ++stats.entries;
    return {};
  }

  Status Data(const std::string& path) {
    UniqueFd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
    if (!fd.valid()) return ErrnoError("open " + path);
    char buf[1 << 16];
    for (;;) {
      ssize_t n = read(fd.get(), buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return ErrnoError("read " + path);
      if (n == 0) return {};
      if (archive_write_data(a_, buf, static_cast<size_t>(n)) < 0)
        return ArchiveError("write data of " + path, a_);
      stats.bytes += static_cast<uint64_t>(n);
    }
  }

  // A /dev entry the tree does not have (device nodes cannot exist in a rootless tree).
  Status DevEntry(const DevNode& d, const std::string& name) {
    EntryPtr e(archive_entry_new(), archive_entry_free);
    archive_entry_set_pathname(e.get(), name.c_str());
    archive_entry_set_perm(e.get(), d.mode);
    archive_entry_set_uid(e.get(), 0);
    archive_entry_set_gid(e.get(), 0);
    archive_entry_set_mtime(e.get(), o_.source_date_epoch >= 0 ? o_.source_date_epoch : 0, 0);
    if (d.type == DevNode::Type::kChar) {
      archive_entry_set_filetype(e.get(), AE_IFCHR);
      archive_entry_set_rdevmajor(e.get(), d.major);
      archive_entry_set_rdevminor(e.get(), d.minor);
    } else if (d.type == DevNode::Type::kSymlink) {
      archive_entry_set_filetype(e.get(), AE_IFLNK);
      archive_entry_set_symlink(e.get(), d.target.c_str());
    } else {
      archive_entry_set_filetype(e.get(), AE_IFDIR);
    }
    return Header(e.get(), name);
  }

  // Depth-first, names sorted bytewise: the same tree always gives the same archive.
  Status Tree(const std::string& dir, const std::string& name) {
    auto names = ListDir(dir);
    if (!names) return names.take_error();
    if (name == "./dev" && o_.dev_nodes && !o_.verbatim) return DevTree(dir, name, *names);
    for (const auto& n : *names) {
      std::string path = dir + "/" + n, child = name + "/" + n;
      if (auto st = Entry(path, child); !st) return st;
      struct stat sb;
      if (lstat(path.c_str(), &sb) == 0 && S_ISDIR(sb.st_mode))
        if (auto st = Tree(path, child); !st) return st;
    }
    return {};
  }

  // /dev: what the tree has, merged in name order with the standard nodes it lacks.
  Status DevTree(const std::string& dir, const std::string& name,
                 const std::vector<std::string>& names) {
    std::map<std::string, const DevNode*> merged;
    for (const auto& n : names) merged[n] = nullptr;
    for (const auto& d : StandardDevNodes()) merged.emplace(d.name, &d);
    for (const auto& [n, dev] : merged) {
      std::string path = dir + "/" + n, child = name + "/" + n;
      if (dev) {
        if (auto st = DevEntry(*dev, child); !st) return st;
        continue;
      }
      if (auto st = Entry(path, child); !st) return st;
      struct stat sb;
      if (lstat(path.c_str(), &sb) == 0 && S_ISDIR(sb.st_mode))
        if (auto st = Tree(path, child); !st) return st;
    }
    return {};
  }

  WriteStats stats;

 private:
  archive* a_;
  const WriteOptions& o_;
  std::map<std::pair<dev_t, ino_t>, std::string> links_;
};

// libarchive converts names between the locale's charset and the UTF-8 of pax headers, and under
// the C locale imager runs in every non-ASCII name fails ("Can't translate linkname ... to UTF-8",
// e.g. ca-certificates' links). C.UTF-8 (built into glibc) passes UTF-8 names through unchanged.
// Set for the calling thread only, for as long as an archive is written or read.
class Utf8Names {
 public:
  Utf8Names() : utf8_(newlocale(LC_CTYPE_MASK, "C.UTF-8", static_cast<locale_t>(0))) {
    if (utf8_) old_ = uselocale(utf8_);
  }
  ~Utf8Names() {
    if (!utf8_) return;
    uselocale(old_);
    freelocale(utf8_);
  }
  Utf8Names(const Utf8Names&) = delete;
  Utf8Names& operator=(const Utf8Names&) = delete;

 private:
  locale_t utf8_;
  locale_t old_ = static_cast<locale_t>(0);
};

std::string Relative(std::string name) {
  for (;;) {
    if (StartsWith(name, "./"))
      name = name.substr(2);
    else if (StartsWith(name, "/"))
      name = name.substr(1);
    else
      break;
  }
  return name.empty() ? "." : name;
}

}  // namespace

Result<WriteStats> Write(const std::string& root, const std::string& out,
                         const WriteOptions& options) {
  Utf8Names utf8;
  UniqueFd fd;  // a .tar.gz: written by `gz`, which libarchive's close (in ~a) may still call
  std::optional<GzipSink> gz;
  ArchivePtr a(archive_write_new(), archive_write_free);
  if (archive_write_set_format_pax_restricted(a.get()) != ARCHIVE_OK)
    return ArchiveError("tar format", a.get());
  if (auto st = SetCompression(a.get(), out); !st) return st.take_error();
  if (IsGzip(out)) {
    fd.reset(open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666));
    if (!fd.valid()) return ErrnoError("create " + out);
    gz.emplace(fd.get());
    if (archive_write_open(a.get(), &*gz, nullptr, GzipSink::Write, GzipSink::Close) != ARCHIVE_OK)
      return ArchiveError("create " + out, a.get());
  } else if (archive_write_open_filename(a.get(), out.c_str()) != ARCHIVE_OK) {
    return ArchiveError("create " + out, a.get());
  }
  Writer w(a.get(), options);
  if (auto st = w.Entry(root, "."); !st) return st.take_error();
  if (auto st = w.Tree(root, "."); !st) return st.take_error();
  if (archive_write_close(a.get()) != ARCHIVE_OK) return ArchiveError("finish " + out, a.get());
  if (fd.valid() && close(fd.release()) != 0) return ErrnoError("finish " + out);
  return w.stats;
}

Result<ExtractReport> ExtractFrom(archive* in, const std::string& origin, const std::string& dest,
                                  const ExtractOptions& options) {
  Utf8Names utf8;
  ArchivePtr out(archive_write_disk_new(), archive_write_free);
  archive_write_disk_set_options(
      out.get(), ARCHIVE_EXTRACT_OWNER | ARCHIVE_EXTRACT_PERM | ARCHIVE_EXTRACT_TIME |
                     ARCHIVE_EXTRACT_XATTR | ARCHIVE_EXTRACT_ACL | ARCHIVE_EXTRACT_UNLINK |
                     ARCHIVE_EXTRACT_SECURE_SYMLINKS | ARCHIVE_EXTRACT_SECURE_NODOTDOT);
  ExtractReport report;
  for (;;) {
    archive_entry* e = nullptr;
    int rc = archive_read_next_header(in, &e);
    if (rc == ARCHIVE_EOF) break;
    if (rc < ARCHIVE_WARN) return ArchiveError(origin, in);
    auto path = EntryPath(e, origin);
    if (!path) return path.take_error();
    const std::string& name = *path;
    mode_t type = archive_entry_filetype(e);
    bool whiteout = options.verbatim && type == AE_IFCHR && archive_entry_rdevmajor(e) == 0 &&
                    archive_entry_rdevminor(e) == 0;
    if ((type == AE_IFCHR || type == AE_IFBLK) && !whiteout) {
      // mknod is not allowed in a user namespace; the image writers add these from metadata.
      report.skipped_devices.push_back(name);
      continue;
    }
    // libarchive would replace `dest` itself by a file or link named "." (ARCHIVE_EXTRACT_UNLINK).
    if (Relative(name) == "." && (type != AE_IFDIR || archive_entry_hardlink(e)))
      return Error{origin + ": entry '" + name + "' would replace the root directory"};
    if (archive_entry_uid(e) != 0 || archive_entry_gid(e) != 0)
      report.owned.push_back({Relative(name), static_cast<uint32_t>(archive_entry_uid(e)),
                              static_cast<uint32_t>(archive_entry_gid(e))});
    // Names are made relative and put under dest; SECURE_NODOTDOT and SECURE_SYMLINKS keep
    // every entry (and hard link target) inside it.
    archive_entry_set_pathname(e, (dest + "/" + Relative(name)).c_str());
    if (const char* hl = archive_entry_hardlink(e))
      archive_entry_set_hardlink(e, (dest + "/" + Relative(hl)).c_str());
    int written = archive_write_header(out.get(), e);
    if (written < ARCHIVE_WARN || (options.verbatim && written != ARCHIVE_OK))
      return ArchiveError(origin + ": " + name, out.get());
    const void* buf;
    size_t size;
    la_int64_t offset;
    while ((rc = archive_read_data_block(in, &buf, &size, &offset)) == ARCHIVE_OK)
      if (archive_write_data_block(out.get(), buf, size, offset) < ARCHIVE_OK)
        return ArchiveError(origin + ": " + name, out.get());
    if (rc < ARCHIVE_WARN) return ArchiveError(origin + ": " + name, in);
    // libarchive sets owners, times and xattrs here; a verbatim entry must keep them all.
    int finished = archive_write_finish_entry(out.get());
    if (finished < ARCHIVE_WARN || (options.verbatim && finished != ARCHIVE_OK))
      return ArchiveError(origin + ": " + name, out.get());
    ++report.entries;
  }
  if (archive_write_close(out.get()) != ARCHIVE_OK) return ArchiveError(dest, out.get());
  return report;
}

namespace {

Result<ArchivePtr> OpenForReading(const std::string& path) {
  ArchivePtr in(archive_read_new(), archive_read_free);
  archive_read_support_format_all(in.get());
  archive_read_support_filter_all(in.get());
  if (archive_read_open_filename(in.get(), path.c_str(), 1 << 16) != ARCHIVE_OK)
    return ArchiveError("open " + path, in.get());
  return in;
}

}  // namespace

Result<ExtractReport> Extract(const std::string& path, const std::string& dest,
                              const ExtractOptions& options) {
  auto in = OpenForReading(path);
  if (!in) return in.take_error();
  return ExtractFrom(in->get(), path, dest, options);
}

Result<int64_t> NewestMtime(const std::string& path) {
  auto in = OpenForReading(path);
  if (!in) return in.take_error();
  int64_t newest = -1;
  archive_entry* e = nullptr;
  for (;;) {
    int r = archive_read_next_header(in->get(), &e);
    if (r == ARCHIVE_EOF) break;
    if (r < ARCHIVE_WARN) return ArchiveError("read " + path, in->get());
    if (archive_entry_mtime_is_set(e)) newest = std::max<int64_t>(newest, archive_entry_mtime(e));
    archive_read_data_skip(in->get());
  }
  return newest;
}

}  // namespace imager::formats::tar
