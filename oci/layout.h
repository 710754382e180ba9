// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

/// OCI image layouts (opencontainers image-spec v1.0: oci-layout, index.json, blobs/sha256/):
/// Write() assembles one from layer blobs with a deterministic config and manifest; Read()
/// resolves a tag to its manifest and verifies every blob it names against its digest before
/// anything uses it. Digests are "sha256:" + 64 lowercase hex digits, nothing else is accepted.

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "base/result.h"

namespace imager::oci {

inline constexpr char kMediaTypeIndex[] = "application/vnd.oci.image.index.v1+json";
inline constexpr char kMediaTypeManifest[] = "application/vnd.oci.image.manifest.v1+json";
inline constexpr char kMediaTypeConfig[] = "application/vnd.oci.image.config.v1+json";
inline constexpr char kMediaTypeLayerGzip[] = "application/vnd.oci.image.layer.v1.tar+gzip";
inline constexpr char kMediaTypeLayerZstd[] = "application/vnd.oci.image.layer.v1.tar+zstd";
inline constexpr char kRefNameAnnotation[] = "org.opencontainers.image.ref.name";

/// A content descriptor: what a blob is, its digest and size.
struct Descriptor {
  std::string media_type;
  std::string digest;  // sha256:HEX
  int64_t size = 0;
  std::map<std::string, std::string> annotations;
};

/// GOARCH-style platform of an image ("amd64", "arm64" + "v8", "386").
struct Platform {
  std::string architecture;
  std::string variant;  // empty when the architecture has none
};

/// The OCI platform of a distribution architecture (Debian: amd64, arm64, i386, armhf...; RPM:
/// x86_64, aarch64...); an error names the architecture when OCI has no name for it.
Result<Platform> PlatformOf(const std::string& distro_arch);

/// The image configuration fields imager writes and reads.
struct ImageConfig {
  Platform platform;
  std::string os = "linux";
  int64_t created = 0;  // seconds since the epoch (SOURCE_DATE_EPOCH); read: -1 when absent
  std::vector<std::string> env;
  std::vector<std::string> entrypoint;
  std::vector<std::string> cmd;
  std::vector<std::string> diff_ids;  // sha256 of each layer's uncompressed tar, bottom first
};

/// "YYYY-MM-DDTHH:MM:SSZ" (RFC 3339, UTC) of `epoch_seconds`.
std::string Rfc3339(int64_t epoch_seconds);

/// Seconds since the epoch of an RFC 3339 time ("2024-01-02T03:04:05Z", fractions and a
/// "+HH:MM" offset allowed), -1 when `text` is not one.
int64_t ParseRfc3339(const std::string& text);

/// "sha256:HEX" of the uncompressed content of a (gzip, zstd, xz or plain) tar layer file.
Result<std::string> DiffId(const std::string& layer_file);

/// Where a blob lives in the layout at `dir`; the digest must be valid (ValidDigest).
std::string BlobPath(const std::string& dir, const std::string& digest);

/// True for "sha256:" followed by exactly 64 lowercase hex digits.
bool ValidDigest(const std::string& digest);

struct WriteOptions {
  ImageConfig config;  // diff_ids are computed by Write
  std::string ref_name = "latest";
  std::map<std::string, std::string> annotations;  // on the manifest (org.opencontainers.image.*)
  std::string layer_media_type = kMediaTypeLayerGzip;  // how every layer file is compressed
  std::vector<std::string> history;  // the config's history[].created_by of each layer, bottom
                                     // first; "imager build" for those it does not name
};

/// Creates the layout directory `dir` (which must not exist) from tar layers compressed as
/// `options.layer_media_type` says, bottom first; the layer files are moved into the blob store
/// (same filesystem) and must not be used afterwards. Returns the manifest's descriptor (also
/// listed in index.json).
Result<Descriptor> Write(const std::string& dir, const std::vector<std::string>& layers,
                         const WriteOptions& options);

/// An image resolved from a layout, every blob verified.
struct Image {
  std::string dir;
  Descriptor manifest;
  ImageConfig config;
  std::vector<Descriptor> layers;  // bottom first; BlobPath(dir, digest) holds each
};

struct ReadOptions {
  bool verify_layers = true;    // check each layer blob's digest and size (false: only the
                                // manifest and config are read, e.g. for the config's fields)
  bool verify_diff_ids = true;  // also decompress each layer and check the config's diff_ids
};

/// The manifest that `tag` names in the layout's index.json (the only one when `tag` is empty),
/// without reading any blob: cheap, for cache keys.
Result<Descriptor> ResolveTag(const std::string& dir, const std::string& tag);

/// Resolves `tag` and reads the manifest and config, verifying the digest and size of the
/// manifest, the config and every layer, the media types and the platform (linux, an
/// architecture OCI names). Errors name the file or blob at fault.
Result<Image> Read(const std::string& dir, const std::string& tag, const ReadOptions& options = {});

/// Splits "PATH[:TAG]" as a profile or command line gives it: the tag is what follows the last
/// ':' when that part holds no '/' and PATH alone exists; otherwise the whole text is the path.
void SplitReference(const std::string& ref, std::string* path, std::string* tag);

}  // namespace imager::oci
