// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

/// What the libisofs writers (iso.cc: a tree made into an ISO; iso_rewrite.cc: an imported ISO
/// written again) share: initialization, errors with libisofs' queued details, owners of its
/// objects, and streaming the image into a descriptor. Included by those two files only.

// libisofs declares struct burn_source itself only when libburn's header is not used.
#define LIBISOFS_WITHOUT_LIBBURN 1
#include <libisofs/libisofs.h>

#include <cstdint>
#include <cstdlib>
#include <functional>
#include <string>

#include "base/result.h"

namespace imager::formats::iso {

/// libisofs' message for `code`, with the details it queued.
std::string IsoMessage(int code);
Error IsoError(const std::string& what, int code);
/// iso_init() once per process; messages queued, never printed; names in UTF-8.
Status InitOnce();

struct ImageUnref {
  void operator()(IsoImage* i) const { iso_image_unref(i); }
};
struct OptsFree {
  void operator()(IsoWriteOpts* o) const { iso_write_opts_free(o); }
};
// A burn_source made by libisofs, without libburn: cancel the generator if it still runs, then
// free. The generator thread ends once everything was read or it was cancelled.
struct SourceFree {
  void operator()(burn_source* s) const {
    if (s->cancel) s->cancel(s);
    if (--s->refcount > 0) return;
    if (s->free_data) s->free_data(s);
    std::free(s);
  }
};

/// The options both writers set for reproducible output (level 3, Rock Ridge 1.10 without inode
/// numbers, sorted files, UTF-8, GMT, Joliet when `joliet`); a libisofs error code or >= 0.
int SetCommonWriteOptions(IsoWriteOpts* opts, bool joliet);

/// Writes the image into `fd` (named `output` in errors); the bytes written.
Result<uint64_t> Stream(IsoImage* image, IsoWriteOpts* opts, int fd, const std::string& output,
                        const std::function<void(uint64_t, uint64_t)>& progress);

}  // namespace imager::formats::iso
