// SPDX-License-Identifier: GPL-3.0-or-later
// imager iso: read ISO images without mounting them. `inspect` says what an image is and how it
// boots, `ls` and `cat` read its files, `extract` copies them out. Everything runs in-process as
// the caller (libcdio, formats/iso_read.h): no sandbox, no root, nothing mounted.
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>

#include "base/fs.h"
#include "base/log.h"
#include "base/strings.h"
#include "cmd/verbs.h"
#include "formats/bootcfg.h"
#include "formats/iso_edit.h"
#include "formats/iso_inspect.h"
#include "formats/iso_read.h"

namespace imager::cmd {
namespace {

namespace iso = formats::iso;

struct IsoOptions {
  std::string image, dest, output, kickstart, volid;
  std::vector<std::string> cmdline_add, cmdline_remove, add, remove;
  int64_t source_date_epoch = -1;
  std::vector<std::string> paths;
  bool json = false, long_format = false, no_verify = false;
};

std::string Absolute(const std::string& p) { return StartsWith(p, "/") ? p : "/" + p; }

nlohmann::json ToJson(const iso::Inspection& in) {
  using nlohmann::json;
  json j = {{"volume_id", in.volume_id},
            {"system_id", in.system_id},
            {"publisher", in.publisher},
            {"application", in.application},
            {"created", in.created},
            {"modified", in.modified},
            {"volume_bytes", in.volume_bytes},
            {"image_bytes", in.image_bytes},
            {"boot_catalog", in.boot_catalog},
            {"boot_configs", in.boot_configs},
            {"esp_image", in.esp_image},
            {"layout", in.layout},
            {"layout_evidence", in.layout_evidence},
            {"warnings", in.warnings}};
  j["el_torito"] = json::array();
  for (const auto& e : in.boot_entries)
    j["el_torito"].push_back({{"platform", e.platform},
                              {"platform_id", e.platform_id},
                              {"bootable", e.bootable},
                              {"emulation", e.emulation},
                              {"load_segment", e.load_segment},
                              {"load_sectors", e.load_sectors},
                              {"lba", e.lba},
                              {"image", e.image}});
  auto parts = [](const std::vector<iso::Partition>& ps) {
    json a = json::array();
    for (const auto& p : ps)
      a.push_back({{"number", p.number},
                   {"type", p.type},
                   {"type_name", p.type_name},
                   {"start", p.start},
                   {"sectors", p.sectors},
                   {"bootable", p.bootable},
                   {"name", p.name}});
    return a;
  };
  j["mbr"] = parts(in.mbr);
  j["gpt"] = parts(in.gpt);
  j["apm"] = parts(in.apm);
  j["checksums"] = json::array();
  for (const auto& c : in.checksums)
    j["checksums"].push_back({{"kind", c.kind},
                              {"source", c.source},
                              {"verified", c.verified},
                              {"ok", c.ok},
                              {"detail", c.detail}});
  return j;
}

void PrintPartitions(const char* table, const std::vector<iso::Partition>& ps) {
  for (const auto& p : ps)
    printf("  %s %d: type %s%s, start %llu, %llu sectors%s%s\n", table, p.number, p.type.c_str(),
           p.type_name.empty() ? "" : (" (" + p.type_name + ")").c_str(),
           static_cast<unsigned long long>(p.start), static_cast<unsigned long long>(p.sectors),
           p.bootable ? ", active" : "", p.name.empty() ? "" : (", \"" + p.name + "\"").c_str());
}

void PrintText(const iso::Inspection& in) {
  printf("Volume id:    %s\n", in.volume_id.c_str());
  if (!in.application.empty()) printf("Application:  %s\n", in.application.c_str());
  printf("Created:      %s\n", in.created.empty() ? "-" : in.created.c_str());
  printf("Modified:     %s\n", in.modified.empty() ? "-" : in.modified.c_str());
  printf("Size:         %llu bytes (volume %llu)\n",
         static_cast<unsigned long long>(in.image_bytes),
         static_cast<unsigned long long>(in.volume_bytes));
  printf("Layout:       %s%s\n", in.layout.c_str(),
         in.layout_evidence.empty() ? "" : (" (" + Join(in.layout_evidence, ", ") + ")").c_str());
  printf("El Torito:    %s\n",
         in.boot_catalog.empty() ? "none" : ("catalog " + in.boot_catalog).c_str());
  for (const auto& e : in.boot_entries)
    printf("  %s%s, emulation %s, load %u sectors, lba %u: %s\n", e.platform.c_str(),
           e.bootable ? "" : " (not bootable)", e.emulation.c_str(), e.load_sectors, e.lba,
           e.image.empty() ? "?" : e.image.c_str());
  printf("Partitions:   %s\n", in.mbr.empty() && in.gpt.empty() && in.apm.empty() ? "none" : "");
  PrintPartitions("MBR", in.mbr);
  PrintPartitions("GPT", in.gpt);
  PrintPartitions("APM", in.apm);
  printf("Boot configs: %s\n",
         in.boot_configs.empty() ? "none" : Join(in.boot_configs, " ").c_str());
  printf("ESP image:    %s\n", in.esp_image.empty() ? "none" : in.esp_image.c_str());
  printf("Checksums:    %s\n", in.checksums.empty() ? "none" : "");
  for (const auto& c : in.checksums)
    printf("  %s (%s): %s: %s\n", c.kind.c_str(), c.source.c_str(),
           !c.verified ? "present, unverified"
           : c.ok      ? "OK"
                       : "FAILED",
           c.detail.c_str());
  for (const auto& w : in.warnings) printf("Warning:      %s\n", w.c_str());
}

// The GRUB configurations inside the ESP's FAT image, as "ESP:/EFI/BOOT/grub.cfg" in the boot
// configurations (read with mtools on a copy in a scratch directory); a warning when they cannot
// be read.
void AddEspConfigs(const iso::Reader& reader, const std::string& image, iso::Inspection* in) {
  if (in->esp_image.empty()) return;
  const char* tmp = getenv("TMPDIR");
  auto work = MakeTempDir(tmp && *tmp ? tmp : "/tmp", "imager-iso-inspect-");
  if (!work) {
    in->warnings.push_back("the ESP's configurations were not read: " + work.error());
    return;
  }
  Result<std::vector<std::string>> found = Error{""};
  if (auto st = iso::CopyEspImage(reader, *in, image, *work + "/esp.img", nullptr); !st)
    found = Error{st.error()};
  else
    found = iso::ListEspConfigs(*work + "/esp.img", in->esp_image, *work);
  (void)RemoveTree(*work);
  if (!found) {
    in->warnings.push_back("the ESP's configurations were not read: " + found.error());
    return;
  }
  for (const auto& path : *found) in->boot_configs.push_back("ESP:" + path);
}

int Inspect(const IsoOptions& o) {
  auto r = iso::Reader::Open(o.image);
  if (!r) return log::Err(r.error()), kExitFailed;
  auto in = iso::Inspect(**r, {.verify = !o.no_verify});
  if (!in) return log::Err(in.error()), kExitFailed;
  AddEspConfigs(**r, o.image, &*in);
  if (o.json)
    std::cout << ToJson(*in).dump(2) << "\n";
  else
    PrintText(*in);
  for (const auto& c : in->checksums)
    if (c.verified && !c.ok) return kExitFailed;  // a damaged medium fails the command
  return kExitOk;
}

std::string ModeString(mode_t m) {
  std::string s = S_ISDIR(m)    ? "d"
                  : S_ISLNK(m)  ? "l"
                  : S_ISREG(m)  ? "-"
                  : S_ISCHR(m)  ? "c"
                  : S_ISBLK(m)  ? "b"
                  : S_ISFIFO(m) ? "p"
                                : "s";
  const char* rwx = "rwxrwxrwx";
  for (int i = 0; i < 9; ++i) s += m & (0400 >> i) ? rwx[i] : '-';
  if (m & S_ISUID) s[3] = m & S_IXUSR ? 's' : 'S';
  if (m & S_ISGID) s[6] = m & S_IXGRP ? 's' : 'S';
  if (m & S_ISVTX) s[9] = m & S_IXOTH ? 't' : 'T';
  return s;
}

void PrintEntry(const iso::Entry& e, bool long_format) {
  if (!long_format) {
    printf("%s\n", e.name.c_str());
    return;
  }
  char when[32] = "?";
  time_t t = e.mtime;
  struct tm tm;
  if (gmtime_r(&t, &tm)) strftime(when, sizeof when, "%Y-%m-%d %H:%M", &tm);
  printf("%s %5u %5u %10llu %s %s%s\n", ModeString(e.mode).c_str(), e.uid, e.gid,
         static_cast<unsigned long long>(e.size), when, e.name.c_str(),
         e.IsSymlink() ? (" -> " + e.symlink).c_str() : "");
}

int Ls(const IsoOptions& o) {
  auto r = iso::Reader::Open(o.image);
  if (!r) return log::Err(r.error()), kExitFailed;
  std::string path = o.paths.empty() ? "/" : Absolute(o.paths[0]);
  auto e = (*r)->Stat(path);
  if (!e) return log::Err(e.error()), kExitFailed;
  if (!e->IsDir()) {
    PrintEntry(*e, o.long_format);
    return kExitOk;
  }
  auto list = (*r)->List(*e);
  if (!list) return log::Err(list.error()), kExitFailed;
  for (const auto& c : *list) PrintEntry(c, o.long_format);
  return kExitOk;
}

int Cat(const IsoOptions& o) {
  auto r = iso::Reader::Open(o.image);
  if (!r) return log::Err(r.error()), kExitFailed;
  auto e = (*r)->Stat(Absolute(o.paths.at(0)));
  if (!e) return log::Err(e.error()), kExitFailed;
  if (e->IsDir()) return log::Err(o.image + ": " + e->path + ": is a directory"), kExitFailed;
  auto st = (*r)->Read(*e, [](std::string_view s) -> Status {
    if (!WriteAll(STDOUT_FILENO, s.data(), s.size())) return ErrnoError("write to stdout");
    return {};
  });
  if (!st) return log::Err(st.error()), kExitFailed;
  return kExitOk;
}

int Extract(const IsoOptions& o) {
  auto r = iso::Reader::Open(o.image);
  if (!r) return log::Err(r.error()), kExitFailed;
  iso::ExtractOptions x{.owners = geteuid() == 0};
  for (const auto& p : o.paths) x.paths.push_back(Absolute(p));
  auto rep = iso::Extract(**r, o.dest, x);
  if (!rep) return log::Err(rep.error()), kExitFailed;
  for (const auto& s : rep->skipped) log::Warn("not extracted: " + s);
  log::Info(o.dest + ": " + std::to_string(rep->files) + " files, " + std::to_string(rep->dirs) +
            " directories, " + std::to_string(rep->symlinks) + " symlinks");
  return kExitOk;
}

// SOURCE_DATE_EPOCH from the option, else the environment; -1 when neither is set.
Result<int64_t> SourceDateEpoch(int64_t option) {
  if (option >= 0) return option;
  const char* env = getenv("SOURCE_DATE_EPOCH");
  if (!env || !*env) return int64_t{-1};
  char* end = nullptr;
  long long v = strtoll(env, &end, 10);
  if (*end || v < 0) return Error{"SOURCE_DATE_EPOCH=" + std::string(env) + ": not a number"};
  return int64_t{v};
}

int Edit(const IsoOptions& o) {
  iso::EditOptions e{.input = o.image,
                     .output = o.output,
                     .kickstart = o.kickstart,
                     .remove = o.remove,
                     .volume_id = o.volid};
  auto split_args = [](const std::vector<std::string>& from, std::vector<std::string>* to) {
    for (const auto& words : from) {
      auto split = formats::bootcfg::SplitUserArgs(words);
      if (!split) return log::Err("kernel arguments '" + words + "': " + split.error()), false;
      to->insert(to->end(), split->begin(), split->end());
    }
    return true;
  };
  if (!split_args(o.cmdline_add, &e.cmdline_add) ||
      !split_args(o.cmdline_remove, &e.cmdline_remove))
    return kExitUsage;
  for (const auto& a : o.add) {
    size_t colon = a.rfind(':');
    if (colon == std::string::npos || colon == 0 || colon + 1 == a.size())
      return log::Err("--add " + a + ": expected SRC:DST"), kExitUsage;
    e.add.emplace_back(a.substr(0, colon), Absolute(a.substr(colon + 1)));
  }
  for (auto& p : e.remove) p = Absolute(p);
  auto epoch = SourceDateEpoch(o.source_date_epoch);
  if (!epoch) return log::Err(epoch.error()), kExitUsage;
  e.source_date_epoch = *epoch;
  auto r = iso::Edit(e);
  if (!r) return log::Err(r.error()), kExitFailed;
  for (const auto& f : r->edited) log::Info("edited " + f);
  if (r->md5_implanted) log::Info(o.output + ": isomd5sum implanted again");
  log::Info(o.output + ": written");
  return kExitOk;
}

}  // namespace

Action SetupIso(CLI::App* app, const GlobalOptions*) {
  auto o = std::make_shared<IsoOptions>();
  auto* in = app->add_subcommand("inspect", "Volume, El Torito, partitions, layout, checksums");
  in->add_option("iso", o->image, "the ISO image")->required();
  in->add_flag("--json", o->json, "machine-readable output");
  in->add_flag("--no-verify", o->no_verify, "report embedded checksums without reading the files");
  auto* ls = app->add_subcommand("ls", "List a directory of the image (Rock Ridge names)");
  ls->add_option("iso", o->image, "the ISO image")->required();
  ls->add_option("path", o->paths, "a directory or file in the image (default /)")->expected(0, 1);
  ls->add_flag("-l,--long", o->long_format, "modes, owners, sizes, times (UTC), symlink targets");
  auto* cat = app->add_subcommand("cat", "Write a file of the image to standard output");
  cat->add_option("iso", o->image, "the ISO image")->required();
  cat->add_option("path", o->paths, "the file in the image")->required()->expected(1);
  auto* ex = app->add_subcommand("extract", "Copy the image's tree (or some paths) out");
  ex->add_option("iso", o->image, "the ISO image")->required();
  ex->add_option("dest", o->dest, "the directory to fill (created when missing)")->required();
  ex->add_option("paths", o->paths, "paths in the image to extract, with their parents");
  auto* ed =
      app->add_subcommand("edit", "Write a changed copy: kernel arguments, kickstart, files");
  ed->add_option("iso", o->image, "the ISO image to start from")->required();
  ed->add_option("-o,--output", o->output, "the new image (written only when complete)")
      ->required();
  ed->add_option("--cmdline-add", o->cmdline_add,
                 "kernel arguments added on every kernel line (repeatable)")
      ->allow_extra_args(false);
  ed->add_option("--cmdline-remove", o->cmdline_remove,
                 "kernel arguments removed: NAME removes NAME and NAME=*; NAME=VALUE only itself")
      ->allow_extra_args(false);
  ed->add_option("--kickstart", o->kickstart,
                 "Anaconda media: FILE becomes /ks.cfg, inst.ks=hd:LABEL=<volid>:/ks.cfg added");
  ed->add_option("--add", o->add, "SRC:DST, a host file or directory put at DST (repeatable)")
      ->allow_extra_args(false);
  ed->add_option("--remove", o->remove, "a path in the image removed (repeatable)")
      ->allow_extra_args(false);
  ed->add_option("--volid", o->volid, "a new volume id; LABEL= references follow it");
  ed->add_option("--source-date-epoch", o->source_date_epoch,
                 "times of new files (default: $SOURCE_DATE_EPOCH, else the input's date)");
  app->require_subcommand(1);
  app->footer(R"(Reads ISO 9660 images (Rock Ridge names, modes, owners, symlinks) without mounting
them, as any user. 'inspect' exits 1 when an embedded checksum does not match.

Examples:
  imager iso inspect debian-live.iso                # El Torito, MBR/GPT/APM, layout, checksums
  imager iso inspect --json Fedora.iso | jq .el_torito
  imager iso ls -l debian-live.iso /isolinux
  imager iso cat Fedora.iso /EFI/BOOT/grub.cfg
  imager iso extract debian-live.iso out/           # the whole tree
  imager iso extract Fedora.iso out/ /images/efiboot.img /isolinux
  imager iso edit Fedora.iso -o Fedora-ks.iso --kickstart ks.cfg
  imager iso edit live.iso -o serial.iso --cmdline-add console=ttyS0,115200 --cmdline-remove quiet
  imager iso edit live.iso -o new.iso --volid MYLIVE --add extra/:/extra --remove /README

'extract' never writes outside DEST: names '.', '..' or holding '/' and directory loops are
refused, symlinks are created but never followed. Owners are applied only when run as root.

'edit' changes every kernel line of isolinux, GRUB and the grub.cfg inside the ESP image
(edited with mtools on a copy), then writes the new image from the imported one (libisofs),
its boot setup replayed as xorriso's '-boot_image any replay' does: El Torito, the isohybrid,
protective or GRUB2 MBR with its partition offset, GPT, APM and the appended ESP are kept
(live-build, debian-cd, archiso, grub-mkrescue, lorax media); an isomd5sum implant is made again (implantisomd5). The same
inputs and SOURCE_DATE_EPOCH give the same bytes; nothing is written unless all succeeded.)");
  return [o, in, ls, cat, ed]() -> int {
    if (in->parsed()) return Inspect(*o);
    if (ls->parsed()) return Ls(*o);
    if (cat->parsed()) return Cat(*o);
    if (ed->parsed()) return Edit(*o);
    return Extract(*o);
  };
}

}  // namespace imager::cmd
