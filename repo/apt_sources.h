// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

/// The host's apt sources (deb822 `*.sources` and one-line `sources.list` / `*.list`), read to
/// implement `mirror: auto`: a profile uses the mirror this host already uses, and no mirror host
/// name is ever written into imager itself.

#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace imager::repo {

/// One source entry: a deb822 stanza or a one-line entry.
struct AptSource {
  std::vector<std::string> types;  // "deb", "deb-src"
  std::vector<std::string> uris;   // trailing '/' removed
  std::vector<std::string> suites;
  std::vector<std::string> components;
  std::string signed_by;  // a keyring path, "(inline key)", or empty
  bool enabled = true;
  std::string origin;  // "FILE:LINE" where the entry starts
};

/// Parses deb822 text: stanzas separated by blank lines, "Field: value" with continuation lines
/// starting with a space, '#' comment lines. An enabled stanza without Types, URIs or Suites, or a
/// line that is not a field, is an error "FILE:LINE: ...".
Result<std::vector<AptSource>> ParseDeb822Sources(std::string_view text, const std::string& file);

/// Parses one-line text: "deb [opt=value ...] URI SUITE [COMPONENT...]"; '#' starts a comment.
Result<std::vector<AptSource>> ParseOneLineSources(std::string_view text, const std::string& file);

/// Every source of ETC_APT/sources.list and ETC_APT/sources.list.d/*.{list,sources}, in the order
/// apt reads them (sources.list first, then the directory in name order).
Result<std::vector<AptSource>> ReadAptSources(const std::string& etc_apt = "/etc/apt");

/// The URI of the first enabled deb source whose suites contain exactly `suite`; failing that, of
/// the first one carrying another suite of that release (SUITE-updates, SUITE-backports, never
/// SUITE-security). Only http, https and file URIs count. `where` names the places searched.
Result<std::string> PickMirror(const std::vector<AptSource>& sources, const std::string& suite,
                               const std::string& where);

/// PickMirror over ReadAptSources(etc_apt).
Result<std::string> AutoMirror(const std::string& suite, const std::string& etc_apt = "/etc/apt");

}  // namespace imager::repo
