// SPDX-License-Identifier: GPL-3.0-or-later
#include "oci/archive.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <memory>

#include "base/fd.h"
#include "base/fs.h"
#include "formats/archive_util.h"

namespace imager::oci {
namespace {

using formats::ArchiveError;
using EntryPtr = std::unique_ptr<archive_entry, void (*)(archive_entry*)>;

Status CopyData(archive* a, const std::string& path) {
  UniqueFd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (!fd.valid()) return ErrnoError("open " + path);
  char buf[1 << 16];
  for (;;) {
    ssize_t n = read(fd.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ErrnoError("read " + path);
    if (n == 0) return {};
    if (archive_write_data(a, buf, static_cast<size_t>(n)) < 0)
      return ArchiveError("write data of " + path, a);
  }
}

// `dir`'s entries as NAME_PREFIX + name, sorted, depth first.
Status AddTree(archive* a, const std::string& dir, const std::string& prefix, int64_t mtime) {
  auto names = ListDir(dir);
  if (!names) return names.take_error();
  for (const auto& n : *names) {
    std::string path = dir + "/" + n, name = prefix + n;
    struct stat st;
    if (lstat(path.c_str(), &st) != 0) return ErrnoError("stat " + path);
    if (!S_ISDIR(st.st_mode) && !S_ISREG(st.st_mode))
      return Error{"archive OCI layout: " + path + " is not a regular file or directory"};
    EntryPtr e(archive_entry_new(), archive_entry_free);
    archive_entry_set_pathname(e.get(), name.c_str());
    archive_entry_set_filetype(e.get(), S_ISDIR(st.st_mode) ? AE_IFDIR : AE_IFREG);
    archive_entry_set_perm(e.get(), S_ISDIR(st.st_mode) ? 0755 : 0644);
    archive_entry_set_uid(e.get(), 0);
    archive_entry_set_gid(e.get(), 0);
    archive_entry_set_mtime(e.get(), mtime, 0);
    archive_entry_set_size(e.get(), S_ISDIR(st.st_mode) ? 0 : st.st_size);
    if (archive_write_header(a, e.get()) < ARCHIVE_OK) return ArchiveError("write " + name, a);
    auto sub = S_ISDIR(st.st_mode) ? AddTree(a, path, name + "/", mtime) : CopyData(a, path);
    if (!sub) return sub;
  }
  return {};
}

}  // namespace

Status WriteArchive(const std::string& layout, const std::string& out, int64_t mtime) {
  formats::ArchivePtr a(archive_write_new(), archive_write_free);
  if (archive_write_set_format_pax_restricted(a.get()) != ARCHIVE_OK)
    return ArchiveError("tar format", a.get());
  if (archive_write_open_filename(a.get(), out.c_str()) != ARCHIVE_OK)
    return ArchiveError("create " + out, a.get());
  if (auto st = AddTree(a.get(), layout, "", mtime); !st) return st;
  if (archive_write_close(a.get()) != ARCHIVE_OK) return ArchiveError("finish " + out, a.get());
  return {};
}

}  // namespace imager::oci
