// SPDX-License-Identifier: GPL-3.0-or-later
#include "inside/accounts.h"

#include <crypt.h>

#include <set>

#include "base/sha256.h"
#include "base/strings.h"

namespace imager::inside {
namespace {

using Table = std::vector<std::vector<std::string>>;  // lines split at ':'

Table Parse(const std::string& text) {
  Table t;
  for (const auto& line : Split(text, '\n'))
    if (!line.empty()) t.push_back(Split(line, ':'));
  return t;
}

std::string Format(const Table& t) {
  std::string out;
  for (const auto& row : t) out += Join(row, ":") + "\n";
  return out;
}

std::vector<std::string>* Find(Table& t, const std::string& name) {
  for (auto& row : t)
    if (!row.empty() && row[0] == name) return &row;
  return nullptr;
}

std::set<uint32_t> Ids(const Table& t) {
  std::set<uint32_t> ids;
  for (const auto& row : t)
    if (row.size() > 2) ids.insert(static_cast<uint32_t>(strtoul(row[2].c_str(), nullptr, 10)));
  return ids;
}

void AddMember(std::vector<std::string>* row, size_t field, const std::string& user) {
  while (row->size() <= field) row->push_back("");
  auto members = Split((*row)[field], ',');
  std::vector<std::string> kept;
  for (const auto& m : members)
    if (!m.empty()) kept.push_back(m);
  for (const auto& m : kept)
    if (m == user) return;
  kept.push_back(user);
  (*row)[field] = Join(kept, ",");
}

struct Tables {
  Table passwd, group, shadow, gshadow;
};

Result<std::string> ShadowField(const profiles::Password& pw, const std::string& who) {
  switch (pw.kind) {
    case profiles::Password::Kind::kNone:
      return std::string("!");  // locked: no password logs in
    case profiles::Password::Kind::kHash:
      return pw.value;
    case profiles::Password::Kind::kPlain:
      return HashPassword(pw.value, who);
  }
  return std::string("!");
}

Status AddUser(Tables& t, const profiles::User& u, int64_t days, std::vector<NewHome>* homes) {
  std::string who = "rootfs.users: user '" + u.name + "'";
  if (Find(t.passwd, u.name)) return Error{who + " already exists in the image's /etc/passwd"};
  for (const auto& g : u.groups)
    if (!Find(t.group, g))
      return Error{who + ": group '" + g +
                   "' does not exist in the image (install the package that creates it, or "
                   "remove it from groups)"};
  std::set<uint32_t> uids = Ids(t.passwd), gids = Ids(t.group);
  uint32_t uid = 1000;
  if (u.uid) {
    uid = *u.uid;
    if (uids.count(uid)) return Error{who + ": uid " + std::to_string(uid) + " is taken"};
  } else {
    while (uids.count(uid) || gids.count(uid)) ++uid;
  }
  uint32_t gid = uid;
  if (Find(t.group, u.name)) return Error{who + ": a group of that name exists already"};
  while (gids.count(gid)) ++gid;
  std::string home = "/home/" + u.name;
  std::string shell = u.shell.empty() ? "/bin/bash" : u.shell;
  auto pw = ShadowField(u.password, u.name);
  if (!pw) return Wrap(who, pw.error());
  t.passwd.push_back({u.name, "x", std::to_string(uid), std::to_string(gid), u.name, home, shell});
  t.group.push_back({u.name, "x", std::to_string(gid), ""});
  t.shadow.push_back({u.name, *pw, std::to_string(days), "0", "99999", "7", "", "", ""});
  t.gshadow.push_back({u.name, "!", "", ""});
  for (const auto& g : u.groups) {
    AddMember(Find(t.group, g), 3, u.name);
    if (auto* row = Find(t.gshadow, g)) AddMember(row, 3, u.name);
  }
  homes->push_back({home, uid, gid});
  return {};
}

}  // namespace

Result<std::string> HashPassword(const std::string& plain, const std::string& seed) {
  Sha256 h;
  h.Update("imager password salt\n" + seed + "\n" + plain);
  std::string digest = h.FinalHex();
  char salt[CRYPT_GENSALT_OUTPUT_SIZE];
  if (!crypt_gensalt_rn("$y$", 0, digest.data(), 16, salt, sizeof salt))
    return ErrnoError("make a yescrypt salt");
  crypt_data data{};
  const char* out = crypt_r(plain.c_str(), salt, &data);
  if (!out || out[0] == '*') return ErrnoError("hash a password with yescrypt");
  return std::string(out);
}

Result<std::vector<NewHome>> ApplyAccounts(AccountFiles* files,
                                           const std::vector<profiles::User>& users,
                                           const profiles::Password& root_password, int64_t days) {
  Tables t{Parse(files->passwd), Parse(files->group), Parse(files->shadow), Parse(files->gshadow)};
  std::vector<NewHome> homes;
  for (const auto& u : users)
    if (auto st = AddUser(t, u, days, &homes); !st) return st.take_error();
  if (root_password.kind != profiles::Password::Kind::kNone) {
    auto* root = Find(t.shadow, "root");
    if (!root || root->size() < 2)
      return Error{
          "rootfs.root_password: the image's /etc/shadow "
          "has no root entry"};
    auto pw = ShadowField(root_password, "root");
    if (!pw) return Wrap("rootfs.root_password", pw.error());
    (*root)[1] = *pw;
    if (root->size() > 2) (*root)[2] = std::to_string(days);
  }
  files->passwd = Format(t.passwd);
  files->group = Format(t.group);
  files->shadow = Format(t.shadow);
  files->gshadow = Format(t.gshadow);
  return homes;
}

}  // namespace imager::inside
