// SPDX-License-Identifier: GPL-3.0-or-later
#include "booter/modules.h"

#include <fcntl.h>
#include <linux/module.h>
#include <lzma.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <zstd.h>

#include "base/fd.h"
#include "base/strings.h"

namespace imager::booter {
namespace {

bool EndsWith(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

Result<std::string> DecompressXz(std::string_view data) {
  lzma_stream strm = LZMA_STREAM_INIT;
  if (lzma_stream_decoder(&strm, UINT64_MAX, LZMA_CONCATENATED) != LZMA_OK)
    return Error{"xz: cannot initialise the decoder"};
  std::string out;
  strm.next_in = reinterpret_cast<const uint8_t*>(data.data());
  strm.avail_in = data.size();
  lzma_ret ret = LZMA_OK;
  char buf[64 * 1024];
  while (ret == LZMA_OK) {
    strm.next_out = reinterpret_cast<uint8_t*>(buf);
    strm.avail_out = sizeof(buf);
    ret = lzma_code(&strm, strm.avail_in ? LZMA_RUN : LZMA_FINISH);
    out.append(buf, sizeof(buf) - strm.avail_out);
  }
  lzma_end(&strm);
  if (ret != LZMA_STREAM_END)
    return Error{"xz: corrupt or truncated data (code " + std::to_string(ret) + ")"};
  return out;
}

Result<std::string> DecompressZstd(std::string_view data) {
  ZSTD_DStream* ds = ZSTD_createDStream();
  if (!ds) return Error{"zstd: cannot create a decoder"};
  std::string out;
  ZSTD_inBuffer in{data.data(), data.size(), 0};
  char buf[64 * 1024];
  size_t ret = 1;
  while (in.pos < in.size || ret != 0) {
    ZSTD_outBuffer o{buf, sizeof(buf), 0};
    size_t before = in.pos;
    ret = ZSTD_decompressStream(ds, &o, &in);
    if (ZSTD_isError(ret)) {
      ZSTD_freeDStream(ds);
      return Error{std::string("zstd: ") + ZSTD_getErrorName(ret)};
    }
    out.append(buf, o.pos);
    if (o.pos == 0 && in.pos == before) break;  // no progress: truncated input
  }
  ZSTD_freeDStream(ds);
  if (ret != 0) return Error{"zstd: truncated data"};
  return out;
}

// Loads one module file; EEXIST counts as success ("already").
Status LoadOne(const std::string& path, bool* already) {
  UniqueFd fd(open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return ErrnoError("open " + path);
  auto c = CompressionOf(path);
  int flags = c == Compression::kNone ? 0 : MODULE_INIT_COMPRESSED_FILE;
  if (syscall(SYS_finit_module, fd.get(), "", flags) == 0) return {};
  int err = errno;
  if (err == EEXIST) {
    *already = true;
    return {};
  }
  // Kernels without in-kernel decompression for this format refuse the flag.
  if (c == Compression::kNone || (err != EINVAL && err != EOPNOTSUPP && err != ENOEXEC))
    return ErrnoError("finit_module " + path, err);
  std::string data;
  if (lseek(fd.get(), 0, SEEK_SET) < 0 || !ReadAll(fd.get(), &data))
    return ErrnoError("read " + path);
  auto raw = Decompress(data, c);
  if (!raw) return Wrap(path, raw.error());
  if (syscall(SYS_init_module, raw->data(), raw->size(), "") == 0) return {};
  if (errno == EEXIST) {
    *already = true;
    return {};
  }
  return ErrnoError("init_module " + path);
}

}  // namespace

Compression CompressionOf(std::string_view path) {
  if (EndsWith(path, ".xz")) return Compression::kXz;
  if (EndsWith(path, ".zst")) return Compression::kZstd;
  if (EndsWith(path, ".gz")) return Compression::kGzip;
  return Compression::kNone;
}

Result<std::string> Decompress(std::string_view data, Compression c) {
  switch (c) {
    case Compression::kNone:
      return std::string(data);
    case Compression::kXz:
      return DecompressXz(data);
    case Compression::kZstd:
      return DecompressZstd(data);
    case Compression::kGzip:
      break;
  }
  return Error{"gzip-compressed modules are not supported here (the kernel must decompress them)"};
}

LoadReport LoadModules(const std::vector<std::string>& paths, const std::string& dir) {
  LoadReport report;
  for (const auto& p : paths) {
    bool already = false;
    auto st = LoadOne(p.empty() || p[0] == '/' ? p : dir + "/" + p, &already);
    if (!st) {
      report.errors.push_back(st.error());
    } else if (already) {
      ++report.already;
    } else {
      ++report.loaded;
    }
  }
  return report;
}

}  // namespace imager::booter
