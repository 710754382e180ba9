// SPDX-License-Identifier: GPL-3.0-or-later
#include "stages/remote_cache.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <thread>

#include <nlohmann/json.hpp>

#include "base/fd.h"
#include "base/fs.h"
#include "base/log.h"
#include "base/sha256.h"
#include "base/strings.h"
#include "sandbox/launch.h"
#include "sandbox/tools.h"

namespace imager::stages {
namespace {

// Runs `imager internal ARGS` inside the id mapping with `dir` at /work; its output goes to
// DIR/internal.log, whose end a failure quotes.
Status RunInternal(const sandbox::IdMap& idmap, const std::string& dir,
                   std::vector<sandbox::BindSpec> binds, const std::vector<std::string>& args,
                   const std::string& what) {
  binds.insert(binds.begin(), {dir, "/work", false});
  auto spec = sandbox::InternalSpec(idmap, std::move(binds), {}, args);
  if (!spec) return spec.take_error();
  std::string log_path = dir + "/internal.log";
  UniqueFd log(open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
  if (!log.valid()) return ErrnoError("create " + log_path);
  spec->stdin_null = true;
  spec->stdout_fd = log.get();
  spec->stderr_fd = log.get();
  auto st = sandbox::Launch(*spec);
  std::string tail = engine::LogTail(log_path, 5);
  unlink(log_path.c_str());
  if (!st) return Wrap(what, st.error());
  if (st->signaled || st->code != 0)
    return Error{what + ": " + st->Describe() + (tail.empty() ? "" : ":\n" + tail)};
  return {};
}

// A directory for packing, deleted with the object.
struct TempDir {
  std::string path;
  ~TempDir() {
    if (!path.empty()) (void)RemoveTree(path);
  }
};

Result<std::string> TempRoot() {
  const char* tmp = getenv("TMPDIR");
  return MakeTempDir(tmp && *tmp ? tmp : "/var/tmp", "imager-push.");
}

}  // namespace

Result<std::unique_ptr<RegistryCache>> RegistryCache::Make(const std::string& ref,
                                                           const oci::RegistryOptions& options,
                                                           const sandbox::IdMap& idmap) {
  auto parsed = oci::ParseRegistryRef(ref);
  if (!parsed) return parsed.take_error();
  if (!parsed->tag.empty())
    return Error{ref + ": a stage cache is a repository; leave out the tag (:" + parsed->tag +
                 "): each stage is tagged with its key"};
  std::unique_ptr<RegistryCache> c(new RegistryCache);
  c->ref_ = *parsed;
  c->text_ = "docker://" + parsed->host + "/" + parsed->repository;
  c->options_ = options;
  c->idmap_ = idmap;
  return c;
}

Result<oci::RegistryClient*> RegistryCache::Client() {
  std::lock_guard lock(mu_);
  // A registry that could not be reached once is not tried again by this build: every stage
  // would wait for the retries.
  if (!unreachable_.empty()) return Error{unreachable_};
  for (auto& [id, client] : clients_)
    if (id == std::this_thread::get_id()) return client.get();
  auto client = oci::RegistryClient::Open(ref_, options_);
  if (!client) {
    unreachable_ = client.error();
    return client.take_error();
  }
  clients_.emplace_back(std::this_thread::get_id(),
                        std::make_unique<oci::RegistryClient>(std::move(*client)));
  return clients_.back().second.get();
}

bool RegistryCache::GaveUp() {
  std::lock_guard lock(mu_);
  return !unreachable_.empty();
}

Error RegistryCache::GiveUp(Error why) {
  std::lock_guard lock(mu_);
  if (unreachable_.empty()) unreachable_ = why.message;
  return why;
}

Result<bool> RegistryCache::Fetch(const std::string& stage, const std::string& key,
                                  engine::OutputKind kind, const std::string& dir) {
  auto client = Client();
  if (!client) return client.take_error();
  auto found = (*client)->GetManifest(key);
  if (!found) return GiveUp(found.take_error());
  if (!*found) return false;
  // What the manifest says must be this key's entry of this kind, in one blob.
  nlohmann::json m = nlohmann::json::parse((*found)->body, nullptr, false);
  const std::string where = text_ + ":" + key.substr(0, 16);
  if (m.is_discarded() || !m.is_object()) return Error{where + ": the manifest is not JSON"};
  auto text = [](const nlohmann::json& j, const char* field) {
    return j.is_object() && j.contains(field) && j[field].is_string() ? j[field].get<std::string>()
                                                                      : std::string();
  };
  const nlohmann::json& ann = m.contains("annotations") ? m["annotations"] : nlohmann::json();
  if (text(m, "artifactType") != kStageArtifactType || text(ann, "dev.imager.key") != key ||
      text(ann, "dev.imager.kind") != engine::KindName(kind))
    return Error{where + ": the tag holds something else than imager's " + engine::KindName(kind) +
                 " for this key (artifactType '" + text(m, "artifactType") + "')"};
  if (!m.contains("layers") || !m["layers"].is_array() || m["layers"].size() != 1 ||
      text(m["layers"][0], "mediaType") != kStageDataType)
    return Error{where + ": the manifest does not have exactly one " + kStageDataType + " blob"};
  const std::string digest = text(m["layers"][0], "digest");
  // Into the directory beside `dir`: the blob (checked against its digest), then the tree.
  std::string parent = dir.substr(0, dir.rfind('/'));
  std::string blob = parent + "/remote.tar.zst";
  if (auto st = (*client)->PullBlob(digest, blob); !st) return st.take_error();
  if (mkdir(dir.c_str(), 0755) != 0) return ErrnoError("create " + dir);
  std::string name = dir.substr(dir.rfind('/') + 1);
  auto st = RunInternal(idmap_, parent, {},
                        {"extract-tar", "--verbatim", "/work/remote.tar.zst", "/work/" + name},
                        "unpack " + stage + " from " + text_);
  unlink(blob.c_str());
  if (!st) return st.take_error();
  return true;
}

Result<bool> RegistryCache::Store(const std::string& stage, const std::string& key,
                                  engine::OutputKind kind, const std::string& data_dir,
                                  uint64_t* bytes) {
  *bytes = 0;
  auto client = Client();
  if (!client) return client.take_error();
  auto there = (*client)->GetManifest(key);
  if (!there) return GiveUp(there.take_error());
  if (*there) return false;
  auto root = TempRoot();
  if (!root) return root.take_error();
  TempDir tmp{*root};
  // The data as the cache holds it, packed inside the id mapping (it may own the files).
  if (auto st =
          RunInternal(idmap_, tmp.path, {{data_dir, "/data", true}},
                      {"write-tar", "--verbatim", "/data", "/work/data.tar.zst"}, "pack " + stage);
      !st)
    return st.take_error();
  std::string data = tmp.path + "/data.tar.zst";
  auto data_digest = Sha256File(data);
  if (!data_digest) return data_digest.take_error();
  struct stat sb;
  if (stat(data.c_str(), &sb) != 0) return ErrnoError("stat " + data);
  nlohmann::ordered_json config = {
      {"stage", stage}, {"key", key}, {"kind", engine::KindName(kind)}};
  std::string config_text = config.dump();
  std::string config_path = tmp.path + "/config.json";
  if (auto st = WriteFile(config_path, config_text); !st) return st.take_error();
  const std::string config_digest = "sha256:" + Sha256Hex(config_text);
  auto push_blobs = [&]() -> Status {
    if (auto st = (*client)->PushBlob(data, "sha256:" + *data_digest, sb.st_size); !st)
      return st.take_error();
    if (auto st = (*client)->PushBlob(config_path, config_digest, config_text.size()); !st)
      return st.take_error();
    return {};
  };
  if (auto st = push_blobs(); !st) return st.take_error();
  nlohmann::ordered_json manifest = {
      {"schemaVersion", 2},
      {"mediaType", "application/vnd.oci.image.manifest.v1+json"},
      {"artifactType", kStageArtifactType},
      {"config",
       {{"mediaType", kStageConfigType}, {"digest", config_digest}, {"size", config_text.size()}}},
      {"layers",
       {{{"mediaType", kStageDataType},
         {"digest", "sha256:" + *data_digest},
         {"size", static_cast<uint64_t>(sb.st_size)}}}},
      {"annotations",
       {{"dev.imager.stage", stage},
        {"dev.imager.key", key},
        {"dev.imager.kind", engine::KindName(kind)}}}};
  oci::Manifest out;
  out.media_type = "application/vnd.oci.image.manifest.v1+json";
  out.body = manifest.dump();
  out.digest = "sha256:" + Sha256Hex(out.body);
  // The tag last: until it exists nothing refers to the blobs, so a reader never sees a part.
  for (int attempt = 1;; ++attempt) {
    auto st = (*client)->PutManifest(key, out);
    if (st) break;
    // Another builder pushing the same blobs at this moment: docker-registry's filesystem
    // storage rewrites a repository's link to a blob in place, and a manifest checked meanwhile
    // names a blob "unknown" (MANIFEST_BLOB_UNKNOWN, or DIGEST_INVALID for a link read empty).
    // If that builder's entry is complete now, it is this one; otherwise push again.
    const std::string& why = st.error();
    bool racing = why.find("MANIFEST_BLOB_UNKNOWN") != std::string::npos ||
                  why.find("DIGEST_INVALID") != std::string::npos;
    if (!racing || attempt == 3) return st.take_error();
    std::this_thread::sleep_for(std::chrono::milliseconds(250 * attempt));
    auto now = (*client)->GetManifest(key);
    if (!now) return GiveUp(now.take_error());
    if (*now) return false;
    if (auto again = push_blobs(); !again) return again.take_error();
  }
  *bytes = static_cast<uint64_t>(sb.st_size) + config_text.size();
  return true;
}

Result<std::vector<RemoteEntry>> RegistryCache::List() {
  auto client = Client();
  if (!client) return client.take_error();
  auto tags = (*client)->ListTags();
  if (!tags) return tags.take_error();
  std::sort(tags->begin(), tags->end());
  std::vector<RemoteEntry> out;
  for (const auto& t : *tags) {
    if (!IsSha256Hex(t)) continue;
    auto m = (*client)->GetManifest(t);
    if (!m) return m.take_error();
    if (!*m) continue;  // deleted meanwhile
    nlohmann::json j = nlohmann::json::parse((*m)->body, nullptr, false);
    if (!j.is_object() || !j.contains("annotations") || !j["annotations"].is_object()) continue;
    const auto& ann = j["annotations"];
    if (ann.value("dev.imager.key", "") != t) continue;  // not one of imager's entries
    RemoteEntry e{t, ann.value("dev.imager.stage", ""), ann.value("dev.imager.kind", ""), 0};
    for (const char* part : {"config", "layers"}) {
      if (!j.contains(part)) continue;
      const auto& v = j[part];
      for (const auto& d : v.is_array() ? v : nlohmann::json::array({v}))
        if (d.is_object() && d.contains("size") && d["size"].is_number_unsigned())
          e.size += d["size"].get<uint64_t>();
    }
    out.push_back(std::move(e));
  }
  return out;
}

PushReport PushEntries(RegistryCache& cache, const std::vector<engine::Entry>& entries) {
  PushReport r;
  size_t failed_in_a_row = 0;
  for (const auto& e : entries) {
    // Two failures in a row: the registry is gone (each try waits for its retries).
    if (failed_in_a_row == 2) {
      ++r.failed;
      continue;
    }
    uint64_t bytes = 0;
    auto pushed = cache.Store(e.meta.stage, e.meta.key, e.meta.kind, e.data_dir, &bytes);
    if (!pushed) {
      ++r.failed;
      log::Warn(cache.Describe() + ": " + e.meta.stage + " not pushed: " + pushed.error() +
                (++failed_in_a_row == 2 ? "; not trying the other stages" : ""));
      continue;
    }
    failed_in_a_row = 0;
    (*pushed ? r.pushed : r.present)++;
    r.bytes += bytes;
  }
  return r;
}

Result<PullReport> PullEntries(RegistryCache& remote, const engine::Cache& cache,
                               const std::vector<WantedEntry>& wanted, const std::string& profile) {
  PullReport r;
  for (size_t i = 0; i < wanted.size(); ++i) {
    const WantedEntry& w = wanted[i];
    if (cache.Find(w.key, w.kind)) {
      ++r.present;
      continue;
    }
    auto claim = cache.Reserve(w.key, w.kind, false);
    if (!claim) return Wrap(w.stage, claim.error());
    if (claim->entry) {  // another process committed it meanwhile
      ++r.present;
      continue;
    }
    auto fetched = engine::FetchEntry(remote, *claim->slot, w.kind,
                                      {.stage = w.stage, .parents = w.parents, .profile = profile});
    if (!fetched) return Wrap(w.stage, fetched.error());
    if (fetched->entry) {
      ++r.pulled;
    } else if (!fetched->refused.empty()) {
      ++r.failed;
      log::Warn(remote.Describe() + ": " + w.stage + " not pulled: " + fetched->refused);
      if (remote.GaveUp() && i + 1 < wanted.size()) {
        r.failed += wanted.size() - i - 1;
        log::Warn(remote.Describe() + ": " + std::to_string(wanted.size() - i - 1) +
                  " more stages not asked for: the registry stopped answering");
        break;
      }
    } else {
      ++r.missing;
    }
  }
  return r;
}

}  // namespace imager::stages
