// SPDX-License-Identifier: GPL-3.0-or-later
#include "formats/iso_read.h"

#include <cdio/ds.h>
#include <cdio/iso9660.h>
#include <cdio/logging.h>
#include <cdio/rock.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <ctime>

#include "base/log.h"
#include "base/strings.h"

namespace imager::formats::iso {
namespace {

struct StatFree {
  void operator()(iso9660_stat_t* s) const { iso9660_stat_free(s); }
};
using StatPtr = std::unique_ptr<iso9660_stat_t, StatFree>;

// Entries in one directory: more is a corrupt or hostile image (a 2048-byte sector holds at
// most 62 records, a directory's size field at most 4 GiB).
constexpr size_t kMaxDirEntries = 1 << 20;
constexpr size_t kReadChunk = 64 * 1024;

int64_t DtimeEpoch(const iso9660_dtime_t& t) {
  struct tm tm {};
  tm.tm_year = t.dt_year;
  tm.tm_mon = t.dt_month > 0 ? t.dt_month - 1 : 0;
  tm.tm_mday = t.dt_day > 0 ? t.dt_day : 1;
  tm.tm_hour = t.dt_hour;
  tm.tm_min = t.dt_minute;
  tm.tm_sec = t.dt_second;
  return static_cast<int64_t>(timegm(&tm)) - static_cast<int8_t>(t.dt_gmtoff) * 15 * 60;
}

std::string Child(const std::string& dir, const std::string& name) {
  return dir == "/" ? "/" + name : dir + "/" + name;
}

Entry ToEntry(const iso9660_stat_t& s, const std::string& path) {
  Entry e;
  e.name = s.filename;
  e.path = path;
  e.size = s.size;
  e.lsn = s.lsn;
  bool dir = s.type == iso9660_stat_s::_STAT_DIR;
  if (s.rr.b3_rock == yep) {
    e.mode = s.rr.st_mode;
    e.uid = s.rr.st_uid;
    e.gid = s.rr.st_gid;
    if (s.rr.psz_symlink && s.rr.i_symlink > 0)
      e.symlink.assign(s.rr.psz_symlink, strnlen(s.rr.psz_symlink, s.rr.i_symlink));
  }
  // The record's own flag decides between directory and data: a Rock Ridge mode that says
  // otherwise would make a file of a directory's extent or the reverse.
  if (dir)
    e.mode = S_IFDIR | (e.mode & S_IFMT ? e.mode & 07777 : 0555);
  else if ((e.mode & S_IFMT) == 0 || S_ISDIR(e.mode))
    e.mode = S_IFREG | (e.mode & S_IFMT ? e.mode & 07777 : 0444);
  if (S_ISLNK(e.mode) && e.symlink.empty()) e.mode = S_IFREG | (e.mode & 07777);
  if (s.rr.b3_rock == yep && s.rr.modify.b_used && !s.rr.modify.b_longdate) {
    e.mtime = DtimeEpoch(s.rr.modify.t.dtime);
  } else {
    struct tm tm = s.tm;  // libcdio gives the record's time as local time
    e.mtime = mktime(&tm);
  }
  return e;
}

// The System Use entries (SUSP, Rock Ridge) of one record: every entry inside the record and as
// long as the fields libcdio reads from it.
bool ValidSystemUse(std::string_view su) {
  if (su.size() >= 14 && su.substr(6, 2) == "XA") su.remove_prefix(14);  // CD-ROM XA, not SUSP
  for (size_t p = 0; p + 4 <= su.size();) {
    if (su[p] == '\0') break;  // zero padding
    std::string_view sig = su.substr(p, 2);
    size_t len = static_cast<uint8_t>(su[p + 2]);
    if (len < 4 || p + len > su.size()) return false;
    std::string_view e = su.substr(p, len);
    if (sig == "PX" && len < 36) return false;
    if (sig == "PN" && len < 20) return false;
    if ((sig == "NM" || sig == "SL") && len < 5) return false;
    if (sig == "CE" && len < 28) return false;
    if (sig == "TF") {
      if (len < 5) return false;
      uint8_t flags = e[4];
      size_t each = flags & 0x80 ? 17 : 7;
      if (5 + each * __builtin_popcount(flags & 0x7f) > len) return false;
    }
    if (sig == "SL")
      for (size_t q = 5; q < len;) {
        if (q + 2 > len || q + 2 + static_cast<uint8_t>(e[q + 1]) > len) return false;
        q += 2 + static_cast<uint8_t>(e[q + 1]);
      }
    if (sig == "ST") break;
    p += len;
  }
  return true;
}

// libcdio 2.1 trusts the lengths inside a directory's records (a name running past its sector
// was a heap overflow, found by fuzz_iso_read): every record must lie inside its sector, its name
// inside the record, its System Use entries inside what is left.
bool ValidRecords(std::string_view sector) {
  for (size_t off = 0; off < sector.size();) {
    size_t len = static_cast<uint8_t>(sector[off]);
    if (len == 0) break;  // the rest of the sector is padding
    if (len < 34 || off + len > sector.size()) return false;
    std::string_view r = sector.substr(off, len);
    size_t name_len = static_cast<uint8_t>(r[32]);
    size_t su = 33 + name_len + (name_len % 2 == 0 ? 1 : 0);
    if (33 + name_len > len || su > len) return false;
    if (!ValidSystemUse(r.substr(su))) return false;
    off += len;
  }
  return true;
}

// libcdio prints its complaints about a damaged image to stderr; ours name the image and the
// path, so its own are only shown as debug output (-vv).
void CdioLog(cdio_log_level_t level, const char message[]) {
  if (level >= CDIO_LOG_WARN) log::Debug(std::string("libcdio: ") + message);
}

}  // namespace

bool Entry::IsDir() const { return S_ISDIR(mode); }
bool Entry::IsSymlink() const { return S_ISLNK(mode); }
bool Entry::IsRegular() const { return S_ISREG(mode); }

bool SafeName(std::string_view name) {
  return !name.empty() && name != "." && name != ".." &&
         name.find_first_of(std::string_view("/\0", 2)) == std::string_view::npos;
}

Result<std::unique_ptr<Reader>> Reader::Open(const std::string& path) {
  std::unique_ptr<Reader> r(new Reader);
  r->path_ = path;
  r->fd_ = UniqueFd(open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!r->fd_.valid()) return ErrnoError("open " + path);
  struct stat st;
  if (fstat(r->fd_.get(), &st) != 0) return ErrnoError("stat " + path);
  if (S_ISDIR(st.st_mode)) return Error{path + ": is a directory, not an ISO image"};
  r->file_size_ = st.st_size;
  if (r->file_size_ < 17 * kSectorSize)
    return Error{path + ": not an ISO 9660 image (" + std::to_string(r->file_size_) +
                 " bytes, shorter than its system area and first volume descriptor)"};
  auto pvd = r->ReadAt(16 * kSectorSize, 8);
  if (!pvd) return pvd.take_error();
  if (pvd->substr(1, 5) != "CD001")
    return Error{path + ": not an ISO 9660 image (no CD001 volume descriptor at sector 16)"};
  cdio_log_set_handler(CdioLog);
  // Joliet left out: its tree has no Rock Ridge, and libcdio would prefer it.
  r->iso_ = iso9660_open_ext(path.c_str(), ISO_EXTENSION_ROCK_RIDGE | ISO_EXTENSION_HIGH_SIERRA);
  if (!r->iso_) return Error{path + ": libcdio cannot read its primary volume descriptor"};
  return r;
}

Reader::~Reader() {
  if (iso_) iso9660_close(iso_);
}

Result<std::string> Reader::ReadAt(uint64_t offset, size_t size) const {
  if (offset > file_size_ || size > file_size_ - offset)
    return Error{path_ + ": truncated: " + std::to_string(size) + " bytes at offset " +
                 std::to_string(offset) + " lie past its end (" + std::to_string(file_size_) +
                 " bytes)"};
  std::string buf(size, '\0');
  size_t done = 0;
  while (done < size) {
    ssize_t n = pread(fd_.get(), buf.data() + done, size - done, offset + done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ErrnoError("read " + path_);
    if (n == 0)
      return Error{path_ + ": unexpected end of file at offset " + std::to_string(offset + done)};
    done += n;
  }
  return buf;
}

Status Reader::CheckExtent(const Entry& e) const {
  uint64_t start = uint64_t{e.lsn} * kSectorSize;
  if (start > file_size_ || e.size > file_size_ - start)
    return Error{path_ + ": " + e.path + ": its data (" + std::to_string(e.size) +
                 " bytes at sector " + std::to_string(e.lsn) + ") lies past the end of the " +
                 "image (" + std::to_string(file_size_) + " bytes): truncated or corrupt"};
  return {};
}

Result<Entry> Reader::Stat(const std::string& path) const {
  StatPtr root(iso9660_ifs_stat(iso_, "/"));
  if (!root) return Error{path_ + ": cannot read the root directory"};
  Entry cur = ToEntry(*root, "/");
  cur.name = "";
  for (const auto& part : Split(path, '/')) {
    if (part.empty() || part == ".") continue;
    if (!cur.IsDir()) return Error{path_ + ": " + cur.path + ": not a directory"};
    auto list = ListDir(cur, /*refuse_unsafe=*/false);
    if (!list) return list.take_error();
    auto it =
        std::find_if(list->begin(), list->end(), [&](const Entry& e) { return e.name == part; });
    if (it == list->end())
      return Error{path_ + ": " + Child(cur.path, part) + ": no such file or directory"};
    cur = *it;
  }
  return cur;
}

Result<std::vector<Entry>> Reader::List(const std::string& dir) const {
  auto e = Stat(dir);
  if (!e) return e.take_error();
  if (!e->IsDir()) return Error{path_ + ": " + e->path + ": not a directory"};
  return List(*e);
}

Result<std::vector<Entry>> Reader::List(const Entry& dir) const {
  return ListDir(dir, /*refuse_unsafe=*/true);
}

Status Reader::CheckRecords(const Entry& dir) const {
  if (auto st = CheckExtent(dir); !st) return st;
  uint64_t start = uint64_t{dir.lsn} * kSectorSize;
  uint64_t sectors = (dir.size + kSectorSize - 1) / kSectorSize;
  for (uint64_t i = 0; i < sectors; ++i) {
    uint64_t at = start + i * kSectorSize;
    auto sector = ReadAt(at, std::min<uint64_t>(kSectorSize, file_size_ - at));
    if (!sector) return Wrap(dir.path, sector.error());
    if (!ValidRecords(*sector))
      return Error{path_ + ": " + dir.path + ": a corrupt directory record in sector " +
                   std::to_string(at / kSectorSize) + " (a length past its record or sector)"};
  }
  return {};
}

Result<std::vector<Entry>> Reader::ListDir(const Entry& dir, bool refuse_unsafe) const {
  if (auto st = CheckRecords(dir); !st) return st.take_error();
  CdioList_t* list = iso9660_ifs_readdir(iso_, dir.path.c_str());
  if (!list) return Error{path_ + ": " + dir.path + ": cannot read the directory"};
  std::vector<Entry> out;
  Status bad;
  size_t index = 0;
  for (CdioListNode_t* n = _cdio_list_begin(list); n; n = _cdio_list_node_next(n), ++index) {
    auto* s = static_cast<iso9660_stat_t*>(_cdio_list_node_data(n));
    std::string name = s->filename;
    // The first two records are the directory itself and its parent.
    if (index < 2 && (name == "." || name == "..")) continue;
    if (!SafeName(name)) {
      if (!refuse_unsafe) continue;
      bad = Error{path_ + ": " + dir.path + ": an entry named '" + name +
                  "' is refused (a name must not be empty, '.' or '..', or hold '/')"};
      break;
    }
    if (out.size() >= kMaxDirEntries) {
      bad = Error{path_ + ": " + dir.path + ": more than " + std::to_string(kMaxDirEntries) +
                  " entries: corrupt"};
      break;
    }
    out.push_back(ToEntry(*s, Child(dir.path, name)));
  }
  _cdio_list_free(list, true, reinterpret_cast<CdioDataFree_t>(iso9660_stat_free));
  if (!bad) return bad.take_error();
  return out;
}

Status Reader::Read(const Entry& file, const std::function<Status(std::string_view)>& sink) const {
  if (!file.IsRegular()) return Error{path_ + ": " + file.path + ": not a regular file"};
  if (auto st = CheckExtent(file); !st) return st;
  uint64_t offset = uint64_t{file.lsn} * kSectorSize;
  for (uint64_t done = 0; done < file.size;) {
    size_t n = static_cast<size_t>(std::min<uint64_t>(kReadChunk, file.size - done));
    auto chunk = ReadAt(offset + done, n);
    if (!chunk) return Wrap(file.path, chunk.error());
    if (auto st = sink(*chunk); !st) return st;
    done += n;
  }
  return {};
}

Result<std::string> Reader::ReadSmall(const std::string& path, uint64_t max_bytes) const {
  auto e = Stat(path);
  if (!e) return e.take_error();
  if (e->size > max_bytes)
    return Error{path_ + ": " + path + ": " + std::to_string(e->size) + " bytes, more than the " +
                 std::to_string(max_bytes) + " expected"};
  std::string out;
  auto st = Read(*e, [&](std::string_view s) -> Status {
    out.append(s);
    return {};
  });
  if (!st) return st.take_error();
  return out;
}

Status Reader::Walk(const Entry& dir, const std::function<Status(const Entry&)>& visit) const {
  std::unordered_set<uint32_t> seen{dir.lsn};
  return WalkFrom(dir, 1, &seen, visit);
}

Status Reader::CheckDescend(const Entry& dir, int depth, std::unordered_set<uint32_t>* seen) const {
  if (depth > kMaxDepth)
    return Error{path_ + ": " + dir.path + ": nested deeper than " + std::to_string(kMaxDepth) +
                 " directories: refused"};
  // A directory's extent met twice is a loop (or two names for one directory): refused.
  if (!seen->insert(dir.lsn).second)
    return Error{path_ + ": " + dir.path + ": a directory loop (its extent at sector " +
                 std::to_string(dir.lsn) + " was already read): refused"};
  return {};
}

Status Reader::WalkFrom(const Entry& dir, int depth, std::unordered_set<uint32_t>* seen,
                        const std::function<Status(const Entry&)>& visit) const {
  auto list = List(dir);
  if (!list) return list.take_error();
  for (const auto& e : *list) {
    if (e.IsDir())
      if (auto st = CheckDescend(e, depth + 1, seen); !st) return st;
    if (auto st = visit(e); !st) return st;
    if (e.IsDir())
      if (auto st = WalkFrom(e, depth + 1, seen, visit); !st) return st;
  }
  return {};
}

namespace {

// One extraction: the reader, the destination's name for messages, what to apply.
struct Extractor {
  const Reader& reader;
  std::string dest;
  const ExtractOptions& o;
  ExtractReport report;
  std::unordered_set<uint32_t> seen;

  Error Fail(const Entry& e, const std::string& what, int err = errno) const {
    return Error{reader.path() + ": " + e.path + ": " + what + " in " + dest + ": " +
                 strerror(err)};
  }

  // Owners, mode and times of the entry just made as `name` in `dir` (or open as `fd`).
  Status Finish(const Entry& e, int dir, int fd) {
    struct timespec times[2] = {{e.mtime, 0}, {e.mtime, 0}};
    if (e.IsSymlink()) {
      if (o.owners && fchownat(dir, e.name.c_str(), e.uid, e.gid, AT_SYMLINK_NOFOLLOW) != 0)
        return Fail(e, "chown");
      if (utimensat(dir, e.name.c_str(), times, AT_SYMLINK_NOFOLLOW) != 0)
        return Fail(e, "set the times of");
      return {};
    }
    if (o.owners && fchown(fd, e.uid, e.gid) != 0) return Fail(e, "chown");
    if (fchmod(fd, e.mode & 07777) != 0) return Fail(e, "chmod");
    if (futimens(fd, times) != 0) return Fail(e, "set the times of");
    return {};
  }

  Status File(const Entry& e, int dir) {
    UniqueFd fd(
        openat(dir, e.name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
    if (!fd.valid()) return Fail(e, "create");
    auto st = reader.Read(e, [&](std::string_view s) -> Status {
      if (!WriteAll(fd.get(), s.data(), s.size())) return Fail(e, "write");
      return {};
    });
    if (!st) return st;
    ++report.files;
    return Finish(e, dir, fd.get());
  }

  // The directory `name` in `dir`, made (mode 0700 until it is filled) or an existing one.
  Result<UniqueFd> OpenDir(const Entry& e, int dir) {
    if (mkdirat(dir, e.name.c_str(), 0700) != 0 && errno != EEXIST) return Fail(e, "create");
    UniqueFd fd(openat(dir, e.name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!fd.valid()) return Fail(e, "open the directory");
    return fd;
  }

  Status Dir(const Entry& e, int parent, int depth) {
    if (auto st = reader.CheckDescend(e, depth, &seen); !st) return st;
    auto fd = OpenDir(e, parent);
    if (!fd) return fd.take_error();
    if (auto st = Children(e, fd->get(), depth); !st) return st;
    ++report.dirs;
    return Finish(e, parent, fd->get());
  }

  Status Children(const Entry& dir, int fd, int depth) {
    auto list = reader.List(dir);
    if (!list) return list.take_error();
    for (const auto& e : *list)
      if (auto st = One(e, fd, depth + 1); !st) return st;
    return {};
  }

  Status One(const Entry& e, int dir, int depth) {
    if (e.IsDir()) return Dir(e, dir, depth);
    if (e.IsRegular()) return File(e, dir);
    if (e.IsSymlink()) {
      if (symlinkat(e.symlink.c_str(), dir, e.name.c_str()) != 0) return Fail(e, "create");
      ++report.symlinks;
      return Finish(e, dir, -1);
    }
    report.skipped.push_back(e.path + (S_ISFIFO(e.mode)   ? " (fifo)"
                                       : S_ISSOCK(e.mode) ? " (socket)"
                                                          : " (device node)"));
    return {};
  }

  // `path`'s parents made in `root` (mode 0755), then `path` itself.
  Status Path(const std::string& path, int root) {
    auto e = reader.Stat(path);
    if (!e) return e.take_error();
    if (e->path == "/") {
      if (auto st = reader.CheckDescend(*e, 0, &seen); !st) return st;
      return Children(*e, root, 0);
    }
    auto parts = Split(e->path, '/');
    UniqueFd dir(fcntl(root, F_DUPFD_CLOEXEC, 0));
    std::string at;
    for (size_t i = 1; i + 1 < parts.size(); ++i) {
      at += "/" + parts[i];
      Entry parent{.name = parts[i], .path = at};
      if (mkdirat(dir.get(), parts[i].c_str(), 0755) != 0 && errno != EEXIST)
        return Fail(parent, "create");
      UniqueFd next(
          openat(dir.get(), parts[i].c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      if (!next.valid()) return Fail(parent, "open the directory");
      dir = std::move(next);
    }
    return One(*e, dir.get(), static_cast<int>(parts.size()) - 1);
  }
};

}  // namespace

Result<ExtractReport> Extract(const Reader& reader, const std::string& dest,
                              const ExtractOptions& o) {
  if (mkdir(dest.c_str(), 0755) != 0 && errno != EEXIST) return ErrnoError("create " + dest);
  UniqueFd root(open(dest.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!root.valid()) return ErrnoError("open " + dest);
  Extractor x{reader, dest, o, {}, {}};
  std::vector<std::string> paths = o.paths.empty() ? std::vector<std::string>{"/"} : o.paths;
  for (const auto& p : paths)
    if (auto st = x.Path(p, root.get()); !st) return st.take_error();
  return x.report;
}

}  // namespace imager::formats::iso
