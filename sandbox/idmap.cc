// SPDX-License-Identifier: GPL-3.0-or-later
#include "sandbox/idmap.h"

#include <pwd.h>
#include <spawn.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>

#include "base/fd.h"
#include "base/strings.h"

extern char** environ;

namespace imager::sandbox {
namespace {

bool ParseU32(std::string_view s, uint32_t* out) {
  s = Trim(s);
  if (s.empty()) return false;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), *out);
  return ec == std::errc() && p == s.data() + s.size();
}

std::string CurrentUserName(uid_t uid) {
  struct passwd pw, *res = nullptr;
  char buf[4096];
  if (getpwuid_r(uid, &pw, buf, sizeof buf, &res) == 0 && res) return res->pw_name;
  return "";
}

std::vector<SubidRange> ReadSubidFile(const std::string& path, const std::string& user, uint32_t id,
                                      std::vector<std::string>* warnings) {
  auto text = ReadFile(path);
  if (!text) return {};
  SubidParse p = ParseSubid(*text, user, id);
  for (auto& w : p.warnings) warnings->push_back(path + ":" + w);
  return p.ranges;
}

}  // namespace

uint32_t IdMap::max_inside() const {
  uint32_t m = 0;
  for (const auto& e : uid) m = std::max(m, e.inside + e.count - 1);
  return m;
}

SubidParse ParseSubid(const std::string& text, const std::string& user, uint32_t id) {
  SubidParse out;
  auto lines = Split(text, '\n');
  for (size_t i = 0; i < lines.size(); ++i) {
    std::string_view line = Trim(lines[i]);
    if (line.empty() || line[0] == '#') continue;
    auto fields = Split(line, ':');
    SubidRange r;
    std::string lineno = std::to_string(i + 1);
    if (fields.size() != 3 || Trim(fields[0]).empty()) {
      out.warnings.push_back(lineno + ": expected NAME:START:COUNT, got '" + std::string(line) +
                             "'");
      continue;
    }
    if (!ParseU32(fields[1], &r.start) || !ParseU32(fields[2], &r.count)) {
      out.warnings.push_back(lineno + ": START and COUNT must be numbers in '" + std::string(line) +
                             "'");
      continue;
    }
    if (r.count == 0 || uint64_t{r.start} + r.count > uint64_t{UINT32_MAX}) {
      out.warnings.push_back(lineno + ": empty or overflowing range in '" + std::string(line) +
                             "'");
      continue;
    }
    std::string owner(Trim(fields[0]));
    uint32_t owner_id;
    bool match = (!user.empty() && owner == user) || (ParseU32(owner, &owner_id) && owner_id == id);
    if (match) out.ranges.push_back(r);
  }
  return out;
}

static std::vector<IdExtent> Extents(uint32_t self, const std::vector<SubidRange>& ranges) {
  std::vector<IdExtent> out{{0, self, 1}};
  uint32_t next = 1;
  for (const auto& r : ranges) {
    if (next > kMaxSubordinate) break;
    uint32_t n = std::min(r.count, kMaxSubordinate - next + 1);
    out.push_back({next, r.start, n});
    next += n;
  }
  return out;
}

IdMap ComputeIdMap(uint32_t uid, uint32_t gid, const std::vector<SubidRange>& subuids,
                   const std::vector<SubidRange>& subgids) {
  IdMap m;
  if (subuids.empty() || subgids.empty()) {
    m.mode = IdMode::kSingle;
    m.uid = {{0, uid, 1}};
    m.gid = {{0, gid, 1}};
    return m;
  }
  m.mode = IdMode::kRange;
  m.uid = Extents(uid, subuids);
  m.gid = Extents(gid, subgids);
  // Both maps must cover the same inside ids, or files would get owners without groups.
  uint32_t top =
      std::min(m.uid.back().inside + m.uid.back().count, m.gid.back().inside + m.gid.back().count);
  for (auto* v : {&m.uid, &m.gid}) {
    while (v->back().inside >= top) v->pop_back();
    auto& last = v->back();
    last.count = std::min(last.count, top - last.inside);
  }
  return m;
}

IdMap DetectIdMap(std::string* why_single, std::vector<std::string>* warnings) {
  uid_t uid = getuid();
  gid_t gid = getgid();
  std::string user = CurrentUserName(uid);
  auto subuids = ReadSubidFile("/etc/subuid", user, uid, warnings);
  auto subgids = ReadSubidFile("/etc/subgid", user, uid, warnings);
  bool helpers = !FindHelper("newuidmap").empty() && !FindHelper("newgidmap").empty();
  // Under no_new_privs (Kubernetes' allowPrivilegeEscalation: false, podman's
  // no-new-privileges) a setuid or file-capability newuidmap runs without its privilege.
  bool nnp = prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0) == 1;
  if (subuids.empty() || subgids.empty() || !helpers || nnp) {
    std::vector<SubidRange> none;
    if (why_single) {
      if (subuids.empty())
        *why_single =
            "no range for " + (user.empty() ? std::to_string(uid) : user) + " in /etc/subuid";
      else if (subgids.empty())
        *why_single =
            "no range for " + (user.empty() ? std::to_string(uid) : user) + " in /etc/subgid";
      else if (!helpers)
        *why_single = "newuidmap/newgidmap not found (install the 'uidmap' package)";
      else
        *why_single =
            "no_new_privs is set (e.g. a container with allowPrivilegeEscalation: false), so "
            "the setuid newuidmap cannot map a range";
    }
    return ComputeIdMap(uid, gid, none, none);
  }
  return ComputeIdMap(uid, gid, subuids, subgids);
}

std::string MapFileText(const std::vector<IdExtent>& extents) {
  std::string out;
  for (const auto& e : extents)
    out += std::to_string(e.inside) + " " + std::to_string(e.outside) + " " +
           std::to_string(e.count) + "\n";
  return out;
}

std::vector<std::string> NewIdMapArgs(pid_t pid, const std::vector<IdExtent>& extents) {
  std::vector<std::string> args{std::to_string(pid)};
  for (const auto& e : extents) {
    args.push_back(std::to_string(e.inside));
    args.push_back(std::to_string(e.outside));
    args.push_back(std::to_string(e.count));
  }
  return args;
}

std::string FindHelper(const std::string& name) {
  for (const char* dir : {"/usr/bin/", "/usr/sbin/", "/bin/", "/sbin/", "/usr/local/bin/"}) {
    std::string p = dir + name;
    if (access(p.c_str(), X_OK) == 0) return p;
  }
  return "";
}

namespace {

// One running newuidmap/newgidmap with its stderr captured.
struct Helper {
  std::string name, path;
  std::vector<std::string> args;
  pid_t pid = -1;
  UniqueFd err;
};

Status SpawnHelper(Helper* h) {
  h->path = FindHelper(h->name);
  if (h->path.empty()) return Error{h->name + " not found: install the 'uidmap' package"};
  auto errp = MakePipe();
  if (!errp) return errp.take_error();
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, errp->write.get(), STDERR_FILENO);
  std::vector<char*> argv{h->path.data()};
  for (auto& a : h->args) argv.push_back(a.data());
  argv.push_back(nullptr);
  // posix_spawn (vfork-like) rather than fork: this runs on every sandbox start.
  int rc = posix_spawn(&h->pid, h->path.c_str(), &fa, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  if (rc != 0) return ErrnoError("spawn " + h->path, rc);
  h->err = std::move(errp->read);
  return {};
}

Status FinishHelper(Helper* h) {
  std::string errtext;
  ReadAll(h->err.get(), &errtext);
  int status = 0;
  while (waitpid(h->pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return {};
  return Error{h->name + " " + Join(h->args, " ") + " failed: " + std::string(Trim(errtext)) +
               " (check the caller's ranges in /etc/subuid and /etc/subgid, and that " + h->path +
               " is setuid root or has cap_setuid/cap_setgid)"};
}

}  // namespace

Status ApplyIdMap(pid_t pid, const IdMap& map) {
  std::string proc = "/proc/" + std::to_string(pid);
  if (map.mode == IdMode::kRange) {
    // Both helpers at once: they write different files of the same process.
    Helper u{"newuidmap", "", NewIdMapArgs(pid, map.uid)};
    Helper g{"newgidmap", "", NewIdMapArgs(pid, map.gid)};
    if (auto st = SpawnHelper(&u); !st) return st;
    Status gs = SpawnHelper(&g);
    Status us = FinishHelper(&u);
    if (gs) gs = FinishHelper(&g);
    return us ? gs : us;
  }
  if (auto st = WriteFile(proc + "/setgroups", "deny\n"); !st) return st;
  if (auto st = WriteFile(proc + "/uid_map", MapFileText(map.uid)); !st) return st;
  return WriteFile(proc + "/gid_map", MapFileText(map.gid));
}

}  // namespace imager::sandbox
