// SPDX-License-Identifier: GPL-3.0-or-later
#include "formats/deb.h"

#include <archive.h>
#include <archive_entry.h>

#include <cstring>
#include <functional>
#include <memory>

#include "base/strings.h"
#include "formats/archive_util.h"

namespace imager::formats::deb {
namespace {

// The inner tarball is read straight out of the outer ar member, without a temporary file.
struct Nested {
  archive* outer;
  char buf[1 << 16];
};

la_ssize_t ReadNested(archive*, void* data, const void** out) {
  auto* n = static_cast<Nested*>(data);
  *out = n->buf;
  return archive_read_data(n->outer, n->buf, sizeof n->buf);
}

// Opens the member of `deb` whose name starts with `prefix` ("control.tar", "data.tar") as a
// tar archive and hands it to `use`.
Status WithMember(const std::string& deb, const std::string& prefix,
                  const std::function<Status(archive*)>& use) {
  ArchivePtr outer(archive_read_new(), archive_read_free);
  archive_read_support_format_ar(outer.get());
  if (archive_read_open_filename(outer.get(), deb.c_str(), 1 << 16) != ARCHIVE_OK)
    return ArchiveError("open " + deb, outer.get());
  for (;;) {
    archive_entry* e = nullptr;
    int rc = archive_read_next_header(outer.get(), &e);
    if (rc == ARCHIVE_EOF) break;
    if (rc < ARCHIVE_WARN) return ArchiveError(deb, outer.get());
    const char* name = archive_entry_pathname(e);
    if (!name || !StartsWith(name, prefix)) continue;
    auto nested = std::make_unique<Nested>();
    nested->outer = outer.get();
    ArchivePtr inner(archive_read_new(), archive_read_free);
    archive_read_support_format_tar(inner.get());
    archive_read_support_filter_all(inner.get());
    if (archive_read_open(inner.get(), nested.get(), nullptr, ReadNested, nullptr) != ARCHIVE_OK)
      return ArchiveError(deb + ": " + name, inner.get());
    return use(inner.get());
  }
  return Error{deb + ": not a Debian package (no " + prefix + ".* member)"};
}

}  // namespace

Fields ParseControl(const std::string& text) {
  Fields f;
  std::string last;
  for (const auto& line : Split(text, '\n')) {
    if (line.empty()) continue;
    if ((line[0] == ' ' || line[0] == '\t') && !last.empty()) {
      f[last] += "\n" + std::string(Trim(line));
      continue;
    }
    size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    last = line.substr(0, colon);
    f[last] = std::string(Trim(line.substr(colon + 1)));
  }
  return f;
}

Result<Fields> ReadControl(const std::string& deb) {
  std::string text;
  bool found = false;
  auto st = WithMember(deb, "control.tar", [&](archive* in) -> Status {
    for (;;) {
      archive_entry* e = nullptr;
      int rc = archive_read_next_header(in, &e);
      if (rc == ARCHIVE_EOF) return {};
      if (rc < ARCHIVE_WARN) return ArchiveError(deb + ": control.tar", in);
      const char* name = archive_entry_pathname(e);
      if (!name || (strcmp(name, "./control") != 0 && strcmp(name, "control") != 0)) continue;
      char buf[8192];
      la_ssize_t n;
      while ((n = archive_read_data(in, buf, sizeof buf)) > 0) text.append(buf, n);
      if (n < 0) return ArchiveError(deb + ": control", in);
      found = true;
      return {};
    }
  });
  if (!st) return st.take_error();
  if (!found) return Error{deb + ": control.tar has no control file"};
  return ParseControl(text);
}

Result<tar::ExtractReport> ExtractData(const std::string& deb, const std::string& dest) {
  tar::ExtractReport report;
  auto st = WithMember(deb, "data.tar", [&](archive* in) -> Status {
    auto r = tar::ExtractFrom(in, deb, dest);
    if (!r) return r.take_error();
    report = std::move(*r);
    return {};
  });
  if (!st) return st.take_error();
  return report;
}

Result<std::vector<tar::OwnedEntry>> ListOwned(const std::string& deb) {
  std::vector<tar::OwnedEntry> owned;
  auto st = WithMember(deb, "data.tar", [&](archive* in) -> Status {
    for (;;) {
      archive_entry* e = nullptr;
      int rc = archive_read_next_header(in, &e);
      if (rc == ARCHIVE_EOF) return {};
      if (rc < ARCHIVE_WARN) return ArchiveError(deb + ": data.tar", in);
      if (archive_entry_uid(e) == 0 && archive_entry_gid(e) == 0) continue;
      auto path = EntryPath(e, deb + ": data.tar");
      if (!path) return path.take_error();
      std::string name = std::move(*path);
      while (StartsWith(name, "./")) name = name.substr(2);
      owned.push_back({"/" + name, static_cast<uint32_t>(archive_entry_uid(e)),
                       static_cast<uint32_t>(archive_entry_gid(e))});
    }
  });
  if (!st) return st.take_error();
  return owned;
}

std::vector<std::vector<std::string>> ParseRelations(const std::string& field) {
  std::vector<std::vector<std::string>> out;
  for (const auto& clause : Split(field, ',')) {
    std::vector<std::string> alts;
    for (const auto& alt : Split(clause, '|')) {
      std::string name(Trim(alt));
      name = name.substr(0, name.find_first_of(" \t\n(["));
      name = name.substr(0, name.find(':'));
      if (!name.empty()) alts.push_back(name);
    }
    if (!alts.empty()) out.push_back(std::move(alts));
  }
  return out;
}

}  // namespace imager::formats::deb
