// SPDX-License-Identifier: GPL-3.0-or-later
// escape_probe: tries one way out of the sandbox per invocation. Prints "BLOCKED <attempt>: why"
// and exits 0 when the sandbox held, prints "ESCAPED <attempt>: ..." and exits 1 when it did
// not. Linked statically so it runs in any root the tests build.
#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <linux/io_uring.h>
#include <linux/keyctl.h>
#include <linux/sched.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <string>
#include <vector>

namespace {

int g_escaped = 0;

// `rc` < 0 with errno = the attempt failed; `want` (0 = any errno) is the failure we expect.
void Expect(const char* what, long rc, int want = 0) {
  int e = errno;
  if (rc < 0 && (want == 0 || e == want)) {
    printf("BLOCKED %s: %s\n", what, strerror(e));
  } else if (rc < 0) {
    printf("ESCAPED %s: failed, but with %s instead of %s\n", what, strerror(e), strerror(want));
    g_escaped = 1;
  } else {
    printf("ESCAPED %s: succeeded (%ld)\n", what, rc);
    g_escaped = 1;
  }
}

std::string StatusField(const char* name) {
  FILE* f = fopen("/proc/self/status", "r");
  char line[512];
  std::string out;
  while (f && fgets(line, sizeof line, f))
    if (strncmp(line, name, strlen(name)) == 0 && line[strlen(name)] == ':') {
      out = line + strlen(name) + 1;
      while (!out.empty() && (out[0] == '\t' || out[0] == ' ')) out.erase(0, 1);
      while (!out.empty() && out.back() == '\n') out.pop_back();
    }
  if (f) fclose(f);
  return out;
}

void Userns() {
  Expect("unshare(CLONE_NEWUSER)", unshare(CLONE_NEWUSER), EPERM);
  long pid = syscall(SYS_clone, CLONE_NEWUSER | SIGCHLD, nullptr, nullptr, nullptr, nullptr);
  if (pid == 0) _exit(0);
  if (pid > 0) waitpid(static_cast<pid_t>(pid), nullptr, 0);
  Expect("clone(CLONE_NEWUSER)", pid, EPERM);
  clone_args args{};
  args.flags = CLONE_NEWUSER;
  args.exit_signal = SIGCHLD;
  pid = syscall(SYS_clone3, &args, sizeof args);
  if (pid == 0) _exit(0);
  if (pid > 0) waitpid(static_cast<pid_t>(pid), nullptr, 0);
  Expect("clone3(CLONE_NEWUSER)", pid);
}

void Kernel() {
  Expect("kexec_load", syscall(SYS_kexec_load, 0, 0, nullptr, 0));
  Expect("kexec_file_load", syscall(SYS_kexec_file_load, -1, -1, 0, "", 0));
  Expect("init_module", syscall(SYS_init_module, nullptr, 0, ""));
  Expect("finit_module", syscall(SYS_finit_module, 0, "", 0));
  Expect("delete_module", syscall(SYS_delete_module, "loop", O_NONBLOCK));
  Expect("bpf(BPF_MAP_CREATE)", syscall(SYS_bpf, 0, nullptr, 0));
  // Unfiltered, this returns the session keyring's id: only the filter makes it fail.
  Expect("keyctl(GET_KEYRING_ID)",
         syscall(SYS_keyctl, KEYCTL_GET_KEYRING_ID, KEY_SPEC_SESSION_KEYRING, 1), EPERM);
  Expect("add_key", syscall(SYS_add_key, "user", "imager-probe", "x", 1, KEY_SPEC_SESSION_KEYRING),
         EPERM);
  Expect("reboot", syscall(SYS_reboot, 0xfee1dead, 672274793, 0x4321fedc, nullptr));
  Expect("swapon", syscall(SYS_swapon, "/nonexistent", 0));
  struct timespec ts {};
  Expect("clock_settime", syscall(SYS_clock_settime, CLOCK_REALTIME, &ts));
  Expect("mount tmpfs", mount("none", "/tmp", "tmpfs", 0, nullptr));
  Expect("ptrace(ATTACH, 1)", ptrace(PTRACE_ATTACH, 1, nullptr, nullptr));
  // Unfiltered, an unprivileged process gets a ring: only the filter makes it fail.
  io_uring_params params{};
  Expect("io_uring_setup", syscall(SYS_io_uring_setup, 4, &params), EPERM);
}

void Tiocsti() {
  int fd = open("/dev/tty", O_RDWR | O_CLOEXEC);
  const char* where = "/dev/tty";
  if (fd < 0) {
    fd = 0;  // no controlling terminal: an unfiltered ioctl would say ENOTTY, the filter EPERM
    where = "stdin";
  }
  char c = 'x';
  std::string what = std::string("ioctl(TIOCSTI) on ") + where;
  Expect(what.c_str(), ioctl(fd, TIOCSTI, &c), EPERM);
  Expect("ioctl(TIOCLINUX)", ioctl(fd, TIOCLINUX, &c), EPERM);
}

void Write(const char* path) {
  std::string what = std::string("create ") + path;
  Expect(what.c_str(), open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644));
}

void Kill(const char* pidtext) {
  pid_t pid = static_cast<pid_t>(atoi(pidtext));
  Expect("kill(host pid, 0)", kill(pid, 0), ESRCH);
  struct stat st;
  std::string p = std::string("/proc/") + pidtext;
  Expect(("stat " + p).c_str(), stat(p.c_str(), &st), ENOENT);
  int procs = 0;
  if (DIR* d = opendir("/proc")) {
    while (dirent* e = readdir(d)) procs += e->d_name[0] >= '1' && e->d_name[0] <= '9';
    closedir(d);
  }
  errno = EPERM;
  printf("%s processes visible: %d\n", procs <= 3 ? "BLOCKED" : "ESCAPED", procs);
  if (procs > 3) g_escaped = 1;
}

void Connect(const char* port) {
  int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(atoi(port)));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  Expect("connect 127.0.0.1 listener outside",
         connect(s, reinterpret_cast<sockaddr*>(&a), sizeof a));
}

// In range mode: a setuid-root copy of this program, run as uid 1000, must not get euid 0.
void Setuid() {
  std::string nnp = StatusField("NoNewPrivs");
  printf("%s NoNewPrivs=%s\n", nnp == "1" ? "BLOCKED" : "ESCAPED", nnp.c_str());
  if (nnp != "1") g_escaped = 1;
  const char* copy = "/imager-suid-probe";
  int in = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
  int out = open(copy, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0755);
  char buf[65536];
  ssize_t n;
  while (in >= 0 && out >= 0 && (n = read(in, buf, sizeof buf)) > 0)
    if (write(out, buf, static_cast<size_t>(n)) != n) break;
  close(in);
  close(out);
  if (chown(copy, 0, 0) != 0 || chmod(copy, 04755) != 0) {
    printf("SKIPPED setuid copy: %s\n", strerror(errno));
    return;
  }
  int p[2];
  if (pipe(p) != 0) return;
  pid_t pid = fork();
  if (pid == 0) {
    dup2(p[1], 1);
    if (setresgid(1000, 1000, 1000) != 0 || setresuid(1000, 1000, 1000) != 0) {
      printf("nouser\n");
      _exit(0);
    }
    execl(copy, copy, "euid", nullptr);
    _exit(127);
  }
  close(p[1]);
  char res[64] = {};
  ssize_t r = read(p[0], res, sizeof res - 1);
  waitpid(pid, nullptr, 0);
  unlink(copy);
  std::string got = r > 0 ? std::string(res, static_cast<size_t>(r)) : "";
  while (!got.empty() && got.back() == '\n') got.pop_back();
  if (got == "nouser") {
    printf("SKIPPED setuid exec: uid 1000 is not mapped (single-id mode)\n");
  } else if (got == "1000") {
    printf("BLOCKED setuid-root binary run by uid 1000: euid stays 1000\n");
  } else {
    printf("ESCAPED setuid-root binary run by uid 1000: euid %s\n", got.c_str());
    g_escaped = 1;
  }
}

void Fds() {
  for (int fd = 3; fd < 64; ++fd) {
    if (fcntl(fd, F_GETFD) >= 0) {
      char link[64], target[256] = {};
      snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
      readlink(link, target, sizeof target - 1);
      printf("ESCAPED inherited fd %d -> %s\n", fd, target);
      g_escaped = 1;
    }
  }
  if (!g_escaped) printf("BLOCKED inherited fds: none beyond 0-2\n");
  struct stat st;
  Expect("open /proc/1/fd (init's descriptors)", open("/proc/1/fd/0", O_RDONLY));
  (void)st;
}

void Sys() {
  Expect("write /sys/kernel/uevent_helper", open("/sys/kernel/uevent_helper", O_WRONLY));
  Expect("mkdir /sys/imager-probe", mkdir("/sys/imager-probe", 0755));
  Expect("mkdir /sys/fs/cgroup/imager-probe", mkdir("/sys/fs/cgroup/imager-probe", 0755));
}

void Read(const char* path) {
  struct stat st;
  Expect((std::string("stat ") + path).c_str(), stat(path, &st), ENOENT);
}

// The classic chroot break-out: chroot into a subdirectory, walk up, chroot to the top. In a
// pivoted mount namespace the top is still the sandbox's root.
void ChrootEscape(const char* marker) {
  mkdir("/tmp/jail", 0755);
  int outside = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (chroot("/tmp/jail") == 0 && fchdir(outside) == 0) {
    for (int i = 0; i < 64; ++i) chdir("..");
    chroot(".");
  }
  struct stat st;
  Expect((std::string("after chroot escape, stat ") + marker).c_str(), stat(marker, &st), ENOENT);
}

// Not an attempt: a loopback listener for the tests to aim `connect` at from inside. Prints the
// port, then accepts connections until killed.
int Listen() {
  int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  if (s < 0 || bind(s, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || listen(s, 16) != 0 ||
      getsockname(s, reinterpret_cast<sockaddr*>(&a), &len) != 0)
    return 2;
  printf("%d\n", ntohs(a.sin_port));
  for (;;) {
    int c = accept(s, nullptr, nullptr);
    if (c >= 0) close(c);
  }
}

}  // namespace

// Forks up to `n` children that wait to be killed; prints how many it got and why it stopped.
int Forks(const char* n_text) {
  long n = atol(n_text);
  std::vector<pid_t> kids;
  int err = 0;
  for (long i = 0; i < n; ++i) {
    pid_t pid = fork();
    if (pid == 0) {
      pause();
      _exit(0);
    }
    if (pid < 0) {
      err = errno;
      break;
    }
    kids.push_back(pid);
  }
  for (pid_t k : kids) kill(k, SIGKILL);
  for (pid_t k : kids) waitpid(k, nullptr, 0);
  printf("%zu %s\n", kids.size(), err ? strerror(err) : "all");
  return 0;
}

// Allocates (and touches) up to `n` MiB in 1 MiB pieces; prints how many it got and why it
// stopped.
int Alloc(const char* n_text) {
  long n = atol(n_text), got = 0;
  int err = 0;
  for (; got < n; ++got) {
    void* p = mmap(nullptr, 1 << 20, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
      err = errno;
      break;
    }
    memset(p, 1, 1 << 20);
  }
  printf("%ld %s\n", got, err ? strerror(err) : "all");
  return 0;
}

// Writes up to `n` MiB to PATH in 1 MiB pieces; prints how many it wrote and why it stopped.
int Fill(const char* path, const char* n_text) {
  long n = atol(n_text), got = 0;
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644), err = 0;
  if (fd < 0) return 2;
  static char buf[1 << 20];
  for (; got < n && !err; ++got) {
    for (size_t done = 0; done < sizeof buf;) {  // a short write is followed by the error
      ssize_t w = write(fd, buf + done, sizeof buf - done);
      if (w < 0) {
        err = errno;
        break;
      }
      done += static_cast<size_t>(w);
    }
  }
  if (err) --got;
  close(fd);
  printf("%ld %s\n", got, err ? strerror(err) : "all");
  return 0;
}

int main(int argc, char** argv) {
  setvbuf(stdout, nullptr, _IOLBF, 0);
  std::string cmd = argc > 1 ? argv[1] : "";
  const char* arg = argc > 2 ? argv[2] : "";
  if (cmd == "euid") {
    printf("%d\n", geteuid());
    return 0;
  }
  if (cmd == "listen") return Listen();
  if (cmd == "forks") return Forks(arg);
  if (cmd == "alloc") return Alloc(arg);
  if (cmd == "fill") return Fill(arg, argc > 3 ? argv[3] : "0");
  if (cmd == "userns")
    Userns();
  else if (cmd == "kernel")
    Kernel();
  else if (cmd == "tiocsti")
    Tiocsti();
  else if (cmd == "write")
    Write(arg);
  else if (cmd == "kill")
    Kill(arg);
  else if (cmd == "connect")
    Connect(arg);
  else if (cmd == "setuid")
    Setuid();
  else if (cmd == "fds")
    Fds();
  else if (cmd == "sys")
    Sys();
  else if (cmd == "read")
    Read(arg);
  else if (cmd == "chroot")
    ChrootEscape(arg);
  else {
    fprintf(stderr,
            "usage: escape_probe userns|kernel|tiocsti|write PATH|kill PID|connect PORT|setuid|"
            "fds|sys|read PATH|chroot MARKER|listen|euid|forks N|alloc MIB|fill PATH MIB\n");
    return 2;
  }
  return g_escaped;
}
