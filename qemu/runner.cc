// SPDX-License-Identifier: GPL-3.0-or-later
#include "qemu/runner.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <memory>
#include <nlohmann/json.hpp>

#include "base/fd.h"
#include "qemu/console.h"

namespace imager::qemu {
namespace {

using Clock = std::chrono::steady_clock;

// The write end of the self-pipe that turns signals into poll events, and the last
// terminating signal received (SIGCHLD only wakes the loop).
int g_wake_fd = -1;
volatile sig_atomic_t g_signal = 0;

void OnSignal(int sig) {
  int saved = errno;
  if (sig != SIGCHLD) g_signal = sig;
  char c = static_cast<char>(sig);
  (void)!write(g_wake_fd, &c, 1);
  errno = saved;
}

constexpr int kSignals[] = {SIGINT, SIGTERM, SIGHUP, SIGCHLD};

// Installs the handlers for the life of one Run and restores the previous ones.
class SignalScope {
 public:
  explicit SignalScope(int wake_fd) {
    g_wake_fd = wake_fd;
    g_signal = 0;
    struct sigaction sa {};
    sa.sa_handler = OnSignal;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    for (size_t i = 0; i < std::size(kSignals); ++i) sigaction(kSignals[i], &sa, &old_[i]);
    // A QEMU gone before its console input was typed is seen by waitpid, not by SIGPIPE.
    struct sigaction ignore {};
    ignore.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &ignore, &old_pipe_);
  }
  ~SignalScope() {
    for (size_t i = 0; i < std::size(kSignals); ++i) sigaction(kSignals[i], &old_[i], nullptr);
    sigaction(SIGPIPE, &old_pipe_, nullptr);
    g_wake_fd = -1;
  }

 private:
  struct sigaction old_[std::size(kSignals)];
  struct sigaction old_pipe_;
};

Result<Pipe> NonBlockingPipe() {
  int fds[2];
  if (pipe2(fds, O_CLOEXEC | O_NONBLOCK) != 0) return ErrnoError("pipe");
  return Pipe{UniqueFd(fds[0]), UniqueFd(fds[1])};
}

int ShellCode(int wstatus) {
  return WIFSIGNALED(wstatus) ? 128 + WTERMSIG(wstatus) : WEXITSTATUS(wstatus);
}

struct Child {
  pid_t pid = -1;
  UniqueFd out, err;  // capture: QEMU's stdout (the console) and stderr
  UniqueFd in;        // capture with input: QEMU's stdin (the console's keyboard)
};

// Forks and execs argv; the error pipe carries execvp's errno back.
Result<Child> Spawn(const std::vector<std::string>& argv, bool capture, bool input) {
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  auto exec_err = MakePipe();
  if (!exec_err) return exec_err.take_error();
  Pipe out, err, in;
  if (capture) {
    auto o = NonBlockingPipe(), e = NonBlockingPipe();
    if (!o || !e) return ErrnoError("pipe");
    out = std::move(*o);
    err = std::move(*e);
  }
  if (capture && input) {
    auto i = MakePipe();
    if (!i) return i.take_error();
    in = std::move(*i);
  }
  pid_t parent = getpid();
  pid_t pid = fork();
  if (pid < 0) return ErrnoError("fork");
  if (pid == 0) {
    // Child, about to become QEMU: it dies with imager (even on SIGKILL), with default signals.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127);
    for (int s : kSignals) signal(s, SIG_DFL);
    signal(SIGPIPE, SIG_DFL);
    if (capture) {
      int null = open("/dev/null", O_RDONLY);
      dup2(in.read.valid() ? in.read.get() : null, 0);
      dup2(out.write.get(), 1);
      dup2(err.write.get(), 2);
      // The pipes were made non-blocking for the parent; QEMU expects blocking stdio.
      fcntl(1, F_SETFL, 0);
      fcntl(2, F_SETFL, 0);
    }
    execvp(args[0], args.data());
    int e = errno;
    (void)!write(exec_err->write.get(), &e, sizeof e);
    _exit(127);
  }
  // Parent: learn whether exec worked (the pipe closes on exec).
  exec_err->write.reset();
  int e = 0;
  ssize_t n;
  while ((n = read(exec_err->read.get(), &e, sizeof e)) < 0 && errno == EINTR) {
  }
  if (n == sizeof e) {
    waitpid(pid, nullptr, 0);
    std::string hint = e == ENOENT ? " (install the Debian package qemu-system-x86)" : "";
    return Error{"start " + argv[0] + ": " + strerror(e) + hint};
  }
  return Child{pid, std::move(out.read), std::move(err.read), std::move(in.write)};
}

// SIGTERM (QEMU restores the terminal and exits), SIGKILL after 5 s; reaps it.
int Stop(pid_t pid) {
  int wstatus = 0;
  kill(pid, SIGTERM);
  for (int i = 0; i < 100; ++i) {
    if (waitpid(pid, &wstatus, WNOHANG) == pid) return ShellCode(wstatus);
    usleep(50 * 1000);
  }
  kill(pid, SIGKILL);
  while (waitpid(pid, &wstatus, 0) < 0 && errno == EINTR) {
  }
  return ShellCode(wstatus);
}

// Reads what is available from a non-blocking fd; closes it at EOF. Returns the bytes.
std::string Drain(UniqueFd* fd) {
  std::string data;
  char buf[8192];
  for (;;) {
    ssize_t n = read(fd->get(), buf, sizeof buf);
    if (n > 0) {
      data.append(buf, static_cast<size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n == 0 || (n < 0 && errno != EAGAIN)) fd->reset();
    return data;
  }
}

// One QMP exchange over a connected socket, line by line; events are skipped.
class Qmp {
 public:
  explicit Qmp(int fd) : fd_(fd) {}

  Result<nlohmann::json> ReadMessage() {
    for (;;) {
      size_t nl = buf_.find('\n');
      if (nl != std::string::npos) {
        std::string line = buf_.substr(0, nl);
        buf_.erase(0, nl + 1);
        auto j = nlohmann::json::parse(line, nullptr, false);
        if (j.is_discarded()) return Error{"QMP: unreadable reply: " + line};
        if (j.contains("event")) continue;
        return j;
      }
      char chunk[4096];
      ssize_t n = read(fd_, chunk, sizeof chunk);
      if (n < 0 && errno == EINTR) continue;
      if (n < 0) return ErrnoError("QMP: read");
      if (n == 0) return Error{"QMP: QEMU closed the connection"};
      buf_.append(chunk, static_cast<size_t>(n));
    }
  }

  Status Execute(const nlohmann::json& command) {
    std::string text = command.dump() + "\n";
    if (!WriteAll(fd_, text)) return ErrnoError("QMP: write");
    auto reply = ReadMessage();
    if (!reply) return reply.take_error();
    if (reply->contains("error"))
      return Error{"QMP " + command.value("execute", std::string()) + ": " +
                   (*reply)["error"].value("desc", reply->dump())};
    return {};
  }

 private:
  int fd_;
  std::string buf_;
};

}  // namespace

Status Screendump(const std::string& socket_path, const std::string& file) {
  UniqueFd fd(socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (!fd.valid()) return ErrnoError("QMP: socket");
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (socket_path.size() >= sizeof addr.sun_path)
    return Error{"QMP: path too long: " + socket_path};
  memcpy(addr.sun_path, socket_path.c_str(), socket_path.size() + 1);
  if (connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
    return ErrnoError("QMP: connect " + socket_path);
  timeval tv{30, 0};  // a screendump of a big screen under TCG takes a moment, not minutes
  setsockopt(fd.get(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  Qmp qmp(fd.get());
  auto greeting = qmp.ReadMessage();
  if (!greeting) return greeting.take_error();
  if (!greeting->contains("QMP")) return Error{"QMP: unexpected greeting " + greeting->dump()};
  if (auto st = qmp.Execute({{"execute", "qmp_capabilities"}}); !st) return st;
  nlohmann::json args = {{"filename", file}};
  if (file.size() > 4 && file.compare(file.size() - 4, 4, ".png") == 0) args["format"] = "png";
  return qmp.Execute({{"execute", "screendump"}, {"arguments", args}});
}

Result<RunOutcome> Run(const std::vector<std::string>& argv, const RunOptions& o) {
  UniqueFd log;
  if (o.capture && !o.log.empty()) {
    log.reset(open(o.log.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644));
    if (!log.valid()) return ErrnoError("create console log " + o.log);
  }
  auto wake = NonBlockingPipe();
  if (!wake) return wake.take_error();
  SignalScope signals(wake->write.get());
  auto child = Spawn(argv, o.capture, !o.sends.empty());
  if (!child) return child.take_error();
  const auto start = Clock::now();
  const auto deadline = start + std::chrono::seconds(o.timeout_seconds);
  // `console` keeps the tail; `step` waits for the next send's pattern, then for `expect`.
  ConsoleWatcher console(nullptr), errors(nullptr, 10);
  size_t sent = 0;
  auto step = std::make_unique<ConsoleWatcher>(o.sends.empty() ? o.expect : &o.sends[0].when);
  RunOutcome r;
  bool exited = false;
  int wstatus = 0;
  for (;;) {
    if (g_signal) {
      r.kind = RunOutcome::kInterrupted;
      r.signal = g_signal;
      break;
    }
    if (!exited && waitpid(child->pid, &wstatus, WNOHANG) == child->pid) exited = true;
    if (exited && !child->out.valid() && !child->err.valid()) {
      r.kind = RunOutcome::kQemuExited;
      r.qemu_status = ShellCode(wstatus);
      break;
    }
    int ms = -1;
    if (o.timeout_seconds > 0) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
      if (left.count() <= 0) {
        r.kind = RunOutcome::kTimedOut;
        break;
      }
      ms = static_cast<int>(left.count());
    }
    pollfd fds[3] = {{wake->read.get(), POLLIN, 0},
                     {child->out.get(), POLLIN, 0},
                     {child->err.get(), POLLIN, 0}};  // fd -1 is ignored by poll
    if (poll(fds, 3, ms) < 0 && errno != EINTR) return ErrnoError("poll");
    if (fds[0].revents) Drain(&wake->read);
    if (fds[1].revents) {
      std::string data = Drain(&child->out);
      if (log.valid()) WriteAll(log.get(), data);
      if (o.echo) WriteAll(STDOUT_FILENO, data);
      console.Feed(data);
      if (step->Feed(data) && sent < o.sends.size()) {
        // Typed as at a terminal; a pipe of a few hundred bytes does not block. A failed write
        // means QEMU is exiting: the loop sees that next.
        WriteAll(child->in.get(), o.sends[sent].text + "\r");
        r.sent_seconds.push_back(std::chrono::duration<double>(Clock::now() - start).count());
        ++sent;
        step = std::make_unique<ConsoleWatcher>(sent < o.sends.size() ? &o.sends[sent].when
                                                                      : o.expect);
      } else if (step->matched() && o.expect) {
        r.kind = RunOutcome::kMatched;
        r.matched_line = step->matched_line();
        break;
      }
    }
    if (fds[2].revents) {
      std::string data = Drain(&child->err);
      WriteAll(STDERR_FILENO, data);
      errors.Feed(data);
    }
  }
  // A matched guest keeps running for a while (a window paints after its log line), still
  // logged; a signal cuts it short.
  if (r.kind == RunOutcome::kMatched && o.settle_seconds > 0 && !exited) {
    const auto until = Clock::now() + std::chrono::seconds(o.settle_seconds);
    while (!g_signal && Clock::now() < until) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - Clock::now());
      pollfd fd{child->out.get(), POLLIN, 0};
      if (poll(&fd, 1, static_cast<int>(left.count())) < 0 && errno != EINTR) break;
      if (fd.revents & POLLIN) {
        std::string data = Drain(&child->out);
        if (log.valid()) WriteAll(log.get(), data);
        if (o.echo) WriteAll(STDOUT_FILENO, data);
      } else if (fd.revents) {
        break;  // QEMU closed its end
      }
    }
  }
  if (!exited) {
    if (!o.screendump.empty() && r.kind != RunOutcome::kInterrupted) {
      if (auto st = Screendump(o.qmp_socket, o.screendump); !st) r.screendump_error = st.error();
    }
    Stop(child->pid);
  } else if (!o.screendump.empty()) {
    r.screendump_error = "QEMU had already exited";
  }
  r.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  r.console_tail = console.Tail();
  r.qemu_errors = errors.Tail();
  return r;
}

}  // namespace imager::qemu
