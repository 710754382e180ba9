// SPDX-License-Identifier: GPL-3.0-or-later
#include "inside/rpm_image_db.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>

#include "base/fd.h"
#include "base/fs.h"
#include "base/inroot.h"
#include "base/strings.h"

namespace imager::inside {
namespace {

constexpr char kImageRpm[] = "/usr/bin/rpm";
// How errors name it.
constexpr char kWho[] = "the image's own rpm (/usr/bin/rpm)";

struct Ran {
  int status = 0;      // waitpid's
  std::string output;  // stdout and stderr together
  bool ok() const { return WIFEXITED(status) && WEXITSTATUS(status) == 0; }
};

// The image's rpm with `args`, chrooted into `root`, in a clean environment. Everything the
// child needs is made before fork: after it, only async-signal-safe calls.
Result<Ran> RunImageRpm(const std::string& root, const std::vector<std::string>& args) {
  std::vector<std::string> argv_s{kImageRpm};
  argv_s.insert(argv_s.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : argv_s) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::string env_s[] = {"PATH=/usr/bin:/bin:/usr/sbin:/sbin", "HOME=/root", "LC_ALL=C"};
  char* envp[] = {env_s[0].data(), env_s[1].data(), env_s[2].data(), nullptr};
  int pipe_fds[2];
  if (pipe2(pipe_fds, O_CLOEXEC) != 0) return ErrnoError("rpm: pipe for the image's rpm");
  UniqueFd read_end(pipe_fds[0]), write_end(pipe_fds[1]);
  int null_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
  pid_t pid = fork();
  if (pid < 0) {
    if (null_fd >= 0) close(null_fd);
    return ErrnoError("rpm: fork for the image's rpm");
  }
  if (pid == 0) {
    if (chroot(root.c_str()) != 0 || chdir("/") != 0) _exit(126);
    if (null_fd >= 0) dup2(null_fd, 0);
    dup2(write_end.get(), 1);
    dup2(write_end.get(), 2);
    execve(kImageRpm, argv.data(), envp);
    _exit(127);
  }
  if (null_fd >= 0) close(null_fd);
  write_end.reset();
  // Read up to a bound: the program is the image's, and rpm -qa of a whole distribution is well
  // under a MiB.
  constexpr size_t kMaxOutput = 64 << 20;
  Ran ran;
  int read_errno = 0;
  char buf[65536];
  while (true) {
    ssize_t n = read(read_end.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) read_errno = errno;
    if (n <= 0) break;
    ran.output.append(buf, static_cast<size_t>(n));
    if (ran.output.size() > kMaxOutput) {
      kill(pid, SIGKILL);
      break;
    }
  }
  while (waitpid(pid, &ran.status, 0) < 0)
    if (errno != EINTR) return ErrnoError("rpm: waitpid for the image's rpm");
  if (read_errno) {
    errno = read_errno;
    return ErrnoError("rpm: reading the image's rpm output");
  }
  if (ran.output.size() > kMaxOutput)
    return Error{std::string("rpm: the image's rpm (") + kImageRpm + " " + Join(args, " ") +
                 ") wrote more than 64 MiB; stopped"};
  return ran;
}

std::string Describe(const Ran& r) {
  std::string how;
  if (WIFEXITED(r.status)) {
    int code = WEXITSTATUS(r.status);
    how = code == 126   ? "could not be started chrooted into the image (exit 126)"
          : code == 127 ? "could not be executed (exit 127: another architecture, or a library "
                          "missing)"
                        : "exited " + std::to_string(code);
  } else {
    how = "was killed by signal " + std::to_string(WTERMSIG(r.status));
  }
  std::string out(Trim(r.output));
  return how + (out.empty() ? std::string() : ":\n    " + out);
}

}  // namespace

Status MoveRpmDatabase(const std::string& root, const std::string& from, const std::string& to) {
  auto in = InRoot::Open(root);
  if (!in) return in.take_error();
  auto src = in->Dir(from, false);
  if (!src) return src.take_error();
  auto dst = in->Dir(to, true);
  if (!dst) return dst.take_error();
  struct stat a {
  }, b{};
  if (fstat(src->get(), &a) != 0 || fstat(dst->get(), &b) != 0)
    return ErrnoError("rpm: stat the package database directories");
  if (a.st_dev == b.st_dev && a.st_ino == b.st_ino) return {};
  auto names = ListDirFd(src->get());
  if (!names) return names.take_error();
  for (const auto& n : *names)
    if (renameat(src->get(), n.c_str(), dst->get(), n.c_str()) != 0)
      return ErrnoError("rpm: move " + from + "/" + n + " to " + to);
  std::string parent = from.substr(0, from.find_last_of('/'));
  auto up = in->Dir(parent.empty() ? "/" : parent, false);
  if (up) unlinkat(up->get(), from.substr(from.find_last_of('/') + 1).c_str(), AT_REMOVEDIR);
  return {};
}

Result<std::optional<ImageRpm>> AskImageRpm(const std::string& root) {
  auto in = InRoot::Open(root);
  if (!in) return in.take_error();
  auto st = in->Lstat(kImageRpm);
  if (!st) return st.take_error();
  if (!*st) return std::optional<ImageRpm>();
  const std::string who = kWho;
  ImageRpm rpm;
  auto version = RunImageRpm(root, {"--version"});
  if (!version) return version.take_error();
  if (!version->ok()) return Error{who + " --version " + Describe(*version)};
  rpm.version = std::string(Trim(version->output));

  auto eval = RunImageRpm(root, {"--eval", "%{_dbpath}", "--eval", "%{_db_backend}"});
  if (!eval) return eval.take_error();
  if (!eval->ok()) return Error{who + " --eval %{_dbpath} " + Describe(*eval)};
  auto lines = Split(Trim(eval->output), '\n');
  std::string dbpath(lines.empty() ? "" : Trim(lines[0]));
  std::string backend(lines.size() < 2 ? "" : Trim(lines[1]));
  while (dbpath.size() > 1 && dbpath.back() == '/') dbpath.pop_back();
  if (dbpath.empty() || dbpath[0] != '/' || dbpath.find('%') != std::string::npos ||
      dbpath.find("/../") != std::string::npos)
    return Error{who + " names no usable database directory: %{_dbpath} is '" + dbpath +
                 "' (an absolute path is needed; the image's rpm macros set it, e.g. " +
                 "/usr/lib/rpm/macros)"};
  // "%{_db_backend}" unexpanded: an rpm older than 4.16, which knows only Berkeley DB.
  if (backend != "sqlite")
    return Error{who + ", " + rpm.version + ", reads a '" + backend +
                 "' package database (%{_db_backend}); imager writes sqlite with librpm, which " +
                 "the image's rpm cannot read: build with a distribution whose rpm uses sqlite " +
                 "(rpm 4.16 or later with %_db_backend sqlite)"};
  rpm.dbpath = dbpath;
  return std::optional<ImageRpm>(std::move(rpm));
}

Status CheckImageRpmLists(const std::string& root, const ImageRpm& rpm,
                          std::vector<std::string> want) {
  const std::string who = kWho;
  auto qa = RunImageRpm(root, {"-qa", "--qf", "%{NEVRA}\\n"});
  if (!qa) return qa.take_error();
  if (!qa->ok()) return Error{who + " -qa " + Describe(*qa)};
  std::vector<std::string> listed;
  for (const auto& line : Split(Trim(qa->output), '\n')) {
    std::string nevra(Trim(line));
    if (!nevra.empty() && !StartsWith(nevra, "gpg-pubkey-")) listed.push_back(nevra);
  }
  std::erase_if(want, [](const std::string& n) { return StartsWith(n, "gpg-pubkey-"); });
  std::sort(listed.begin(), listed.end());
  std::sort(want.begin(), want.end());
  if (listed == want) return {};
  std::vector<std::string> missing, extra;
  std::set_difference(want.begin(), want.end(), listed.begin(), listed.end(),
                      std::back_inserter(missing));
  std::set_difference(listed.begin(), listed.end(), want.begin(), want.end(),
                      std::back_inserter(extra));
  std::string msg = who + ", " + rpm.version + ", does not list the database's packages (" +
                    rpm.dbpath + "): it lists " + std::to_string(listed.size()) +
                    ", the database has " + std::to_string(want.size());
  if (!missing.empty()) msg += "; not listed: " + Join(missing, " ");
  if (!extra.empty()) msg += "; not in the database: " + Join(extra, " ");
  return Error{msg};
}

}  // namespace imager::inside
