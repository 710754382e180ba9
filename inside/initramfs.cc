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

// A kernel release in the image: its module directory and its image.
struct Kernel {
  std::string release;
  std::string moddir;  // /lib/modules/RELEASE or /usr/lib/modules/RELEASE
  std::string dir;     // the directory of the kernel image
  std::string file;    // its name there
};

// The newest release with a kernel image and a module index. Debian installs the image as
// /boot/vmlinuz-RELEASE; Fedora and openEuler ship it in the module directory
// (/lib/modules/RELEASE/vmlinuz, copied to /boot only by kernel-install at boot-loader time).
Result<Kernel> FindKernel(const InRoot& root) {
  std::vector<Kernel> found;
  for (const char* base : {"/lib/modules", "/usr/lib/modules"}) {
    auto dir = root.Dir(base, false);
    if (!dir) continue;
    auto names = ListDirFd(dir->get());
    if (!names) return names.take_error();
    for (const auto& r : *names) {
      std::string moddir = std::string(base) + "/" + r;
      bool seen =
          std::any_of(found.begin(), found.end(), [&](const Kernel& k) { return k.release == r; });
      if (seen || !root.Exists(moddir + "/modules.dep")) continue;
      if (root.Exists("/boot/vmlinuz-" + r))
        found.push_back({r, moddir, "/boot", "vmlinuz-" + r});
      else if (root.Exists(moddir + "/vmlinuz"))
        found.push_back({r, moddir, moddir, "vmlinuz"});
    }
  }
  if (found.empty())
    return Error{
        "the image has no kernel: no /boot/vmlinuz-RELEASE or /lib/modules/RELEASE/vmlinuz with "
        "/lib/modules/RELEASE/modules.dep (add the distribution's kernel package to "
        "packages.include: linux-image-amd64 on Debian, kernel on Fedora and openEuler)"};
  std::sort(found.begin(), found.end(), [](const Kernel& a, const Kernel& b) {
    return strverscmp(a.release.c_str(), b.release.c_str()) > 0;
  });
  return found.front();
}

}  // namespace

Result<InitramfsResult> MakeInitramfs(const std::string& rootfs, const std::string& out_dir,
                                      const InitramfsInputs& in) {
  auto root = InRoot::Open(rootfs);
  if (!root) return root.take_error();
  auto kernel = FindKernel(*root);
  if (!kernel) return kernel.take_error();
  const std::string& release = kernel->release;
  InitramfsResult result;
  result.release = release;
  // Paths inside the image are reached through descriptors opened within it, so an image's
  // symlinks cannot point the build at the host's files.
  auto moddir = root->Dir(kernel->moddir, false);
  if (!moddir) return moddir.take_error();
  auto bootdir = root->Dir(kernel->dir, false);
  if (!bootdir) return bootdir.take_error();
  const std::string mods = "/proc/self/fd/" + std::to_string(moddir->get());
  const std::string boot = "/proc/self/fd/" + std::to_string(bootdir->get());

  auto index = booter::ReadModuleIndex(mods);
  if (!index) return Error{"kernel " + release + ": " + index.error()};
  std::vector<std::string> wanted;
  for (const auto& name : in.modules) {
    std::string n = booter::ModuleName(name);
    if (index->path_by_name.count(n) || index->builtin.count(n))
      wanted.push_back(n);
    else
      result.missing.push_back(n);
  }
  auto closure = booter::ComputeClosure(*index, wanted);
  if (!closure) return Error{"kernel " + release + ": " + closure.error()};
  result.modules = closure->paths;
  result.builtin = closure->builtin;

  std::string config = in.config;
  config += "# kernel " + release + ": modules in load order\n";
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
    entries.push_back({.path = "lib/modules/" + release + "/" + m,
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
  auto image = ReadFile(boot + "/" + kernel->file);
  if (!image) return Error{"kernel " + release + ": " + image.error()};
  std::string vmlinuz = out_dir + "/vmlinuz";
  if (auto st = WriteFile(vmlinuz, *image); !st) return st.take_error();
  if (chmod(vmlinuz.c_str(), 0644) != 0) return ErrnoError("chmod " + vmlinuz);
  struct timespec times[2] = {{in.source_date_epoch, 0}, {in.source_date_epoch, 0}};
  if (utimensat(AT_FDCWD, vmlinuz.c_str(), times, 0) != 0)
    return ErrnoError("utimensat " + vmlinuz);
  return result;
}

}  // namespace imager::inside
