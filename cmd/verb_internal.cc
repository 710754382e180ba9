// SPDX-License-Identifier: GPL-3.0-or-later
// imager internal: hidden helpers that imager runs inside its own sandbox (see sandbox/tools.h),
// where they see the image's owners through the id mapping. Not for direct use.
#include <sys/stat.h>

#include <iostream>
#include <memory>
#include <optional>

#include "base/fd.h"
#include "base/fs.h"
#include "base/log.h"
#include "base/strings.h"
#include "base/tree_index.h"
#include "cmd/verbs.h"
#include "formats/deb.h"
#include "formats/ext4.h"
#include "formats/iso.h"
#include "formats/squashfs.h"
#include "formats/tar.h"
#include "inside/customize.h"
#include "inside/initramfs.h"
#include "inside/rpm_install.h"
#include "oci/layers.h"
#include "oci/layout.h"
#include "oci/unpack.h"

namespace imager::cmd {
namespace {

int ExtractTar(const std::string& archive, const std::string& dest, bool verbatim) {
  auto r = formats::tar::Extract(archive, dest, {.verbatim = verbatim});
  if (!r) {
    log::Err(r.error());
    return kExitFailed;
  }
  // The caller parses this line; device nodes are re-created by the image writers.
  for (const auto& d : r->skipped_devices) std::cout << "skipped-device " << d << "\n";
  std::cout << "entries " << r->entries << "\n";
  return kExitOk;
}

int WriteTar(const std::string& root, const std::string& out, int64_t sde, bool verbatim) {
  formats::tar::WriteOptions o;
  o.source_date_epoch = sde;
  o.verbatim = verbatim;
  auto r = formats::tar::Write(root, out, o);
  if (!r) {
    log::Err(r.error());
    return kExitFailed;
  }
  std::cout << "entries " << r->entries << "\nbytes " << r->bytes << "\n";
  return kExitOk;
}

struct SquashfsArgs {
  std::string root, out, comp = "zstd";
  formats::squashfs::WriteOptions o;
  bool progress = false;
};

int WriteSquashfs(SquashfsArgs& a) {
  auto comp = formats::squashfs::ParseCompressor(a.comp);
  if (!comp) {
    log::Err(comp.error());
    return kExitUsage;
  }
  a.o.compressor = *comp;
  int shown = -1;
  // The caller parses these lines to show progress: "progress DONE TOTAL", once per percent.
  if (a.progress)
    a.o.progress = [&shown](uint64_t done, uint64_t total) {
      int pct = total ? static_cast<int>(done * 100 / total) : 100;
      if (pct == shown) return;
      shown = pct;
      std::cout << "progress " << done << " " << total << std::endl;
    };
  auto r = formats::squashfs::Write(a.root, a.out, a.o);
  if (!r) {
    log::Err(r.error());
    return kExitFailed;
  }
  for (const auto& x : r->skipped_xattrs) log::Warn("squashfs cannot hold xattr " + x);
  std::cout << "entries " << r->entries << "\ninodes " << r->inodes << "\nbytes " << r->bytes
            << "\nimage-bytes " << r->image_bytes << "\n";
  return kExitOk;
}

// imager internal write-iso: a hybrid ISO of ROOT (formats/iso.h); prints "progress DONE TOTAL"
// lines (once per percent) like write-squashfs, then "bytes N".
struct IsoArgs {
  formats::iso::WriteOptions o;
  bool quiet = false;
};

void AddWriteIsoOptions(CLI::App* v, const std::shared_ptr<IsoArgs>& a) {
  v->add_option("--root", a->o.root, "directory that becomes the ISO's root")->required();
  v->add_option("--output", a->o.output, "the .iso file")->required();
  v->add_option("--volume-id", a->o.volume_id, "A-Z 0-9 _, up to 32")->required();
  v->add_option("--epoch", a->o.source_date_epoch, "every time in the image")->required();
  v->add_option("--uuid", a->o.volume_uuid, "16 digits YYYYMMDDhhmmsscc (default: from epoch)");
  v->add_option("--bios-boot", a->o.bios_boot_image, "isolinux.bin, path inside ROOT");
  v->add_option("--bios-catalog", a->o.bios_catalog, "boot catalog path inside ROOT");
  v->add_option("--isohybrid-mbr", a->o.isohybrid_mbr, "host path of isohdpfx.bin");
  v->add_option("--efi-image", a->o.efi_image, "host path of the ESP (FAT image)");
  v->add_flag("--quiet", a->quiet, "no progress lines");
}

int WriteIso(IsoArgs& a) {
  int shown = -1;
  if (!a.quiet)
    a.o.progress = [&shown](uint64_t done, uint64_t total) {
      int pct = total ? static_cast<int>(done * 100 / total) : 100;
      if (pct == shown) return;
      shown = pct;
      std::cout << "progress " << done << " " << total << std::endl;
    };
  auto r = formats::iso::Write(a.o);
  if (!r) {
    log::Err(r.error());
    return kExitFailed;
  }
  std::cout << "bytes " << r->bytes << "\n";
  return kExitOk;
}

// Verifies the OCI image LAYOUT[:TAG] and applies its layers to DEST (oci/unpack.h).
int OciUnpack(const std::string& layout, const std::string& tag, const std::string& dest) {
  auto image = oci::Read(layout, tag);
  if (!image) {
    log::Err(image.error());
    return kExitFailed;
  }
  std::cout << "manifest " << image->manifest.digest << "\nlayers " << image->layers.size() << "\n";
  auto r = oci::Unpack(*image, dest);
  if (!r) {
    log::Err(r.error());
    return kExitFailed;
  }
  for (const auto& d : r->skipped_devices) std::cout << "skipped-device " << d << "\n";
  std::cout << "entries " << r->entries << "\nwhiteouts " << r->whiteouts << "\nrecorded-owners "
            << r->recorded_owners << "\n";
  return kExitOk;
}

// Writes the pipeline layers LAYER... as OCI layer tars in OUT_DIR (oci/layers.h); prints one
// "layer PATH ENTRIES WHITEOUTS" line each, bottom first.
int WriteOciLayers(const std::string& out_dir, const std::vector<std::string>& layers,
                   const std::string& compression, int64_t sde) {
  auto c = oci::ParseCompression(compression);
  if (!c) {
    log::Err(c.error());
    return kExitUsage;
  }
  auto files = oci::WriteLayers(layers, out_dir, {.compression = *c, .source_date_epoch = sde});
  if (!files) {
    log::Err(files.error());
    return kExitFailed;
  }
  for (const auto& f : *files)
    std::cout << "layer " << f.path << " " << f.entries << " " << f.whiteouts << "\n";
  return kExitOk;
}

// Reports a module's failure; the exit code for the caller.
int Done(const Status& st) {
  if (!st) log::Err(st.error());
  return st ? kExitOk : kExitFailed;
}

// One librpm transaction into `root`; the stage log gets the installed packages and every file
// whose owner could not be kept (single-id mode).
int RpmInstall(const std::string& root, const std::vector<std::string>& rpms) {
  auto r = inside::RpmInstall({.root = root, .packages = rpms});
  if (!r) {
    log::Err(r.error());
    return kExitFailed;
  }
  for (const auto& p : r->installed) std::cout << "installed " << p << "\n";
  std::cout << "package database: " << r->dbpath << " (sqlite"
            << (r->moved_from.empty() ? "" : ", moved from " + r->moved_from) << "), "
            << r->packages << " packages"
            << (r->image_rpm.empty() ? "; the image has no rpm program"
                                     : "; the image's " + r->image_rpm + " lists them all")
            << "\n";
  for (const auto& l : r->lost)
    log::Warn("ownership not kept: " + l.path + " should be " + l.want + ", is " + l.have +
              " (single-id mode maps one id only)" +
              (l.cleared ? std::string("; its set-id bit was removed") : std::string()));
  return kExitOk;
}

struct InitramfsArgs {
  std::string root, out, config, modules;
  inside::InitramfsInputs in;
};

int WriteInitramfs(InitramfsArgs& a) {
  auto config = ReadFile(a.config);
  if (!config) {
    log::Err(config.error());
    return kExitFailed;
  }
  a.in.config = *config;
  for (const auto& m : Split(a.modules, ','))
    if (!m.empty()) a.in.modules.push_back(m);
  auto r = inside::MakeInitramfs(a.root, a.out, a.in);
  if (!r) {
    log::Err(r.error());
    return kExitFailed;
  }
  // For the stage log.
  std::cout << "kernel " << r->release << "\nmodules " << r->modules.size() << ": "
            << Join(r->modules, " ") << "\n";
  if (!r->builtin.empty()) std::cout << "built in: " << Join(r->builtin, " ") << "\n";
  if (!r->missing.empty()) std::cout << "not in this kernel: " << Join(r->missing, " ") << "\n";
  std::cout << "initrd.img " << r->bytes << " bytes\n";
  return kExitOk;
}

// The directories and files dpkg needs before it runs for the first time (as mmdebstrap lays
// them out), a policy-rc.d that keeps services from starting, then the essential packages' data.
int DebUnpack(const std::string& arch, const std::string& root,
              const std::vector<std::string>& debs) {
  for (const char* d :
       {"/etc/apt/apt.conf.d", "/etc/apt/sources.list.d", "/etc/apt/preferences.d",
        "/var/cache/apt", "/var/lib/apt/lists/partial", "/tmp", "/etc/dpkg/dpkg.cfg.d",
        "/var/log/apt", "/var/lib/dpkg/triggers", "/var/lib/dpkg/info",
        "/var/lib/dpkg/alternatives", "/var/lib/dpkg/updates", "/usr/sbin"}) {
    if (auto st = MakeDirs(root + d); !st) {
      log::Err(st.error());
      return kExitFailed;
    }
  }
  chmod((root + "/tmp").c_str(), 01777);
  Status st = WriteInRoot(root, "/var/lib/dpkg/status", "", 0644);
  if (st) st = WriteInRoot(root, "/etc/fstab", "# UNCONFIGURED FSTAB FOR BASE SYSTEM\n", 0644);
  if (st) st = WriteInRoot(root, "/var/lib/dpkg/arch", arch + "\n", 0644);
  if (st)
    st = WriteInRoot(root, "/usr/sbin/policy-rc.d",
                     "#!/bin/sh\n# imager: no service starts while the image is built\nexit 101\n",
                     0755);
  if (!st) {
    log::Err(st.error());
    return kExitFailed;
  }
  uint64_t entries = 0;
  for (const auto& deb : debs) {
    auto r = formats::deb::ExtractData(deb, root);
    if (!r) {
      log::Err(r.error());
      return kExitFailed;
    }
    entries += r->entries;
  }
  std::cout << "unpacked " << debs.size() << " packages, " << entries << " entries\n";
  return kExitOk;
}

// The payloads of rpm files unpacked into ROOT (libarchive reads an rpm's cpio payload): a
// tools tree, where nothing is installed, so no scriptlet runs and no rpmdb is written.
int RpmUnpack(const std::string& root, const std::vector<std::string>& rpms) {
  uint64_t entries = 0;
  for (const auto& rpm : rpms) {
    auto r = formats::tar::Extract(rpm, root);
    if (!r) {
      log::Err("unpack " + rpm + ": " + r.error());
      return kExitFailed;
    }
    entries += r->entries;
  }
  std::cout << "unpacked " << rpms.size() << " packages, " << entries << " entries\n";
  return kExitOk;
}

// ---- the table: one entry per helper, each declaring its own arguments ----------------------

Action SetupExtractTar(CLI::App* app) {
  struct A {
    std::string archive, dest;
    bool verbatim = false;
  };
  auto a = std::make_shared<A>();
  app->add_option("archive", a->archive)->required();
  app->add_option("dest", a->dest)->required();
  app->add_flag("--verbatim", a->verbatim, "a cache entry written with write-tar --verbatim");
  return [a] { return ExtractTar(a->archive, a->dest, a->verbatim); };
}

Action SetupWriteTar(CLI::App* app) {
  struct A {
    std::string root, out;
    int64_t sde = -1;
    bool verbatim = false;
  };
  auto a = std::make_shared<A>();
  app->add_option("root", a->root)->required();
  app->add_option("out", a->out)->required();
  app->add_option("--source-date-epoch", a->sde);
  app->add_flag("--verbatim", a->verbatim,
                "the tree as it is on disk (a cache entry): every xattr, whiteouts, stored owners");
  return [a] { return WriteTar(a->root, a->out, a->sde, a->verbatim); };
}

Action SetupConfigure(CLI::App* app) {
  struct A {
    std::string root, hostname, timezone, locale;
  };
  auto a = std::make_shared<A>();
  app->add_option("--hostname", a->hostname)->required();
  app->add_option("--timezone", a->timezone);
  app->add_option("--locale", a->locale);
  app->add_option("root", a->root)->required();
  return [a] { return Done(inside::ApplySettings(a->root, a->hostname, a->timezone, a->locale)); };
}

Action SetupAccounts(CLI::App* app) {
  struct A {
    std::string root, spec;
  };
  auto a = std::make_shared<A>();
  app->add_option("root", a->root)->required();
  app->add_option("spec", a->spec)->required();
  return [a] { return Done(inside::ApplyAccountsFile(a->root, a->spec)); };
}

Action SetupCopyIn(CLI::App* app) {
  struct A {
    std::string root, from, to;
  };
  auto a = std::make_shared<A>();
  app->add_option("root", a->root)->required();
  app->add_option("from", a->from)->required();
  app->add_option("to", a->to)->required();
  return [a] { return Done(inside::CopyIntoImage(a->root, a->from, a->to)); };
}

Action SetupDebUnpack(CLI::App* app) {
  struct A {
    std::string arch, root;
    std::vector<std::string> debs;
  };
  auto a = std::make_shared<A>();
  app->add_option("--arch", a->arch)->required();
  app->add_option("root", a->root)->required();
  app->add_option("debs", a->debs)->required();
  return [a] { return DebUnpack(a->arch, a->root, a->debs); };
}

// ROOT RPM...: the helpers that take rpm files into a tree.
Action RootAndRpms(CLI::App* app,
                   int (*run)(const std::string& root, const std::vector<std::string>& rpms)) {
  struct A {
    std::string root;
    std::vector<std::string> rpms;
  };
  auto a = std::make_shared<A>();
  app->add_option("root", a->root)->required();
  app->add_option("rpms", a->rpms)->required();
  return [a, run] { return run(a->root, a->rpms); };
}

Action SetupRpmUnpack(CLI::App* app) { return RootAndRpms(app, RpmUnpack); }

Action SetupRemove(CLI::App* app) {
  auto path = std::make_shared<std::string>();
  app->add_option("path", *path)->required();
  return [path] { return Done(RemoveTree(*path)); };
}

Action SetupTreeIndex(CLI::App* app) {
  struct A {
    std::string root, previous, out;
  };
  auto a = std::make_shared<A>();
  app->add_option("root", a->root)->required();
  app->add_option("--previous", a->previous, "an index to reuse unchanged entries' hashes from");
  app->add_option("--out", a->out, "where to write the index")->required();
  return [a] {
    std::optional<TreeIndex> previous;
    if (!a->previous.empty()) {
      auto text = ReadFile(a->previous);
      if (!text) return Done(text.take_error());
      auto parsed = TreeIndex::Parse(*text);
      if (!parsed) return Done(parsed.take_error());
      previous = std::move(*parsed);
    }
    auto index = IndexTree(a->root, previous ? &*previous : nullptr);
    if (!index) return Done(index.take_error());
    return Done(WriteFile(a->out, index->Serialize()));
  };
}

Action SetupRpmInstall(CLI::App* app) { return RootAndRpms(app, RpmInstall); }

Action SetupWriteSquashfs(CLI::App* app) {
  auto sq = std::make_shared<SquashfsArgs>();
  app->add_option("root", sq->root)->required();
  app->add_option("out", sq->out)->required();
  app->add_option("--comp", sq->comp, "zstd, xz, lz4 or gzip");
  app->add_option("--level", sq->o.level, "0: the compressor's default");
  app->add_option("--block-size", sq->o.block_size);
  app->add_option("--threads", sq->o.threads, "0: one per core");
  app->add_option("--source-date-epoch", sq->o.source_date_epoch);
  app->add_flag("--progress", sq->progress, "print 'progress DONE TOTAL' lines");
  app->add_flag("--overlay-layer", sq->o.overlay_layer,
                "ROOT is one overlay layer to stack: keep its whiteouts and opaque directories");
  return [sq] { return WriteSquashfs(*sq); };
}

// imager internal write-ext4: ROOT as an ext4 image OUT (formats/ext4.h); prints "bytes N".
Action SetupWriteExt4(CLI::App* app) {
  auto o = std::make_shared<formats::ext4::WriteOptions>();
  app->add_option("root", o->root)->required();
  app->add_option("out", o->output)->required();
  app->add_option("--size", o->size, "bytes; 0: the content plus a margin");
  app->add_option("--uuid", o->uuid)->required();
  app->add_option("--hash-seed", o->hash_seed)->required();
  app->add_option("--label", o->label)->required();
  app->add_option("--source-date-epoch", o->source_date_epoch)->required();
  return [o] {
    auto r = formats::ext4::Write(*o);
    if (!r) {
      log::Err(r.error());
      return kExitFailed;
    }
    std::cout << "files " << r->inodes << "\ncontent-bytes " << r->content_bytes << "\nbytes "
              << r->bytes << "\n";
    return kExitOk;
  };
}

Action SetupWriteIso(CLI::App* app) {
  auto iso = std::make_shared<IsoArgs>();
  AddWriteIsoOptions(app, iso);
  return [iso] { return WriteIso(*iso); };
}

Action SetupWriteInitramfs(CLI::App* app) {
  auto ird = std::make_shared<InitramfsArgs>();
  app->add_option("root", ird->root)->required();
  app->add_option("out_dir", ird->out)->required();
  app->add_option("--booter", ird->in.booter)->required();
  app->add_option("--config", ird->config)->required();
  app->add_option("--modules", ird->modules, "comma-separated module names");
  app->add_option("--source-date-epoch", ird->in.source_date_epoch);
  return [ird] { return WriteInitramfs(*ird); };
}

Action SetupOciUnpack(CLI::App* app) {
  struct A {
    std::string layout, dest, tag;
  };
  auto a = std::make_shared<A>();
  app->add_option("layout", a->layout)->required();
  app->add_option("dest", a->dest)->required();
  app->add_option("--tag", a->tag, "the image's org.opencontainers.image.ref.name");
  return [a] { return OciUnpack(a->layout, a->tag, a->dest); };
}

Action SetupWriteOciLayers(CLI::App* app) {
  struct A {
    std::string out_dir, compression = "gzip";
    std::vector<std::string> layers;
    int64_t sde = -1;
  };
  auto a = std::make_shared<A>();
  app->add_option("out_dir", a->out_dir)->required();
  app->add_option("layers", a->layers)->required();
  app->add_option("--compression", a->compression, "gzip or zstd");
  app->add_option("--source-date-epoch", a->sde);
  return [a] { return WriteOciLayers(a->out_dir, a->layers, a->compression, a->sde); };
}

struct InternalCommand {
  const char* name;
  const char* summary;
  Action (*setup)(CLI::App* app);
};

// What stages run inside the sandbox (sandbox/tools.h), where they see the image's owners.
const InternalCommand kInternalCommands[] = {
    {"extract-tar", "Unpack ARCHIVE into DEST", SetupExtractTar},
    {"write-tar", "Write ROOT as tarball OUT", SetupWriteTar},
    {"configure", "Apply the profile's settings to the image at ROOT", SetupConfigure},
    {"accounts", "Add the users in SPEC (JSON) to the image at ROOT", SetupAccounts},
    {"copy-in", "Copy FROM (host) to TO in the image at ROOT", SetupCopyIn},
    {"deb-unpack", "Prepare ROOT for dpkg and unpack DEBs' data into it", SetupDebUnpack},
    {"rm", "Remove the tree at PATH", SetupRemove},
    {"tree-index", "Index the tree at ROOT (the cache's integrity check) into OUT", SetupTreeIndex},
    {"rpm-install", "Install RPM files into ROOT with librpm", SetupRpmInstall},
    {"rpm-unpack", "Unpack RPM files' payloads into ROOT (no scriptlets, no rpmdb)",
     SetupRpmUnpack},
    {"write-squashfs", "Write ROOT as squashfs image OUT", SetupWriteSquashfs},
    {"write-iso", "Write ROOT as a hybrid ISO image OUTPUT", SetupWriteIso},
    {"write-ext4", "Write ROOT as an ext4 filesystem image OUT", SetupWriteExt4},
    {"write-initramfs", "Write OUT_DIR/vmlinuz and OUT_DIR/initrd.img from the image ROOT",
     SetupWriteInitramfs},
    {"oci-unpack", "Verify the OCI image LAYOUT and unpack it to DEST", SetupOciUnpack},
    {"write-oci-layers", "Write each LAYER (an overlay upper dir) as an OCI layer in OUT_DIR",
     SetupWriteOciLayers},
};

}  // namespace

Action SetupInternal(CLI::App* app, const GlobalOptions*) {
  app->group("");  // hidden from `imager --help`
  std::vector<std::pair<CLI::App*, Action>> commands;
  for (const auto& c : kInternalCommands) {
    CLI::App* sub = app->add_subcommand(c.name, c.summary);
    commands.emplace_back(sub, c.setup(sub));
  }
  app->require_subcommand(1);
  return [commands]() -> int {
    for (const auto& [sub, action] : commands)
      if (sub->parsed()) return action();
    return kExitUsage;
  };
}

}  // namespace imager::cmd
