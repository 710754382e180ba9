// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

/// The owner a file has in the image when the file system cannot hold it (single-id mode: every
/// file of a layer belongs to the caller, seen as 0:0 in the sandbox).
///
/// The sandbox's pid 1 records each ownership change a sandboxed process makes on a layer (chown
/// and its relatives, intercepted with seccomp user notification) as the extended attribute
/// `user.imager.owner` = "UID:GID" (decimal, ids as in the image) on the file itself. An attribute
/// of the inode follows the file as the layer changes: a rename or a hard link keeps it, a
/// deletion removes it, overlayfs copies it up with the file. containers/storage and
/// fuse-overlayfs keep `user.containers.override_stat` for the same purpose; ours holds only the
/// owner, since the mode on disk is the real one. Every writer (tar, squashfs, OCI layers, ext4)
/// reads the owner through ApplyOwnerRecord; ReadXattrs never returns the attribute, so no image
/// carries it; the cache's tree index hashes it with the other attributes.

#include <sys/stat.h>

#include <cstdint>
#include <optional>
#include <string>

namespace imager {

inline constexpr char kOwnerXattr[] = "user.imager.owner";

struct RecordedOwner {
  uint32_t uid = 0, gid = 0;
  bool operator==(const RecordedOwner&) const = default;
};

/// "UID:GID" -> owner; nullopt for anything else (the attribute is then ignored).
std::optional<RecordedOwner> ParseOwnerRecord(const std::string& value);
std::string FormatOwnerRecord(const RecordedOwner& owner);

/// The recorded owner of `path` (not following a final symlink); nullopt when none is recorded
/// or the file system cannot tell.
std::optional<RecordedOwner> ReadOwnerRecord(const std::string& path);

/// Replaces st->st_uid and st->st_gid of `path`'s lstat result with its recorded owner, if any.
void ApplyOwnerRecord(const std::string& path, struct stat* st);

}  // namespace imager
