// SPDX-License-Identifier: GPL-3.0-or-later
#include "sandbox/hostcheck.h"

#include <fcntl.h>
#include <pwd.h>
#include <sched.h>
#include <seccomp.h>
#include <sys/capability.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <system_error>
#include <thread>

#include "base/cpus.h"
#include "base/fd.h"
#include "base/fs.h"
#include "base/owner_record.h"
#include "base/strings.h"
#include "sandbox/cachefs_check.h"
#include "sandbox/idmap.h"
#include "sandbox/launch.h"
#include "sandbox/userns_check.h"

extern char** environ;

namespace imager::sandbox {
namespace {

using State = CheckItem::State;

CheckItem CheckUserns() {
  CheckItem c{"userns"};
  pid_t pid = fork();
  if (pid == 0) _exit(unshare(CLONE_NEWUSER | CLONE_NEWNS) == 0 ? 0 : 1);  // child: probe only
  int st = 0;
  waitpid(pid, &st, 0);
  bool probe_ok = pid > 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0;
  UsernsHost host;
  std::error_code ec;
  auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (!ec) host.exe = exe.string();
  UsernsVerdict v = JudgeUserns(probe_ok, FindUsernsRestrictions(host));
  c.state = v.ok ? State::kOk : State::kFail;
  c.detail = v.detail;
  c.hint = v.hint;
  return c;
}

// A 65536-id range above every range already handed out in /etc/subuid and /etc/subgid.
std::string FreeSubidRange() {
  uint64_t top = 100000;
  for (const char* f : {"/etc/subuid", "/etc/subgid"}) {
    auto text = ReadFile(f);
    if (!text) continue;
    for (const auto& line : Split(*text, '\n')) {
      auto fields = Split(line, ':');
      if (fields.size() != 3) continue;
      uint64_t end =
          strtoull(fields[1].c_str(), nullptr, 10) + strtoull(fields[2].c_str(), nullptr, 10);
      top = std::max(top, end);
    }
  }
  return std::to_string(top) + "-" + std::to_string(top + 65535);
}

CheckItem CheckRanges() {
  CheckItem c{"subids"};
  std::string why;
  std::vector<std::string> warnings;
  IdMap m = DetectIdMap(&why, &warnings);
  if (m.mode == IdMode::kRange) {
    c.detail = "range mode, ids 0.." + std::to_string(m.max_inside()) + " inside";
  } else {
    // Fully supported: the owners packages set are recorded (sandbox/owner_recorder.h); the
    // sandbox check below proves the recording works here.
    c.detail = "single-id mode (" + why +
               "): supported; owners that packages and scripts set are recorded on the layers "
               "and applied by every writer; not kept: non-root owners of symlinks, fifos and "
               "sockets (reported in the stage log)";
    struct passwd* pw = getpwuid(getuid());
    std::string user = pw ? pw->pw_name : std::to_string(getuid());
    std::string range = FreeSubidRange();
    c.hint =
        "optional, for range mode (real owners on disk, no interception): as root: usermod "
        "--add-subuids " +
        range + " --add-subgids " + range + " " + user;
  }
  for (const auto& w : warnings) c.detail += "; malformed " + w;
  return c;
}

CheckItem CheckHelper(const std::string& name) {
  CheckItem c{name};
  std::string path = FindHelper(name);
  if (path.empty()) {
    c.state = State::kWarn;
    c.detail = "not found (single-id mode only)";
    c.hint = "apt-get install uidmap";
    return c;
  }
  struct stat st;
  bool setuid = stat(path.c_str(), &st) == 0 && (st.st_mode & S_ISUID) && st.st_uid == 0;
  bool fcaps = false;
  if (cap_t caps = cap_get_file(path.c_str())) {
    cap_flag_value_t v = CAP_CLEAR;
    cap_get_flag(caps, name == "newuidmap" ? CAP_SETUID : CAP_SETGID, CAP_PERMITTED, &v);
    fcaps = v == CAP_SET;
    cap_free(caps);
  }
  if (setuid || fcaps) {
    c.detail = path + (setuid ? " (setuid root)" : " (file capabilities)");
  } else {
    c.state = State::kWarn;
    c.detail = path + " is neither setuid root nor has file capabilities";
    c.hint = "reinstall the 'uidmap' package";
  }
  return c;
}

CheckItem CheckSeccomp() {
  CheckItem c{"seccomp"};
  unsigned api = seccomp_api_get();
  if (api >= 1 && ReadFile("/proc/self/status")->find("Seccomp:") != std::string::npos) {
    c.detail = "seccomp filters available (libseccomp API level " + std::to_string(api) + ")";
  } else {
    c.state = State::kFail;
    c.detail = "the kernel offers no seccomp filters";
    c.hint = "use a kernel built with CONFIG_SECCOMP_FILTER";
  }
  return c;
}

// The whole sandbox, end to end: an overlay of the host's /usr with a scratch upper, /bin/true.
// (Not "/": overlayfs cannot take the root mount of the host tree as a layer.)
CheckItem CheckSandbox() {
  CheckItem c{"sandbox"};
  auto tmp = MakeTempDir("/tmp", "imager-check-");
  if (!tmp) {
    c.state = State::kFail;
    c.detail = tmp.error();
    return c;
  }
  SandboxSpec spec;
  spec.idmap = DetectIdMap(nullptr, nullptr);
  spec.root.kind = RootSpec::Kind::kOverlay;
  spec.root.lowers = {"/usr"};
  spec.root.upper = *tmp + "/upper";
  spec.root.work = *tmp + "/work";
  mkdir(spec.root.upper.c_str(), 0755);
  mkdir(spec.root.work.c_str(), 0755);
  spec.capabilities = DefaultCapabilities();
  spec.env = DefaultEnvironment(environ);
  spec.argv = {"/bin/true"};
  // Single-id mode: a chown on the layer must come back as its record. (On a file the sandbox
  // made: the host's /usr belongs to ids the sandbox does not map.)
  const bool single = spec.idmap.mode == IdMode::kSingle;
  if (single) {
    spec.root.record_owners = true;
    spec.argv = {"/bin/sh", "-c", "exec >/dev/null 2>&1 </dev/null; : >/f && chown 1:2 /f"};
  }
  auto st = Launch(spec);
  auto recorded = ReadOwnerRecord(spec.root.upper + "/f");
  (void)RemoveTree(*tmp);
  if (st && !st->signaled && st->code == 0 && single && recorded != RecordedOwner{1, 2}) {
    c.state = State::kFail;
    c.detail =
        "single-id mode: a chown in the sandbox was not recorded (seccomp user "
        "notification); images would lose their owners";
    c.hint =
        "run 'imager -v run --single-id --record-owners --lower /usr --upper DIR -- sh -c "
        "\": >/f; chown 1:2 /f\"' to see the failing step";
    return c;
  }
  if (st && !st->signaled && st->code == 0) {
    c.detail = std::string("overlay root, namespaces, seccomp and capability drop work") +
               (single ? "; owners are recorded (single-id mode)" : "");
    return c;
  }
  c.state = State::kFail;
  c.detail = st ? "/bin/true " + st->Describe() : st.error();
  c.hint = "run 'imager -v run --lower /usr --upper DIR -- /bin/true' to see the failing step";
  return c;
}

CheckItem CheckDevice(const std::string& name, const std::string& path, const std::string& use,
                      const std::string& hint) {
  CheckItem c{name};
  if (access(path.c_str(), R_OK | W_OK) == 0) {
    c.detail = path + " usable (" + use + ")";
  } else {
    c.state = State::kWarn;
    c.detail = path + ": " + strerror(errno) + " (" + use + ")";
    c.hint = hint;
  }
  return c;
}

CheckItem CheckSpace(const std::string& cache_dir) {
  CheckItem c{"space"};
  std::string dir = cache_dir;
  struct statvfs vfs;
  while (statvfs(dir.c_str(), &vfs) != 0 && dir.size() > 1) {
    size_t slash = dir.rfind('/');
    dir = slash == 0 ? "/" : dir.substr(0, slash);
  }
  double gib = static_cast<double>(vfs.f_bavail) * vfs.f_frsize / (1024.0 * 1024 * 1024);
  char buf[64];
  snprintf(buf, sizeof buf, "%.1f GiB", gib);
  c.detail = std::string(buf) + " free for the cache at " + cache_dir;
  if (gib < 10) {
    c.state = State::kWarn;
    c.hint = "a live ISO build needs about 10 GiB; use --cache-dir on a larger filesystem";
  }
  return c;
}

// The mount that will hold the cache (the directory or its nearest existing parent), judged.
std::vector<CheckItem> CheckCacheFs(const std::string& cache_dir) {
  std::string dir = cache_dir;
  std::error_code ec;
  while (!std::filesystem::exists(dir, ec) && dir.size() > 1)
    dir = std::filesystem::path(dir).parent_path().string();
  auto real = Canonical(dir);
  auto mount =
      real ? MountHolding("/proc/self/mountinfo", *real) : Result<MountEntry>(Error{real.error()});
  if (!mount) return {{"cachefs", State::kWarn, mount.error(), ""}};
  std::vector<CheckItem> items;
  for (auto& f : JudgeCacheMount(*mount))
    items.push_back({"cachefs", f.fail ? State::kFail : State::kWarn, f.detail, f.hint});
  if (items.empty())
    items.push_back({"cachefs", State::kOk,
                     "the cache at " + cache_dir + " is on " + mount->target + " (" +
                         mount->fstype + "): overlay upper directories work there",
                     ""});
  return items;
}

}  // namespace

std::string DefaultCacheDir() {
  if (const char* x = getenv("XDG_CACHE_HOME"); x && *x == '/') return std::string(x) + "/imager";
  const char* home = getenv("HOME");
  if (!home || !*home) {
    struct passwd* pw = getpwuid(getuid());
    home = pw ? pw->pw_dir : "/tmp";
  }
  return std::string(home) + "/.cache/imager";
}

std::vector<CheckItem> RunHostChecks(const std::string& cache_dir) {
  std::vector<CheckItem> items;
  items.push_back(CheckUserns());
  items.push_back(CheckRanges());
  items.push_back(CheckHelper("newuidmap"));
  items.push_back(CheckHelper("newgidmap"));
  items.push_back(CheckSeccomp());
  if (items[0].state == State::kOk) items.push_back(CheckSandbox());
  items.push_back(CheckDevice("fuse", "/dev/fuse", "optional: mounting images for inspection",
                              "modprobe fuse; add yourself to the group owning /dev/fuse"));
  items.push_back(CheckDevice("kvm", "/dev/kvm", "optional: fast boot tests; TCG is used otherwise",
                              "add yourself to the 'kvm' group"));
  for (auto& i : CheckCacheFs(cache_dir)) items.push_back(std::move(i));
  items.push_back(CheckSpace(cache_dir));
  // What the worker pools (squashfs, gzip, downloads) are sized by.
  unsigned cpus = UsableCpus(), machine = std::max(1u, std::thread::hardware_concurrency());
  items.push_back({"cpus", State::kOk,
                   std::to_string(cpus) + " of the machine's " + std::to_string(machine) +
                       " processors usable (affinity and cgroup CPU quota)",
                   ""});
  return items;
}

}  // namespace imager::sandbox
