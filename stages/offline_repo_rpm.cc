// SPDX-License-Identifier: GPL-3.0-or-later
// The offline repository of an RPM medium: the seed's `dnf download` + `createrepo`, with
// libcreaterepo_c in-process. The package files are the lock's (each checked against its
// sha256), under Packages/; repodata/ has primary, filelists and other (gzip) and repomd.xml,
// every time in them SOURCE_DATE_EPOCH, so the same packages give the same bytes. repomd.xml is
// not signed (there is no key to sign it with): dnf checks the packages' own signatures
// (gpgcheck), as openEuler's and Fedora's media are read.
#include <sys/stat.h>

#include <algorithm>
#include <memory>
#include <mutex>
#include <set>

// package.h names a struct member "requires", a keyword of C++20.
#define requires cr_requires
#include <createrepo_c/createrepo_c.h>
#undef requires

#include "base/fd.h"
#include "base/fs.h"
#include "base/sha256.h"
#include "stages/offline_repo.h"
#include "stages/rootfs.h"
#include "stages/stage_util.h"

namespace imager::stages {
namespace {

// libcreaterepo_c reports through GError.
std::string Take(GError** err, const std::string& what) {
  std::string text = what + ": " + (*err && (*err)->message ? (*err)->message : "failed");
  g_clear_error(err);
  return text;
}

struct XmlFileCloser {
  void operator()(cr_XmlFile* f) const {
    if (f) cr_xmlfile_close(f, nullptr);
  }
};
using XmlFile = std::unique_ptr<cr_XmlFile, XmlFileCloser>;
struct PackageFree {
  void operator()(cr_Package* p) const { cr_package_free(p); }
};
struct RepomdFree {
  void operator()(cr_Repomd* r) const { cr_repomd_free(r); }
};

// The file name a package has in its repository (the end of its URL).
std::string FileNameOf(const repo::LockedPackage& p) { return p.url.substr(p.url.rfind('/') + 1); }

}  // namespace

Status WriteRpmOfflineRepo(const PackageFiles& offline, int64_t source_date_epoch,
                           const std::string& out) {
  if (offline.paths.size() != offline.packages.size())
    return Error{"offline repository: " + std::to_string(offline.packages.size()) +
                 " packages but " + std::to_string(offline.paths.size()) + " fetched files"};
  const int64_t sde = std::max<int64_t>(source_date_epoch, 0);
  const std::string tree = out + "/tree";
  const std::string repodata = tree + "/repodata";
  if (auto st = MakeDirs(tree + "/Packages"); !st) return st;
  if (auto st = MakeDirs(repodata); !st) return st;

  // In file-name order, each once (the same file may be asked for twice).
  std::vector<size_t> order(offline.packages.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    return FileNameOf(offline.packages[a]) < FileNameOf(offline.packages[b]);
  });
  std::vector<std::unique_ptr<cr_Package, PackageFree>> parsed;
  std::set<std::string> names;
  static std::once_flag init;
  std::call_once(init, [] {
    cr_xml_dump_init();
    cr_package_parser_init();
  });
  GError* err = nullptr;
  for (size_t i : order) {
    const repo::LockedPackage& pkg = offline.packages[i];
    std::string name = FileNameOf(pkg);
    if (name.empty() || name == "." || name == ".." || !names.insert(name).second) continue;
    auto sha = Sha256File(offline.paths[i]);
    if (!sha) return sha.take_error();
    if (*sha != pkg.sha256)
      return Error{"offline repository: " + offline.paths[i] + " (" + name + ") has sha256 " +
                   *sha + ", the lock says " + pkg.sha256};
    std::string dest = tree + "/Packages/" + name;
    if (auto st = LinkOrCopy(offline.paths[i], dest); !st) return st;
    // The file's time in primary.xml is the build's, whatever the cache's copy says.
    struct stat st;
    if (stat(dest.c_str(), &st) != 0) return ErrnoError("stat " + dest);
    st.st_mtime = sde;
    std::string href = "Packages/" + name;
    cr_Package* p = cr_package_from_rpm(dest.c_str(), CR_CHECKSUM_SHA256, href.c_str(), nullptr, 10,
                                        &st, CR_HDRR_NONE, &err);
    if (!p) return Error{Take(&err, "offline repository: read " + name)};
    parsed.emplace_back(p);
  }

  // primary, filelists, other: gzip, as createrepo_c writes them by default.
  struct Index {
    const char* type;
    cr_XmlFileType kind;
    std::string path;
  };
  std::vector<Index> indexes{{"primary", CR_XMLFILE_PRIMARY, repodata + "/primary.xml.gz"},
                             {"filelists", CR_XMLFILE_FILELISTS, repodata + "/filelists.xml.gz"},
                             {"other", CR_XMLFILE_OTHER, repodata + "/other.xml.gz"}};
  for (const auto& ix : indexes) {
    XmlFile f(cr_xmlfile_open(ix.path.c_str(), ix.kind, CR_CW_GZ_COMPRESSION, &err));
    if (!f) return Error{Take(&err, "offline repository: open " + ix.path)};
    if (cr_xmlfile_set_num_of_pkgs(f.get(), static_cast<long>(parsed.size()), &err) != CRE_OK)
      return Error{Take(&err, "offline repository: " + ix.path)};
    for (const auto& p : parsed)
      if (cr_xmlfile_add_pkg(f.get(), p.get(), &err) != CRE_OK)
        return Error{Take(&err, "offline repository: write " + ix.path)};
    if (cr_xmlfile_close(f.release(), &err) != CRE_OK)
      return Error{Take(&err, "offline repository: close " + ix.path)};
  }

  std::unique_ptr<cr_Repomd, RepomdFree> repomd(cr_repomd_new());
  cr_repomd_set_revision(repomd.get(), std::to_string(sde).c_str());
  for (const auto& ix : indexes) {
    cr_RepomdRecord* rec = cr_repomd_record_new(ix.type, ix.path.c_str());
    if (cr_repomd_record_fill(rec, CR_CHECKSUM_SHA256, &err) != CRE_OK) {
      cr_repomd_record_free(rec);
      return Error{Take(&err, "offline repository: " + ix.path)};
    }
    cr_repomd_record_set_timestamp(rec, sde);
    // "<sha256>-primary.xml.gz", as createrepo_c names them: a reader never mixes generations.
    if (cr_repomd_record_rename_file(rec, &err) != CRE_OK) {
      cr_repomd_record_free(rec);
      return Error{Take(&err, "offline repository: rename " + ix.path)};
    }
    cr_repomd_set_record(repomd.get(), rec);  // owned by repomd now
  }
  cr_repomd_sort_records(repomd.get());
  char* xml = cr_xml_dump_repomd(repomd.get(), &err);
  if (!xml) return Error{Take(&err, "offline repository: repomd.xml")};
  std::string text(xml);
  g_free(xml);
  if (auto st = WriteFile(repodata + "/repomd.xml", text); !st) return st;
  return {};
}

namespace {

struct RpmOfflineRepoOptions {
  PackageSet packages;
  int64_t source_date_epoch = -1;
  std::string writer = "libcreaterepo_c " + std::to_string(CR_VERSION_MAJOR) + "." +
                       std::to_string(CR_VERSION_MINOR) + "." + std::to_string(CR_VERSION_PATCH);
  static constexpr auto kFields =
      std::tuple{Field("package ", &RpmOfflineRepoOptions::packages, &KeyPackages),
                 Field("source_date_epoch", &RpmOfflineRepoOptions::source_date_epoch),
                 Field("writer", &RpmOfflineRepoOptions::writer)};
};

Status RunRpmOfflineRepo(StageContext& ctx, const RpmOfflineRepoOptions& o) {
  ctx.log("offline repository (rpm-md): " + std::to_string(o.packages.packages.size()) +
          " packages");
  PackageFiles offline{o.packages.packages, o.packages.paths, {}};
  return WriteRpmOfflineRepo(offline, o.source_date_epoch, ctx.output_dir());
}

}  // namespace

Stage RpmOfflineRepoStage(const profiles::Profile&, const std::string&,
                          const PackageFiles& offline) {
  RpmOfflineRepoOptions o{.packages = SetOf(offline),
                          .source_date_epoch = offline.source_date_epoch};
  return MakeStage({.name = "offline-repo", .output = OutputKind::kArtifact}, std::move(o),
                   RunRpmOfflineRepo);
}

}  // namespace imager::stages
