// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

/// Os is the narrow view of the machine the device probe needs: block devices with their class,
/// read-only access to the filesystem on one of them, and a clock; LinuxOs is the real one,
/// FakeOs (fake_os.h) the one tests drive.

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "base/result.h"

namespace imager::booter {

/// Device classes a probe entry can name, as bits so one device can carry several
/// (a USB stick is usb|removable|disk).
enum DeviceClass : unsigned {
  kCdrom = 1u << 0,
  kUsb = 1u << 1,
  kVirtio = 1u << 2,
  kNvme = 1u << 3,
  kDisk = 1u << 4,
  kRemovable = 1u << 5,
};

/// "cdrom,usb,…" for the classes set in `classes`.
std::string ClassNames(unsigned classes);
/// The class bit for a name ("cdrom"), or 0 when the name is not a class.
unsigned ClassFromName(const std::string& name);
/// Every class name, in the order ClassNames prints them.
const std::vector<std::string>& AllClassNames();

/// The filesystem type named by the superblock magic in the first 36 KiB of a device or image:
/// "iso9660", "ext4", "vfat", "squashfs", or "" when none is recognised.
std::string SniffFilesystem(const std::string& head);

struct BlockDevice {
  std::string name;  // kernel name: "sr0", "vda1"
  std::string node;  // "/dev/sr0"
  unsigned classes = 0;
  bool partition = false;
};

/// A filesystem mounted read-only for inspection; unmounted on destruction unless kept.
class Medium {
 public:
  virtual ~Medium() = default;
  virtual std::string fstype() const = 0;
  /// Where the filesystem is mounted (empty in fakes).
  virtual std::string mount_point() const = 0;
  /// Whether a regular file exists at `path` (absolute within the medium).
  virtual bool IsFile(const std::string& path) const = 0;
  /// Contents of a small file at `path` (absolute within the medium).
  virtual Result<std::string> ReadSmallFile(const std::string& path) const = 0;
  /// Keeps the mount alive after this object is gone (the accepted medium).
  virtual void Keep() = 0;
};

/// Why a medium could not be opened: the drive is empty, or nothing on it mounts.
struct OpenError {
  bool no_medium = false;
  std::string detail;
};

class Os {
 public:
  virtual ~Os() = default;
  /// Every block device now present, whole devices before their partitions, sorted by name.
  virtual std::vector<BlockDevice> ListBlockDevices() = 0;
  /// Mounts the filesystem on `dev` read-only, trying each supported type.
  virtual std::unique_ptr<Medium> OpenMedium(const BlockDevice& dev, OpenError* err) = 0;
  /// Monotonic milliseconds.
  virtual uint64_t NowMs() = 0;
  virtual void SleepMs(uint64_t ms) = 0;
};

}  // namespace imager::booter
