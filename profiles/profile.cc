// SPDX-License-Identifier: GPL-3.0-or-later
#include "profiles/profile.h"

#include <algorithm>

#include <yaml-cpp/yaml.h>

namespace imager::profiles {

using Json = nlohmann::ordered_json;

template <>
const std::vector<std::pair<Family, std::string>>& EnumNames() {
  static const std::vector<std::pair<Family, std::string>> k = {{Family::kDebian, "debian"},
                                                                {Family::kRpm, "rpm"}};
  return k;
}
template <>
const std::vector<std::pair<RepoType, std::string>>& EnumNames() {
  static const std::vector<std::pair<RepoType, std::string>> k = {{RepoType::kDeb, "deb"},
                                                                  {RepoType::kRpmMd, "rpm-md"}};
  return k;
}
template <>
const std::vector<std::pair<Variant, std::string>>& EnumNames() {
  static const std::vector<std::pair<Variant, std::string>> k = {
      {Variant::kEssential, "essential"},
      {Variant::kMinbase, "minbase"},
      {Variant::kRequired, "required"},
      {Variant::kImportant, "important"}};
  return k;
}
template <>
const std::vector<std::pair<BaseKind, std::string>>& EnumNames() {
  static const std::vector<std::pair<BaseKind, std::string>> k = {
      {BaseKind::kNone, "none"}, {BaseKind::kTar, "tar"}, {BaseKind::kOci, "oci"}};
  return k;
}
template <>
const std::vector<std::pair<InstallerType, std::string>>& EnumNames() {
  static const std::vector<std::pair<InstallerType, std::string>> k = {
      {InstallerType::kNone, "none"},
      {InstallerType::kCalamares, "calamares"},
      {InstallerType::kAnaconda, "anaconda"}};
  return k;
}
template <>
const std::vector<std::pair<Format, std::string>>& EnumNames() {
  static const std::vector<std::pair<Format, std::string>> k = {
      {Format::kIso, "iso"},
      {Format::kTar, "tar"},
      {Format::kSquashfs, "squashfs"},
      {Format::kOci, "oci"},
      {Format::kOciArchive, "oci-archive"},
      {Format::kRaw, "raw"},
      {Format::kQcow2, "qcow2"}};
  return k;
}
template <>
const std::vector<std::pair<OciLayers, std::string>>& EnumNames() {
  static const std::vector<std::pair<OciLayers, std::string>> k = {
      {OciLayers::kSquashed, "squashed"}, {OciLayers::kPipeline, "pipeline"}};
  return k;
}
template <>
const std::vector<std::pair<LayerCompression, std::string>>& EnumNames() {
  static const std::vector<std::pair<LayerCompression, std::string>> k = {
      {LayerCompression::kGzip, "gzip"}, {LayerCompression::kZstd, "zstd"}};
  return k;
}
template <>
const std::vector<std::pair<Checksum, std::string>>& EnumNames() {
  static const std::vector<std::pair<Checksum, std::string>> k = {{Checksum::kSha256, "sha256"},
                                                                  {Checksum::kNone, "none"}};
  return k;
}

std::string SourceLocation::ToString() const {
  return file + ":" + std::to_string(line) + ":" + std::to_string(column);
}

SourceLocation Profile::Where(const std::string& field) const {
  auto it = locations.find(field);
  if (it != locations.end()) return it->second;
  return SourceLocation{source, 1, 1};
}

namespace {

Json PasswordJson(const Password& pw) {
  switch (pw.kind) {
    case Password::Kind::kHash:
      return Json{{"hash", pw.value}};
    case Password::Kind::kPlain:
      return Json{{"plain", pw.value}};
    case Password::Kind::kNone:
      break;
  }
  return nullptr;
}

Json RepositoryJson(const Repository& r) {
  Json j{{"type", NameOf(r.type)}};
  if (r.type == RepoType::kDeb) {
    j["mirror"] = r.mirror;
    j["suite"] = r.suite;
    j["components"] = r.components;
  } else {
    j["url"] = r.url;
    j["gpgcheck"] = r.gpgcheck;
    j["repo_gpgcheck"] = r.ChecksRepoMd();
  }
  if (!r.keyring.empty()) j["keyring"] = r.keyring;
  return j;
}

Json UserJson(const User& u) {
  Json j{{"name", u.name}, {"groups", u.groups}};
  if (u.password.kind != Password::Kind::kNone) j["password"] = PasswordJson(u.password);
  if (u.uid) j["uid"] = *u.uid;
  if (!u.shell.empty()) j["shell"] = u.shell;
  return j;
}

Json RootfsJson(const Rootfs& r) {
  Json j{{"hostname", r.hostname}, {"root_password", PasswordJson(r.root_password)}};
  j["users"] = Json::array();
  for (const auto& u : r.users) j["users"].push_back(UserJson(u));
  j["files"] = Json::array();
  for (const auto& f : r.files) j["files"].push_back(Json{{"from", f.from}, {"to", f.to}});
  j["run"] = r.run;
  j["services"] = Json{{"enable", r.services.enable}, {"disable", r.services.disable}};
  j["locale"] = r.locale;
  j["timezone"] = r.timezone;
  return j;
}

Json InstallerJson(const Installer& in) {
  Json j{{"type", NameOf(in.type)}};
  if (in.type == InstallerType::kNone) return j;
  j["packages"] = in.packages;
  j["offline_packages"] = in.offline_packages;
  const Branding& b = in.branding;
  j["branding"] = Json::object();
  for (const auto& [k, v] :
       {std::pair<const char*, const std::string&>{"product_name", b.product_name},
        {"version", b.version},
        {"logo", b.logo},
        {"slideshow", b.slideshow}})
    if (!v.empty()) j["branding"][k] = v;
  if (in.type == InstallerType::kCalamares) {
    const CalamaresSettings& c = in.calamares;
    j["calamares"] = Json{{"filesystem", c.filesystem},
                          {"user_groups", c.user_groups},
                          {"show", c.show},
                          {"exec", c.exec},
                          {"autostart", c.autostart}};
  }
  return j;
}

Json BaseJson(const Base& b) {
  if (b.kind == BaseKind::kNone) return "none";
  return Json{{NameOf(b.kind), b.tag.empty() ? b.path : b.path + ":" + b.tag}};
}

}  // namespace

Json ToJson(const Profile& p) {
  Json j{{"version", p.version}, {"name", p.name}, {"description", p.description}};
  j["distribution"] = Json{{"family", NameOf(p.distribution.family)},
                           {"release", p.distribution.release},
                           {"arch", p.distribution.arch}};
  j["repositories"] = Json::array();
  for (const auto& r : p.repositories) j["repositories"].push_back(RepositoryJson(r));
  Json pk = Json::object();
  if (p.packages.variant != Variant::kNone) pk["variant"] = NameOf(p.packages.variant);
  pk["include"] = p.packages.include;
  pk["exclude"] = p.packages.exclude;
  pk["recommends"] = p.packages.recommends;
  j["packages"] = pk;
  j["base"] = BaseJson(p.base);
  j["rootfs"] = RootfsJson(p.rootfs);
  j["installer"] = InstallerJson(p.installer);
  const Boot& b = p.boot;
  j["boot"] =
      Json{{"cmdline", b.cmdline}, {"probe", b.probe}, {"timeout", b.timeout}, {"toram", b.toram},
           {"bios", b.bios},       {"uefi", b.uefi},   {"serial", b.serial}};
  if (!b.signing_key.empty() || !b.signing_cert.empty())
    j["boot"]["signing"] = Json{{"key", b.signing_key}, {"cert", b.signing_cert}};
  Json formats = Json::array();
  for (auto f : p.output.formats) formats.push_back(NameOf(f));
  j["output"] = Json{{"formats", formats},
                     {"volume_id", p.output.volume_id},
                     {"checksum", NameOf(p.output.checksum)},
                     {"oci", Json{{"layers", NameOf(p.output.oci.layers)},
                                  {"compression", NameOf(p.output.oci.compression)}}},
                     {"disk", Json{{"size", p.output.disk.size}}}};
  j["build"] = Json{{"stage_timeout", p.build.stage_timeout},
                    {"memory_limit_mib", p.build.memory_limit_mib}};
  return j;
}

namespace {

void EmitJson(YAML::Emitter& out, const Json& j) {
  if (j.is_object()) {
    out << YAML::BeginMap;
    for (const auto& [k, v] : j.items()) {
      out << YAML::Key << k << YAML::Value;
      EmitJson(out, v);
    }
    out << YAML::EndMap;
  } else if (j.is_array()) {
    bool flat = true;
    for (const auto& v : j) flat = flat && !v.is_structured();
    out << (flat ? YAML::Flow : YAML::Block) << YAML::BeginSeq;
    for (const auto& v : j) EmitJson(out, v);
    out << YAML::EndSeq;
  } else if (j.is_string()) {
    const auto& s = j.get_ref<const std::string&>();
    // Strings that YAML would read as something else are quoted.
    bool quote = s.empty() || s == "true" || s == "false" || s == "null" || s == "~" ||
                 s.find_first_not_of("0123456789.-+") == std::string::npos;
    out << (quote ? YAML::DoubleQuoted : YAML::Auto) << s;
  } else if (j.is_null()) {
    out << YAML::Null;
  } else {
    out << j.dump();
  }
}

}  // namespace

std::string ToYaml(const Profile& p) {
  YAML::Emitter out;
  EmitJson(out, ToJson(p));
  return std::string(out.c_str()) + "\n";
}

}  // namespace imager::profiles
