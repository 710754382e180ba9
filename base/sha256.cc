// SPDX-License-Identifier: GPL-3.0-or-later
#include "base/sha256.h"

#include <fcntl.h>
#include <unistd.h>

#include <utility>

// libsolv's pool headers name a struct member `requires`, a C++20 keyword; renaming it in this
// translation unit changes no layout.
#define requires solv_requires
#include <solv/chksum.h>
#include <solv/knownid.h>
#undef requires

#include "base/fd.h"

namespace imager {

Sha256::Sha256() : chk_(solv_chksum_create(REPOKEY_TYPE_SHA256)) {}

Sha256::~Sha256() {
  if (chk_) solv_chksum_free(chk_, nullptr);
}

Sha256::Sha256(Sha256&& o) noexcept : chk_(std::exchange(o.chk_, nullptr)) {}

Sha256& Sha256::operator=(Sha256&& o) noexcept {
  if (this != &o) {
    if (chk_) solv_chksum_free(chk_, nullptr);
    chk_ = std::exchange(o.chk_, nullptr);
  }
  return *this;
}

void Sha256::Update(const void* data, size_t size) {
  // libsolv takes an int length: feed large buffers in slices.
  constexpr size_t kSlice = 1 << 30;
  const auto* p = static_cast<const char*>(data);
  while (size > 0) {
    size_t n = size < kSlice ? size : kSlice;
    solv_chksum_add(chk_, p, static_cast<int>(n));
    p += n;
    size -= n;
  }
}

std::string Sha256::FinalHex() {
  static constexpr char kHex[] = "0123456789abcdef";
  int len = 0;
  const unsigned char* digest = solv_chksum_get(chk_, &len);
  std::string hex;
  hex.reserve(static_cast<size_t>(len) * 2);
  for (int i = 0; i < len; ++i) {
    hex += kHex[digest[i] >> 4];
    hex += kHex[digest[i] & 0xf];
  }
  return hex;
}

std::string Sha256Hex(std::string_view data) {
  Sha256 h;
  h.Update(data);
  return h.FinalHex();
}

Result<std::string> Sha256Fd(int fd) {
  Sha256 h;
  char buf[65536];
  for (;;) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return ErrnoError("read");
    if (n == 0) return h.FinalHex();
    h.Update(buf, static_cast<size_t>(n));
  }
}

Result<std::string> Sha256File(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd.valid()) return ErrnoError("open " + path);
  auto digest = Sha256Fd(fd.get());
  if (!digest) return Wrap(path, digest.error());
  return digest;
}

}  // namespace imager
