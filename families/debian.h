// SPDX-License-Identifier: GPL-3.0-or-later
#pragma once

/// The Debian family's row of the families table.

#include "families/family.h"

namespace imager::families {

Family DebianFamily();

}  // namespace imager::families
