// The shared StateStore: PostgreSQL through libpq, for several gateway instances that must share
// one set of throttle limits, flows and enrollments.
//
// - The same schema, migrations and statements as the SQLite store (store/sql.hpp); migrations
//   run under a transaction-scoped advisory lock, so instances starting together migrate once.
// - Counters are one INSERT ... ON CONFLICT ... DO UPDATE ... RETURNING each: atomic on the row,
//   whichever instance or thread increments.
// - A small pool of connections, opened lazily and prepared once each; a connection the server
//   dropped (restart, failover) is noticed before reuse and replaced. A call on a lost connection
//   answers error::unavailable; the next call connects again.
// - Every flow, code and enrollment row carries a MAC checked on every read (store/row_mac.hpp):
//   another holder of the database role cannot forge state.
// - Every call blocks (on the network): run it from a common::blocking_pool.
#pragma once

#include "config/config.hpp"
#include "store/state_store.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace sspr::store {

struct postgres_options {
    std::string host = "127.0.0.1";
    std::uint16_t port = 5432;
    std::string database = "ssprd";
    std::string user = "ssprd";
    common::secret password;
    /// libpq sslmode; verify-full unless the admin explicitly chose otherwise.
    std::string sslmode = "verify-full";
    /// CA file for verify-ca / verify-full; empty: libpq's default (~/.postgresql/root.crt).
    std::string sslrootcert;
    /// The schema holding ssprd's tables (created when missing). Lower-case letters, digits and
    /// '_' only. Lets one database hold several independent stores (the tests use one each).
    std::string schema = "public";
    std::size_t pool_size = 4;
    std::chrono::milliseconds connect_timeout{5000};
    /// Server-side bound on every statement (statement_timeout), so a stuck lock cannot hold a
    /// blocking-pool thread for ever; exceeded means error::busy.
    std::chrono::milliseconds statement_timeout{5000};
    /// How long a call waits for a free connection before error::overloaded.
    std::chrono::milliseconds acquire_timeout{5000};
};

/// The options the YAML configuration gives (host, port, database, user, password, sslmode,
/// pool_size); the rest keep their defaults.
[[nodiscard]] postgres_options postgres_options_from(const config::postgres_config& cfg);

/// Connects, creates the schema when missing and migrates it. `keys` seals the enrollments,
/// `row_mac_key` (the server HMAC key, at least 32 bytes) keys the MAC of every row. Errors:
/// unavailable (cannot connect or log in), schema_too_new, invalid_argument (bad schema name or
/// pool size, no keys or random, a short MAC key); the reason is logged.
[[nodiscard]] result<std::unique_ptr<state_store>>
make_postgres_store(const postgres_options& options, std::shared_ptr<const crypto::keyring> keys,
                    const common::secret& row_mac_key, std::shared_ptr<common::random> random);

} // namespace sspr::store
