// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

/// Config is what the booter does at boot: where to look for the medium (probe order), how long
/// to wait, which image files and identity make a medium ours, which modules to load and what to
/// exec. It comes from a `key=value` file in the initramfs, then the kernel command line's
/// `imager.*` parameters override it (README.md lists both).

#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace imager::booter {

/// One entry of the probe order: a device class ("cdrom") or a device path pattern
/// ("/dev/sr0", "/dev/vd*", fnmatch syntax).
struct ProbeSpec {
  unsigned cls = 0;     // a DeviceClass bit when this is a class entry
  std::string pattern;  // a /dev path pattern otherwise
  std::string ToString() const;
};

enum class OnFailure { kHalt, kPowerOff, kReboot };

struct Config {
  std::vector<ProbeSpec> probe;  // empty means the default order
  unsigned timeout_s = 30;
  unsigned poll_ms = 250;
  std::vector<std::string> images = {"/live/filesystem.squashfs"};  // bottom layer first
  std::string id;
  std::string id_file = "/.imager-id";
  bool toram = false;
  std::vector<std::string> modules;  // load order; relative paths are under /lib/modules/RELEASE
  std::string init = "/sbin/init";
  bool shell = false;  // open a shell before switch_root (debugging)
  OnFailure on_failure = OnFailure::kHalt;
  bool quiet = false;
};

/// The default probe order: cdrom, usb, virtio, nvme, disk.
std::vector<ProbeSpec> DefaultProbeOrder();

/// Parses "cdrom,usb,/dev/vd*" into probe entries.
Result<std::vector<ProbeSpec>> ParseProbeList(std::string_view list);

/// Parses the config file; every bad line is reported ("LINE: problem"), one error in total.
Result<Config> ParseConfig(std::string_view text);

/// Applies `imager.*` parameters of a kernel command line to `cfg`. A boot must not fail over a
/// typo, so problems come back as warnings and the bad parameter is ignored.
std::vector<std::string> ApplyCmdline(std::string_view cmdline, Config* cfg);

/// Splits a kernel command line into words, honouring double quotes (`a="b c"` is one word).
std::vector<std::string> SplitCmdline(std::string_view cmdline);

/// The problems that make a config unusable (no identity, no image), empty when it is fine.
std::vector<std::string> CheckConfig(const Config& cfg);

}  // namespace imager::booter
