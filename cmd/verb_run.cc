// SPDX-License-Identifier: GPL-3.0-or-later
// imager run: one command in the rootless sandbox, for users and for debugging stages.
#include <libgen.h>
#include <unistd.h>

#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>

#include "base/fs.h"
#include "base/log.h"
#include "base/strings.h"
#include "cmd/build_common.h"
#include "cmd/verbs.h"
#include "sandbox/launch.h"

extern char** environ;

namespace imager::cmd {
namespace {

struct RunOptions {
  std::string root;
  std::vector<std::string> lowers;
  std::string upper;
  std::string workdir;
  std::vector<std::string> binds;
  std::vector<std::string> setenv;
  std::string chdir = "/";
  std::string hostname = "imager";
  bool network = false;
  bool read_only = false;
  bool single_id = false;
  bool record_owners = false;
  bool no_fsync = false;
  bool interactive = false;
  bool print_plan = false;
  bool json = false;
  unsigned long max_processes = sandbox::kDefaultMaxProcesses;
  uint64_t max_memory_mib = sandbox::DefaultMaxMemory() >> 20;
  uint64_t tmpfs_mib = sandbox::kDefaultTmpfsBytes >> 20;
  int timeout = 0;
  int nice = 0;
  std::vector<std::string> command;
};

constexpr const char* kExample = R"(
Examples:
  # a shell in a directory tree (changes go straight into ./rootfs)
  imager run --root ./rootfs -- /bin/sh
  # the same tree as a read-only lower with changes captured in ./upper
  imager run --lower ./rootfs --upper ./upper -- sh -c 'echo hi > /etc/motd'
  # bind a work directory; show the mount plan instead of running
  imager run --root ./rootfs --bind "$PWD/out:/out" --print-plan -- true

Paths given to --root/--lower/--upper/--bind are host paths. Later --lower options stack on
top of earlier ones. Without --root or --lower the root is an empty tmpfs.)";

Result<std::string> CanonicalOpt(const std::string& flag, const std::string& path) {
  auto p = Canonical(path);
  if (!p) return Error{flag + " " + p.error()};
  return *p;
}

// Builds the spec from the options; `cleanup` receives a directory to remove afterwards.
Result<sandbox::SandboxSpec> MakeSpec(const RunOptions& o, std::string* cleanup) {
  sandbox::SandboxSpec spec;
  std::string why, sep = "";
  std::vector<std::string> warnings;
  spec.idmap = sandbox::DetectIdMap(&why, &warnings);
  for (const auto& w : warnings) log::Warn("ignoring malformed line " + w);
  if (o.single_id || spec.idmap.mode == sandbox::IdMode::kSingle) {
    spec.idmap = sandbox::ComputeIdMap(getuid(), getgid(), {}, {});
    log::Verbose("single-id mode (" + (o.single_id ? std::string("--single-id") : why) + "): " +
                 (o.record_owners ? "chown on the root is recorded as user.imager.owner"
                                  : "chown is ignored") +
                 ", files stay owned by you");
  }
  if (!o.root.empty() && !o.lowers.empty())
    return Error{"--root and --lower are exclusive: use one directory or an overlay"};
  if (!o.upper.empty() && o.lowers.empty())
    return Error{"--upper needs at least one --lower (an overlay has layers below its upper)"};
  if (!o.root.empty()) {
    auto r = CanonicalOpt("--root", o.root);
    if (!r) return r.take_error();
    spec.root.kind = sandbox::RootSpec::Kind::kDir;
    spec.root.dir = *r;
  } else if (!o.lowers.empty()) {
    spec.root.kind = sandbox::RootSpec::Kind::kOverlay;
    for (const auto& l : o.lowers) {
      auto r = CanonicalOpt("--lower", l);
      if (!r) return r.take_error();
      spec.root.lowers.push_back(*r);
    }
    if (!o.upper.empty()) {
      auto u = CanonicalOpt("--upper", o.upper);
      if (!u) return u.take_error();
      spec.root.upper = *u;
      if (!o.workdir.empty()) {
        auto w = CanonicalOpt("--workdir", o.workdir);
        if (!w) return w.take_error();
        spec.root.work = *w;
      } else {
        // overlayfs needs an empty work directory on the upper's filesystem.
        std::string parent = spec.root.upper;
        parent = dirname(parent.data());
        auto w = MakeTempDir(parent, ".imager-work-");
        if (!w) return Error{w.error() + " (pass --workdir DIR on the upper's filesystem)"};
        spec.root.work = *cleanup = *w;
      }
    }
  }
  spec.root.readonly = o.read_only;
  spec.root.record_owners = o.record_owners;
  if (o.record_owners &&
      (spec.root.kind == sandbox::RootSpec::Kind::kTmpfs || o.read_only ||
       (spec.root.kind == sandbox::RootSpec::Kind::kOverlay && spec.root.upper.empty())))
    return Error{"--record-owners needs a writable root: --root DIR, or --lower with --upper"};
  for (const auto& b : o.binds) {
    auto bs = ParseBind(b);
    if (!bs) return bs.take_error();
    spec.binds.push_back(*bs);
  }
  spec.network = o.network;
  spec.interactive = o.interactive;
  spec.seccomp.noop_fsync = o.no_fsync;
  spec.capabilities = sandbox::DefaultCapabilities();
  spec.env = sandbox::DefaultEnvironment(environ);
  for (const auto& kv : o.setenv) {
    if (kv.find('=') == std::string::npos || kv[0] == '=')
      return Error{"--setenv '" + kv + "': expected KEY=VALUE"};
    spec.env.push_back(kv);
  }
  spec.cwd = o.chdir;
  spec.hostname = o.hostname;
  spec.max_processes = o.max_processes;
  spec.max_memory = o.max_memory_mib << 20;
  spec.tmpfs_bytes = o.tmpfs_mib << 20;
  spec.timeout_seconds = o.timeout;
  spec.nice = o.nice;
  spec.argv = o.command;
  return spec;
}

void PrintPlan(const sandbox::SandboxSpec& spec, bool json) {
  auto ops = sandbox::PlanMounts(spec);
  if (json) {
    nlohmann::json j;
    j["idmode"] = spec.idmap.mode == sandbox::IdMode::kRange ? "range" : "single";
    j["uid_map"] = sandbox::MapFileText(spec.idmap.uid);
    j["gid_map"] = sandbox::MapFileText(spec.idmap.gid);
    j["network"] = spec.network;
    for (const auto& op : ops) j["mounts"].push_back(op.Describe());
    j["capabilities"] = spec.capabilities;
    j["env"] = spec.env;
    j["argv"] = spec.argv;
    std::cout << j.dump(2) << "\n";
    return;
  }
  std::cout << "id map (" << (spec.idmap.mode == sandbox::IdMode::kRange ? "range" : "single")
            << " mode):\n  uid " << sandbox::MapFileText(spec.idmap.uid) << "  gid "
            << sandbox::MapFileText(spec.idmap.gid) << "namespaces: user mount pid ipc uts cgroup"
            << (spec.network ? "" : " net") << "\nmounts:\n";
  for (const auto& op : ops) std::cout << "  " << op.Describe() << "\n";
  std::vector<std::string> quoted;
  for (const auto& a : spec.argv) quoted.push_back(ShellQuote(a));
  std::cout << "command: " << Join(quoted, " ") << "\n";
}

int Run(const RunOptions& o) {
  if (o.command.empty()) {
    log::Err("imager run: no command given (e.g. imager run --root DIR -- /bin/sh)");
    return kExitUsage;
  }
  std::string cleanup;
  auto spec = MakeSpec(o, &cleanup);
  if (!spec) {
    log::Err(spec.error());
    if (!cleanup.empty()) (void)RemoveTree(cleanup);
    return kExitUsage;
  }
  if (o.print_plan) {
    PrintPlan(*spec, o.json);
    if (!cleanup.empty()) (void)RemoveTree(cleanup);
    return kExitOk;
  }
  if (log::GetLevel() >= log::Level::kDebug) PrintPlan(*spec, false);
  auto st = sandbox::Launch(*spec);
  if (!cleanup.empty()) {
    if (auto rm = RemoveTree(cleanup); !rm) log::Warn("cleanup: " + rm.error());
  }
  if (!st) {
    log::Err("sandbox: " + st.error());
    return kExitSandboxSetup;
  }
  if (!st->message.empty()) log::Err(st->message);
  if (st->interrupted) {
    log::Err(std::string("interrupted by ") + strsignal(st->interrupted) +
             ": the sandbox and everything in it were stopped");
    return 128 + st->interrupted;
  }
  if (st->timed_out) {
    log::Err("command did not finish within --timeout " + std::to_string(o.timeout) +
             " s: the sandbox and everything in it were killed");
    return 124;  // as timeout(1)
  }
  if (st->signaled) log::Err("command " + st->Describe());
  return st->ShellCode();
}

}  // namespace

Action SetupRun(CLI::App* app, const GlobalOptions* global) {
  auto o = std::make_shared<RunOptions>();
  app->footer(kExample);
  app->add_option("--root", o->root, "Host directory to use as / (read-write)");
  app->add_option("--lower", o->lowers, "Read-only overlay layer (repeat; later is higher)");
  app->add_option("--upper", o->upper, "Writable overlay layer that receives all changes");
  app->add_option("--workdir", o->workdir,
                  "Overlay work directory on the upper's filesystem (default: a temporary one)");
  app->add_option("--bind", o->binds, "Bind host SRC at DST inside: SRC:DST[:ro] (repeat)");
  app->add_option("--setenv", o->setenv, "Set KEY=VALUE in the command's environment (repeat)");
  app->add_option("--chdir", o->chdir, "Working directory inside the sandbox")
      ->capture_default_str();
  app->add_option("--timeout", o->timeout,
                  "Kill everything in the sandbox after SECONDS and exit 124 (0: no limit)")
      ->capture_default_str();
  app->add_option("--hostname", o->hostname, "Host name inside the sandbox")->capture_default_str();
  app->add_option("--nice", o->nice,
                  "Run everything in the sandbox N steps nicer (lower CPU priority) than imager")
      ->check(CLI::Range(0, 19));
  app->add_flag("--network", o->network, "Share the host's network (default: none)");
  app->add_option("--max-procs", o->max_processes,
                  "Processes each user may have inside (fork fails beyond it; 0: no limit)")
      ->capture_default_str();
  app->add_option("--max-memory", o->max_memory_mib,
                  "MiB of data each process may have (allocations fail beyond it; default: half "
                  "the machine's memory; 0: no limit)")
      ->capture_default_str();
  app->add_option("--tmpfs-size", o->tmpfs_mib,
                  "MiB each of the sandbox's tmpfs mounts (/tmp, /run, /dev/shm) may hold (0: "
                  "the kernel's default, half the memory)")
      ->capture_default_str();
  app->add_flag("--read-only", o->read_only, "Make the root read-only");
  app->add_flag("--single-id", o->single_id,
                "Map only your own id even if a subordinate range exists");
  app->add_flag("--record-owners", o->record_owners,
                "In single-id mode, record the owners chown asks for on the root (--root or "
                "--upper) as the attribute user.imager.owner, as image builds do, instead of "
                "ignoring them");
  app->add_flag("--no-fsync", o->no_fsync, "Turn fsync and friends into no-ops (speed)");
  app->add_flag("-i,--interactive", o->interactive,
                "Leave Ctrl-C to the command (default: Ctrl-C tears the sandbox down)");
  app->add_flag("--print-plan", o->print_plan,
                "Print the sandbox spec and mount plan, run nothing");
  app->add_flag("--json", o->json, "With --print-plan: print JSON");
  // The command: everything after "--", or from the first word that is not an option.
  app->prefix_command();
  return [o, app, global] {
    o->command = app->remaining();
    if (global->has_dashes) {
      if (!o->command.empty()) {
        log::Err("imager run: unexpected '" + o->command[0] + "' before '--'");
        return static_cast<int>(kExitUsage);
      }
      o->command = global->after_dashes;
    }
    return Run(*o);
  };
}

}  // namespace imager::cmd
