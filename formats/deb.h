// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

/// Debian binary packages (.deb, an ar archive of debian-binary, control.tar.* and data.tar.*)
/// read with libarchive: the control fields, and the data tree unpacked into a directory. Used to
/// lay down the essential packages before dpkg itself exists in the image.

#include <map>
#include <string>
#include <vector>

#include "base/result.h"
#include "formats/tar.h"

namespace imager::formats::deb {

/// The control file's fields by name ("Package", "Pre-Depends", ...); continuation lines joined.
using Fields = std::map<std::string, std::string>;

/// Parses a control paragraph (RFC 822 style) into its fields.
Fields ParseControl(const std::string& text);

/// The fields of the package's control file.
Result<Fields> ReadControl(const std::string& deb);

/// Unpacks the package's data.tar.* into `dest` with owners, modes, times and xattrs (run it
/// inside the id mapping); no entry may escape `dest`.
Result<tar::ExtractReport> ExtractData(const std::string& deb, const std::string& dest);

/// The entries of the package's data.tar.* whose owner is not root, read from the headers only.
Result<std::vector<tar::OwnedEntry>> ListOwned(const std::string& deb);

/// A dependency field ("a (>= 1) | b, c:any") as clauses of alternative package names, without
/// versions or architecture qualifiers: {{"a", "b"}, {"c"}}.
std::vector<std::vector<std::string>> ParseRelations(const std::string& field);

}  // namespace imager::formats::deb
