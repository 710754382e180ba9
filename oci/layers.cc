// SPDX-License-Identifier: GPL-3.0-or-later
#include "oci/layers.h"

#include <sys/stat.h>

#include "formats/tar.h"
#include "oci/layout.h"

namespace imager::oci {

Result<Compression> ParseCompression(const std::string& name) {
  if (name == "gzip") return Compression::kGzip;
  if (name == "zstd") return Compression::kZstd;
  return Error{"unknown layer compression '" + name + "' (allowed: gzip, zstd)"};
}

const char* LayerMediaType(Compression c) {
  return c == Compression::kZstd ? kMediaTypeLayerZstd : kMediaTypeLayerGzip;
}

const char* LayerSuffix(Compression c) { return c == Compression::kZstd ? ".tar.zst" : ".tar.gz"; }

Result<std::vector<LayerFile>> WriteLayers(const std::vector<std::string>& layers,
                                           const std::string& out_dir,
                                           const LayerWriteOptions& options) {
  std::vector<LayerFile> files;
  bool dev_written = false;
  for (size_t i = 0; i < layers.size(); ++i) {
    struct stat st;
    bool has_dev = lstat((layers[i] + "/dev").c_str(), &st) == 0 && S_ISDIR(st.st_mode);
    formats::tar::WriteOptions o;
    o.source_date_epoch = options.source_date_epoch;
    o.overlay_whiteouts = true;
    o.dev_nodes = has_dev && !dev_written;
    dev_written = dev_written || has_dev;
    LayerFile f;
    f.path = out_dir + "/layer-" + std::to_string(i) + LayerSuffix(options.compression);
    auto r = formats::tar::Write(layers[i], f.path, o);
    if (!r) return Error{"layer " + std::to_string(i) + " (" + layers[i] + "): " + r.error()};
    f.entries = r->entries;
    f.whiteouts = r->whiteouts;
    files.push_back(std::move(f));
  }
  return files;
}

}  // namespace imager::oci
