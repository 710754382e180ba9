// SPDX-License-Identifier: GPL-3.0-or-later
// imager internal: hidden helpers that imager runs inside its own sandbox (see sandbox/tools.h),
// where they see the image's owners through the id mapping. Not for direct use.
#include <iostream>
#include <memory>

#include "base/fs.h"
#include "base/log.h"
#include "base/strings.h"
#include "cmd/verbs.h"
#include "formats/squashfs.h"
#include "formats/tar.h"

namespace imager::cmd {
namespace {

int ExtractTar(const std::string& archive, const std::string& dest) {
  auto r = formats::tar::Extract(archive, dest);
  if (!r) {
    log::Err(r.error());
    return kExitFailed;
  }
  // The caller parses this line; device nodes are re-created by the image writers.
  for (const auto& d : r->skipped_devices) std::cout << "skipped-device " << d << "\n";
  std::cout << "entries " << r->entries << "\n";
  return kExitOk;
}

int WriteTar(const std::string& root, const std::string& out, int64_t sde) {
  formats::tar::WriteOptions o;
  o.source_date_epoch = sde;
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

// The configuration a profile asks for, written into the image mounted at `root`.
int Configure(const std::string& hostname, const std::string& root) {
  Status st = WriteInRoot(root, "/etc/hostname", hostname + "\n", 0644);
  if (st) {
    auto hosts = ReadInRoot(root, "/etc/hosts");
    std::string text = hosts ? *hosts : "127.0.0.1\tlocalhost\n";
    std::string line = "127.0.1.1\t" + hostname + "\n";
    if (text.find(line) == std::string::npos) {
      std::string kept;
      for (const auto& l : Split(text, '\n'))
        if (!l.empty() && !StartsWith(l, "127.0.1.1")) kept += l + "\n";
      st = WriteInRoot(root, "/etc/hosts", kept + line, 0644);
    }
  }
  if (!st) {
    log::Err(st.error());
    return kExitFailed;
  }
  return kExitOk;
}

}  // namespace

Action SetupInternal(CLI::App* app, const GlobalOptions*) {
  app->group("");  // hidden from `imager --help`
  struct Args {
    std::string a, b;
    int64_t sde = -1;
  };
  auto args = std::make_shared<Args>();
  auto* x = app->add_subcommand("extract-tar", "Unpack ARCHIVE into DEST");
  x->add_option("archive", args->a)->required();
  x->add_option("dest", args->b)->required();
  auto* w = app->add_subcommand("write-tar", "Write ROOT as tarball OUT");
  w->add_option("root", args->a)->required();
  w->add_option("out", args->b)->required();
  w->add_option("--source-date-epoch", args->sde);
  auto sq = std::make_shared<SquashfsArgs>();
  auto* q = app->add_subcommand("write-squashfs", "Write ROOT as squashfs image OUT");
  q->add_option("root", sq->root)->required();
  q->add_option("out", sq->out)->required();
  q->add_option("--comp", sq->comp, "zstd, xz, lz4 or gzip");
  q->add_option("--level", sq->o.level, "0: the compressor's default");
  q->add_option("--block-size", sq->o.block_size);
  q->add_option("--threads", sq->o.threads, "0: one per core");
  q->add_option("--source-date-epoch", sq->o.source_date_epoch);
  q->add_flag("--progress", sq->progress, "print 'progress DONE TOTAL' lines");
  auto* c = app->add_subcommand("configure", "Apply the profile's settings to the image at ROOT");
  c->add_option("--hostname", args->b)->required();
  c->add_option("root", args->a)->required();
  auto* r = app->add_subcommand("rm", "Remove the tree at PATH");
  r->add_option("path", args->a)->required();
  app->require_subcommand(1);
  return [args, x, w, c, r, q, sq]() -> int {
    if (q->parsed()) return WriteSquashfs(*sq);
    if (r->parsed()) {
      auto st = RemoveTree(args->a);
      if (!st) log::Err(st.error());
      return st ? kExitOk : kExitFailed;
    }
    if (x->parsed()) return ExtractTar(args->a, args->b);
    if (c->parsed()) return Configure(args->b, args->a);
    if (w->parsed()) return WriteTar(args->a, args->b, args->sde);
    return kExitUsage;
  };
}

}  // namespace imager::cmd
