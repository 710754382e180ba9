// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

/// A stage cache shared through an OCI registry (`imager build --cache-from/--cache-to`, as
/// BuildKit names them). A stage's key is a content address already, so one build's stages are
/// another's: each committed entry is one OCI manifest in the repository REF names, tagged with
/// its key:
///
///   manifest (application/vnd.oci.image.manifest.v1+json, tag = the stage key)
///     artifactType  application/vnd.imager.stage.v1
///     config        application/vnd.imager.stage.config.v1+json  {"stage", "key", "kind"}
///     layers[0]     application/vnd.imager.stage.v1.tar+zstd     the entry's data
///     annotations   dev.imager.stage, dev.imager.key
///
/// Tags, not the referrers API: a lookup is one GET of the manifest by its key, which every
/// registry serves (Debian 12's docker-registry has no referrers API), and a key names exactly one
/// entry, so there is nothing to list or choose among.
///
/// The data travels as the local cache holds it: the layer's overlay upper directory as it is on
/// disk (owners through the build's id mapping, every xattr, overlayfs' whiteouts and opaque
/// marks, the owner records of single-id mode), written and unpacked inside the id mapping
/// (`imager internal write-tar/extract-tar --verbatim`). That is not an image layer to run, hence
/// imager's own media type. A fetched blob is checked against its digest before it is unpacked,
/// and the entry is committed to the local cache like a build of it (engine::Pipeline).
///
/// Trust: whoever can push to the repository decides what a build that pulls from it contains,
/// as with any shared build cache; pull only from repositories you would take images from.

#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "base/result.h"
#include "engine/pipeline.h"
#include "oci/registry.h"
#include "sandbox/idmap.h"

namespace imager::stages {

inline constexpr const char* kStageArtifactType = "application/vnd.imager.stage.v1";
inline constexpr const char* kStageConfigType = "application/vnd.imager.stage.config.v1+json";
inline constexpr const char* kStageDataType = "application/vnd.imager.stage.v1.tar+zstd";

struct RemoteCacheOptions {
  std::string from;  // --cache-from: docker://HOST[:PORT]/REPO (empty: none)
  std::string to;    // --cache-to
  oci::RegistryOptions registry;
  bool Any() const { return !from.empty() || !to.empty(); }
};

/// What a push did.
struct PushReport {
  size_t pushed = 0, present = 0, failed = 0;  // stage entries
  uint64_t bytes = 0;                          // blob bytes uploaded
};

/// An entry as `imager cache ls --remote` shows it.
struct RemoteEntry {
  std::string key, stage, kind;
  uint64_t size = 0;  // its blobs' bytes
};

class RegistryCache : public engine::RemoteCache {
 public:
  /// A cache in the repository `ref` ("docker://HOST[:PORT]/REPO"); connects on first use. The
  /// id mapping is the build's: data is packed and unpacked inside it.
  static Result<std::unique_ptr<RegistryCache>> Make(const std::string& ref,
                                                     const oci::RegistryOptions& options,
                                                     const sandbox::IdMap& idmap);

  Result<bool> Fetch(const std::string& stage, const std::string& key, engine::OutputKind kind,
                     const std::string& dir) override;
  std::string Describe() const override { return text_; }

  /// Pushes the committed entry whose data is `data_dir`, unless the repository has its key;
  /// true when it was pushed. `*bytes` receives the blob bytes uploaded.
  Result<bool> Store(const std::string& stage, const std::string& key, engine::OutputKind kind,
                     const std::string& data_dir, uint64_t* bytes);
  /// The stage entries the repository holds (its tags that are keys), by key.
  Result<std::vector<RemoteEntry>> List();
  /// The registry failed (unreachable, or a request failed after the retries): this build asks
  /// it nothing more.
  bool GaveUp();

 private:
  RegistryCache() = default;
  Result<oci::RegistryClient*> Client();
  /// A manifest request failed after the client's retries (the registry went away, or answers
  /// only errors): no more requests in this build. Returns `why`.
  Error GiveUp(Error why);

  oci::RegistryRef ref_;
  std::string text_;
  oci::RegistryOptions options_;
  sandbox::IdMap idmap_;
  std::mutex mu_;  // one client per thread is made on demand; this guards the list
  std::vector<std::pair<std::thread::id, std::unique_ptr<oci::RegistryClient>>> clients_;
  std::string unreachable_;  // why the registry failed (then no more requests are made)
};

/// Pushes each committed entry (in order) to `cache`; failures are warnings, and two in a row
/// stop the push.
PushReport PushEntries(RegistryCache& cache, const std::vector<engine::Entry>& entries);

/// What PullEntries did.
struct PullReport {
  size_t pulled = 0, present = 0, missing = 0, failed = 0;  // entries
};

/// One entry a pull wants: its key, kind, stage and parents' keys (the plan's).
struct WantedEntry {
  std::string stage, key;
  engine::OutputKind kind = engine::OutputKind::kLayer;
  std::vector<std::string> parents;
};

/// Fetches each wanted entry the local cache (opened for building) lacks from `remote` and
/// commits it; nothing is built. A refused entry is a warning; once the registry stops
/// answering, the entries left are counted as failed without asking. A cache that cannot commit
/// is an error.
Result<PullReport> PullEntries(RegistryCache& remote, const engine::Cache& cache,
                               const std::vector<WantedEntry>& wanted, const std::string& profile);

}  // namespace imager::stages
