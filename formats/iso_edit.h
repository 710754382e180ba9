// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

/// Editing an existing ISO without mounting it: kernel command lines changed in every boot
/// configuration (isolinux, GRUB, and the grub.cfg files inside the ESP's FAT image, edited
/// with mtools on a copy), a kickstart added to Anaconda media, files added and removed, the
/// volume id changed with the labels that refer to it. The new image is written by
/// formats::iso::Rewrite (libisofs, the input imported and its boot setup replayed), so El
/// Torito entries, the isohybrid MBR, the GPT and an appended ESP (replaced by the edited copy)
/// are kept; an isomd5sum implant is re-made with implantisomd5. Nothing is written under the
/// output unless every step succeeded.

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "base/result.h"
#include "formats/bootcfg.h"
#include "formats/iso_inspect.h"
#include "formats/iso_read.h"

namespace imager::formats::iso {

struct EditOptions {
  std::string input, output;
  std::vector<std::string> cmdline_add, cmdline_remove;  // kernel arguments, one word each
  std::string kickstart;  // host file put at /ks.cfg, with inst.ks=hd:LABEL=...:/ks.cfg
  std::vector<std::pair<std::string, std::string>> add;  // host path, path in the image
  std::vector<std::string> remove;                       // paths in the image
  std::string volume_id;                                 // "": unchanged
  // Times of new files and the image's "now"; -1: the input's volume modification time.
  int64_t source_date_epoch = -1;
};

struct EditReport {
  std::vector<std::string> edited;  // "/isolinux/isolinux.cfg (2 kernel lines)", "ESP ..."
  int kernel_lines = 0;
  bool md5_implanted = false;
};

Result<EditReport> Edit(const EditOptions& o);

/// The ESP's FAT image of the inspected ISO `iso` (`in.esp_image`: a file in the tree or an
/// appended partition) copied to `dest`; `partition` gets the partition's number (0: a file).
Status CopyEspImage(const Reader& reader, const Inspection& in, const std::string& iso,
                    const std::string& dest, int* partition);
/// The GRUB configurations (*.cfg below a grub or EFI directory) in the FAT image `image`, as
/// paths in it ("/EFI/BOOT/grub.cfg"), listed with mtools' mdir; `shown` names the image in
/// errors, `work` is a scratch directory.
Result<std::vector<std::string>> ListEspConfigs(const std::string& image, const std::string& shown,
                                                const std::string& work);

/// The 16 digits YYYYMMDDhhmmsscc of a volume descriptor date field (17 bytes) and the
/// seconds since the epoch it means (its last byte is the offset from UTC in 15 minutes);
/// nullopt-like: an empty string when the field is unset or malformed.
std::pair<std::string, int64_t> VolumeDate(std::string_view field);

}  // namespace imager::formats::iso
