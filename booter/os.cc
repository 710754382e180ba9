// SPDX-License-Identifier: GPL-3.0-or-later
#include "booter/os.h"

#include "base/strings.h"

namespace imager::booter {
namespace {

struct ClassName {
  unsigned bit;
  const char* name;
};
constexpr ClassName kClassNames[] = {{kCdrom, "cdrom"}, {kUsb, "usb"},   {kVirtio, "virtio"},
                                     {kNvme, "nvme"},   {kDisk, "disk"}, {kRemovable, "removable"}};

}  // namespace

std::string ClassNames(unsigned classes) {
  std::vector<std::string> names;
  for (const auto& c : kClassNames)
    if (classes & c.bit) names.emplace_back(c.name);
  return Join(names, ",");
}

unsigned ClassFromName(const std::string& name) {
  for (const auto& c : kClassNames)
    if (name == c.name) return c.bit;
  return 0;
}

const std::vector<std::string>& AllClassNames() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> v;
    for (const auto& c : kClassNames) v.emplace_back(c.name);
    return v;
  }();
  return names;
}

std::string SniffFilesystem(const std::string& h) {
  auto at = [&](size_t off, std::string_view magic) {
    return h.size() >= off + magic.size() && h.compare(off, magic.size(), magic) == 0;
  };
  if (at(32769, "CD001")) return "iso9660";
  if (at(0, "hsqs")) return "squashfs";
  if (at(1080, "\x53\xef")) return "ext4";  // ext2/3/4 share the magic; ext4 mounts them all
  if (at(510, "\x55\xaa") && (at(54, "FAT") || at(82, "FAT32"))) return "vfat";
  return "";
}

}  // namespace imager::booter
