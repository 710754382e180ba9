// SPDX-License-Identifier: GPL-3.0-or-later
#include "formats/initramfs.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <lzma.h>

#include <map>
#include <memory>

#include "base/fd.h"
#include "base/strings.h"
#include "formats/archive_util.h"

namespace imager::formats::initramfs {
namespace {

using EntryPtr = std::unique_ptr<archive_entry, void (*)(archive_entry*)>;

// One member of the archive-to-be, keyed by its normalized path.
struct Item {
  Entry::Kind kind = Entry::kDir;
  const Entry* entry = nullptr;  // null: a parent directory added on the way
};
using Plan = std::map<std::string, Item>;

// "/a//b/" and "./a/b" -> "a/b"; "..", "." inside and empty paths are errors.
Result<std::string> Normalize(const std::string& raw) {
  std::string p = raw;
  while (StartsWith(p, "/") || StartsWith(p, "./")) p.erase(0, p[0] == '/' ? 1 : 2);
  while (!p.empty() && p.back() == '/') p.pop_back();
  if (p.empty() || p == ".") return Error{"initramfs entry '" + raw + "': empty path"};
  for (const auto& c : Split(p, '/'))
    if (c.empty() || c == "." || c == "..")
      return Error{"initramfs entry '" + raw + "': path has an empty, '.' or '..' component"};
  return p;
}

// The explicit entries, then every missing ancestor as a directory.
Result<Plan> MakePlan(const std::vector<Entry>& entries) {
  Plan plan;
  for (const auto& e : entries) {
    auto path = Normalize(e.path);
    if (!path) return path.take_error();
    if (e.kind == Entry::kSymlink && e.source.empty())
      return Error{"initramfs entry " + *path + ": symlink without a target"};
    if (e.mode != kDefaultMode && (e.mode & ~07777u) != 0)
      return Error{"initramfs entry " + *path + ": mode " + std::to_string(e.mode) +
                   " has bits outside 07777"};
    if (!plan.emplace(*path, Item{e.kind, &e}).second)
      return Error{"initramfs: duplicate path " + *path};
  }
  std::vector<std::string> explicit_paths;
  for (const auto& [path, item] : plan) explicit_paths.push_back(path);
  for (const auto& path : explicit_paths) {
    for (size_t slash = path.find('/'); slash != std::string::npos;
         slash = path.find('/', slash + 1)) {
      std::string parent = path.substr(0, slash);
      auto [it, added] = plan.emplace(parent, Item{});
      if (!added && it->second.kind != Entry::kDir)
        return Error{"initramfs entry " + path + ": parent " + parent + " is not a directory"};
    }
  }
  return plan;
}

uint32_t DefaultMode(Entry::Kind kind, const struct stat* source) {
  if (kind == Entry::kDir) return 0755;
  if (kind == Entry::kSymlink) return 0777;
  return source && (source->st_mode & S_IXUSR) ? 0755 : 0644;
}

Status SetCompression(archive* a, Compression c, int level) {
  int rc = ARCHIVE_OK;
  const char* filter = nullptr;
  switch (c) {
    case Compression::kNone:
      return {};
    case Compression::kGzip:
      rc = archive_write_add_filter_gzip(a);
      filter = "gzip";
      break;
    case Compression::kXz:  // XzSink compresses: libarchive's xz has a CRC64 check
      return {};
    case Compression::kZstd:
      rc = archive_write_add_filter_zstd(a);
      filter = "zstd";
      break;
  }
  if (rc != ARCHIVE_OK) return ArchiveError(std::string("initramfs: ") + filter + " filter", a);
  std::string lv = std::to_string(level < 0 ? DefaultLevel(c) : level);
  if (archive_write_set_filter_option(a, filter, "compression-level", lv.c_str()) != ARCHIVE_OK)
    return ArchiveError(std::string("initramfs: ") + filter + " level " + lv, a);
  // gzip stores the current time in its header unless told not to.
  if (c == Compression::kGzip &&
      archive_write_set_filter_option(a, "gzip", "timestamp", nullptr) != ARCHIVE_OK)
    return ArchiveError("initramfs: gzip without timestamp", a);
  return {};
}

class Writer {
 public:
  Writer(archive* a, int64_t mtime) : a_(a), mtime_(mtime) {}

  Status Add(const std::string& path, const Item& item) {
    EntryPtr e(archive_entry_new(), archive_entry_free);
    archive_entry_set_pathname(e.get(), path.c_str());
    archive_entry_set_uid(e.get(), 0);
    archive_entry_set_gid(e.get(), 0);
    archive_entry_set_mtime(e.get(), mtime_, 0);
    archive_entry_set_dev(e.get(), 0);
    archive_entry_set_size(e.get(), 0);  // newc wants it; symlinks get their target's length
    // newc writes st_ino as it is; numbering members keeps the archive independent of the host
    // and stops the kernel from taking two files for hard links of each other.
    archive_entry_set_ino64(e.get(), ++result.entries);
    archive_entry_set_nlink(e.get(), item.kind == Entry::kDir ? 2 : 1);
    const Entry* src = item.entry;
    uint32_t mode = src ? src->mode : kDefaultMode;
    if (item.kind == Entry::kDir) {
      archive_entry_set_filetype(e.get(), AE_IFDIR);
      archive_entry_set_perm(e.get(),
                             mode == kDefaultMode ? DefaultMode(item.kind, nullptr) : mode);
      return Header(e.get(), path);
    }
    if (item.kind == Entry::kSymlink) {
      archive_entry_set_filetype(e.get(), AE_IFLNK);
      archive_entry_set_perm(e.get(),
                             mode == kDefaultMode ? DefaultMode(item.kind, nullptr) : mode);
      archive_entry_set_symlink(e.get(), src->source.c_str());
      return Header(e.get(), path);
    }
    archive_entry_set_filetype(e.get(), AE_IFREG);
    if (src->source.empty()) {
      archive_entry_set_perm(e.get(),
                             mode == kDefaultMode ? DefaultMode(item.kind, nullptr) : mode);
      archive_entry_set_size(e.get(), static_cast<la_int64_t>(src->content.size()));
      if (auto st = Header(e.get(), path); !st) return st;
      return Data(path, src->content.data(), src->content.size());
    }
    return HostFile(e.get(), path, src->source, mode);
  }

  WriteResult result;

 private:
  Status HostFile(archive_entry* e, const std::string& path, const std::string& source,
                  uint32_t mode) {
    UniqueFd fd(open(source.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd.valid()) return ErrnoError("initramfs entry " + path + ": open source " + source);
    struct stat st;
    if (fstat(fd.get(), &st) != 0) return ErrnoError("initramfs: stat " + source);
    if (!S_ISREG(st.st_mode))
      return Error{"initramfs entry " + path + ": source " + source + " is not a regular file"};
    archive_entry_set_perm(e, mode == kDefaultMode ? DefaultMode(Entry::kFile, &st) : mode);
    archive_entry_set_size(e, st.st_size);
    if (auto s = Header(e, path); !s) return s;
    char buf[1 << 16];
    uint64_t copied = 0;
    for (;;) {
      ssize_t n = read(fd.get(), buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return ErrnoError("initramfs: read " + source);
      if (n == 0) break;
      if (auto s = Data(path, buf, static_cast<size_t>(n)); !s) return s;
      copied += static_cast<uint64_t>(n);
    }
    if (copied != static_cast<uint64_t>(st.st_size))
      return Error{"initramfs: " + source + " changed size while being copied"};
    return {};
  }

  Status Header(archive_entry* e, const std::string& path) {
    if (archive_write_header(a_, e) != ARCHIVE_OK) return ArchiveError("initramfs: " + path, a_);
    return {};
  }

  Status Data(const std::string& path, const void* data, size_t size) {
    if (size == 0) return {};
    if (archive_write_data(a_, data, size) != static_cast<la_ssize_t>(size))
      return ArchiveError("initramfs: data of " + path, a_);
    result.bytes += size;
    return {};
  }

  archive* a_;
  int64_t mtime_;
};

// xz for the kernel: its decoder knows the CRC32 check but not libarchive's CRC64 ("Input was
// encoded with settings that are not supported by this XZ decoder"), so the cpio stream is
// compressed here with liblzma, as `xz --check=crc32` does.
class XzSink {
 public:
  XzSink(int fd, int level) : fd_(fd), level_(level) {}
  ~XzSink() { lzma_end(&strm_); }

  static la_ssize_t Write(archive* a, void* self, const void* data, size_t size) {
    auto* x = static_cast<XzSink*>(self);
    if (!x->started_) {
      if (lzma_easy_encoder(&x->strm_, static_cast<uint32_t>(x->level_), LZMA_CHECK_CRC32) !=
          LZMA_OK) {
        archive_set_error(a, EINVAL, "xz: cannot set up the encoder at level %d", x->level_);
        return -1;
      }
      x->started_ = true;
    }
    x->strm_.next_in = static_cast<const uint8_t*>(data);
    x->strm_.avail_in = size;
    if (!x->Pump(a, LZMA_RUN)) return -1;
    return static_cast<la_ssize_t>(size);
  }

  static int Close(archive* a, void* self) {
    auto* x = static_cast<XzSink*>(self);
    if (!x->started_) return ARCHIVE_OK;
    return x->Pump(a, LZMA_FINISH) ? ARCHIVE_OK : ARCHIVE_FATAL;
  }

 private:
  bool Pump(archive* a, lzma_action action) {
    uint8_t out[1 << 16];
    for (;;) {
      strm_.next_out = out;
      strm_.avail_out = sizeof out;
      lzma_ret rc = lzma_code(&strm_, action);
      if (rc != LZMA_OK && rc != LZMA_STREAM_END) {
        archive_set_error(a, EIO, "xz: compression failed (liblzma error %d)", rc);
        return false;
      }
      if (!WriteAll(fd_, out, sizeof out - strm_.avail_out)) {
        archive_set_error(a, errno, "xz: write failed");
        return false;
      }
      if (rc == LZMA_STREAM_END || (action == LZMA_RUN && strm_.avail_in == 0)) return true;
    }
  }

  int fd_;
  int level_;
  bool started_ = false;
  lzma_stream strm_ = LZMA_STREAM_INIT;
};

Result<WriteResult> WriteTo(int fd, const Plan& plan, const WriteOptions& o) {
  ArchivePtr a(archive_write_new(), archive_write_free);
  if (archive_write_set_format_cpio_newc(a.get()) != ARCHIVE_OK)
    return ArchiveError("initramfs: newc format", a.get());
  if (auto st = SetCompression(a.get(), o.compression, o.level); !st) return st.take_error();
  // No padding after the last (compressed) byte: `zstd -d` and friends reject trailing zeros.
  archive_write_set_bytes_in_last_block(a.get(), 1);
  XzSink xz(fd, o.level < 0 ? DefaultLevel(o.compression) : o.level);
  int rc = o.compression == Compression::kXz
               ? archive_write_open(a.get(), &xz, nullptr, XzSink::Write, XzSink::Close)
               : archive_write_open_fd(a.get(), fd);
  if (rc != ARCHIVE_OK) return ArchiveError("initramfs: open " + o.output, a.get());
  Writer w(a.get(), o.source_date_epoch);
  for (const auto& [path, item] : plan)
    if (auto st = w.Add(path, item); !st) return st.take_error();
  if (archive_write_close(a.get()) != ARCHIVE_OK)
    return ArchiveError("initramfs: finish " + o.output, a.get());
  return w.result;
}

}  // namespace

int DefaultLevel(Compression c) {
  switch (c) {
    case Compression::kGzip:
      return 9;
    case Compression::kXz:
      return 6;
    case Compression::kZstd:
      // bench/initramfs_levels.sh (busybox + 60 modules, 7.1 MB): level 9 is 11% larger than
      // 19 (1.97 vs 1.77 MB) but ~13x faster to write (0.19 vs 2.56 s), 3 is 11% larger again
      // for little time saved; unpacking costs the same at every level.
      return 9;
    case Compression::kNone:
      break;
  }
  return 0;
}

const char* CompressionName(Compression c) {
  switch (c) {
    case Compression::kNone:
      return "none";
    case Compression::kGzip:
      return "gzip";
    case Compression::kXz:
      return "xz";
    case Compression::kZstd:
      return "zstd";
  }
  return "?";
}

Result<Compression> ParseCompression(const std::string& name) {
  for (auto c : {Compression::kNone, Compression::kGzip, Compression::kXz, Compression::kZstd})
    if (name == CompressionName(c)) return c;
  return Error{"unknown initramfs compression '" + name + "' (use zstd, xz, gzip or none)"};
}

Result<WriteResult> Write(const std::vector<Entry>& entries, const WriteOptions& options) {
  if (options.output.empty()) return Error{"initramfs: no output path"};
  if (options.source_date_epoch < 0)
    return Error{"initramfs " + options.output + ": source_date_epoch must be >= 0"};
  auto plan = MakePlan(entries);
  if (!plan) return plan.take_error();
  std::string part = options.output + ".part";
  UniqueFd fd(open(part.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
  if (!fd.valid()) return ErrnoError("initramfs: create " + part);
  auto result = WriteTo(fd.get(), *plan, options);
  struct stat st;
  if (result && fsync(fd.get()) != 0) result = ErrnoError("initramfs: fsync " + part);
  if (result && fstat(fd.get(), &st) != 0) result = ErrnoError("initramfs: stat " + part);
  if (result && rename(part.c_str(), options.output.c_str()) != 0)
    result = ErrnoError("initramfs: rename " + part + " to " + options.output);
  if (!result) {
    unlink(part.c_str());
    return result;
  }
  result->output_bytes = static_cast<uint64_t>(st.st_size);
  return result;
}

}  // namespace imager::formats::initramfs
