// SPDX-License-Identifier: GPL-3.0-or-later
#include "inside/customize.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <nlohmann/json.hpp>

#include "base/fs.h"
#include "base/inroot.h"
#include "base/strings.h"
#include "inside/accounts.h"

namespace imager::inside {
namespace {

Status SetHostname(const std::string& root, const std::string& hostname) {
  if (auto st = WriteInRoot(root, "/etc/hostname", hostname + "\n", 0644); !st) return st;
  auto hosts = ReadInRoot(root, "/etc/hosts");
  std::string text = hosts ? *hosts : "127.0.0.1\tlocalhost\n";
  std::string line = "127.0.1.1\t" + hostname + "\n";
  if (text.find(line) != std::string::npos) return {};
  std::string kept;
  for (const auto& l : Split(text, '\n'))
    if (!l.empty() && !StartsWith(l, "127.0.1.1")) kept += l + "\n";
  return WriteInRoot(root, "/etc/hosts", kept + line, 0644);
}

Status SetTimezone(const InRoot& img, const std::string& tz) {
  std::string zone = "/usr/share/zoneinfo/" + tz;
  if (!img.Exists(zone)) {
    // UTC is what the C library assumes without /etc/localtime: no zoneinfo needed.
    if (tz == "Etc/UTC" || tz == "UTC")
      return WriteInRoot(img.root(), "/etc/timezone", tz + "\n", 0644);
    return Error{"rootfs.timezone: '" + tz + "' has no " + zone +
                 " in the image (is tzdata installed? names look like Europe/Berlin)"};
  }
  if (auto st = img.Symlink("/etc/localtime", zone); !st) return st;  // as tzdata links it
  return WriteInRoot(img.root(), "/etc/timezone", tz + "\n", 0644);
}

Result<std::string> ReadOr(const std::string& root, const std::string& path) {
  auto text = ReadInRoot(root, path);
  if (text) return *text;
  if (errno == ENOENT) return std::string();
  return text.take_error();
}

profiles::Password PasswordFrom(const nlohmann::json& j) {
  profiles::Password p;
  std::string kind = j.value("kind", "none");
  p.kind = kind == "hash"    ? profiles::Password::Kind::kHash
           : kind == "plain" ? profiles::Password::Kind::kPlain
                             : profiles::Password::Kind::kNone;
  p.value = j.value("value", "");
  return p;
}

nlohmann::json PasswordJson(const profiles::Password& p) {
  const char* kind = p.kind == profiles::Password::Kind::kHash    ? "hash"
                     : p.kind == profiles::Password::Kind::kPlain ? "plain"
                                                                  : "none";
  return {{"kind", kind}, {"value", p.value}};
}

// A new home: /etc/skel copied in, everything owned by the user, mode 0700.
Status MakeHome(const InRoot& img, const NewHome& h) {
  auto home = img.Dir(h.path, true);
  if (!home) return home.take_error();
  if (img.Exists("/etc/skel")) {
    auto skel = img.Dir("/etc/skel", false);
    if (!skel) return skel.take_error();
    CopyOptions o{.chown = true, .uid = h.uid, .gid = h.gid};
    if (auto st = CopyTree(skel->get(), home->get(), "/etc/skel", o); !st) return st;
  }
  if (fchown(home->get(), h.uid, h.gid) != 0) return ErrnoError("chown " + h.path);
  if (fchmod(home->get(), 0700) != 0) return ErrnoError("chmod " + h.path);
  return {};
}

// The gid of group `name` in /etc/group text, or 0.
gid_t GroupId(const std::string& group, const std::string& name) {
  for (const auto& line : Split(group, '\n')) {
    auto f = Split(line, ':');
    if (f.size() > 2 && f[0] == name) return static_cast<gid_t>(atoi(f[2].c_str()));
  }
  return 0;
}

}  // namespace

Status ApplySettings(const std::string& root, const std::string& hostname,
                     const std::string& timezone, const std::string& locale) {
  auto img = InRoot::Open(root);
  if (!img) return img.take_error();
  if (auto st = SetHostname(root, hostname); !st) return st;
  if (!timezone.empty())
    if (auto st = SetTimezone(*img, timezone); !st) return st;
  if (!locale.empty()) {
    if (auto dir = img->Dir("/etc/default", true); !dir) return dir.take_error();
    if (auto st = WriteInRoot(root, "/etc/default/locale", "LANG=" + locale + "\n", 0644); !st)
      return st;
  }
  return {};
}

std::string AccountsJson(const profiles::Rootfs& r, int64_t days) {
  nlohmann::json users = nlohmann::json::array();
  for (const auto& u : r.users) {
    nlohmann::json j = {{"name", u.name},
                        {"groups", u.groups},
                        {"password", PasswordJson(u.password)},
                        {"shell", u.shell}};
    if (u.uid) j["uid"] = *u.uid;
    users.push_back(j);
  }
  return nlohmann::json{{"users", users}, {"root", PasswordJson(r.root_password)}, {"days", days}}
      .dump();
}

Status ApplyAccountsFile(const std::string& root, const std::string& json_path) {
  auto text = ReadFile(json_path);
  if (!text) return text.take_error();
  auto j = nlohmann::json::parse(*text, nullptr, false);
  if (j.is_discarded()) return Error{json_path + ": not JSON"};
  std::vector<profiles::User> users;
  for (const auto& ju : j["users"]) {
    profiles::User u;
    u.name = ju.value("name", "");
    u.groups = ju.value("groups", std::vector<std::string>{});
    u.password = PasswordFrom(ju["password"]);
    u.shell = ju.value("shell", "");
    if (ju.contains("uid")) u.uid = ju["uid"].get<uint32_t>();
    users.push_back(u);
  }
  AccountFiles files;
  for (auto [path, text] : {std::pair{"/etc/passwd", &files.passwd},
                            {"/etc/group", &files.group},
                            {"/etc/shadow", &files.shadow},
                            {"/etc/gshadow", &files.gshadow}}) {
    auto t = ReadOr(root, path);
    if (!t) return t.take_error();
    *text = *t;
  }
  auto homes = ApplyAccounts(&files, users, PasswordFrom(j["root"]), j.value("days", 0));
  if (!homes) return homes.take_error();
  gid_t shadow = GroupId(files.group, "shadow");
  if (auto st = WriteInRoot(root, "/etc/passwd", files.passwd, 0644); !st) return st;
  if (auto st = WriteInRoot(root, "/etc/group", files.group, 0644); !st) return st;
  if (auto st = WriteInRoot(root, "/etc/shadow", files.shadow, 0640, 0, shadow); !st) return st;
  if (auto st = WriteInRoot(root, "/etc/gshadow", files.gshadow, 0640, 0, shadow); !st) return st;
  auto img = InRoot::Open(root);
  if (!img) return img.take_error();
  for (const auto& h : *homes)
    if (auto st = MakeHome(*img, h); !st) return st;
  return {};
}

Status CopyIntoImage(const std::string& root, const std::string& from, const std::string& to) {
  auto img = InRoot::Open(root);
  if (!img) return img.take_error();
  for (const auto& part : Split(to, '/'))
    if (part == "..") return Error{"'" + to + "': '..' is not allowed in an image path"};
  std::string src = from;
  while (src.size() > 1 && src.back() == '/') src.pop_back();
  struct stat st;
  if (lstat(src.c_str(), &st) != 0) return ErrnoError("stat " + src);
  // Owned by whoever copies: uid 0 of the sandbox, the image's root.
  CopyOptions o{.confined_symlinks = true};
  if (S_ISDIR(st.st_mode)) {
    UniqueFd in(open(src.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!in.valid()) return ErrnoError("open " + src);
    auto dst = img->Dir(to, true);
    if (!dst) return dst.take_error();
    return CopyTree(in.get(), dst->get(), src, o);
  }
  size_t slash = src.rfind('/');
  UniqueFd in(open(src.substr(0, slash + 1).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!in.valid()) return ErrnoError("open " + src.substr(0, slash + 1));
  std::string name = src.substr(slash + 1);
  std::string dir = to, dst_name = name;
  if (to.back() != '/') {
    size_t s = to.rfind('/');
    dir = to.substr(0, s + 1);
    dst_name = to.substr(s + 1);
  }
  auto dst = img->Dir(dir, true);
  if (!dst) return dst.take_error();
  return CopyEntry(in.get(), name, dst->get(), dst_name, src, o);
}

}  // namespace imager::inside
