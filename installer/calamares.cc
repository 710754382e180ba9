// SPDX-License-Identifier: GPL-3.0-or-later
// PLACEHOLDER until the calamares branch merges.
#include "installer/calamares.h"

namespace imager::installer {

Result<std::vector<GeneratedFile>> CalamaresFiles(const profiles::Profile&, const CalamaresPaths&) {
  return std::vector<GeneratedFile>{
      {"/etc/calamares/settings.conf", "# placeholder\n", 0644, false},
      {"/etc/calamares/branding", "x", 0644, true}};
}

}  // namespace imager::installer
