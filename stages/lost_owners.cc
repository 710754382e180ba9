// SPDX-License-Identifier: GPL-3.0-or-later
#include "stages/lost_owners.h"

#include <sys/stat.h>

#include "base/fs.h"
#include "base/inroot.h"
#include "base/strings.h"

namespace imager::stages {
namespace {

Result<std::vector<InRoot>> OpenLayers(const std::vector<std::string>& layers) {
  std::vector<InRoot> open;
  for (const auto& l : layers) {
    auto r = InRoot::Open(l);
    if (!r) return r.take_error();
    open.push_back(std::move(*r));
  }
  return open;
}

// The topmost layer's entry for `path`; nullopt when no layer has it or the topmost one deletes
// it (an overlayfs whiteout).
Result<std::optional<InRootFile>> FileInImage(const std::vector<InRoot>& layers,
                                              const std::string& path) {
  for (const auto& layer : layers) {
    auto f = layer.Lstat(path);
    if (!f) return f.take_error();
    if (!*f) continue;
    if (S_ISCHR((*f)->st.st_mode) && (*f)->st.st_rdev == 0) return std::optional<InRootFile>();
    return f;
  }
  return std::optional<InRootFile>();
}

// The owner `path` has in the image the writers will write: the record of the topmost layer that
// has the file, else 0:0; nullopt when no layer has it or the topmost one deletes it. Parents are
// resolved within each layer alone.
Result<std::optional<RecordedOwner>> OwnerInImage(const std::vector<InRoot>& layers,
                                                  const std::string& path) {
  auto f = FileInImage(layers, path);
  if (!f) return f.take_error();
  if (!*f) return std::optional<RecordedOwner>();
  return std::optional((*f)->record.value_or(RecordedOwner{}));
}

}  // namespace

Result<bool> PackageHasSetIdFile(const std::vector<std::string>& layers, const std::string& name,
                                 const std::string& arch) {
  std::optional<std::string> list;
  for (const auto& l : layers) {
    for (const auto& n : {name + ":" + arch, name}) {
      if (auto text = ReadInRoot(l, "/var/lib/dpkg/info/" + n + ".list")) {
        list = std::move(*text);
        break;
      }
    }
    if (list) break;
  }
  if (!list) return true;
  auto open = OpenLayers(layers);
  if (!open) return open.take_error();
  for (const auto& path : Split(*list, '\n')) {
    if (path.empty() || path[0] != '/') continue;
    auto f = FileInImage(*open, path);
    if (!f) return f.take_error();
    if (*f && S_ISREG((*f)->st.st_mode) && ((*f)->st.st_mode & (S_ISUID | S_ISGID))) return true;
  }
  return false;
}

Result<OwnerCheck> CheckAskedOwners(const std::vector<std::string>& layers,
                                    const std::vector<AskedOwner>& asked) {
  auto opened = OpenLayers(layers);
  if (!opened) return opened.take_error();
  const std::vector<InRoot>& open = *opened;
  OwnerCheck out;
  if (open.empty()) return out;
  for (const auto& a : asked) {
    auto has = OwnerInImage(open, a.path);
    if (!has) return has.take_error();
    if (!*has) continue;
    bool uid_lost = a.uid != (*has)->uid, gid_lost = a.gid != (*has)->gid;
    if (!uid_lost && !gid_lost) {
      ++out.recorded;
      continue;
    }
    out.lost.push_back(a.who + ": " + a.path + " should be " + a.asked + ", is " +
                       FormatOwnerRecord(**has));
    auto took = open.front().ClearSetIds(a.path, uid_lost, gid_lost);
    if (!took) return took.take_error();
    if (*took)
      out.stripped.push_back(a.who + ": " + a.path + ": " + (*took & S_ISUID ? "setuid " : "") +
                             (*took & S_ISGID ? "setgid " : "") + "bit removed");
  }
  return out;
}

}  // namespace imager::stages
