// Key rotation for the encrypted enrollment data: re-encrypts every row that is not under the
// keyring's active key. The admin's procedure: make a new key file, configure it as the active
// key with the old one kept as an older (read-only) key, run the rotation (the gateway may keep
// serving), then drop the old key from the configuration.
#pragma once

#include "store/crypto.hpp"
#include "store/state_store.hpp"

#include <cstddef>
#include <string>
#include <vector>

namespace sspr::store {

struct rotation_report {
    std::size_t examined = 0;  // enrollments read
    std::size_t rewritten = 0; // re-encrypted under the active key
    /// Rows that could not be read back (corrupt, unknown_key): left as they are, named here so
    /// an admin can look at them. Holding these back keeps the old key from being dropped.
    std::vector<std::string> unreadable;
};

/// Walks every enrollment of `store` (which must have been opened with `keys`) in batches of
/// `batch` and writes back each one whose key id is not keys.active(); the store seals it under
/// the active key. Keeps each row's updated_at. A row changed by someone else meanwhile is read
/// again (compare-and-set on the version). Stops at the first store failure that is not about one
/// row (unavailable, busy, disk_full, ...) and returns it; running it again continues where rows
/// are still under old keys.
[[nodiscard]] result<rotation_report> rotate(state_store& store, const crypto::keyring& keys,
                                             std::size_t batch = 500);

} // namespace sspr::store
