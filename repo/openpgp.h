// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

/// OpenPGP signature checks of repository metadata through the host's `gpgv` (the verifier apt
/// uses), run without a shell: inline-signed files (InRelease) yield exactly the text gpgv
/// verified, detached signatures (Release.gpg) are checked against their data; keyrings may be
/// binary (.gpg) or ASCII-armored (.asc). A file is accepted only when gpgv reports a good and
/// valid signature from a key of the keyring and no bad or revoked one.

#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace imager::repo {

struct OpenPgpOptions {
  std::string gpgv = "gpgv";  // looked up in PATH unless it contains a '/'
  std::string tmp_dir;        // scratch space; default $TMPDIR or /tmp
};

/// The outcome of a successful check.
struct Verified {
  std::string content;                    // inline: the signed text as gpgv output it; else ""
  std::vector<std::string> fingerprints;  // of the keys whose signatures were good
  std::vector<std::string> notes;         // signatures that did not count (other keys)
};

/// Binary OpenPGP packets from ASCII armor: headers skipped, base64 decoded, the "=CRC" line
/// ignored; several armored blocks may follow each other. `origin` names the text in errors.
Result<std::string> Dearmor(std::string_view armored, const std::string& origin);

/// Decides from gpgv's --status-fd lines whether `what` carries a good signature from a key of
/// `keyring`; each refusal says why: bad signature, unknown key ID, expired or revoked key, no
/// signature at all.
Result<Verified> InterpretGpgvStatus(std::string_view status, const std::string& what,
                                     const std::string& keyring);

/// Verifies an inline-signed (clearsigned) file and returns the text that was signed.
Result<Verified> VerifyInline(const std::string& signed_file, const std::string& keyring,
                              const OpenPgpOptions& options = {});

/// Verifies a detached signature of `data_file`.
Result<Verified> VerifyDetached(const std::string& data_file, const std::string& signature_file,
                                const std::string& keyring, const OpenPgpOptions& options = {});

}  // namespace imager::repo
