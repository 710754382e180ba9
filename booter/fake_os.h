// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

/// FakeOs is an Os for tests: devices are plain data (files by path), a device can appear only
/// after some number of listings, and the clock moves only when the probe sleeps.

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "booter/os.h"

namespace imager::booter {

struct FakeDevice {
  BlockDevice dev;
  unsigned appears_after = 0;  // number of ListBlockDevices calls before it shows up
  bool no_medium = false;
  std::string fstype;  // empty: nothing mountable on it
  std::map<std::string, std::string> files;
};

class FakeMedium : public Medium {
 public:
  explicit FakeMedium(const FakeDevice& d) : d_(d) {}
  std::string fstype() const override { return d_.fstype; }
  std::string mount_point() const override { return ""; }
  bool IsFile(const std::string& path) const override { return d_.files.count(path) != 0; }
  Result<std::string> ReadSmallFile(const std::string& path) const override {
    auto it = d_.files.find(path);
    if (it == d_.files.end()) return Error{"open " + path + ": No such file or directory"};
    return it->second;
  }
  void Keep() override {}

 private:
  FakeDevice d_;
};

class FakeOs : public Os {
 public:
  std::vector<FakeDevice> devices;
  std::vector<std::string> opened;  // device names in the order OpenMedium saw them
  unsigned listings = 0;
  uint64_t now_ms = 1000;

  static FakeDevice Dev(const std::string& name, unsigned classes) {
    FakeDevice d;
    d.dev.name = name;
    d.dev.node = "/dev/" + name;
    d.dev.classes = classes;
    return d;
  }

  std::vector<BlockDevice> ListBlockDevices() override {
    std::vector<BlockDevice> out;
    for (const auto& d : devices)
      if (listings >= d.appears_after) out.push_back(d.dev);
    ++listings;
    return out;
  }
  std::unique_ptr<Medium> OpenMedium(const BlockDevice& dev, OpenError* err) override {
    opened.push_back(dev.name);
    for (const auto& d : devices) {
      if (d.dev.name != dev.name) continue;
      if (d.no_medium) {
        err->no_medium = true;
        err->detail = "open " + dev.node + ": No medium found";
        return nullptr;
      }
      if (d.fstype.empty()) {
        err->detail = "iso9660, vfat, ext4: Invalid argument";
        return nullptr;
      }
      return std::make_unique<FakeMedium>(d);
    }
    err->detail = "open " + dev.node + ": No such device";
    return nullptr;
  }
  uint64_t NowMs() override { return now_ms; }
  void SleepMs(uint64_t ms) override { now_ms += ms; }
};

}  // namespace imager::booter
