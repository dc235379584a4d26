// The libldap implementation of the Directory seam, for Active Directory / Samba AD and OpenLDAP.
#pragma once

#include "common/clock.hpp"
#include "ldap/config.hpp"
#include "ldap/directory.hpp"

#include <memory>

namespace sspr::ldap {

/// Checks `cfg` and builds the directory. Connections are opened lazily, on first use. Throws
/// std::invalid_argument with a clear message for a configuration that cannot work (no URI, bad
/// filter template, plaintext without explicit consent); warns when certificate checks are off.
/// The process must ignore SIGPIPE (common::ignore_sigpipe, which main() calls): libldap would
/// otherwise let a vanished server kill the process.
std::unique_ptr<directory> make_directory(config cfg, std::shared_ptr<const common::clock> clock);

} // namespace sspr::ldap
