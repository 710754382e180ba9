// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

/// Sha256 hashes a byte stream incrementally (Update..., then Final once); the hex form is 64
/// lowercase digits. Built on OpenSSL's libcrypto, which uses the CPU's SHA instructions where
/// there are some (about 3x libsolv's portable code: the cache hashes every entry it commits).

#include <cstddef>
#include <string>
#include <string_view>

#include "base/result.h"

struct evp_md_ctx_st;

namespace imager {

class Sha256 {
 public:
  Sha256();
  ~Sha256();
  Sha256(Sha256&& o) noexcept;
  Sha256& operator=(Sha256&& o) noexcept;
  Sha256(const Sha256&) = delete;
  Sha256& operator=(const Sha256&) = delete;

  void Update(const void* data, size_t size);
  void Update(std::string_view data) { Update(data.data(), data.size()); }
  /// The digest as 64 hex digits; the object must not be updated afterwards.
  std::string FinalHex();

 private:
  evp_md_ctx_st* ctx_;
};

/// SHA-256 of a string, in hex.
std::string Sha256Hex(std::string_view data);

/// SHA-256 of everything readable from `fd` until EOF, in hex.
Result<std::string> Sha256Fd(int fd);

/// SHA-256 of a file's content, in hex.
Result<std::string> Sha256File(const std::string& path);

/// Whether `s` is a SHA-256 in lowercase hex (64 digits): a package's hash, a stage key.
bool IsSha256Hex(std::string_view s);

}  // namespace imager
