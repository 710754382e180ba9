// SPDX-License-Identifier: GPL-3.0-or-later
#include "sandbox/spec.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstring>

#include "base/strings.h"

namespace imager::sandbox {
namespace {

using Kind = MountOp::Kind;

MountOp Op(Kind kind, std::string target, std::string source = "", std::string options = "") {
  MountOp op{kind, std::move(target), std::move(source), std::move(options)};
  return op;
}

bool IsDir(const std::string& path) {
  struct stat st;
  return stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

// Overlay options are comma-separated and lowerdir is colon-separated: such paths cannot be
// passed through mount options without escaping, which the kernel does not offer for all keys.
bool HasOverlaySeparator(const std::string& path) {
  return path.find_first_of(":,") != std::string::npos;
}

}  // namespace

std::string MountOp::Describe() const {
  std::string ro = readonly ? " (ro)" : "";
  switch (kind) {
    case Kind::kRootTmpfs:
      return "tmpfs -> / (root)" + ro;
    case Kind::kRootBind:
      return "bind " + source + " -> / (root)" + ro;
    case Kind::kRootOverlay:
      return "overlay lower=[" + Join(lowers, ", ") + "] upper=" + (upper.empty() ? "-" : upper) +
             " -> / (root)" + ro;
    case Kind::kOverlay:
      return "overlay lower=[" + Join(lowers, ", ") + "] upper=" + (upper.empty() ? "-" : upper) +
             " -> " + target;
    case Kind::kTmpfs:
      return "tmpfs -> " + target + (options.empty() ? "" : " (" + options + ")");
    case Kind::kBind:
      return "bind " + source + " -> " + target + ro;
    case Kind::kDevBind:
      return "device " + source + " -> " + target;
    case Kind::kProc:
      return "proc -> " + target;
    case Kind::kSysfs:
      return "sysfs -> " + target + ro;
    case Kind::kDevpts:
      return "devpts -> " + target;
    case Kind::kSymlink:
      return "symlink " + target + " -> " + source;
    case Kind::kRemountRo:
      return "read-only " + target;
  }
  return "?";
}

std::vector<std::string> DefaultCapabilities() {
  // Docker's default set minus cap_net_raw: enough for dpkg, rpm and maintainer scripts (chown,
  // setuid helpers, mknod attempts, chroot), nothing that reaches the kernel's global state.
  return {"cap_chown",   "cap_dac_override",     "cap_fowner",     "cap_fsetid", "cap_kill",
          "cap_setgid",  "cap_setuid",           "cap_setpcap",    "cap_mknod",  "cap_sys_chroot",
          "cap_setfcap", "cap_net_bind_service", "cap_audit_write"};
}

std::vector<std::string> DefaultEnvironment(char** host_env) {
  std::vector<std::string> env{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                               "HOME=/root", "LANG=C.UTF-8"};
  static const char* const kAllowed[] = {"TERM", "COLORTERM", "SOURCE_DATE_EPOCH", "TZ"};
  for (char** e = host_env; e && *e; ++e) {
    for (const char* name : kAllowed) {
      size_t n = strlen(name);
      if (strncmp(*e, name, n) == 0 && (*e)[n] == '=') env.emplace_back(*e);
    }
  }
  return env;
}

Status Validate(const SandboxSpec& spec) {
  std::vector<std::string> problems;
  auto need_dir = [&](const std::string& what, const std::string& path) {
    if (path.empty() || path[0] != '/')
      problems.push_back(what + " '" + path + "' must be an absolute path");
    else if (!IsDir(path))
      problems.push_back(what + " '" + path + "' is not an existing directory");
  };
  const RootSpec& r = spec.root;
  if (r.kind == RootSpec::Kind::kDir) need_dir("root", r.dir);
  if (r.kind == RootSpec::Kind::kOverlay) {
    if (r.lowers.empty()) problems.push_back("overlay root needs at least one lower directory");
    for (const auto& l : r.lowers) need_dir("lower", l);
    std::vector<std::string> overlay_paths = r.lowers;
    if (!r.upper.empty()) {
      need_dir("upper", r.upper);
      need_dir("overlay work directory", r.work);
      overlay_paths.push_back(r.upper);
      overlay_paths.push_back(r.work);
    }
    for (const auto& p : overlay_paths)
      if (HasOverlaySeparator(p))
        problems.push_back("overlay path '" + p +
                           "' contains ':' or ',', which overlayfs options "
                           "cannot carry; use a path without them");
  }
  for (const auto& b : spec.binds) {
    struct stat st;
    if (b.source.empty() || b.source[0] != '/')
      problems.push_back("bind source '" + b.source + "' must be an absolute path");
    else if (stat(b.source.c_str(), &st) != 0)
      problems.push_back("bind source '" + b.source + "' does not exist");
    if (b.target.empty() || b.target[0] != '/')
      problems.push_back("bind target '" + b.target + "' must be an absolute path in the sandbox");
  }
  for (const auto& o : spec.overlays) {
    for (const auto& l : o.lowers) need_dir("overlay lower", l);
    if (o.lowers.size() < 2 && o.upper.empty())
      problems.push_back("overlay at " + o.target + " needs an upper or two lowers");
    if (!o.upper.empty()) {
      need_dir("overlay upper", o.upper);
      need_dir("overlay work directory", o.work);
    }
  }
  if (spec.argv.empty()) problems.push_back("no command to run");
  if (spec.cwd.empty() || spec.cwd[0] != '/')
    problems.push_back("working directory '" + spec.cwd + "' must be absolute");
  if (problems.empty()) return {};
  return Error{Join(problems, "\n")};
}

uint64_t DefaultMaxMemory() {
  long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGE_SIZE);
  if (pages <= 0 || page <= 0) return 0;
  return static_cast<uint64_t>(pages) * static_cast<uint64_t>(page) / 2;
}

std::vector<MountOp> PlanMounts(const SandboxSpec& spec) {
  std::vector<MountOp> ops;
  // tmpfs takes k/m/g suffixes.
  std::string size;
  if (spec.tmpfs_bytes % (1 << 20) == 0 && spec.tmpfs_bytes)
    size = ",size=" + std::to_string(spec.tmpfs_bytes >> 20) + "m";
  else if (spec.tmpfs_bytes)
    size = ",size=" + std::to_string((spec.tmpfs_bytes + 1023) / 1024) + "k";
  const RootSpec& r = spec.root;
  switch (r.kind) {
    case RootSpec::Kind::kTmpfs:
      ops.push_back(Op(Kind::kRootTmpfs, "/", "", "mode=0755" + size));
      break;
    case RootSpec::Kind::kDir:
      ops.push_back(Op(Kind::kRootBind, "/", r.dir));
      break;
    case RootSpec::Kind::kOverlay: {
      // overlayfs wants two lowers when there is no upper; one read-only layer is a bind.
      if (r.upper.empty() && r.lowers.size() == 1) {
        MountOp b = Op(Kind::kRootBind, "/", r.lowers[0]);
        b.readonly = true;
        ops.push_back(std::move(b));
        break;
      }
      MountOp o = Op(Kind::kRootOverlay, "/");
      o.lowers = r.lowers;
      o.upper = r.upper;
      o.work = r.work;
      ops.push_back(std::move(o));
      break;
    }
  }
  ops.push_back(Op(Kind::kProc, "/proc"));
  // A fresh sysfs is only allowed to the owner of the network namespace; with the host's
  // network, the host's /sys is bound instead. Either way it is read-only.
  MountOp sys = spec.network ? Op(Kind::kBind, "/sys", "/sys") : Op(Kind::kSysfs, "/sys");
  sys.readonly = true;
  ops.push_back(sys);
  ops.push_back(Op(Kind::kTmpfs, "/dev", "", "mode=0755,size=1m"));  // nodes and links only
  for (const char* dev : {"null", "zero", "full", "random", "urandom", "tty"})
    ops.push_back(Op(Kind::kDevBind, std::string("/dev/") + dev, std::string("/dev/") + dev));
  ops.push_back(Op(Kind::kDevpts, "/dev/pts", "", "newinstance,ptmxmode=0666,mode=620"));
  ops.push_back(Op(Kind::kSymlink, "/dev/ptmx", "pts/ptmx"));
  ops.push_back(Op(Kind::kSymlink, "/dev/fd", "/proc/self/fd"));
  ops.push_back(Op(Kind::kSymlink, "/dev/stdin", "/proc/self/fd/0"));
  ops.push_back(Op(Kind::kSymlink, "/dev/stdout", "/proc/self/fd/1"));
  ops.push_back(Op(Kind::kSymlink, "/dev/stderr", "/proc/self/fd/2"));
  ops.push_back(Op(Kind::kTmpfs, "/dev/shm", "", "mode=1777" + size));
  ops.push_back(Op(Kind::kTmpfs, "/tmp", "", "mode=1777" + size));
  if (spec.tmpfs_run) ops.push_back(Op(Kind::kTmpfs, "/run", "", "mode=0755" + size));
  for (const auto& [path, target] : spec.symlinks) ops.push_back(Op(Kind::kSymlink, path, target));
  for (const auto& b : spec.binds) {
    MountOp op = Op(Kind::kBind, b.target, b.source);
    op.readonly = b.readonly;
    ops.push_back(std::move(op));
  }
  for (const auto& o : spec.overlays) {
    MountOp op = Op(Kind::kOverlay, o.target);
    op.lowers = o.lowers;
    op.upper = o.upper;
    op.work = o.work;
    ops.push_back(std::move(op));
  }
  // Read-only last: the steps above create their mount points in the root.
  if (r.readonly) ops.push_back(Op(Kind::kRemountRo, "/"));
  return ops;
}

}  // namespace imager::sandbox
