// `ssprd doctor`'s look at the store, without creating, migrating or writing anything: can the
// configured SQLite file or PostgreSQL database be opened, and which schema version does it hold
// compared with the one this build migrates to (`ssprd serve` migrates on start).
#pragma once

#include "config/config.hpp"

#include <cstdint>
#include <string>

namespace sspr::store {

struct schema_probe {
    enum class outcome {
        invalid = 0,
        /// Opened; `version` is what the schema_version table says.
        opened,
        /// SQLite: no file yet (`ssprd serve` creates it); PostgreSQL: reachable, no ssprd tables.
        empty,
        /// Cannot open / connect / log in; `detail` says why (never a password).
        unavailable,
        /// Opened, but not an ssprd store (not a database, or the version cannot be read).
        unreadable,
    };
    outcome result = outcome::invalid;
    std::int64_t version = 0;
    std::int64_t latest = 0; // the schema version of this build
    std::string where; // "sqlite /var/lib/ssprd/state.db", "postgres ssprd@127.0.0.1:5432/ssprd"
    std::string detail;
};

/// Read-only: SQLite opened with SQLITE_OPEN_READONLY, PostgreSQL with a read-only transaction.
[[nodiscard]] schema_probe probe_schema(const config::store_config& cfg);

} // namespace sspr::store
