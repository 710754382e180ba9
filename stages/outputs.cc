// SPDX-License-Identifier: GPL-3.0-or-later
// The outputs table and the planners of the formats that are one stage above the layers.
#include "stages/outputs.h"

#include <algorithm>

#include "base/strings.h"
#include "families/family.h"
#include "stages/disk_stages.h"
#include "stages/iso_stages.h"
#include "stages/oci_stages.h"
#include "stages/rootfs.h"
#include "stages/stage_util.h"

namespace imager::stages {
namespace {

using profiles::Format;
using profiles::Profile;

// An image file written by one of imager's writers from the merged layers, the distribution's
// initramfs included (a root filesystem others may boot).
Status PlanImageFile(OutputPlan& plan, const char* stage, const char* suffix, const char* writer,
                     int version = 1) {
  if (plan.pipeline->Has(stage)) return {};
  plan.pipeline->Add(ImageFileStage(stage, BootedLayers(plan),
                                    {.file = plan.profile.name + suffix,
                                     .writer = writer,
                                     .overlay_layer = false,
                                     .source_date_epoch = plan.options.source_date_epoch},
                                    version));
  return {};
}

// Version 2: the gzip is GzipWriter's (members of 4 MiB) instead of libarchive's zlib filter.
Status PlanTar(OutputPlan& plan) { return PlanImageFile(plan, "tar", ".tar.gz", "write-tar", 2); }

Status PlanOci(OutputPlan& plan) {
  if (plan.pipeline->Has(kOciStage)) return {};
  auto stage = OciOutputStage(plan.profile, plan.options.source_date_epoch, *plan.layers,
                              Wants(plan.profile, Format::kOciArchive));
  if (!stage) return stage.take_error();
  plan.pipeline->Add(std::move(*stage));
  return {};
}

const std::vector<OutputFormat>& Table() {
  static const std::vector<OutputFormat> k = {
      {Format::kTar, "tar", "the root filesystem as NAME.tar.gz (owners, modes, xattrs kept)",
       false, false, PlanTar,
       [](const Profile& p) {
         return std::vector<Publication>{{"tar", p.name + ".tar.gz"}};
       }},
      {Format::kOci, "oci", "an OCI image layout directory NAME.oci", false, false, PlanOci,
       [](const Profile& p) {
         return std::vector<Publication>{{kOciStage, OciDirName(p), /*tree=*/true}};
       }},
      {Format::kOciArchive, "oci-archive", "the OCI layout as one tar file NAME.oci.tar", false,
       false, PlanOci,
       [](const Profile& p) {
         return std::vector<Publication>{{kOciStage, OciArchiveName(p)}};
       }},
      {Format::kSquashfs, "squashfs", "the root filesystem as a squashfs image NAME.squashfs",
       false, false, PlanSquashfs,
       [](const Profile& p) {
         return std::vector<Publication>{{"squashfs", p.name + ".squashfs"}};
       }},
      // Before iso: an installer's planner adds its layers above the image's, and the disk
      // holds the image (the installed system), not the live session.
      {Format::kRaw, "raw",
       "a GPT disk image NAME.raw (BIOS and UEFI boot, ext4 root) for VMs or to dd onto a disk",
       true, true, PlanRaw,
       [](const Profile& p) {
         return std::vector<Publication>{{kDiskStage, p.name + ".raw"}};
       }},
      {Format::kQcow2, "qcow2", "the disk image as QEMU's qcow2 NAME.qcow2", true, true, PlanQcow2,
       [](const Profile& p) {
         return std::vector<Publication>{{kQcow2Stage, p.name + ".qcow2"}};
       }},
      {Format::kIso, "iso",
       "a live (or, with an installer, installer) ISO NAME.iso for BIOS and UEFI", true, false,
       PlanIso,
       [](const Profile& p) {
         std::vector<Publication> out{{"iso", p.name + ".iso"}};
         if (p.output.checksum == profiles::Checksum::kSha256) out.push_back({"iso", "SHA256SUMS"});
         return out;
       }},
  };
  return k;
}

}  // namespace

std::vector<std::string> BootedLayers(OutputPlan& plan) {
  for (const auto& s : plan.pipeline->stages())
    if (s.name == kInitrdStage) {
      std::vector<std::string> layers = s.parents;
      layers.push_back(s.name);
      return layers;
    }
  const families::Family& family = families::Of(plan.profile);
  std::vector<std::string> layers = *plan.layers;
  if (!family.initrd_stage || !plan.pipeline->Has("packages")) return layers;
  plan.pipeline->Add(family.initrd_stage(plan.profile, plan.options.source_date_epoch, layers));
  layers.push_back(kInitrdStage);
  return layers;
}

Status PlanSquashfs(OutputPlan& plan) {
  return PlanImageFile(plan, "squashfs", ".squashfs", "write-squashfs");
}

const std::vector<OutputFormat>& OutputFormats() { return Table(); }

const OutputFormat* FindOutput(Format format) {
  for (const auto& o : Table())
    if (o.format == format) return &o;
  return nullptr;
}

std::string AvailableOutputs() {
  std::vector<std::string> names;
  for (const auto& o : Table()) names.push_back(o.name);
  return Join(names, ", ");
}

bool Wants(const Profile& p, Format f) {
  return std::find(p.output.formats.begin(), p.output.formats.end(), f) != p.output.formats.end();
}

bool WantsDisk(const Profile& p) {
  for (auto f : p.output.formats)
    if (const OutputFormat* o = FindOutput(f); o && o->disk) return true;
  return false;
}

bool NeedsTools(const Profile& p) {
  for (auto f : p.output.formats)
    if (const OutputFormat* o = FindOutput(f); o && o->needs_tools) return true;
  return false;
}

Status PlanOutputs(const Profile& p, const BuildOptions& options, std::vector<std::string>* layers,
                   Pipeline* pipeline) {
  for (auto f : p.output.formats)
    if (!FindOutput(f))
      return Error{p.Where("output.formats").ToString() + ": output.formats: '" +
                   profiles::NameOf(f) +
                   "' is not implemented yet (available: " + AvailableOutputs() + ")"};
  OutputPlan plan{p, options, layers, pipeline};
  for (const auto& o : Table())
    if (Wants(p, o.format))
      if (auto st = o.plan(plan); !st) return st;
  return {};
}

std::vector<Publication> Publications(const Profile& p) {
  std::vector<Publication> out;
  for (auto f : p.output.formats)
    if (const OutputFormat* o = FindOutput(f))
      for (auto& pub : o->publishes(p)) out.push_back(std::move(pub));
  return out;
}

}  // namespace imager::stages
