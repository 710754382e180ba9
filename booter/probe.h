// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

/// The probe finds this build's medium: it walks the block devices in the configured order,
/// again and again until the timeout so late devices (USB, slow controllers) count, and accepts
/// the first filesystem holding every image file and the identity file with this build's id.
/// Every device it looked at is remembered with the reason it was turned down.

#include <memory>
#include <string>
#include <vector>

#include "booter/config.h"
#include "booter/os.h"

namespace imager::booter {

enum class Verdict { kAccepted, kNoMedium, kNoFilesystem, kNoImage, kNoIdentity, kWrongIdentity };

/// What happened to one device the last time it was examined.
struct Attempt {
  BlockDevice device;
  std::string spec;  // the probe entry that selected it
  Verdict verdict = Verdict::kNoFilesystem;
  std::string fstype;
  std::string detail;  // the reason in words, with both ids for a wrong identity
};

struct ProbeReport {
  std::vector<Attempt> attempts;         // in the order devices were first examined
  std::vector<std::string> empty_specs;  // probe entries that matched no device
  unsigned rounds = 0;
  uint64_t elapsed_ms = 0;
  /// Human-readable account: one line per device, for the console.
  std::string Format() const;
};

struct ProbeResult {
  std::unique_ptr<Medium> medium;  // null when nothing was accepted
  BlockDevice device;
  ProbeReport report;
};

/// Whether `dev` is selected by one probe entry.
bool Matches(const ProbeSpec& spec, const BlockDevice& dev);

/// Examines one device: opens its filesystem and checks the images and the identity.
Attempt Examine(Os& os, const Config& cfg, const BlockDevice& dev, std::unique_ptr<Medium>* out);

/// Runs the probe loop until a medium is accepted or `cfg.timeout_s` has passed (at least one
/// round either way). `log` gets one line per newly seen device or changed verdict.
ProbeResult Probe(Os& os, const Config& cfg, void (*log)(const std::string&) = nullptr);

}  // namespace imager::booter
