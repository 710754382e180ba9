// SPDX-License-Identifier: GPL-3.0-or-later
#include "booter/os_linux.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/loop.h>
#include <linux/magic.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "base/fd.h"
#include "base/strings.h"

namespace imager::booter {
namespace {

std::string ReadSysfs(const std::string& path) {
  auto s = ReadFile(path);
  return s ? std::string(Trim(*s)) : "";
}

bool Exists(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0;
}

// Device classes of a whole disk from its sysfs entry.
unsigned ClassesOf(const std::string& name) {
  const std::string sys = "/sys/block/" + name;
  char real[PATH_MAX];
  std::string path = realpath(sys.c_str(), real) ? real : sys;
  unsigned c = 0;
  if (StartsWith(name, "sr") || ReadSysfs(sys + "/device/type") == "5") c |= kCdrom;
  if (path.find("/usb") != std::string::npos) c |= kUsb;
  if (StartsWith(name, "vd") || path.find("/virtio") != std::string::npos) c |= kVirtio;
  if (StartsWith(name, "nvme")) c |= kNvme;
  if (!(c & kCdrom)) c |= kDisk;
  if (ReadSysfs(sys + "/removable") == "1") c |= kRemovable;
  return c;
}

std::vector<std::string> ListDir(const std::string& dir) {
  std::vector<std::string> names;
  DIR* d = opendir(dir.c_str());
  if (!d) return names;
  while (auto* e = readdir(d))
    if (e->d_name[0] != '.') names.emplace_back(e->d_name);
  closedir(d);
  std::sort(names.begin(), names.end());
  return names;
}

class LinuxMedium : public Medium {
 public:
  LinuxMedium(std::string dir, std::string fstype)
      : dir_(std::move(dir)), fstype_(std::move(fstype)) {}
  ~LinuxMedium() override {
    if (keep_) return;
    umount2(dir_.c_str(), MNT_DETACH);
    rmdir(dir_.c_str());
  }
  std::string fstype() const override { return fstype_; }
  std::string mount_point() const override { return dir_; }
  bool IsFile(const std::string& path) const override {
    struct stat st;
    return stat((dir_ + path).c_str(), &st) == 0 && S_ISREG(st.st_mode);
  }
  Result<std::string> ReadSmallFile(const std::string& path) const override {
    UniqueFd fd(open((dir_ + path).c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd.valid()) return ErrnoError("open " + path);
    std::string buf(4096, '\0');
    ssize_t n;
    do {
      n = read(fd.get(), buf.data(), buf.size());
    } while (n < 0 && errno == EINTR);
    if (n < 0) return ErrnoError("read " + path);
    buf.resize(n);
    return buf;
  }
  void Keep() override { keep_ = true; }

 private:
  std::string dir_, fstype_;
  bool keep_ = false;
};

}  // namespace

std::vector<BlockDevice> LinuxOs::ListBlockDevices() {
  std::vector<BlockDevice> out;
  for (const auto& name : ListDir("/sys/block")) {
    if (StartsWith(name, "loop") || StartsWith(name, "ram") || StartsWith(name, "zram")) continue;
    unsigned classes = ClassesOf(name);
    out.push_back({name, "/dev/" + name, classes, false});
    for (const auto& sub : ListDir("/sys/block/" + name))
      if (Exists("/sys/block/" + name + "/" + sub + "/partition"))
        out.push_back({sub, "/dev/" + sub, classes, true});
  }
  return out;
}

std::unique_ptr<Medium> LinuxOs::OpenMedium(const BlockDevice& dev, OpenError* err) {
  UniqueFd fd(open(dev.node.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) {
    err->no_medium = errno == ENOMEDIUM;
    err->detail = ErrnoError("open " + dev.node).message;
    return nullptr;
  }
  std::string head(36 * 1024, '\0');
  ssize_t n = pread(fd.get(), head.data(), head.size(), 0);
  if (n < 0) {
    err->no_medium = errno == ENOMEDIUM;
    err->detail = ErrnoError("read " + dev.node).message;
    return nullptr;
  }
  head.resize(n);
  std::string type = SniffFilesystem(head);
  if (type.empty() || type == "squashfs") {
    err->detail = "no iso9660, vfat or ext4 signature";
    return nullptr;
  }
  std::string dir = probe_dir_ + "/" + dev.name;
  if (auto st = MakeDirs(dir); !st) {
    err->detail = st.error();
    return nullptr;
  }
  const char* data = type == "ext4" ? "noload" : nullptr;  // never replay a journal on a medium
  if (mount(dev.node.c_str(), dir.c_str(), type.c_str(), MS_RDONLY | MS_NOSUID | MS_NODEV, data) !=
      0) {
    int e = errno;
    err->detail = ErrnoError("mount " + type + " " + dev.node, e).message;
    if (e == ENODEV) err->detail += " (is the " + type + " module in the initramfs?)";
    rmdir(dir.c_str());
    return nullptr;
  }
  return std::make_unique<LinuxMedium>(dir, type);
}

uint64_t LinuxOs::NowMs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return uint64_t(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

void LinuxOs::SleepMs(uint64_t ms) {
  timespec ts{time_t(ms / 1000), long(ms % 1000) * 1000000};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

Status MakeDirs(const std::string& path) {
  std::string cur;
  for (const auto& part : Split(path, '/')) {
    if (part.empty()) continue;
    cur += "/" + std::string(part);
    if (mkdir(cur.c_str(), 0755) != 0 && errno != EEXIST) return ErrnoError("mkdir " + cur);
  }
  return {};
}

Status MountBasics() {
  struct Basic {
    const char *fstype, *dir, *data;
    unsigned long flags;
  };
  const Basic basics[] = {{"devtmpfs", "/dev", "mode=0755", MS_NOSUID},
                          {"proc", "/proc", nullptr, MS_NOSUID | MS_NODEV | MS_NOEXEC},
                          {"sysfs", "/sys", nullptr, MS_NOSUID | MS_NODEV | MS_NOEXEC},
                          {"tmpfs", "/run", "mode=0755", MS_NOSUID | MS_NODEV}};
  for (const auto& b : basics) {
    if (auto st = MakeDirs(b.dir); !st) return st;
    if (mount(b.fstype, b.dir, b.fstype, b.flags, b.data) != 0 && errno != EBUSY)
      return ErrnoError(std::string("mount ") + b.fstype + " on " + b.dir);
  }
  // The kernel could not open a console when the initramfs has no /dev/console; now it can.
  int fd = open("/dev/console", O_RDWR | O_CLOEXEC);
  if (fd < 0) return ErrnoError("open /dev/console");
  for (int i = 0; i < 3; ++i) dup2(fd, i);
  if (fd > 2) close(fd);
  return {};
}

std::string DescribeFirmware() {
  std::string out = access("/sys/firmware/efi", F_OK) == 0 ? "UEFI" : "BIOS";
  // securityfs only for this read; systemd mounts it again in the image.
  const char* dir = "/sys/kernel/security";
  bool mounted =
      mount("securityfs", dir, "securityfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr) == 0;
  auto lockdown = ReadFile(std::string(dir) + "/lockdown");
  if (mounted) umount2(dir, MNT_DETACH);
  std::string state =
      lockdown ? std::string(Trim(*lockdown)) : "unknown (" + lockdown.error() + ")";
  return out + ", kernel lockdown: " + (state.empty() ? "unknown" : state);
}

std::string KernelRelease() {
  utsname u;
  return uname(&u) == 0 ? u.release : "";
}

Result<LoopDevice> AttachLoop(const std::string& file) {
  UniqueFd backing(open(file.c_str(), O_RDONLY | O_CLOEXEC));
  if (!backing.valid()) return ErrnoError("open " + file);
  UniqueFd ctl(open("/dev/loop-control", O_RDWR | O_CLOEXEC));
  if (!ctl.valid())
    return Error{ErrnoError("open /dev/loop-control").message +
                 " (is the loop module in the initramfs?)"};
  for (int attempt = 0; attempt < 20; ++attempt) {
    int n = ioctl(ctl.get(), LOOP_CTL_GET_FREE);
    if (n < 0) return ErrnoError("LOOP_CTL_GET_FREE");
    std::string dev = "/dev/loop" + std::to_string(n);
    UniqueFd loop(open(dev.c_str(), O_RDWR | O_CLOEXEC));
    if (!loop.valid()) return ErrnoError("open " + dev);
    loop_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.fd = backing.get();
    cfg.info.lo_flags = LO_FLAGS_READ_ONLY | LO_FLAGS_AUTOCLEAR;
    strncpy(reinterpret_cast<char*>(cfg.info.lo_file_name), file.c_str(), LO_NAME_SIZE - 1);
    if (ioctl(loop.get(), LOOP_CONFIGURE, &cfg) == 0) return LoopDevice{dev, std::move(loop)};
    if (errno != EBUSY)  // EBUSY: another attach took this one first
      return ErrnoError("LOOP_CONFIGURE " + dev + " with " + file +
                        " (the kernel needs 5.8 or later)");
  }
  return Error{"LOOP_CONFIGURE: no free loop device after 20 attempts"};
}

Status MountTmpfs(const std::string& dir, uint64_t size_bytes) {
  if (auto st = MakeDirs(dir); !st) return st;
  std::string data = "mode=0755";
  if (size_bytes) data += ",size=" + std::to_string(size_bytes);
  if (mount("tmpfs", dir.c_str(), "tmpfs", MS_NOSUID | MS_NODEV, data.c_str()) != 0)
    return ErrnoError("mount tmpfs on " + dir);
  return {};
}

Status MountReadOnly(const std::string& source, const std::string& dir, const std::string& type) {
  if (auto st = MakeDirs(dir); !st) return st;
  if (mount(source.c_str(), dir.c_str(), type.c_str(), MS_RDONLY, nullptr) != 0)
    return ErrnoError("mount " + type + " " + source + " on " + dir);
  return {};
}

Status MountOverlay(const std::vector<std::string>& lowers, const std::string& rw_dir,
                    const std::string& target) {
  for (const auto& d : {rw_dir + "/upper", rw_dir + "/work", target})
    if (auto st = MakeDirs(d); !st) return st;
  std::vector<std::string> top_first(lowers.rbegin(), lowers.rend());
  std::string data = "lowerdir=" + Join(top_first, ":") + ",upperdir=" + rw_dir +
                     "/upper,workdir=" + rw_dir + "/work";
  if (mount("overlay", target.c_str(), "overlay", 0, data.c_str()) != 0)
    return ErrnoError("mount overlay on " + target + " (" + data + ")");
  return {};
}

Result<uint64_t> FileSize(const std::string& path) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0) return ErrnoError("stat " + path);
  return uint64_t(st.st_size);
}

Result<uint64_t> CopyFile(const std::string& src, const std::string& dst) {
  UniqueFd in(open(src.c_str(), O_RDONLY | O_CLOEXEC));
  if (!in.valid()) return ErrnoError("open " + src);
  UniqueFd out(open(dst.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0444));
  if (!out.valid()) return ErrnoError("create " + dst);
  uint64_t total = 0;
  for (;;) {
    ssize_t n = sendfile(out.get(), in.get(), nullptr, 1 << 24);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ErrnoError("copy " + src + " to " + dst);
    if (n == 0) break;
    total += n;
  }
  return total;
}

Status MoveMount(const std::string& from, const std::string& to) {
  if (auto st = MakeDirs(to); !st) return st;
  if (mount(from.c_str(), to.c_str(), nullptr, MS_MOVE, nullptr) != 0)
    return ErrnoError("move mount " + from + " to " + to);
  return {};
}

Status Unmount(const std::string& dir) {
  if (umount2(dir.c_str(), MNT_DETACH) != 0) return ErrnoError("umount " + dir);
  return {};
}

namespace {

// Deletes the initramfs files (they would hold RAM forever), staying on the root's device.
void FreeInitramfs(int dirfd, dev_t root_dev) {
  DIR* d = fdopendir(dirfd);
  if (!d) {
    close(dirfd);
    return;
  }
  while (auto* e = readdir(d)) {
    if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
    struct stat st;
    if (fstatat(dirfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0 || st.st_dev != root_dev) continue;
    if (S_ISDIR(st.st_mode)) {
      int sub = openat(dirfd, e->d_name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
      if (sub >= 0) FreeInitramfs(sub, root_dev);
      unlinkat(dirfd, e->d_name, AT_REMOVEDIR);
    } else {
      unlinkat(dirfd, e->d_name, 0);
    }
  }
  closedir(d);
}

}  // namespace

Status SwitchRoot(const std::string& new_root, const std::string& init) {
  if (chdir(new_root.c_str()) != 0) return ErrnoError("chdir " + new_root);
  struct statfs sfs;
  struct stat root;
  if (statfs("/", &sfs) == 0 && stat("/", &root) == 0 &&
      (sfs.f_type == RAMFS_MAGIC || sfs.f_type == TMPFS_MAGIC)) {
    int fd = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) FreeInitramfs(fd, root.st_dev);
  }
  if (mount(".", "/", nullptr, MS_MOVE, nullptr) != 0)
    return ErrnoError("move " + new_root + " to /");
  if (chroot(".") != 0) return ErrnoError("chroot " + new_root);
  if (chdir("/") != 0) return ErrnoError("chdir /");
  char* argv[] = {const_cast<char*>(init.c_str()), nullptr};
  execv(init.c_str(), argv);
  return ErrnoError("exec " + init + " in the image");
}

bool RunShell(const std::string& root) {
  const std::string sh = root + "/bin/sh";
  if (access(sh.c_str(), X_OK) != 0) return false;
  pid_t pid = fork();
  if (pid < 0) return false;
  if (pid == 0) {
    // Child of pid 1: becomes the console's session leader, then the shell.
    setsid();
    ioctl(0, TIOCSCTTY, 1);
    if (!root.empty() && (chroot(root.c_str()) != 0 || chdir("/") != 0)) _exit(127);
    char* argv[] = {const_cast<char*>("sh"), nullptr};
    execv("/bin/sh", argv);
    _exit(127);
  }
  int status;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return true;
}

}  // namespace imager::booter
