// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

/// The stages of the disk image outputs (raw, qcow2): a GPT disk that boots under BIOS (GRUB's
/// boot.img and core.img) and UEFI (shim + GRUB on the ESP at the removable path), with the
/// image's layers as an ext4 root that boots with the distribution's own kernel and initramfs.
/// Everything is written into files — no loop device, no mount:
///
///   packages ─ … ─ scripts ─┬─ disk (NAME.raw) ─ qcow2 (NAME.qcow2)
///   tools ──────────────────┘
///
/// Disk layout (512-byte sectors, partitions on MiB boundaries):
///   LBA 0       protective MBR with GRUB's boot.img, pointing at core.img
///   LBA 1-33    GPT header and entries (backup in the disk's last 33 sectors)
///   1 MiB       p1 BIOS boot (1 MiB): GRUB's core.img, prefix (,gpt3)/boot/grub
///   2 MiB       p2 ESP (FAT): EFI/BOOT/BOOTX64.EFI (shim), grubx64.efi, boot/grub/grub.cfg
///   then        p3 root (ext4, mke2fs -d from the layers), to 1 MiB before the end
/// The root grows into a disk made larger (qemu-img resize, a bigger cloud volume) on its first
/// boot: /etc/repart.d has systemd-repart grow the root partition, the last one, to the disk's
/// end, and x-systemd.growfs on / in /etc/fstab grows the filesystem into it (systemd >= 252).
/// The root's /etc/fstab and /boot/grub/grub.cfg, and every UUID and GUID, come from the build
/// identity (the key of the image's top layer), so the same build gives the same bytes and a
/// kernel update inside the booted system keeps booting (GRUB loads /vmlinuz and /initrd.img,
/// the links the kernel package keeps current).

#include <string>

#include "stages/build.h"

namespace imager::stages {

inline constexpr const char* kDiskStage = "disk";
inline constexpr const char* kQcow2Stage = "qcow2";

/// The ids of one disk build, all derived from `identity`.
struct DiskIds {
  std::string root_uuid;  // ext4, lower case (as /dev/disk/by-uuid spells it)
  std::string hash_seed;  // ext4's directory hash seed
  std::string disk_guid, bios_guid, esp_guid, root_guid;  // GPT
  static DiskIds From(const std::string& identity);
};

/// The root's /etc/fstab, its systemd-repart definition, its /boot/grub/grub.cfg and the
/// ESP's grub.cfg.
inline constexpr const char* kDiskRepartFile = "/etc/repart.d/50-imager-root.conf";
std::string DiskRepart();
std::string DiskFstab(const profiles::Profile& profile, const DiskIds& ids,
                      const std::string& esp_serial);
std::string DiskGrubConfig(const profiles::Profile& profile, const DiskIds& ids);
std::string DiskEspGrubConfig(const DiskIds& ids);

struct OutputPlan;
/// The planners of the raw and qcow2 outputs (stages/outputs.cc): tools, disk (and qcow2).
Status PlanRaw(OutputPlan& plan);
Status PlanQcow2(OutputPlan& plan);

}  // namespace imager::stages
