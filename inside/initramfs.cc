// SPDX-License-Identifier: GPL-3.0-or-later
#include "inside/initramfs.h"

#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>

#include "base/fd.h"
#include "base/fs.h"
#include "base/inroot.h"
#include "booter/modclosure.h"
#include "formats/initramfs.h"

namespace imager::inside {
namespace {

// The newest release with a kernel image and a module index, as a directory descriptor.
Result<std::string> FindRelease(const InRoot& root) {
  auto dir = root.Dir("/lib/modules", false);
  if (!dir) dir = root.Dir("/usr/lib/modules", false);
  std::vector<std::string> releases;
  if (dir) {
    auto names = ListDirFd(dir->get());
    if (!names) return names.take_error();
    for (const auto& r : *names)
      if (root.Exists("/boot/vmlinuz-" + r) && root.Exists("/lib/modules/" + r + "/modules.dep"))
        releases.push_back(r);
  }
  if (releases.empty())
    return Error{
        "the image has no kernel: no /boot/vmlinuz-RELEASE with /lib/modules/RELEASE/modules.dep "
        "(add a kernel package to packages.include, e.g. linux-image-amd64)"};
  std::sort(releases.begin(), releases.end(), [](const std::string& a, const std::string& b) {
    return strverscmp(a.c_str(), b.c_str()) > 0;
  });
  return releases.front();
}

}  // namespace

Result<InitramfsResult> MakeInitramfs(const std::string& rootfs, const std::string& out_dir,
                                      const InitramfsInputs& in) {
  auto root = InRoot::Open(rootfs);
  if (!root) return root.take_error();
  auto release = FindRelease(*root);
  if (!release) return release.take_error();
  InitramfsResult result;
  result.release = *release;
  // Paths inside the image are reached through descriptors opened within it, so an image's
  // symlinks cannot point the build at the host's files.
  auto moddir = root->Dir("/lib/modules/" + *release, false);
  if (!moddir) return moddir.take_error();
  auto bootdir = root->Dir("/boot", false);
  if (!bootdir) return bootdir.take_error();
  const std::string mods = "/proc/self/fd/" + std::to_string(moddir->get());
  const std::string boot = "/proc/self/fd/" + std::to_string(bootdir->get());

  auto index = booter::ReadModuleIndex(mods);
  if (!index) return Error{"kernel " + *release + ": " + index.error()};
  std::vector<std::string> wanted;
  for (const auto& name : in.modules) {
    std::string n = booter::ModuleName(name);
    if (index->path_by_name.count(n) || index->builtin.count(n))
      wanted.push_back(n);
    else
      result.missing.push_back(n);
  }
  auto closure = booter::ComputeClosure(*index, wanted);
  if (!closure) return Error{"kernel " + *release + ": " + closure.error()};
  result.modules = closure->paths;
  result.builtin = closure->builtin;

  std::string config = in.config;
  config += "# kernel " + *release + ": modules in load order\n";
  for (const auto& m : closure->paths) config += "module=" + m + "\n";
  using formats::initramfs::Entry;
  std::vector<Entry> entries{
      {.path = "init", .kind = Entry::kFile, .source = in.booter, .mode = 0755},
      {.path = "etc/imager-booter.conf", .kind = Entry::kFile, .content = config, .mode = 0644},
      // The mount points the booter uses before anything else exists.
      {.path = "dev", .kind = Entry::kDir},
      {.path = "proc", .kind = Entry::kDir},
      {.path = "sys", .kind = Entry::kDir},
      {.path = "run", .kind = Entry::kDir},
      {.path = "newroot", .kind = Entry::kDir},
  };
  for (const auto& m : closure->paths)
    entries.push_back({.path = "lib/modules/" + *release + "/" + m,
                       .kind = Entry::kFile,
                       .source = mods + "/" + m,
                       .mode = 0644});
  formats::initramfs::WriteOptions wo;
  wo.output = out_dir + "/initrd.img";
  wo.source_date_epoch = in.source_date_epoch;
  auto written = formats::initramfs::Write(entries, wo);
  if (!written) return Error{"initramfs: " + written.error()};
  result.bytes = written->output_bytes;

  // The kernel beside it, readable by the ISO writer.
  auto kernel = ReadFile(boot + "/vmlinuz-" + *release);
  if (!kernel) return Error{"kernel " + *release + ": " + kernel.error()};
  std::string vmlinuz = out_dir + "/vmlinuz";
  if (auto st = WriteFile(vmlinuz, *kernel); !st) return st.take_error();
  if (chmod(vmlinuz.c_str(), 0644) != 0) return ErrnoError("chmod " + vmlinuz);
  struct timespec times[2] = {{in.source_date_epoch, 0}, {in.source_date_epoch, 0}};
  if (utimensat(AT_FDCWD, vmlinuz.c_str(), times, 0) != 0)
    return ErrnoError("utimensat " + vmlinuz);
  return result;
}

}  // namespace imager::inside
