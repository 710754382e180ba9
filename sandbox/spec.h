// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

/// SandboxSpec describes one sandboxed process as plain data (id map, namespaces, ordered mount
/// operations, seccomp, capabilities, environment, argv). It can be built, printed and tested
/// without privileges; Launch() in launch.h is the only code that executes one.

#include <cstdint>
#include <string>
#include <vector>

#include "base/result.h"
#include "sandbox/idmap.h"

namespace imager::sandbox {

/// What becomes "/" inside the sandbox.
struct RootSpec {
  enum class Kind { kTmpfs, kDir, kOverlay };
  Kind kind = Kind::kTmpfs;
  std::string dir;                  // kDir: host directory bound as /
  std::vector<std::string> lowers;  // kOverlay: read-only layers, bottom first
  std::string upper;                // kOverlay: writable layer ("" = read-only overlay)
  std::string work;                 // kOverlay: overlay work dir, same filesystem as upper
  bool readonly = false;
  bool record_owners = false;  // an image layer: single-id mode records owners on it
};

struct BindSpec {
  std::string source;  // host path
  std::string target;  // path inside the sandbox
  bool readonly = false;
  bool record_owners = false;  // an image layer: single-id mode records owners on it
};

/// An overlay mounted somewhere below the root (e.g. an image's layers seen by host tools).
struct OverlaySpec {
  std::vector<std::string> lowers;  // read-only layers, bottom first
  std::string upper;                // "" = read-only
  std::string work;
  std::string target;
  bool record_owners = false;  // an image layer: single-id mode records owners on it
};

/// One step of building the new root, executed in order by the mount executor. Targets are paths
/// inside the new root and are resolved without following symlinks out of it.
struct MountOp {
  enum class Kind {
    kRootTmpfs,    // tmpfs as "/"
    kRootBind,     // source bound (recursively) as "/"
    kRootOverlay,  // overlay of lowers (+ upper/work) as "/"
    kOverlay,      // overlay of lowers (+ upper/work) at target
    kTmpfs,        // tmpfs at target, `options` e.g. "mode=0755"
    kBind,         // recursive bind of a host directory or file at target
    kDevBind,      // bind of one host device node (/dev/null...) at target
    kProc,         // a new procfs for the sandbox's pid namespace
    kSysfs,        // a new read-only sysfs (needs the sandbox's own net namespace)
    kDevpts,       // a new devpts instance with its own ptmx
    kSymlink,      // symlink at target pointing to source
    kRemountRo,    // make the mount at target read-only (recursively)
  };
  Kind kind;
  std::string target;
  std::string source;
  std::string options;
  bool readonly = false;
  std::vector<std::string> lowers;  // overlay: bottom first
  std::string upper;
  std::string work;

  /// One human-readable line, e.g. "bind /src -> /dst (ro)".
  std::string Describe() const;
};

/// Options of the seccomp filter; the deny-list itself is fixed (seccomp.h).
struct SeccompOptions {
  bool fake_chown = false;    // chown family returns success without effect (single-id mode)
  bool record_chown = false;  // chown and stat families go to pid 1, which records owners on the
                              // layers (single-id mode with a layer; sandbox/owner_recorder.h)
  bool noop_fsync = false;    // fsync family returns success without effect (speed)
};

/// Far above what a package manager and its scripts run at once (a few dozen), far below what
/// takes a machine down.
inline constexpr unsigned long kDefaultMaxProcesses = 4096;

/// Each of the sandbox's own tmpfs mounts (/tmp, /run, /dev/shm, a tmpfs root) may hold this
/// much; unbounded, tmpfs takes up to half the machine's memory per mount. Package installs use
/// a few MiB of /tmp and /run.
inline constexpr uint64_t kDefaultTmpfsBytes = uint64_t{1} << 30;

/// Half the machine's memory: the default for SandboxSpec::max_memory.
uint64_t DefaultMaxMemory();

struct SandboxSpec {
  IdMap idmap;
  bool network = false;      // share the host's network namespace
  bool interactive = false;  // leave SIGINT to the command instead of tearing down on Ctrl-C
  RootSpec root;
  std::vector<BindSpec> binds;
  std::vector<OverlaySpec> overlays;                          // mounted after the binds
  std::vector<std::pair<std::string, std::string>> symlinks;  // {path inside, target}
  SeccompOptions seccomp;
  std::vector<std::string> capabilities;  // kept in the bounding set, e.g. "cap_chown"
  std::vector<std::string> env;           // complete environment, "KEY=VALUE"
  std::string cwd = "/";
  int stdout_fd = -1;       // host descriptor for the command's stdout (-1: inherit)
  int stderr_fd = -1;       // likewise for stderr
  bool stdin_null = false;  // stdin from the sandbox's /dev/null instead of the caller's
  std::string hostname = "imager";
  /// A fresh tmpfs on /run (the default); off, /run is the root's own (package installs whose
  /// maintainer scripts create /run/lock must leave it in the image).
  bool tmpfs_run = true;
  /// Processes (threads included) each user may have inside the sandbox; beyond it fork fails
  /// with EAGAIN, so a maintainer script that forks without end stops there instead of taking
  /// the machine. RLIMIT_NPROC, which Linux (5.14+) counts per user namespace. 0: no limit.
  unsigned long max_processes = kDefaultMaxProcesses;
  /// Bytes of data (heap and private writable mappings, RLIMIT_DATA) each process may have;
  /// beyond it allocations fail with ENOMEM, so a script that fills memory fails by itself
  /// before the machine's OOM killer picks a victim. A per-process bound: cgroup v2 memory
  /// delegation, which could bound the sandbox as a whole, is not used yet. 0: no limit.
  uint64_t max_memory = DefaultMaxMemory();
  /// Size cap of each tmpfs the sandbox mounts for itself (see kDefaultTmpfsBytes); 0: the
  /// kernel's default.
  uint64_t tmpfs_bytes = kDefaultTmpfsBytes;
  /// Added to the niceness of everything in the sandbox (setpriority(2); raising it needs no
  /// privilege). A stage whose writer uses every core yields so to the stages beside it that
  /// cannot (a one-process chain on the build's critical path). 0: the caller's.
  int nice = 0;
  /// Seconds the command may run; past them everything in the sandbox is killed and
  /// ExitStatus::timed_out is set. 0: no limit.
  int timeout_seconds = 0;
  /// When set (>= 0), the command is this open file, run with execveat(2): argv[0] is only its
  /// name. imager's own helpers run so from the binary that started the build, even after a
  /// rebuild replaced or deleted it on disk (the file stays pinned by the descriptor).
  int exec_fd = -1;
  std::vector<std::string> argv;
};

/// The capabilities a package manager needs (dpkg, rpm, maintainer scripts); all others are
/// dropped from the bounding set.
std::vector<std::string> DefaultCapabilities();

/// PATH/HOME/LANG plus the allow-listed variables of `host_env` (TERM, SOURCE_DATE_EPOCH...).
std::vector<std::string> DefaultEnvironment(char** host_env);

/// Checks paths and combinations (absolute targets, existing sources, overlay options) and
/// returns every problem found, one per line; ok when the spec can be launched.
Status Validate(const SandboxSpec& spec);

/// The ordered mount operations that build the sandbox's root from the spec.
std::vector<MountOp> PlanMounts(const SandboxSpec& spec);

}  // namespace imager::sandbox
