// SPDX-License-Identifier: GPL-3.0-or-later
#include "sandbox/launch.h"

#include <fcntl.h>
#include <grp.h>
#include <linux/close_range.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <thread>

#include "base/fd.h"
#include "base/log.h"
#include "base/proctitle.h"
#include "sandbox/caps.h"
#include "sandbox/mount_exec.h"
#include "sandbox/owner_recorder.h"
#include "sandbox/seccomp.h"

extern char** environ;

namespace imager::sandbox {
namespace {

constexpr int kSetupFailed = 125;

// The processes a terminating signal must kill: each running launch's sandbox pid 1 (the kernel
// kills the rest of its pid namespace) or the process that launches it (see Launch). Lock-free
// atomics, so the handler may read them.
constexpr int kMaxLive = 64;
std::atomic<pid_t> g_live[kMaxLive];
static_assert(std::atomic<pid_t>::is_always_lock_free);
volatile sig_atomic_t g_interrupted = 0;

void OnTerminate(int sig) {
  g_interrupted = sig;
  for (auto& live : g_live)
    if (pid_t pid = live.load(); pid > 0) kill(pid, SIGKILL);
}

// Registers a process in g_live for as long as it exists.
class LiveProcess {
 public:
  explicit LiveProcess(pid_t pid) {
    for (auto& live : g_live) {
      pid_t free = 0;
      if (live.compare_exchange_strong(free, pid)) {
        slot_ = &live;
        break;
      }
    }
  }
  ~LiveProcess() {
    if (slot_) slot_->store(0);
  }
  LiveProcess(const LiveProcess&) = delete;
  LiveProcess& operator=(const LiveProcess&) = delete;

 private:
  std::atomic<pid_t>* slot_ = nullptr;
};

// Everything the forked processes need, prepared before the fork so that they only make system
// calls (the parent may have other threads: no allocation after fork).
struct Prepared {
  std::vector<MountOp> mounts;
  SeccompProgram seccomp;
  CapSet caps;
  std::vector<std::string> argv_store, env_store;
  std::vector<char*> argv, env;
  std::string not_found, not_executable, bad_cwd;
  std::vector<int> keep_fds;  // what pid 1 keeps open, sorted (no allocation after the clone)
  // Single-id mode with layers: the chown and stat families go to pid 1 (owner_recorder.h).
  std::vector<std::string> owner_targets;
  std::vector<OwnerSyscall> owner_calls;
};

// One byte and room for one descriptor (SCM_RIGHTS), for SendFd and ReceiveFd.
struct FdMessage {
  char byte = 'l';
  iovec iov{&byte, 1};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  msghdr msg{};
  FdMessage() {
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control;
    msg.msg_controllen = sizeof control;
  }
  FdMessage(const FdMessage&) = delete;
  FdMessage& operator=(const FdMessage&) = delete;
};

// Sends `fd` over the socket `sock`. Async-signal-safe.
bool SendFd(int sock, int fd) {
  FdMessage m;
  cmsghdr* c = CMSG_FIRSTHDR(&m.msg);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN(sizeof(int));
  memcpy(CMSG_DATA(c), &fd, sizeof fd);
  return sendmsg(sock, &m.msg, MSG_NOSIGNAL) == 1;
}

// The descriptor sent by SendFd, or -1 when the socket closed without one.
int ReceiveFd(int sock) {
  FdMessage m;
  ssize_t n;
  while ((n = recvmsg(sock, &m.msg, MSG_CMSG_CLOEXEC)) < 0 && errno == EINTR) {
  }
  cmsghdr* c = n == 1 ? CMSG_FIRSTHDR(&m.msg) : nullptr;
  if (!c || c->cmsg_type != SCM_RIGHTS) return -1;
  int fd;
  memcpy(&fd, CMSG_DATA(c), sizeof fd);
  return fd;
}

// The mounts inside the sandbox that hold image layers, where single-id mode records owners.
std::vector<std::string> OwnerTargets(const SandboxSpec& spec) {
  std::vector<std::string> out;
  const RootSpec& r = spec.root;
  if (r.record_owners && !r.readonly &&
      (r.kind == RootSpec::Kind::kDir || (r.kind == RootSpec::Kind::kOverlay && !r.upper.empty())))
    out.push_back("/");
  for (const auto& b : spec.binds)
    if (b.record_owners && !b.readonly) out.push_back(b.target);
  for (const auto& o : spec.overlays)
    if (o.record_owners && !o.upper.empty()) out.push_back(o.target);
  return out;
}

[[noreturn]] void ChildFail(int fd, const std::string& msg, int code) {
  WriteAll(fd, msg);
  _exit(code);
}

// Closes every descriptor but 0-2 and `keep` (sorted ascending).
void CloseAllBut(const std::vector<int>& keep) {
  unsigned lo = 3;
  for (int k : keep) {
    if (static_cast<unsigned>(k) > lo) syscall(SYS_close_range, lo, k - 1, 0);
    lo = static_cast<unsigned>(k) + 1;
  }
  syscall(SYS_close_range, lo, ~0U, 0);
}

[[noreturn]] void RunCommand(const SandboxSpec& spec, const Prepared& p, int err_fd,
                             int notify_sock) {
  // Pid 2, inside every namespace, uid 0 with the namespace's full capabilities until the
  // drops below; it becomes the user's command.
  if (chdir(spec.cwd.c_str()) != 0) ChildFail(err_fd, p.bad_cwd + strerror(errno), kSetupFailed);
  if (spec.stdin_null) {
    int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (null < 0 || dup2(null, STDIN_FILENO) < 0)
      ChildFail(err_fd, std::string("stdin from /dev/null: ") + strerror(errno), kSetupFailed);
  }
  if ((spec.stdout_fd >= 0 && dup2(spec.stdout_fd, STDOUT_FILENO) < 0) ||
      (spec.stderr_fd >= 0 && dup2(spec.stderr_fd, STDERR_FILENO) < 0))
    ChildFail(err_fd, std::string("redirect output: ") + strerror(errno), kSetupFailed);
  // Nothing leaks into the command but 0-2: the error pipe is already close-on-exec.
  syscall(SYS_close_range, 3, ~0U, CLOSE_RANGE_CLOEXEC);
  if (ApplyCaps(p.caps) != 0)
    ChildFail(err_fd, std::string("drop capabilities: ") + strerror(errno), kSetupFailed);
  if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0)
    ChildFail(err_fd, std::string("no_new_privs: ") + strerror(errno), kSetupFailed);
  if (notify_sock >= 0) {
    // The chown family is answered by pid 1, which gets the filter's notification descriptor.
    int listener = InstallWithListener(p.seccomp);
    if (listener < 0)
      ChildFail(err_fd, std::string("install seccomp filter with a listener: ") + strerror(errno),
                kSetupFailed);
    if (!SendFd(notify_sock, listener))
      ChildFail(err_fd, std::string("hand the seccomp listener to pid 1: ") + strerror(errno),
                kSetupFailed);
    close(listener);
    close(notify_sock);
  } else if (Install(p.seccomp) != 0) {
    ChildFail(err_fd, std::string("install seccomp filter: ") + strerror(errno), kSetupFailed);
  }
  environ = const_cast<char**>(p.env.data());  // execvp searches this environment's PATH
  if (spec.exec_fd >= 0)
    syscall(SYS_execveat, spec.exec_fd, "", p.argv.data(), environ, AT_EMPTY_PATH);
  else
    execvp(p.argv[0], p.argv.data());
  int e = errno;
  if (e == ENOENT) ChildFail(err_fd, p.not_found, 127);
  ChildFail(err_fd, p.not_executable + strerror(e), 126);
}

// Pid 1 in single-id mode with layers: starts the command under a filter that hands the chown
// and stat families here, records the owners it asks for (owner_recorder.h) and reaps until it
// ends. Returns its wait status.
int RecordOwnersAndWait(const SandboxSpec& spec, const Prepared& p, int err_fd, int status_fd) {
  int log_fd = spec.stderr_fd >= 0 ? spec.stderr_fd : STDERR_FILENO;
  OwnerRecorder recorder(p.owner_calls, log_fd);
  if (auto st = recorder.Init(p.owner_targets); !st)
    ChildFail(err_fd, "record owners: " + st.error(), kSetupFailed);
  int sock[2];
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sock) != 0)
    ChildFail(err_fd, std::string("socketpair: ") + strerror(errno), kSetupFailed);
  pid_t cmd = fork();
  if (cmd < 0) ChildFail(err_fd, std::string("fork: ") + strerror(errno), kSetupFailed);
  if (cmd == 0) {
    close(status_fd);
    close(sock[0]);
    RunCommand(spec, p, err_fd, sock[1]);
  }
  close(err_fd);
  close(sock[1]);
  int listener = ReceiveFd(sock[0]);  // -1: the command failed before its exec
  close(sock[0]);
  if (listener >= 0) {
    // A caller waits for each answer: wake this process on the caller's CPU (Linux 6.6; older
    // kernels refuse the flag and wake it as usual).
    constexpr unsigned long kSetFlags = SECCOMP_IOW(4, __u64);  // SECCOMP_IOCTL_NOTIF_SET_FLAGS
    constexpr unsigned long kSyncWakeUp = 1;  // SECCOMP_USER_NOTIF_FD_SYNC_WAKE_UP
    ioctl(listener, kSetFlags, kSyncWakeUp);
    // A thread answers, blocked in the receive so that a caller's wake-up reaches it directly;
    // this one reaps. When the command ends, the exit takes the thread with it.
    std::thread([&recorder, listener] {
      while (recorder.Serve(listener)) {
      }
    }).detach();
  }
  for (;;) {
    int st;
    pid_t r = waitpid(-1, &st, 0);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return 0;
    if (r == cmd) {
      if (spec.stderr_fd >= 0) WriteAll(log_fd, recorder.Summary());  // a stage's log
      return st;  // leftover processes die with pid 1
    }
  }
}

[[noreturn]] void RunInit(const SandboxSpec& spec, const Prepared& p, int sync_fd, int err_fd,
                          int status_fd) {
  // Pid 1 of the sandbox, in the new namespaces but still without an id map: it waits for the
  // parent to write the map, builds the root, then starts the command and reaps until it ends.
  for (int s : {SIGTERM, SIGHUP, SIGINT, SIGQUIT}) signal(s, SIG_DFL);  // the parent's are not ours
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  // The command sees this process as /proc/1, whose cmdline anyone may read: not imager's host
  // paths and arguments.
  SetProcessTitle("imager-sandbox-init");
  // Only what this sandbox needs: descriptors other threads opened meanwhile (their pipes, logs)
  // must not be held here, or their readers would wait for this sandbox to end.
  CloseAllBut(p.keep_fds);
  char go = 0;
  if (read(sync_fd, &go, 1) != 1) _exit(kSetupFailed);  // the parent gave up
  close(sync_fd);
  // Init holds no secrets, but must not be inspectable through /proc/1 by the command.
  prctl(PR_SET_DUMPABLE, 0);
  if (setresgid(0, 0, 0) != 0 || setresuid(0, 0, 0) != 0)
    ChildFail(err_fd, std::string("become root in the user namespace: ") + strerror(errno),
              kSetupFailed);
  if (spec.idmap.mode == IdMode::kRange) setgroups(0, nullptr);
  if (sethostname(spec.hostname.data(), spec.hostname.size()) != 0)
    ChildFail(err_fd, std::string("sethostname: ") + strerror(errno), kSetupFailed);
  std::string err;
  if (!ExecuteMountPlan(p.mounts, &err)) ChildFail(err_fd, "mount: " + err, kSetupFailed);
  if (spec.max_processes) {
    rlimit lim{spec.max_processes, spec.max_processes};
    if (setrlimit(RLIMIT_NPROC, &lim) != 0)
      ChildFail(err_fd, std::string("limit processes: ") + strerror(errno), kSetupFailed);
  }
  if (spec.max_memory) {
    rlimit lim;
    getrlimit(RLIMIT_DATA, &lim);  // never above a lower limit the caller already has
    if (lim.rlim_max == RLIM_INFINITY || lim.rlim_max > spec.max_memory)
      lim.rlim_max = spec.max_memory;
    lim.rlim_cur = lim.rlim_max;
    if (setrlimit(RLIMIT_DATA, &lim) != 0)
      ChildFail(err_fd, std::string("limit memory: ") + strerror(errno), kSetupFailed);
  }
  if (spec.nice > 0 && setpriority(PRIO_PROCESS, 0, getpriority(PRIO_PROCESS, 0) + spec.nice) != 0)
    ChildFail(err_fd, std::string("setpriority: ") + strerror(errno), kSetupFailed);
  if (!p.owner_targets.empty()) {
    int status = RecordOwnersAndWait(spec, p, err_fd, status_fd);
    WriteAll(status_fd, &status, sizeof status);
    _exit(0);
  }
  pid_t cmd = fork();
  if (cmd < 0) ChildFail(err_fd, std::string("fork: ") + strerror(errno), kSetupFailed);
  if (cmd == 0) {
    close(status_fd);
    RunCommand(spec, p, err_fd, -1);
  }
  close(err_fd);
  int status = 0;
  for (;;) {
    int st;
    pid_t r = waitpid(-1, &st, 0);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) break;
    if (r == cmd) {
      status = st;
      break;  // leftover processes die with pid 1
    }
  }
  WriteAll(status_fd, &status, sizeof status);
  _exit(0);
}

Result<Prepared> Prepare(const SandboxSpec& spec) {
  Prepared p;
  if (auto st = Validate(spec); !st) return st.take_error();
  p.mounts = PlanMounts(spec);
  SeccompOptions so = spec.seccomp;
  if (spec.idmap.mode == IdMode::kSingle) {
    // Nothing but the caller can own files: owners asked for on a layer are recorded, elsewhere
    // the call succeeds without effect.
    p.owner_targets = OwnerTargets(spec);
    if (p.owner_targets.empty()) {
      so.fake_chown = true;
    } else {
      so.record_chown = true;
      auto calls = ResolveOwnerSyscalls();
      if (!calls) return calls.take_error();
      p.owner_calls = std::move(*calls);
    }
  }
  auto prog = Compile(BuildPolicy(so));
  if (!prog) return prog.take_error();
  p.seccomp = std::move(*prog);
  auto caps = ResolveCaps(spec.capabilities);
  if (!caps) return caps.take_error();
  p.caps = *caps;
  p.argv_store = spec.argv;
  p.env_store = spec.env;
  for (auto& a : p.argv_store) p.argv.push_back(a.data());
  p.argv.push_back(nullptr);
  for (auto& e : p.env_store) p.env.push_back(e.data());
  p.env.push_back(nullptr);
  p.not_found = "command not found in the sandbox: " + spec.argv[0];
  p.not_executable = "cannot execute " + spec.argv[0] + " in the sandbox: ";
  p.bad_cwd = "working directory " + spec.cwd + " in the sandbox: ";
  return p;
}

// The descriptors a launching process keeps, sorted for CloseAllBut: its pipes and the command's
// output and executable.
std::vector<int> FdsToKeep(const SandboxSpec& spec, std::initializer_list<int> pipes) {
  std::vector<int> keep(pipes);
  for (int fd : {spec.stdout_fd, spec.stderr_fd, spec.exec_fd})
    if (fd > STDERR_FILENO) keep.push_back(fd);
  std::sort(keep.begin(), keep.end());
  keep.erase(std::unique(keep.begin(), keep.end()), keep.end());
  return keep;
}

std::string UsernsHint(int err) {
  if (err == EPERM || err == ENOSPC || err == EACCES)
    return " (unprivileged user namespaces look disabled: check sysctl "
           "kernel.unprivileged_userns_clone=1, user.max_user_namespaces > 0, and on Ubuntu "
           "kernel.apparmor_restrict_unprivileged_userns=0; 'imager check' tells more)";
  return "";
}

// Installs OnTerminate while any launch runs (the first installs, the last restores); with
// `interactive`, SIGINT and SIGQUIT go to the command instead.
struct SignalGuard {
  explicit SignalGuard(bool interactive) {
    std::lock_guard lock(mu);
    if (users++ > 0) return;
    g_interrupted = 0;
    n = 0;
    struct sigaction sa {};
    sa.sa_handler = OnTerminate;
    sigemptyset(&sa.sa_mask);
    for (int s : {SIGTERM, SIGHUP, SIGINT, SIGQUIT}) {
      if (interactive && (s == SIGINT || s == SIGQUIT)) {
        struct sigaction ign {};
        ign.sa_handler = SIG_IGN;
        sigaction(s, &ign, &old[n]);
      } else {
        sigaction(s, &sa, &old[n]);
      }
      sigs[n++] = s;
    }
  }
  ~SignalGuard() {
    std::lock_guard lock(mu);
    if (--users > 0) return;
    for (int i = 0; i < n; ++i) sigaction(sigs[i], &old[i], nullptr);
  }
  SignalGuard(const SignalGuard&) = delete;
  SignalGuard& operator=(const SignalGuard&) = delete;
  static inline std::mutex mu;
  static inline int users = 0;
  static inline struct sigaction old[4];
  static inline int sigs[4];
  static inline int n = 0;
};

}  // namespace

int ExitStatus::ShellCode() const { return signaled ? 128 + code : code; }

std::string ExitStatus::Describe() const {
  if (timed_out) return "did not finish in time and was killed";
  if (signaled) return "killed by signal " + std::to_string(code) + " (" + strsignal(code) + ")";
  return "exited with " + std::to_string(code);
}

namespace {

// Waits for the sandbox's pid 1 to end until `seconds` after `started`; past that kills it (and
// with it every process of its pid namespace) and returns true. The caller reaps it.
bool WaitUntil(long pid, std::chrono::steady_clock::time_point started, int seconds) {
  UniqueFd pidfd(static_cast<int>(syscall(SYS_pidfd_open, static_cast<pid_t>(pid), 0)));
  if (!pidfd.valid()) return false;  // no pidfd (Linux < 5.3): no time limit
  const auto deadline = started + std::chrono::seconds(seconds);
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) break;
    pollfd pfd{pidfd.get(), POLLIN, 0};
    int r = poll(&pfd, 1, static_cast<int>(std::min<int64_t>(left.count(), 1 << 30)));
    if (r > 0) return false;  // it ended
    if (r < 0 && errno != EINTR) return false;
  }
  kill(static_cast<pid_t>(pid), SIGKILL);
  return true;
}

}  // namespace

namespace {

// Clones the sandbox's pid 1 from this process, maps its ids, releases it and waits.
Result<ExitStatus> LaunchHere(const SandboxSpec& spec, Prepared& p,
                              std::chrono::steady_clock::time_point started) {
  auto sync = MakePipe(), err = MakePipe(), status = MakePipe();
  if (!sync || !err || !status) return ErrnoError("pipe");
  p.keep_fds = FdsToKeep(spec, {sync->read.get(), err->write.get(), status->write.get()});
  unsigned long flags = CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS |
                        CLONE_NEWCGROUP | SIGCHLD;
  if (!spec.network) flags |= CLONE_NEWNET;
  long pid = syscall(SYS_clone, flags, nullptr, nullptr, nullptr, nullptr);
  if (pid < 0) {
    int e = errno;
    return Error{"create the sandbox's namespaces (clone): " + std::string(strerror(e)) +
                 UsernsHint(e)};
  }
  if (pid == 0) RunInit(spec, p, sync->read.get(), err->write.get(), status->write.get());
  // Parent, outside the sandbox, unprivileged: map ids, release pid 1, wait.
  LiveProcess live(static_cast<pid_t>(pid));
  sync->read.reset();
  err->write.reset();
  status->write.reset();
  Status mapped = ApplyIdMap(static_cast<pid_t>(pid), spec.idmap);
  if (mapped) WriteAll(sync->write.get(), "g", 1);
  sync->write.reset();
  std::string message;
  ReadAll(err->read.get(), &message);
  bool timed_out = false;
  if (spec.timeout_seconds > 0 && mapped) timed_out = WaitUntil(pid, started, spec.timeout_seconds);
  int wst = 0;
  while (waitpid(static_cast<pid_t>(pid), &wst, 0) < 0 && errno == EINTR) {
  }
  int cmd_status = 0;
  std::string bytes;
  ReadAll(status->read.get(), &bytes);
  ExitStatus result;
  result.interrupted = g_interrupted;
  if (!mapped) return Wrap("map user and group ids", mapped.error());
  if (timed_out) {
    result.timed_out = result.signaled = true;
    result.code = SIGKILL;
    return result;
  }
  if (bytes.size() != sizeof cmd_status) {
    if (result.interrupted) {
      result.signaled = true;
      result.code = SIGKILL;
      return result;
    }
    if (!message.empty()) return Error{message};
    return Error{"sandbox setup ended unexpectedly (" +
                 std::string(WIFSIGNALED(wst) ? strsignal(WTERMSIG(wst)) : "no status") + ")"};
  }
  memcpy(&cmd_status, bytes.data(), sizeof cmd_status);
  if (WIFSIGNALED(cmd_status)) {
    result.signaled = true;
    result.code = WTERMSIG(cmd_status);
  } else {
    result.code = WEXITSTATUS(cmd_status);
  }
  if (result.code == kSetupFailed && !result.signaled && !message.empty()) return Error{message};
  result.message = message;
  return result;
}

// A launch's result as bytes, from the process that launched to the one that asked.
std::string Encode(const Result<ExitStatus>& r) {
  if (!r) return "E" + r.error();
  char head[64];
  snprintf(head, sizeof head, "S%d %d %d %d\n", r->code, r->signaled, r->interrupted, r->timed_out);
  return head + r->message;
}

Result<ExitStatus> Decode(const std::string& bytes) {
  if (!bytes.empty() && bytes[0] == 'E') return Error{bytes.substr(1)};
  ExitStatus r;
  int signaled = 0, timed_out = 0;
  size_t nl = bytes.find('\n');
  if (bytes.empty() || bytes[0] != 'S' || nl == std::string::npos ||
      sscanf(bytes.c_str() + 1, "%d %d %d %d", &r.code, &signaled, &r.interrupted, &timed_out) != 4)
    return Error{"the process that ran the sandbox ended without a result"};
  r.signaled = signaled;
  r.timed_out = timed_out;
  r.message = bytes.substr(nl + 1);
  return r;
}

}  // namespace

Result<ExitStatus> Launch(const SandboxSpec& spec) {
  const auto started = std::chrono::steady_clock::now();
  auto prepared = Prepare(spec);
  if (!prepared) return prepared.take_error();
  SignalGuard guard(spec.interactive);
  // An interactive command (imager run, imager shell) is launched from here: those verbs run
  // no other thread, and the terminal's signals stay as they were.
  if (spec.interactive) return LaunchHere(spec, *prepared, started);
  // Otherwise other threads may be running (a build's stages run side by side, the progress
  // ticker): a clone() taken while one of them holds a lock that pid 1's setup needs (malloc's)
  // would leave it waiting forever. A fork() is safe for that (the C library takes its locks
  // around it), so a forked child, with this one thread, launches and reports back.
  auto report = MakePipe();
  if (!report) return report.take_error();
  pid_t self = getpid();
  pid_t child = fork();
  if (child < 0) return ErrnoError("fork");
  if (child == 0) {
    for (int s : {SIGTERM, SIGHUP, SIGINT, SIGQUIT}) signal(s, SIG_DFL);
    prctl(PR_SET_PDEATHSIG, SIGKILL);  // imager gone: this goes, and pid 1 with it
    if (getppid() != self) _exit(kSetupFailed);
    // Descriptors other threads opened (their pipes) are not held here while the sandbox runs.
    CloseAllBut(FdsToKeep(spec, {report->write.get()}));
    std::string bytes = Encode(LaunchHere(spec, *prepared, started));
    WriteAll(report->write.get(), bytes);
    _exit(0);
  }
  LiveProcess live(child);
  report->write.reset();
  std::string bytes;
  ReadAll(report->read.get(), &bytes);
  int wst = 0;
  while (waitpid(child, &wst, 0) < 0 && errno == EINTR) {
  }
  if (bytes.empty() && g_interrupted) {
    ExitStatus interrupted;
    interrupted.interrupted = g_interrupted;
    interrupted.signaled = true;
    interrupted.code = SIGKILL;
    return interrupted;
  }
  auto r = Decode(bytes);
  if (r && g_interrupted) r->interrupted = g_interrupted;
  return r;
}

}  // namespace imager::sandbox
