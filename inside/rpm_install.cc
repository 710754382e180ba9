// SPDX-License-Identifier: GPL-3.0-or-later
#include "inside/rpm_install.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <rpm/header.h>
#include <rpm/rpmcallback.h>
#include <rpm/rpmcli.h>
#include <rpm/rpmdb.h>
#include <rpm/rpmfi.h>
#include <rpm/rpmio.h>
#include <rpm/rpmkeyring.h>
#include <rpm/rpmlib.h>
#include <rpm/rpmlog.h>
#include <rpm/rpmmacro.h>
#include <rpm/rpmpgp.h>
#include <rpm/rpmprob.h>
#include <rpm/rpmps.h>
#include <rpm/rpmts.h>
#include <sqlite3.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdlib>
#include <map>
#include <memory>
#include <mutex>

#include "base/fd.h"
#include "base/fs.h"
#include "base/owner_record.h"
#include "base/strings.h"
#include "repo/openpgp.h"

namespace imager::inside {
namespace {

// librpm's C objects with an owner.
struct TsFree {
  void operator()(rpmts ts) const { rpmtsFree(ts); }
};
using Ts = std::unique_ptr<std::remove_pointer_t<rpmts>, TsFree>;
struct KeyringFree {
  void operator()(rpmKeyring k) const { rpmKeyringFree(k); }
};
using Keyring = std::unique_ptr<std::remove_pointer_t<rpmKeyring>, KeyringFree>;
struct PsFree {
  void operator()(rpmps ps) const { rpmpsFree(ps); }
};
using Ps = std::unique_ptr<std::remove_pointer_t<rpmps>, PsFree>;

std::string HeaderString(Header h, rpmTagVal tag) {
  if (!h) return "";
  char* s = headerGetAsString(h, tag);
  std::string out = s ? s : "";
  free(s);
  return out;
}

std::string ScriptletName(rpm_loff_t tag) {
  switch (tag) {
    case RPMTAG_PREIN:
      return "%pre";
    case RPMTAG_POSTIN:
      return "%post";
    case RPMTAG_PREUN:
      return "%preun";
    case RPMTAG_POSTUN:
      return "%postun";
    case RPMTAG_PRETRANS:
      return "%pretrans";
    case RPMTAG_POSTTRANS:
      return "%posttrans";
    case RPMTAG_TRIGGERIN:
      return "%triggerin";
    case RPMTAG_TRIGGERPREIN:
      return "%triggerprein";
    case RPMTAG_FILETRIGGERIN:
      return "%filetriggerin";
    case RPMTAG_TRANSFILETRIGGERIN:
      return "%transfiletriggerin";
    default:
      return "scriptlet " + std::to_string(tag);
  }
}

// The state the notify callback works on: which package file to open, where scriptlets write,
// what went wrong.
struct Transaction {
  const RpmInstallOptions* options = nullptr;
  FD_t open = nullptr;  // the package file rpm is reading
  int script_fd = -1;   // memfd that every scriptlet's stdout and stderr go to
  off_t script_start = 0;
  std::string last_output;  // of the scriptlet that stopped last
  std::vector<std::string> installed;
  std::vector<std::string> failures;
  std::vector<std::string> rpm_errors;  // rpm's own error messages, also printed by rpm

  void Log(const std::string& line) const { WriteAll(options->log_fd, line + "\n"); }

  // The output scriptlets wrote since the last call.
  std::string TakeScriptOutput() {
    off_t end = lseek(script_fd, 0, SEEK_END);
    std::string out;
    if (end > script_start) {
      out.resize(static_cast<size_t>(end - script_start));
      ssize_t n = pread(script_fd, out.data(), out.size(), script_start);
      out.resize(n > 0 ? static_cast<size_t>(n) : 0);
    }
    script_start = end;
    return out;
  }

  // Copies scriptlet output into the log, each line marked with the package and scriptlet.
  void LogScriptOutput(const std::string& who, const std::string& out) const {
    for (const auto& line : Split(out, '\n'))
      if (!line.empty()) Log("  " + who + ": " + line);
  }

  void* Notify(Header h, rpmCallbackType what, rpm_loff_t amount, rpm_loff_t total, fnpyKey key) {
    const auto* path = static_cast<const std::string*>(key);
    switch (what) {
      case RPMCALLBACK_INST_OPEN_FILE:
        if (!path) return nullptr;
        open = Fopen(path->c_str(), "r.ufdio");
        if (!open || Ferror(open)) {
          failures.push_back("open " + *path + ": " + (open ? Fstrerror(open) : "failed"));
          if (open) Fclose(open);
          open = nullptr;
        }
        return open;
      case RPMCALLBACK_INST_CLOSE_FILE:
        if (open) Fclose(open);
        open = nullptr;
        return nullptr;
      case RPMCALLBACK_INST_START:
        installed.push_back(HeaderString(h, RPMTAG_NEVRA));
        Log("installing " + installed.back());
        return nullptr;
      case RPMCALLBACK_SCRIPT_START:
        last_output.clear();
        LogScriptOutput("rpm", TakeScriptOutput());  // anything written outside a scriptlet
        return nullptr;
      case RPMCALLBACK_SCRIPT_STOP:  // rpm reports it before SCRIPT_ERROR
        last_output = TakeScriptOutput();
        LogScriptOutput(HeaderString(h, RPMTAG_NAME) + " " + ScriptletName(amount), last_output);
        return nullptr;
      case RPMCALLBACK_SCRIPT_ERROR: {
        // total is the scriptlet's rpmRC; rpm reports failures of some scriptlets (%post...)
        // as warnings and carries on, but an image with a half-configured package is not one
        // we want: every failure fails the install.
        std::string who = HeaderString(h, RPMTAG_NEVRA) + " " + ScriptletName(amount);
        std::string out = TakeScriptOutput();
        LogScriptOutput(HeaderString(h, RPMTAG_NAME) + " " + ScriptletName(amount), out);
        out = last_output + out;
        std::string msg = who + " scriptlet failed";
        if (total != RPMRC_OK && total != RPMRC_FAIL) msg += " (rc " + std::to_string(total) + ")";
        if (out.empty())
          msg += " (it printed nothing)";
        else
          msg += "; its output:";
        for (const auto& line : Split(out, '\n'))
          if (!line.empty()) msg += "\n    | " + line;
        failures.push_back(msg);
        return nullptr;
      }
      case RPMCALLBACK_UNPACK_ERROR:
      case RPMCALLBACK_CPIO_ERROR:
        failures.push_back("unpack " + HeaderString(h, RPMTAG_NEVRA) + " failed");
        return nullptr;
      default:
        return nullptr;
    }
  }
};

void* NotifyTrampoline(const void* h, rpmCallbackType what, rpm_loff_t amount, rpm_loff_t total,
                       fnpyKey key, rpmCallbackData data) {
  auto* tx = static_cast<Transaction*>(data);
  return tx->Notify(const_cast<Header>(static_cast<const headerToken_s*>(h)), what, amount, total,
                    key);
}

int LogTrampoline(rpmlogRec rec, rpmlogCallbackData data) {
  if (rpmlogRecPriority(rec) <= RPMLOG_ERR) {
    std::string m = rpmlogRecMessage(rec);
    while (!m.empty() && m.back() == '\n') m.pop_back();
    static_cast<Transaction*>(data)->rpm_errors.push_back(m);
  }
  return RPMLOG_DEFAULT;
}

// rpm's log callback is process-wide: installed for one install, then the default again.
class ScopedLogCallback {
 public:
  explicit ScopedLogCallback(Transaction* tx) { rpmlogSetCallback(LogTrampoline, tx); }
  ~ScopedLogCallback() { rpmlogSetCallback(nullptr, nullptr); }
};

// Every line of a problem set (one per problem), or "" when there are none.
std::string Problems(rpmts ts) {
  Ps ps(rpmtsProblems(ts));
  std::string out;
  rpmpsi it = rpmpsInitIterator(ps.get());
  while (rpmProblem p = rpmpsiNext(it)) {
    char* s = rpmProblemString(p);
    out += std::string("\n  ") + (s ? s : "unknown problem");
    free(s);
  }
  rpmpsFreeIterator(it);
  return out;
}

Status ReadConfigOnce() {
  static std::once_flag once;
  static int rc = 0;
  std::call_once(once, [] { rc = rpmReadConfigFiles(nullptr, nullptr); });
  if (rc != 0) return Error{"rpm: reading rpm's configuration (rpmrc, macros) failed"};
  return {};
}

// The scriptlets' output descriptor, set on the transaction set for its lifetime; Fclose closes
// the descriptor whatever rpm's reference count says, so only after rpm let go of it.
struct ScriptFd {
  ScriptFd(rpmts t, FD_t f) : ts(t), fd(f) {
    if (fd) rpmtsSetScriptFd(ts, fd);
  }
  ~ScriptFd() {
    if (!fd) return;
    rpmtsSetScriptFd(ts, nullptr);
    Fclose(fd);
  }
  ScriptFd(const ScriptFd&) = delete;
  ScriptFd& operator=(const ScriptFd&) = delete;
  rpmts ts;
  FD_t fd;
};

// Macros for the length of one install, popped again by the destructor.
class ScopedMacros {
 public:
  void Push(const std::string& name, const std::string& value) {
    rpmPushMacro(nullptr, name.c_str(), nullptr, value.c_str(), RMIL_CMDLINE);
    names_.push_back(name);
  }
  ~ScopedMacros() {
    for (const auto& n : names_) rpmPopMacro(nullptr, n.c_str());
  }

 private:
  std::vector<std::string> names_;
};

Status AddPackages(rpmts ts, const std::vector<std::string>& packages) {
  for (const auto& path : packages) {
    FD_t fd = Fopen(path.c_str(), "r.ufdio");
    if (!fd || Ferror(fd)) {
      std::string why = fd ? Fstrerror(fd) : "failed";
      if (fd) Fclose(fd);
      return Error{"rpm: open " + path + ": " + why};
    }
    Header h = nullptr;
    rpmRC rc = rpmReadPackageFile(ts, fd, path.c_str(), &h);
    Fclose(fd);
    if (rc != RPMRC_OK && rc != RPMRC_NOTTRUSTED && rc != RPMRC_NOKEY) {
      headerFree(h);
      return Error{"rpm: read " + path + ": not a valid rpm package (bad header or digest)"};
    }
    // The key is the path string itself, which outlives the transaction; upgrade mode replaces
    // older versions already in a base layer's rpmdb.
    int add = rpmtsAddInstallElement(ts, h, const_cast<std::string*>(&path), 1, nullptr);
    std::string nevra = HeaderString(h, RPMTAG_NEVRA);
    headerFree(h);
    if (add != 0) return Error{"rpm: add " + nevra + " (" + path + ") to the transaction failed"};
  }
  return {};
}

// An absolute path inside `root`, opened without letting symlinks in the image lead out of it.
int OpenDirInRoot(int root, const std::string& dir) {
  struct open_how how = {};
  how.flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC;
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
  std::string rel = dir == "/" ? "." : dir.substr(1);
  return static_cast<int>(syscall(SYS_openat2, root, rel.c_str(), &how, sizeof how));
}

std::map<std::string, unsigned> IdMap(const std::string& root, const char* file) {
  std::map<std::string, unsigned> ids;
  if (auto text = ReadInRoot(root, file))
    for (auto& [name, id] : ParseIdFile(*text)) ids.emplace(name, id);
  return ids;
}

// The files of the installed packages that should belong to a user or group other than root
// but belong to root.
std::vector<RpmLostOwner> CheckOwners(rpmts ts, const std::string& root) {
  std::vector<RpmLostOwner> lost;
  auto users = IdMap(root, "/etc/passwd");
  auto groups = IdMap(root, "/etc/group");
  UniqueFd rootfd(open(root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!rootfd.valid()) return lost;
  rpmdbMatchIterator mi = rpmtsInitIterator(ts, RPMDBI_PACKAGES, nullptr, 0);
  while (Header h = rpmdbNextIterator(mi)) {
    rpmfi fi = rpmfiNew(ts, h, RPMTAG_BASENAMES, RPMFI_FLAGS_QUERY);
    while (rpmfiNext(fi) >= 0) {
      if (rpmfiFFlags(fi) & RPMFILE_GHOST) continue;
      std::string user = rpmfiFUser(fi) ? rpmfiFUser(fi) : "root";
      std::string group = rpmfiFGroup(fi) ? rpmfiFGroup(fi) : "root";
      auto u = users.find(user);
      auto g = groups.find(group);
      if (u == users.end() || g == groups.end()) continue;  // rpm itself falls back to root
      std::string fn = rpmfiFN(fi);
      size_t slash = fn.rfind('/');
      UniqueFd dir(OpenDirInRoot(rootfd.get(), slash == 0 ? "/" : fn.substr(0, slash)));
      struct stat st;
      if (!dir.valid() ||
          fstatat(dir.get(), fn.substr(slash + 1).c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0)
        continue;  // not installed (%lang, excluded docs): nothing to compare
      // The owner the sandbox recorded (base/owner_record.h) is the one the image gets.
      ApplyOwnerRecord("/proc/self/fd/" + std::to_string(dir.get()) + "/" + fn.substr(slash + 1),
                       &st);
      // Only a non-root owner that ended up as root counts: scriptlets may chown files on
      // purpose (to root or to others), and only the one mapped id (0) is left in single-id mode.
      bool uid_lost = u->second != 0 && st.st_uid == 0;
      bool gid_lost = g->second != 0 && st.st_gid == 0;
      if (!uid_lost && !gid_lost) continue;
      // A set-id bit whose owner was lost would grant root's id: take it off (as GNU tar does
      // when it cannot restore an owner). lstat said regular file; this is our own sandbox.
      mode_t clear = S_ISREG(st.st_mode)
                         ? st.st_mode & ((uid_lost ? S_ISUID : 0) | (gid_lost ? S_ISGID : 0))
                         : 0;
      if (clear &&
          fchmodat(dir.get(), fn.substr(slash + 1).c_str(), (st.st_mode & 07777) & ~clear, 0) != 0)
        clear = 0;
      lost.push_back({fn,
                      user + ":" + group + " (" + std::to_string(u->second) + ":" +
                          std::to_string(g->second) + ")",
                      std::to_string(st.st_uid) + ":" + std::to_string(st.st_gid), clear});
    }
    rpmfiFree(fi);
  }
  rpmdbFreeIterator(mi);
  return lost;
}

// A keyring file loaded for librpm, with the fingerprints of its primary keys for messages.
struct LoadedKeyring {
  Keyring keyring;
  std::vector<std::string> fingerprints;
};

std::string Hex(const uint8_t* p, size_t n) {
  static const char kDigits[] = "0123456789ABCDEF";
  std::string out;
  for (size_t i = 0; i < n; ++i) out += {kDigits[p[i] >> 4], kDigits[p[i] & 15]};
  return out;
}

// Every certificate of PATH (and its subkeys, as `rpmkeys --import` adds them) in a keyring of
// its own: the host's rpmdb keys play no part.
Result<LoadedKeyring> LoadKeyring(const std::string& path) {
  auto text = ReadFile(path);
  if (!text) return Error{"keyring: " + text.error()};
  std::string binary = std::move(*text);
  if (StartsWith(Trim(std::string_view(binary).substr(0, 64)), "-----BEGIN PGP")) {
    auto b = repo::Dearmor(binary, path);
    if (!b) return b.take_error();
    binary = std::move(*b);
  }
  LoadedKeyring out{Keyring(rpmKeyringNew()), {}};
  const auto* p = reinterpret_cast<const uint8_t*>(binary.data());
  size_t left = binary.size();
  while (left > 0) {
    size_t len = 0;
    if (pgpPubKeyCertLen(p, left, &len) != 0 || len == 0 || len > left)
      return Error{"keyring " + path + ": not a list of OpenPGP public keys rpm can read"};
    rpmPubkey key = rpmPubkeyNew(p, len);
    if (!key) return Error{"keyring " + path + ": rpm cannot use one of its keys"};
    rpmKeyringAddKey(out.keyring.get(), key);
    int n = 0;
    rpmPubkey* subkeys = rpmGetSubkeys(key, &n);
    for (int i = 0; i < n; ++i) {
      rpmKeyringAddKey(out.keyring.get(), subkeys[i]);
      rpmPubkeyFree(subkeys[i]);
    }
    free(subkeys);
    rpmPubkeyFree(key);
    uint8_t* fp = nullptr;
    size_t fplen = 0;
    if (pgpPubkeyFingerprint(p, len, &fp, &fplen) == 0) out.fingerprints.push_back(Hex(fp, fplen));
    free(fp);
    p += len;
    left -= len;
  }
  if (out.fingerprints.empty()) return Error{"keyring " + path + ": holds no public key"};
  return out;
}

// rpm's verbose lines about one package ("    Header V4 RSA/SHA256 Signature, key ID
// 1a2b3c4d: NOKEY"), collected instead of printed.
int CollectVerifyLines(rpmlogRec rec, rpmlogCallbackData data) {
  std::string m = rpmlogRecMessage(rec);
  auto* lines = static_cast<std::vector<std::string>*>(data);
  for (const auto& line : Split(m, '\n'))
    if (!Trim(line).empty()) lines->push_back(std::string(Trim(line)));
  return 0;
}

// The key ID a line of rpm's verdict names, or "".
std::string KeyIdOf(const std::string& line) {
  size_t at = line.find("key ID ");
  if (at == std::string::npos) return "";
  size_t start = at + 7, end = line.find(':', start);
  return line.substr(start, end == std::string::npos ? std::string::npos : end - start);
}

bool EndsWith(const std::string& s, std::string_view suffix) {
  return s.size() >= suffix.size() &&
         s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

// Why rpm refused a package, from its verdict on each signature and digest.
std::string RefusalText(const RpmSignedFile& f, const LoadedKeyring& keys,
                        const std::vector<std::string>& lines) {
  std::string key_id;
  for (const auto& line : lines)
    if (key_id.empty()) key_id = KeyIdOf(line);
  bool bad = false, nokey = false, read = false;
  std::vector<std::string> verdict;  // what failed; the signature kinds it lacks when unsigned
  for (const auto& line : lines) {
    if (line == f.path + ":") continue;
    read = read || line.find("digest:") != std::string::npos;
    bad = bad || line.find(": BAD") != std::string::npos;
    nokey = nokey || EndsWith(line, ": NOKEY");
    if (!EndsWith(line, ": OK") && !(EndsWith(line, ": NOTFOUND") && !key_id.empty()))
      verdict.push_back(line);
  }
  std::string why;
  if (!read)
    why = "rpm cannot read it as a package";
  else if (bad)
    why = "its signature or digests do not match: the file was altered after it was signed" +
          (key_id.empty() ? std::string() : " (signed with key ID " + key_id + ")");
  else if (key_id.empty())
    why = "it is not signed";
  else if (nokey)
    why = "it is signed with key ID " + key_id + ", which is not in the keyring";
  else
    why = "its signature (key ID " + key_id + ") does not verify";
  std::string msg = "gpgcheck: package " + f.name + " (" + f.path + ") is refused: " + why +
                    "; the repository's keyring " + f.keyring + " holds " +
                    Join(keys.fingerprints, ", ");
  for (const auto& line : verdict) msg += "\n    rpm: " + line;
  return msg;
}

// Restores rpm's log callback and verbosity after a verification.
class ScopedVerifyLog {
 public:
  explicit ScopedVerifyLog(std::vector<std::string>* lines) : mask_(rpmlogSetMask(0)) {
    rpmlogSetCallback(CollectVerifyLines, lines);
    rpmSetVerbosity(RPMLOG_INFO);  // one line per signature and digest
  }
  ~ScopedVerifyLog() {
    rpmlogSetCallback(nullptr, nullptr);
    rpmlogSetMask(mask_);
  }
  ScopedVerifyLog(const ScopedVerifyLog&) = delete;
  ScopedVerifyLog& operator=(const ScopedVerifyLog&) = delete;

 private:
  int mask_;
};

}  // namespace

Status RpmVerifySignatures(const std::vector<RpmSignedFile>& files) {
  if (files.empty()) return {};
  if (auto st = ReadConfigOnce(); !st) return st.take_error();
  std::map<std::string, LoadedKeyring> keyrings;
  std::vector<std::string> refused;
  for (const auto& f : files) {
    auto it = keyrings.find(f.keyring);
    if (it == keyrings.end()) {
      auto k = LoadKeyring(f.keyring);
      if (!k) return Error{"gpgcheck: " + k.error()};
      it = keyrings.emplace(f.keyring, std::move(*k)).first;
    }
    Ts ts(rpmtsCreate());
    rpmtsSetKeyring(ts.get(), it->second.keyring.get());
    rpmtsSetVfyFlags(ts.get(), RPMVSF_DEFAULT);
    rpmtsSetVfyLevel(ts.get(), RPMSIG_SIGNATURE_TYPE | RPMSIG_DIGEST_TYPE);
    FD_t fd = Fopen(f.path.c_str(), "r.ufdio");
    if (!fd || Ferror(fd)) {
      std::string why = fd ? Fstrerror(fd) : "failed";
      if (fd) Fclose(fd);
      return Error{"gpgcheck: open " + f.path + " (" + f.name + "): " + why};
    }
    std::vector<std::string> lines;
    int rc;
    {
      ScopedVerifyLog log(&lines);
      rc = rpmVerifySignatures(&rpmQVKArgs, ts.get(), fd, f.path.c_str());
    }
    Fclose(fd);
    if (rc != 0) refused.push_back(RefusalText(f, it->second, lines));
  }
  if (!refused.empty()) return Error{Join(refused, "\n")};
  return {};
}

std::vector<std::pair<std::string, unsigned>> ParseIdFile(const std::string& text) {
  std::vector<std::pair<std::string, unsigned>> out;
  for (const auto& line : Split(text, '\n')) {
    auto f = Split(line, ':');
    if (f.size() < 3 || f[0].empty() || f[2].empty()) continue;
    char* end = nullptr;
    unsigned long id = strtoul(f[2].c_str(), &end, 10);
    if (*end != '\0' || id > 0xFFFFFFFEul) continue;
    out.emplace_back(f[0], static_cast<unsigned>(id));
  }
  return out;
}

namespace {

// rpm's sqlite database is in WAL mode: after the transaction its content may sit partly in
// rpmdb.sqlite-wal, and rpmdb.sqlite-shm is an index of that log whose bytes differ from run to
// run. Checkpointed and switched to a rollback journal, the image has the one file, the same
// bytes for the same packages; the image's rpm returns it to WAL mode on its first write.
Status SettleDatabase(const std::string& path) {
  if (access(path.c_str(), F_OK) != 0) return {};  // another backend
  sqlite3* db = nullptr;
  int rc = sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr);
  std::string what;
  if (rc == SQLITE_OK) {
    char* err = nullptr;
    rc = sqlite3_exec(db, "PRAGMA wal_checkpoint(TRUNCATE); PRAGMA journal_mode=DELETE;", nullptr,
                      nullptr, &err);
    if (err) what = err;
    sqlite3_free(err);
  } else {
    what = db ? sqlite3_errmsg(db) : "out of memory";
  }
  sqlite3_close(db);
  if (rc != SQLITE_OK) return Error{"rpm: settling the package database " + path + ": " + what};
  return {};
}

// The NEVRA of every package in the transaction set's database.
std::vector<std::string> DatabaseNevras(rpmts ts) {
  std::vector<std::string> out;
  rpmdbMatchIterator it = rpmtsInitIterator(ts, RPMDBI_PACKAGES, nullptr, 0);
  while (Header h = rpmdbNextIterator(it)) out.push_back(HeaderString(h, RPMTAG_NEVRA));
  rpmdbFreeIterator(it);
  return out;
}

}  // namespace

Result<RpmInstallReport> RpmInstall(const RpmInstallOptions& o) {
  if (o.root.empty() || o.root[0] != '/') return Error{"rpm: root must be absolute: " + o.root};
  if (o.packages.empty()) return Error{"rpm: no packages to install"};
  if (auto st = ReadConfigOnce(); !st) return st.take_error();
  // An installed system's rpm says where its database is; an empty tree gets o.dbpath, and the
  // rpm this transaction installs is asked afterwards.
  auto image_rpm = AskImageRpm(o.root);
  if (!image_rpm) return image_rpm.take_error();
  const std::string dbpath = *image_rpm ? (*image_rpm)->dbpath : o.dbpath;
  ScopedMacros macros;
  // The target's database location, not the host rpm's (Debian's points into $HOME), with the
  // backend spelled out so the image's own rpm reads it whatever the host default is.
  macros.Push("_dbpath", dbpath);
  macros.Push("_db_backend", "sqlite");

  Ts ts(rpmtsCreate());
  if (rpmtsSetRootDir(ts.get(), o.root.c_str()) != 0)
    return Error{"rpm: set root directory " + o.root + " failed"};
  // No signature checks here: every package file was sha256-verified against repository
  // metadata whose signature the resolve step checked (repo/rpmmd.cc), and with gpgcheck the
  // packages stage checked each file's own signature against its repository's keys
  // (RpmVerifySignatures) before this sandbox started; the keys live in the profile, not in the
  // image's rpmdb. Header and payload digests are still checked by rpm.
  rpmtsSetVSFlags(ts.get(), RPMVSF_MASK_NOSIGNATURES);
  rpmtsSetVfyLevel(ts.get(), RPMSIG_DIGEST_TYPE);
  // Host rpm plugins (selinux labels, syslog, systemd-inhibit over D-Bus, IMA, fs-verity) would
  // act on the host's behalf inside the sandbox; an image build wants none of them.
  rpmtsSetFlags(ts.get(), RPMTRANS_FLAG_NOPLUGINS);

  Transaction tx;
  tx.options = &o;
  UniqueFd script(memfd_create("rpm-scriptlets", MFD_CLOEXEC));
  if (!script.valid()) return ErrnoError("rpm: memfd_create for scriptlet output");
  tx.script_fd = script.get();
  ScriptFd script_fd(ts.get(), fdDup(script.get()));
  if (!script_fd.fd) return ErrnoError("rpm: dup scriptlet output descriptor");
  rpmtsSetNotifyCallback(ts.get(), NotifyTrampoline, &tx);
  ScopedLogCallback log_callback(&tx);

  if (auto st = AddPackages(ts.get(), o.packages); !st) return st.take_error();
  if (rpmtsCheck(ts.get()) != 0) return Error{"rpm: dependency check could not run"};
  if (std::string p = Problems(ts.get()); !p.empty())
    return Error{"rpm: the packages cannot be installed together:" + p};
  if (rpmtsOrder(ts.get()) != 0)
    return Error{"rpm: ordering the transaction failed (dependency loop rpm could not break)"};
  rpmtsClean(ts.get());

  int rc = rpmtsRun(ts.get(), nullptr, RPMPROB_FILTER_NONE);
  std::string problems = Problems(ts.get());
  tx.LogScriptOutput("rpm", tx.TakeScriptOutput());
  if (rc != 0 || !problems.empty() || !tx.failures.empty()) {
    std::string msg = "rpm: installing into " + o.root + " failed";
    if (!problems.empty()) msg += ":" + problems;
    for (const auto& f : tx.failures) msg += "\n  " + f;
    if (tx.failures.empty())
      for (const auto& e : tx.rpm_errors) msg += "\n  " + e;
    if (problems.empty() && tx.failures.empty() && tx.rpm_errors.empty())
      msg += " (rpm gave no reason; see the messages above)";
    return Error{msg};
  }
  RpmInstallReport report;
  report.installed = tx.installed;
  report.lost = CheckOwners(ts.get(), o.root);
  std::vector<std::string> in_db = DatabaseNevras(ts.get());
  rpmtsCloseDB(ts.get());
  if (auto st = SettleDatabase(o.root + dbpath + "/rpmdb.sqlite"); !st) return st.take_error();
  report.dbpath = dbpath;
  report.packages = in_db.size();
  if (!*image_rpm) {  // the rpm this transaction installed, if any
    image_rpm = AskImageRpm(o.root);
    if (!image_rpm) return image_rpm.take_error();
    if (*image_rpm && (*image_rpm)->dbpath != dbpath) {
      if (auto st = MoveRpmDatabase(o.root, dbpath, (*image_rpm)->dbpath); !st)
        return Error{"rpm: moving the package database to where the image's own rpm reads it: " +
                     st.error()};
      report.moved_from = dbpath;
      report.dbpath = (*image_rpm)->dbpath;
    }
  }
  if (*image_rpm) {
    report.image_rpm = (*image_rpm)->version;
    if (auto st = CheckImageRpmLists(o.root, **image_rpm, std::move(in_db)); !st)
      return st.take_error();
  }
  return report;
}

}  // namespace imager::inside
