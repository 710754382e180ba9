// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

/// LinuxOs is the real Os (sysfs, devtmpfs, mount(2)); the free functions beside it are the
/// boot steps only a real kernel can do — basic mounts, loop devices, overlay, toram, moving
/// mounts and switch_root — which main.cc runs in order.

#include <string>
#include <vector>

#include "base/fd.h"
#include "booter/os.h"

namespace imager::booter {

class LinuxOs : public Os {
 public:
  /// Media are mounted for inspection under `probe_dir`/NAME.
  explicit LinuxOs(std::string probe_dir) : probe_dir_(std::move(probe_dir)) {}
  std::vector<BlockDevice> ListBlockDevices() override;
  std::unique_ptr<Medium> OpenMedium(const BlockDevice& dev, OpenError* err) override;
  uint64_t NowMs() override;
  void SleepMs(uint64_t ms) override;

 private:
  std::string probe_dir_;
};

/// Mounts devtmpfs on /dev, proc, sysfs and a tmpfs /run, then makes /dev/console fds 0-2.
Status MountBasics();

/// The running kernel's release (uname -r).
std::string KernelRelease();
/// The firmware the machine started from and the kernel's lockdown, for the console:
/// "UEFI, kernel lockdown: none [integrity] confidentiality". Debian's kernels lock down when the
/// firmware enforces Secure Boot, so "[integrity]" under UEFI says it does.
std::string DescribeFirmware();

/// A loop device attached with autoclear: it stays bound while `fd` is open or something (the
/// mount) holds it, and goes away by itself after the last user lets go.
struct LoopDevice {
  std::string path;  // "/dev/loopN"
  UniqueFd fd;
};

/// Attaches `file` read-only to a free loop device with LOOP_CONFIGURE. Keep the result alive
/// until the device is mounted.
Result<LoopDevice> AttachLoop(const std::string& file);

/// mkdir -p with mode 0755.
Status MakeDirs(const std::string& path);

/// Mounts a tmpfs of at most `size_bytes` (0: the kernel default) at `dir`.
Status MountTmpfs(const std::string& dir, uint64_t size_bytes);

Status MountReadOnly(const std::string& source, const std::string& dir, const std::string& fstype);

/// Mounts an overlay at `target`: `lowers` bottom first, upper and work dirs made in `rw_dir`.
Status MountOverlay(const std::vector<std::string>& lowers, const std::string& rw_dir,
                    const std::string& target);

/// Copies `src` to `dst` (for toram); returns the bytes copied.
Result<uint64_t> CopyFile(const std::string& src, const std::string& dst);

Result<uint64_t> FileSize(const std::string& path);

/// mount --move FROM TO (TO is created when missing).
Status MoveMount(const std::string& from, const std::string& to);

Status Unmount(const std::string& dir);

/// Frees the initramfs, makes `new_root` the root and execs `init`; returns only on failure,
/// by then possibly already inside the new root.
Status SwitchRoot(const std::string& new_root, const std::string& init);

/// Runs /bin/sh on the console as a child (in `root` when not empty) and waits for it.
/// False when there is no shell to run.
bool RunShell(const std::string& root);

}  // namespace imager::booter
