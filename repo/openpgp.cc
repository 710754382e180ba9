// SPDX-License-Identifier: GPL-3.0-or-later
#include "repo/openpgp.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <ctime>
#include <map>

#include "base/fd.h"
#include "base/fs.h"
#include "base/strings.h"

extern char** environ;

namespace imager::repo {
namespace {

int Base64Value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

// Appends the bytes of one base64 line (padding allowed at its end) to `out`.
bool DecodeBase64Line(std::string_view line, std::string* out, uint32_t* acc, int* bits) {
  for (char c : line) {
    if (c == '=') return true;
    int v = Base64Value(c);
    if (v < 0) return false;
    *acc = (*acc << 6) | static_cast<uint32_t>(v);
    *bits += 6;
    if (*bits >= 8) {
      *bits -= 8;
      out->push_back(static_cast<char>((*acc >> *bits) & 0xff));
    }
  }
  return true;
}

// A temporary directory removed with everything in it when this goes out of scope.
class ScratchDir {
 public:
  static Result<ScratchDir> Make(const std::string& parent) {
    std::string dir = parent;
    if (dir.empty()) {
      const char* t = getenv("TMPDIR");
      dir = t && *t ? t : "/tmp";
    }
    auto d = MakeTempDir(dir, "imager-gpgv-");
    if (!d) return d.take_error();
    return ScratchDir(*d);
  }
  ScratchDir(ScratchDir&& o) noexcept : path_(std::exchange(o.path_, "")) {}
  ScratchDir& operator=(ScratchDir&&) = delete;
  ~ScratchDir() {
    if (!path_.empty()) (void)RemoveTree(path_);
  }
  const std::string& path() const { return path_; }

 private:
  explicit ScratchDir(std::string path) : path_(std::move(path)) {}
  std::string path_;
};

// Writes the keyring as binary packets into DIR/keyring.gpg (gpgv reads binary keyrings only).
Result<std::string> PrepareKeyring(const std::string& keyring, const std::string& dir) {
  auto text = ReadFile(keyring);
  if (!text) return Error{"keyring: " + text.error()};
  std::string_view head = Trim(std::string_view(*text).substr(0, 64));
  std::string binary;
  if (StartsWith(head, "-----BEGIN PGP")) {
    auto b = Dearmor(*text, keyring);
    if (!b) return b.take_error();
    binary = std::move(*b);
  } else if (!text->empty() && (static_cast<unsigned char>((*text)[0]) & 0x80)) {
    binary = std::move(*text);
  } else {
    return Error{"keyring " + keyring +
                 ": neither an OpenPGP binary keyring (.gpg) nor ASCII armor (.asc)"};
  }
  std::string path = dir + "/keyring.gpg";
  if (auto st = WriteFile(path, binary); !st) return st.take_error();
  return path;
}

// An fd numbered above the standard three and gpgv's status fd, close-on-exec.
Result<UniqueFd> OpenHigh(const std::string& path, int flags) {
  UniqueFd fd(::open(path.c_str(), flags | O_CLOEXEC, 0600));
  if (!fd.valid()) return ErrnoError("open " + path);
  UniqueFd high(fcntl(fd.get(), F_DUPFD_CLOEXEC, 10));
  if (!high.valid()) return ErrnoError("fcntl F_DUPFD_CLOEXEC");
  return high;
}

struct GpgvRun {
  int exit_code = -1;
  std::string status;
  std::string output;
  std::string errors;
};

// Runs gpgv with ARGS; stdout, stderr and the status lines (fd 3) go to files in DIR.
Result<GpgvRun> RunGpgv(const std::string& gpgv, const std::vector<std::string>& args,
                        const std::string& dir) {
  auto in = OpenHigh("/dev/null", O_RDONLY);
  auto out = OpenHigh(dir + "/stdout", O_WRONLY | O_CREAT | O_TRUNC);
  auto err = OpenHigh(dir + "/stderr", O_WRONLY | O_CREAT | O_TRUNC);
  auto status = OpenHigh(dir + "/status", O_WRONLY | O_CREAT | O_TRUNC);
  for (auto* r : {&in, &out, &err, &status})
    if (!*r) return r->take_error();
  std::vector<std::string> argv_s = {gpgv, "--homedir", dir, "--status-fd", "3"};
  argv_s.insert(argv_s.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& a : argv_s) argv.push_back(a.data());
  argv.push_back(nullptr);

  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, in->get(), 0);
  posix_spawn_file_actions_adddup2(&fa, out->get(), 1);
  posix_spawn_file_actions_adddup2(&fa, err->get(), 2);
  posix_spawn_file_actions_adddup2(&fa, status->get(), 3);
  pid_t pid = -1;
  // Child: gpgv only, with our environment and the four fds above; everything else is CLOEXEC.
  int rc = posix_spawnp(&pid, gpgv.c_str(), &fa, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&fa);
  if (rc == ENOENT)
    return Error{"cannot run " + gpgv +
                 ": not found in PATH (install the gpgv package, e.g. apt-get install gpgv)"};
  if (rc != 0) return ErrnoError("posix_spawn " + gpgv, rc);
  int wstatus = 0;
  while (waitpid(pid, &wstatus, 0) < 0) {
    if (errno != EINTR) return ErrnoError("waitpid " + gpgv);
  }
  GpgvRun run;
  run.exit_code = WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : 128 + WTERMSIG(wstatus);
  for (auto [name, dest] : {std::pair{"/stdout", &run.output}, std::pair{"/stderr", &run.errors},
                            std::pair{"/status", &run.status}}) {
    auto text = ReadFile(dir + name);
    if (!text) return text.take_error();
    *dest = std::move(*text);
  }
  return run;
}

// The status words after "[GNUPG:] ", one vector per line.
std::vector<std::vector<std::string>> StatusLines(std::string_view status) {
  std::vector<std::vector<std::string>> lines;
  for (const auto& line : Split(status, '\n')) {
    if (!StartsWith(line, "[GNUPG:] ")) continue;
    std::string_view rest = std::string_view(line).substr(9);
    std::vector<std::string> words;
    size_t sp = rest.find(' ');
    words.emplace_back(rest.substr(0, sp));
    if (sp != std::string_view::npos) {
      // Keep the user id (everything after the key id) in one piece.
      std::string_view args = rest.substr(sp + 1);
      size_t sp2 = args.find(' ');
      words.emplace_back(args.substr(0, sp2));
      if (sp2 != std::string_view::npos) words.emplace_back(args.substr(sp2 + 1));
    }
    lines.push_back(std::move(words));
  }
  return lines;
}

std::string KeyAndUser(const std::vector<std::string>& w) {
  std::string s = w.size() > 1 ? w[1] : "?";
  if (w.size() > 2) s += " (" + w[2] + ")";
  return s;
}

// " on 2020-01-03 00:00:00 UTC" from VALIDSIG's expiry time, or "".
std::string ExpiredOn(const std::map<std::string, std::vector<std::string>>& first) {
  auto it = first.find("VALIDSIG");
  if (it == first.end() || it->second.size() < 3) return "";
  auto words = Split(it->second[2], ' ');  // date, creation time, expiry time, ...
  if (words.size() < 3) return "";
  time_t t = static_cast<time_t>(std::atoll(std::string(words[2]).c_str()));
  struct tm tm {};
  char buf[64];
  if (t <= 0 || !gmtime_r(&t, &tm) || !strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S UTC", &tm))
    return "";
  return std::string(" on ") + buf;
}

Result<Verified> Check(const GpgvRun& run, const std::string& what, const std::string& keyring) {
  auto v = InterpretGpgvStatus(run.status, what, keyring);
  // Without any signature status gpgv's own words say what went wrong (unreadable file, ...).
  if (!v && run.status.find("SIG") == std::string::npos && !Trim(run.errors).empty()) {
    auto lines = Split(Trim(run.errors), '\n');
    return Error{v.error() + " (gpgv: " + lines.front() + ")"};
  }
  return v;
}

// gpgv would also accept text around the signed block; the file must be one clearsigned message.
Status CheckClearsignedFrame(const std::string& path) {
  auto text = ReadFile(path);
  if (!text) return text.take_error();
  constexpr std::string_view kBegin = "-----BEGIN PGP SIGNED MESSAGE-----";
  constexpr std::string_view kEnd = "-----END PGP SIGNATURE-----";
  std::string_view t = *text;
  if (!StartsWith(t, kBegin))
    return Error{path + ": not an inline-signed file, the file is not signed (expected it to " +
                 "start with " + std::string(kBegin) + ")"};
  size_t end = t.find(kEnd);
  if (t.find(kBegin, 1) != std::string_view::npos || end == std::string_view::npos ||
      !Trim(t.substr(end + kEnd.size())).empty())
    return Error{path + ": unsigned data around the signed message; refusing it"};
  return {};
}

}  // namespace

Result<std::string> Dearmor(std::string_view armored, const std::string& origin) {
  enum class State { kOutside, kHeaders, kData, kDone };
  State state = State::kOutside;
  std::string out;
  uint32_t acc = 0;
  int bits = 0, blocks = 0, lineno = 0;
  for (const auto& raw : Split(armored, '\n')) {
    ++lineno;
    std::string_view line = Trim(raw);
    std::string where = origin + ":" + std::to_string(lineno);
    if (state == State::kOutside) {
      if (StartsWith(line, "-----BEGIN PGP PUBLIC KEY BLOCK-----")) state = State::kHeaders;
      continue;
    }
    if (StartsWith(line, "-----END PGP")) {
      if (state == State::kHeaders) return Error{where + ": empty armored block"};
      state = State::kOutside;
      ++blocks;
      acc = 0;
      bits = 0;
      continue;
    }
    if (state == State::kHeaders) {
      if (line.empty()) {
        state = State::kData;
        continue;
      }
      if (line.find(": ") != std::string_view::npos) continue;  // "Comment: ..."
      state = State::kData;  // tolerate armor without the blank line after its headers
    }
    if (state == State::kDone || line.empty()) continue;
    if (line[0] == '=') {  // the CRC24 line; the packets carry their own integrity checks
      state = State::kDone;
      continue;
    }
    if (!DecodeBase64Line(line, &out, &acc, &bits))
      return Error{where + ": invalid base64 in ASCII armor"};
  }
  if (state != State::kOutside) return Error{origin + ": ASCII armor without an END line"};
  if (blocks == 0) return Error{origin + ": no '-----BEGIN PGP PUBLIC KEY BLOCK-----' found"};
  return out;
}

Result<Verified> InterpretGpgvStatus(std::string_view status, const std::string& what,
                                     const std::string& keyring) {
  Verified v;
  std::map<std::string, std::vector<std::string>> first;  // keyword -> its first line
  std::vector<std::string> good_keys;
  for (auto& w : StatusLines(status)) {
    const std::string& kw = w[0];
    if (kw == "GOODSIG" && w.size() > 1) good_keys.push_back(w[1]);
    if (kw == "VALIDSIG" && w.size() > 1) v.fingerprints.push_back(w[1]);
    if (kw == "NO_PUBKEY" || kw == "EXPKEYSIG" || kw == "REVKEYSIG" || kw == "EXPSIG")
      v.notes.push_back(kw + " " + KeyAndUser(w));
    first.emplace(kw, std::move(w));
  }
  if (auto it = first.find("BADSIG"); it != first.end())
    return Error{what + ": BAD signature by key " + KeyAndUser(it->second) +
                 ": the file was modified after it was signed, or is corrupt"};
  if (auto it = first.find("REVKEYSIG"); it != first.end())
    return Error{what + ": signed by key " + KeyAndUser(it->second) + ", which is revoked in " +
                 keyring};
  if (!good_keys.empty() && !v.fingerprints.empty()) return v;
  if (auto it = first.find("EXPKEYSIG"); it != first.end())
    return Error{what + ": signed by key " + KeyAndUser(it->second) + ", which has expired (" +
                 keyring + "); refresh the keyring"};
  if (auto it = first.find("EXPSIG"); it != first.end())
    return Error{what + ": the signature by key " + KeyAndUser(it->second) + " has expired" +
                 ExpiredOn(first) + ": the mirror serves stale metadata, or the clock is wrong"};
  if (auto it = first.find("NO_PUBKEY"); it != first.end()) {
    std::string fpr;  // ERRSIG's last word is the issuer fingerprint when the signature has one
    if (auto e = first.find("ERRSIG"); e != first.end() && e->second.size() > 2) {
      auto words = Split(e->second[2], ' ');
      if (words.size() >= 6 && words.back().size() >= 32)
        fpr = " (fingerprint " + words.back() + ")";
    }
    return Error{what + ": signed by key ID " + KeyAndUser(it->second) + fpr + " which is not in " +
                 keyring};
  }
  if (auto it = first.find("ERRSIG"); it != first.end())
    return Error{what + ": cannot check the signature by key ID " + KeyAndUser(it->second)};
  return Error{what + ": no OpenPGP signature found (the file is not signed)"};
}

Result<Verified> VerifyInline(const std::string& signed_file, const std::string& keyring,
                              const OpenPgpOptions& options) {
  if (auto st = CheckClearsignedFrame(signed_file); !st) return st.take_error();
  auto dir = ScratchDir::Make(options.tmp_dir);
  if (!dir) return dir.take_error();
  auto kr = PrepareKeyring(keyring, dir->path());
  if (!kr) return kr.take_error();
  auto run = RunGpgv(options.gpgv, {"--keyring", *kr, "--output", "-", signed_file}, dir->path());
  if (!run) return run.take_error();
  auto v = Check(*run, signed_file, keyring);
  if (!v) return v;
  v->content = std::move(run->output);
  return v;
}

Result<Verified> VerifyDetached(const std::string& data_file, const std::string& signature_file,
                                const std::string& keyring, const OpenPgpOptions& options) {
  auto dir = ScratchDir::Make(options.tmp_dir);
  if (!dir) return dir.take_error();
  auto kr = PrepareKeyring(keyring, dir->path());
  if (!kr) return kr.take_error();
  auto run = RunGpgv(options.gpgv, {"--keyring", *kr, signature_file, data_file}, dir->path());
  if (!run) return run.take_error();
  return Check(*run, data_file + " (signature " + signature_file + ")", keyring);
}

}  // namespace imager::repo
