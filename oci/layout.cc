// SPDX-License-Identifier: GPL-3.0-or-later
#include "oci/layout.h"

#include <archive.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <ctime>
#include <nlohmann/json.hpp>

#include "base/fd.h"
#include "base/fs.h"
#include "base/sha256.h"
#include "formats/archive_util.h"

namespace imager::oci {
namespace {

using Json = nlohmann::ordered_json;

const char* const kLayerTypes[] = {
    "application/vnd.oci.image.layer.v1.tar",
    "application/vnd.oci.image.layer.v1.tar+gzip",
    "application/vnd.oci.image.layer.v1.tar+zstd",
    "application/vnd.oci.image.layer.nondistributable.v1.tar",
    "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
    "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd",
};

bool KnownLayerType(const std::string& t) {
  for (const char* k : kLayerTypes)
    if (t == k) return true;
  return false;
}

// Writes `data` to `path` through a temporary file in the same directory.
Status WriteAtomically(const std::string& path, const std::string& data) {
  std::string tmp = path + ".tmp";
  if (auto st = WriteFile(tmp, data); !st) return st;
  if (rename(tmp.c_str(), path.c_str()) != 0) return ErrnoError("rename " + tmp);
  return {};
}

Result<Descriptor> PutBlob(const std::string& dir, const std::string& data,
                           const std::string& media_type) {
  Descriptor d{media_type, "sha256:" + Sha256Hex(data), static_cast<int64_t>(data.size()), {}};
  if (auto st = WriteAtomically(BlobPath(dir, d.digest), data); !st) return st.take_error();
  return d;
}

Result<Descriptor> MoveBlob(const std::string& dir, const std::string& file,
                            const std::string& media_type) {
  struct stat st;
  if (stat(file.c_str(), &st) != 0) return ErrnoError("stat " + file);
  auto hex = Sha256File(file);
  if (!hex) return hex.take_error();
  Descriptor d{media_type, "sha256:" + *hex, static_cast<int64_t>(st.st_size), {}};
  std::string to = BlobPath(dir, d.digest);
  if (rename(file.c_str(), to.c_str()) != 0) return ErrnoError("move " + file + " to " + to);
  chmod(to.c_str(), 0644);
  return d;
}

Json DescriptorJson(const Descriptor& d) {
  Json j{{"mediaType", d.media_type}, {"digest", d.digest}, {"size", d.size}};
  if (!d.annotations.empty()) j["annotations"] = d.annotations;
  return j;
}

Json ConfigJson(const ImageConfig& c, const std::vector<std::string>& created_by) {
  Json j;
  j["created"] = Rfc3339(c.created);
  j["architecture"] = c.platform.architecture;
  if (!c.platform.variant.empty()) j["variant"] = c.platform.variant;
  j["os"] = c.os;
  Json cfg = Json::object();
  if (!c.env.empty()) cfg["Env"] = c.env;
  if (!c.entrypoint.empty()) cfg["Entrypoint"] = c.entrypoint;
  if (!c.cmd.empty()) cfg["Cmd"] = c.cmd;
  j["config"] = cfg;
  j["rootfs"] = Json{{"type", "layers"}, {"diff_ids", c.diff_ids}};
  Json history = Json::array();
  for (size_t i = 0; i < c.diff_ids.size(); ++i)
    history.push_back(Json{{"created", Rfc3339(c.created)},
                           {"created_by", i < created_by.size() ? created_by[i] : "imager build"}});
  j["history"] = history;
  return j;
}

// ---- reading -----------------------------------------------------------------------------

// A blob's bytes after checking that it exists and matches its descriptor's size and digest.
Result<std::string> ReadBlob(const std::string& dir, const Descriptor& d, const std::string& what) {
  if (!ValidDigest(d.digest))
    return Error{what + ": unsupported or malformed digest '" + d.digest +
                 "' (expected sha256:<64 lowercase hex digits>)"};
  std::string path = BlobPath(dir, d.digest);
  auto data = ReadFile(path);
  if (!data) return Error{what + " " + d.digest + ": missing blob: " + data.error()};
  if (static_cast<int64_t>(data->size()) != d.size)
    return Error{what + " " + d.digest + ": size mismatch in " + path + ": descriptor says " +
                 std::to_string(d.size) + " bytes, blob has " + std::to_string(data->size())};
  std::string got = "sha256:" + Sha256Hex(*data);
  if (got != d.digest)
    return Error{what + " " + d.digest + ": digest mismatch in " + path + ": content hashes to " +
                 got + " (blob corrupted or tampered with)"};
  return data;
}

// The same check for a blob too big to hold in memory (a layer).
Status VerifyBlobFile(const std::string& dir, const Descriptor& d, const std::string& what) {
  if (!ValidDigest(d.digest))
    return Error{what + ": unsupported or malformed digest '" + d.digest +
                 "' (expected sha256:<64 lowercase hex digits>)"};
  std::string path = BlobPath(dir, d.digest);
  struct stat st;
  if (stat(path.c_str(), &st) != 0)
    return Error{what + " " + d.digest + ": missing blob: " + ErrnoError("stat " + path).message};
  if (st.st_size != d.size)
    return Error{what + " " + d.digest + ": size mismatch in " + path + ": descriptor says " +
                 std::to_string(d.size) + " bytes, blob has " + std::to_string(st.st_size)};
  auto hex = Sha256File(path);
  if (!hex) return Error{what + " " + d.digest + ": " + hex.error()};
  if ("sha256:" + *hex != d.digest)
    return Error{what + " " + d.digest + ": digest mismatch in " + path +
                 ": content hashes to sha256:" + *hex + " (blob corrupted or tampered with)"};
  return {};
}

// Parses JSON, turning nlohmann's exceptions into an error naming `what`.
template <typename F>
Status ParseJson(const std::string& text, const std::string& what, F&& use) {
  try {
    Json j = Json::parse(text);
    if (!j.is_object()) return Error{what + ": expected a JSON object"};
    return use(j);
  } catch (const Json::exception& e) {
    return Error{what + ": " + e.what()};
  }
}

Descriptor DescriptorFrom(const Json& j) {
  Descriptor d;
  d.media_type = j.at("mediaType").get<std::string>();
  d.digest = j.at("digest").get<std::string>();
  d.size = j.at("size").get<int64_t>();
  if (j.contains("annotations"))
    d.annotations = j.at("annotations").get<std::map<std::string, std::string>>();
  return d;
}

std::vector<std::string> Strings(const Json& j, const char* key) {
  if (!j.contains(key) || j.at(key).is_null()) return {};
  return j.at(key).get<std::vector<std::string>>();
}

Status ParseConfig(const std::string& text, const std::string& what, ImageConfig* c) {
  return ParseJson(text, what, [&](const Json& j) -> Status {
    c->platform.architecture = j.at("architecture").get<std::string>();
    if (j.contains("variant")) c->platform.variant = j.at("variant").get<std::string>();
    c->os = j.at("os").get<std::string>();
    c->created = -1;
    if (j.contains("created") && j.at("created").is_string())
      c->created = ParseRfc3339(j.at("created").get<std::string>());
    if (j.contains("config") && j.at("config").is_object()) {
      const Json& cfg = j.at("config");
      c->env = Strings(cfg, "Env");
      c->entrypoint = Strings(cfg, "Entrypoint");
      c->cmd = Strings(cfg, "Cmd");
    }
    const Json& rootfs = j.at("rootfs");
    if (rootfs.at("type").get<std::string>() != "layers")
      return Error{what + ": rootfs.type is '" + rootfs.at("type").get<std::string>() +
                   "', expected 'layers'"};
    c->diff_ids = Strings(rootfs, "diff_ids");
    return {};
  });
}

Status CheckPlatform(const ImageConfig& c, const std::string& what) {
  if (c.os != "linux") return Error{what + ": os '" + c.os + "' is not supported (only linux)"};
  static const char* const kKnown[] = {"amd64", "386",     "arm64",    "arm",   "ppc64le",
                                       "s390x", "riscv64", "mips64le", "mipsle"};
  for (const char* k : kKnown)
    if (c.platform.architecture == k) return {};
  return Error{what + ": architecture '" + c.platform.architecture +
               "' is not supported (amd64, 386, arm64, arm, ppc64le, s390x, riscv64, mips64le, "
               "mipsle)"};
}

}  // namespace

Result<Platform> PlatformOf(const std::string& a) {
  static const std::map<std::string, Platform> kMap = {
      {"amd64", {"amd64", ""}},     {"x86_64", {"amd64", ""}},      {"arm64", {"arm64", "v8"}},
      {"aarch64", {"arm64", "v8"}}, {"i386", {"386", ""}},          {"i686", {"386", ""}},
      {"armhf", {"arm", "v7"}},     {"armv7hl", {"arm", "v7"}},     {"armel", {"arm", "v5"}},
      {"ppc64el", {"ppc64le", ""}}, {"ppc64le", {"ppc64le", ""}},   {"s390x", {"s390x", ""}},
      {"riscv64", {"riscv64", ""}}, {"mips64el", {"mips64le", ""}}, {"mipsel", {"mipsle", ""}}};
  auto it = kMap.find(a);
  if (it == kMap.end())
    return Error{"architecture '" + a +
                 "' has no OCI platform name (supported: amd64/x86_64, "
                 "arm64/aarch64, i386/i686, armhf, armel, ppc64el, s390x, riscv64, mips64el, "
                 "mipsel)"};
  return it->second;
}

int64_t ParseRfc3339(const std::string& text) {
  struct tm tm = {};
  const char* rest = strptime(text.c_str(), "%Y-%m-%dT%H:%M:%S", &tm);
  if (!rest) return -1;
  if (*rest == '.')  // fractional seconds
    for (++rest; *rest >= '0' && *rest <= '9'; ++rest) {
    }
  int64_t offset = 0;
  if (*rest == 'Z' || *rest == 'z') {
    ++rest;
  } else if ((*rest == '+' || *rest == '-') && strlen(rest) == 6 && rest[3] == ':') {
    int h = 0, m = 0;
    if (sscanf(rest + 1, "%2d:%2d", &h, &m) != 2) return -1;
    offset = (*rest == '+' ? 1 : -1) * (h * 3600 + m * 60);
    rest += 6;
  } else {
    return -1;
  }
  if (*rest != '\0') return -1;
  return static_cast<int64_t>(timegm(&tm)) - offset;
}

std::string Rfc3339(int64_t epoch_seconds) {
  time_t t = static_cast<time_t>(epoch_seconds);
  struct tm tm;
  gmtime_r(&t, &tm);
  char buf[32];
  strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

Result<std::string> DiffId(const std::string& file) {
  formats::ArchivePtr a(archive_read_new(), archive_read_free);
  archive_read_support_filter_all(a.get());
  archive_read_support_format_raw(a.get());
  if (archive_read_open_filename(a.get(), file.c_str(), 1 << 16) != ARCHIVE_OK)
    return formats::ArchiveError("open " + file, a.get());
  struct archive_entry* e;
  if (archive_read_next_header(a.get(), &e) != ARCHIVE_OK)
    return formats::ArchiveError("read " + file, a.get());
  Sha256 h;
  char buf[1 << 16];
  for (;;) {
    la_ssize_t n = archive_read_data(a.get(), buf, sizeof buf);
    if (n < 0) return formats::ArchiveError("decompress " + file, a.get());
    if (n == 0) break;
    h.Update(buf, static_cast<size_t>(n));
  }
  return "sha256:" + h.FinalHex();
}

bool ValidDigest(const std::string& d) {
  if (d.size() != 7 + 64 || d.compare(0, 7, "sha256:") != 0) return false;
  for (size_t i = 7; i < d.size(); ++i)
    if (!((d[i] >= '0' && d[i] <= '9') || (d[i] >= 'a' && d[i] <= 'f'))) return false;
  return true;
}

std::string BlobPath(const std::string& dir, const std::string& digest) {
  return dir + "/blobs/sha256/" + digest.substr(7);
}

Result<Descriptor> Write(const std::string& dir, const std::vector<std::string>& layer_files,
                         const WriteOptions& o) {
  if (!KnownLayerType(o.layer_media_type))
    return Error{"OCI layout " + dir + ": unknown layer media type '" + o.layer_media_type + "'"};
  if (mkdir(dir.c_str(), 0755) != 0) return ErrnoError("create OCI layout " + dir);
  if (auto st = MakeDirs(dir + "/blobs/sha256"); !st) return st.take_error();
  ImageConfig config = o.config;
  config.diff_ids.clear();
  Json manifest{{"schemaVersion", 2}, {"mediaType", kMediaTypeManifest}};
  Json layers = Json::array();
  for (const auto& file : layer_files) {
    auto diff_id = DiffId(file);
    if (!diff_id) return diff_id.take_error();
    config.diff_ids.push_back(*diff_id);
    auto d = MoveBlob(dir, file, o.layer_media_type);
    if (!d) return d.take_error();
    layers.push_back(DescriptorJson(*d));
  }
  auto cd = PutBlob(dir, ConfigJson(config, o.history).dump(2) + "\n", kMediaTypeConfig);
  if (!cd) return cd.take_error();
  manifest["config"] = DescriptorJson(*cd);
  manifest["layers"] = layers;
  if (!o.annotations.empty()) manifest["annotations"] = o.annotations;
  auto md = PutBlob(dir, manifest.dump(2) + "\n", kMediaTypeManifest);
  if (!md) return md.take_error();
  if (!o.ref_name.empty()) md->annotations[kRefNameAnnotation] = o.ref_name;
  Json index{{"schemaVersion", 2},
             {"mediaType", kMediaTypeIndex},
             {"manifests", Json::array({DescriptorJson(*md)})}};
  if (auto st = WriteAtomically(dir + "/index.json", index.dump(2) + "\n"); !st)
    return st.take_error();
  if (auto st = WriteAtomically(dir + "/oci-layout", "{\"imageLayoutVersion\":\"1.0.0\"}\n"); !st)
    return st.take_error();
  return *md;
}

Result<Descriptor> ResolveTag(const std::string& dir, const std::string& tag) {
  std::string what = dir + "/index.json";
  auto text = ReadFile(what);
  if (!text) return Error{"OCI layout " + dir + ": cannot read index.json: " + text.error()};
  std::vector<Descriptor> manifests;
  auto st = ParseJson(*text, what, [&](const Json& j) -> Status {
    if (j.at("schemaVersion").get<int>() != 2)
      return Error{what + ": schemaVersion " + j.at("schemaVersion").dump() + ", expected 2"};
    for (const auto& m : j.at("manifests")) manifests.push_back(DescriptorFrom(m));
    return {};
  });
  if (!st) return st.take_error();
  std::vector<std::string> tags;
  const Descriptor* found = nullptr;
  for (const auto& m : manifests) {
    auto it = m.annotations.find(kRefNameAnnotation);
    std::string name = it == m.annotations.end() ? "" : it->second;
    if (!name.empty()) tags.push_back(name);
    if ((!tag.empty() && name == tag) || (tag.empty() && manifests.size() == 1)) found = &m;
  }
  if (!found) {
    std::string known = tags.empty() ? "none" : tags[0];
    for (size_t i = 1; i < tags.size(); ++i) known += ", " + tags[i];
    if (tag.empty())
      return Error{what + ": " + std::to_string(manifests.size()) +
                   " manifests; name one with PATH:TAG (tags: " + known + ")"};
    return Error{what + ": no manifest tagged '" + tag + "' (tags: " + known + ")"};
  }
  if (found->media_type != kMediaTypeManifest)
    return Error{what + ": manifest " + found->digest + " has media type '" + found->media_type +
                 "'; only " + kMediaTypeManifest + " is supported (no nested indexes)"};
  return *found;
}

Result<Image> Read(const std::string& dir, const std::string& tag, const ReadOptions& o) {
  Image image;
  image.dir = dir;
  auto md = ResolveTag(dir, tag);
  if (!md) return md.take_error();
  image.manifest = *md;
  auto mtext = ReadBlob(dir, *md, "manifest");
  if (!mtext) return mtext.take_error();
  std::string mwhat = "manifest " + md->digest;
  Descriptor config;
  auto st = ParseJson(*mtext, mwhat, [&](const Json& j) -> Status {
    if (j.contains("mediaType") && j.at("mediaType").get<std::string>() != kMediaTypeManifest)
      return Error{mwhat + ": media type '" + j.at("mediaType").get<std::string>() +
                   "', expected " + kMediaTypeManifest};
    config = DescriptorFrom(j.at("config"));
    for (const auto& l : j.at("layers")) image.layers.push_back(DescriptorFrom(l));
    return {};
  });
  if (!st) return st.take_error();
  if (config.media_type != kMediaTypeConfig)
    return Error{mwhat + ": config " + config.digest + " has unknown media type '" +
                 config.media_type + "' (expected " + kMediaTypeConfig + ")"};
  for (const auto& l : image.layers)
    if (!KnownLayerType(l.media_type))
      return Error{mwhat + ": layer " + l.digest + " has unknown media type '" + l.media_type +
                   "' (expected an application/vnd.oci.image.layer.v1.tar[+gzip|+zstd])"};
  auto ctext = ReadBlob(dir, config, "config");
  if (!ctext) return ctext.take_error();
  std::string cwhat = "config " + config.digest;
  if (auto st2 = ParseConfig(*ctext, cwhat, &image.config); !st2) return st2.take_error();
  if (auto st2 = CheckPlatform(image.config, cwhat); !st2) return st2.take_error();
  if (image.config.diff_ids.size() != image.layers.size())
    return Error{cwhat + ": " + std::to_string(image.config.diff_ids.size()) + " diff_ids for " +
                 std::to_string(image.layers.size()) + " layers in " + mwhat};
  for (size_t i = 0; i < image.layers.size() && o.verify_layers; ++i) {
    const auto& l = image.layers[i];
    if (auto st2 = VerifyBlobFile(dir, l, "layer"); !st2) return st2.take_error();
    if (!o.verify_diff_ids) continue;
    auto diff_id = DiffId(BlobPath(dir, l.digest));
    if (!diff_id) return Error{"layer " + l.digest + ": " + diff_id.error()};
    if (*diff_id != image.config.diff_ids[i])
      return Error{"layer " + l.digest + ": uncompressed content hashes to " + *diff_id + " but " +
                   cwhat + " says diff_id " + image.config.diff_ids[i]};
  }
  return image;
}

void SplitReference(const std::string& ref, std::string* path, std::string* tag) {
  *path = ref;
  tag->clear();
  size_t colon = ref.rfind(':');
  if (colon == std::string::npos || colon == 0) return;
  std::string t = ref.substr(colon + 1);
  if (t.empty() || t.find('/') != std::string::npos) return;
  struct stat st;
  if (stat(ref.c_str(), &st) == 0) return;  // the whole text names a directory
  *path = ref.substr(0, colon);
  *tag = t;
}

}  // namespace imager::oci
