// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

/// The outputs table, like cmd/main.cc's verb table: one row per output format with its planner
/// (the stages it adds above the image's layers), what it publishes into the output directory,
/// and its line in `imager build --help`. The build plan, the publishing step, the help and the
/// "available:" message all come from this table; adding a format is one planner and one row.
/// Formats that share work share stages: iso and squashfs one squashfs stage, oci and
/// oci-archive one oci stage (a planner adds a stage only when the pipeline has none of that
/// name).

#include <string>
#include <vector>

#include "profiles/profile.h"
#include "stages/build.h"

namespace imager::stages {

/// What an output's planner works with.
struct OutputPlan {
  const profiles::Profile& profile;
  const BuildOptions& options;
  /// The image's layer stages, bottom first; a planner that adds layers (an installer's)
  /// appends them.
  std::vector<std::string>* layers;
  Pipeline* pipeline;
};

/// A file or directory an output copies from a stage's output into the output directory.
struct Publication {
  std::string stage;
  std::string name;
  bool tree = false;  // a directory (the OCI layout)
};

struct OutputFormat {
  profiles::Format format;
  const char* name;  // output.formats' spelling
  const char* help;  // one line for `imager build --help`
  bool needs_tools;  // boots: the lock carries the family's tools tree for it
  bool disk;         // a partitioned disk image (the family's disk boot files)
  Status (*plan)(OutputPlan&);
  std::vector<Publication> (*publishes)(const profiles::Profile&);
};

/// Every implemented output format, in planning order.
const std::vector<OutputFormat>& OutputFormats();
/// The row of `format`, or nullptr when it is not implemented.
const OutputFormat* FindOutput(profiles::Format format);
/// "iso, tar, squashfs, ...": the implemented formats, for messages and help.
std::string AvailableOutputs();
/// Whether the profile's output.formats has `format`.
bool Wants(const profiles::Profile& profile, profiles::Format format);
/// True when the profile asks for a disk image (raw, qcow2).
bool WantsDisk(const profiles::Profile& profile);
/// True when an output the profile asks for needs the tools tree.
bool NeedsTools(const profiles::Profile& profile);

/// Adds every output the profile asks for above `*layers`; errors name the profile field.
Status PlanOutputs(const profiles::Profile& profile, const BuildOptions& options,
                   std::vector<std::string>* layers, Pipeline* pipeline);

/// The layers of an output that boots with the distribution's own initramfs (tar, squashfs, disk
/// images, an installer's target): the image's layers and, where the family makes the initramfs
/// in a stage of its own, that stage's layer on top (added by the first caller). A live ISO's
/// image leaves it out, so it neither waits for the initramfs nor carries it.
std::vector<std::string> BootedLayers(OutputPlan& plan);

/// The squashfs output's planner; the iso's reuses it for the medium's root image.
Status PlanSquashfs(OutputPlan& plan);

/// What the profile's outputs publish, in output.formats order.
std::vector<Publication> Publications(const profiles::Profile& profile);

}  // namespace imager::stages
