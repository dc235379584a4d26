// `ssprd store rotate-key -c FILE`: re-seals every enrollment under the configured active key, so
// that the keys listed in store.older_encryption_key_files can be dropped afterwards (the
// procedure is in store/rotate.hpp). The gateway's main() calls run_rotate_key.
#pragma once

#include <iosfwd>
#include <string>

namespace sspr::store {

/// Loads the configuration at `config_path` as the daemon would, opens its store with its
/// keyring and rotates until a pass finds nothing left under an older key. Prints the counts and
/// key ids on `out` (never a key or any enrollment data; key ids are derived and say nothing
/// about a key).
///
/// Exit status: 0 every readable enrollment is under the active key; 1 the keys or the store
/// cannot be used, the rotation stopped on a store failure (running it again continues), some
/// enrollments cannot be read (their DNs are listed on `err`: keep the older keys until they are
/// dealt with), or enrollments keep appearing under older keys (a gateway still running with the
/// old active key); 2 the configuration is not valid (its errors, as check-config prints them,
/// on `err`).
int run_rotate_key(const std::string& config_path, std::ostream& out, std::ostream& err);

} // namespace sspr::store
