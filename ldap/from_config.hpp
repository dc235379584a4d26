// The directory layer's options from the admin's configuration: config/ reads and checks the YAML,
// this maps its directory section onto ldap::config (enums, durations, the bind secret), so the
// rest of ldap/ never sees the YAML structs.
#pragma once

#include "config/config.hpp"
#include "ldap/config.hpp"

namespace sspr::ldap {

/// Maps every key of `directory:`. The loader has already checked values and ranges, so nothing
/// here can fail; make_directory still refuses a combination that cannot work. Throws
/// std::invalid_argument for an `invalid` enum value (a struct filled by hand, not by the loader).
[[nodiscard]] config directory_options_from(const sspr::config::directory_config& cfg);

} // namespace sspr::ldap
