// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

/// The initramfs of an ISO, made from an image tree: the image's kernel (the newest release that
/// has a module index, /lib/modules/RELEASE/modules.dep, and an image, /boot/vmlinuz-RELEASE as
/// Debian installs it or /lib/modules/RELEASE/vmlinuz as Fedora and openEuler do), the module
/// closure the
/// booter needs from that release, the booter as /init and its configuration with the module
/// lines added. Runs inside the id mapping (`imager internal write-initramfs`), where the
/// image's root-only files (vmlinuz is 0600) are readable.

#include <string>
#include <vector>

#include "base/result.h"

namespace imager::inside {

struct InitramfsInputs {
  std::string booter;                // the static imager-booter binary
  std::string config;                // its configuration, without module lines
  std::vector<std::string> modules;  // wanted module names; those this kernel lacks are skipped
  int64_t source_date_epoch = 0;
};

struct InitramfsResult {
  std::string release;               // the kernel's
  std::vector<std::string> modules;  // files in load order, relative to /lib/modules/RELEASE
  std::vector<std::string> builtin;  // wanted modules the kernel has built in
  std::vector<std::string> missing;  // wanted modules this kernel does not have
  uint64_t bytes = 0;                // size of initrd.img
};

/// Writes OUT_DIR/vmlinuz and OUT_DIR/initrd.img from the image tree at `rootfs`.
Result<InitramfsResult> MakeInitramfs(const std::string& rootfs, const std::string& out_dir,
                                      const InitramfsInputs& in);

}  // namespace imager::inside
