// The stores under test, each behind the same small fixture, so the conformance suite is written
// once (TEMPLATE_TEST_CASE over these types) and runs against the fake, SQLite and PostgreSQL:
//
//   fake_backend      in memory (tests/fakes/fake_state_store.hpp)
//   sqlite_backend    a fresh database file in a temporary directory, removed afterwards
//   postgres_backend  a fresh schema in the test server's database (from SSPR_TESTENV_FILE:
//                     SSPR_PG_HOST, _PORT, _DATABASE, _USER, _PASSWORD_FILE), dropped afterwards
//
// open() may be called again for a "restart": the new store sees the same data. The SQL backends
// also give raw access to their tables (for tampering and for checking what is at rest), and take
// the row MAC key in `mac_key` (default_mac_key() unless a test changes it).
#pragma once

#include "store/crypto.hpp"
#include "store/postgres_store.hpp"
#include "store/sqlite_store.hpp"
#include "store/state_store.hpp"
#include "tests/fakes/fake_state_store.hpp"

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

namespace sspr::testing::store_support {

/// Two fixed test keys (32 bytes of 0x11, of 0x22).
sspr::store::crypto::key key_a();
sspr::store::crypto::key key_b();
/// A keyring with key A only.
std::shared_ptr<const sspr::store::crypto::keyring> default_keys();
/// The server HMAC key the SQL stores derive their row MAC key from (32 bytes of 'm').
const sspr::common::secret& default_mac_key();

/// Thrown by the fixtures when the backend cannot be opened at all.
[[noreturn]] void fail_open(std::string_view backend, const boost::system::error_code& ec);

class fake_backend {
public:
    static constexpr std::string_view name = "fake";
    std::unique_ptr<sspr::store::state_store>
    open(const std::shared_ptr<const sspr::store::crypto::keyring>& keys = default_keys());

private:
    std::shared_ptr<fakes::fake_state_store::tables> tables_ =
        std::make_shared<fakes::fake_state_store::tables>();
};

class sqlite_backend {
public:
    static constexpr std::string_view name = "sqlite";
    sqlite_backend();
    sqlite_backend(const sqlite_backend&) = delete;
    sqlite_backend& operator=(const sqlite_backend&) = delete;
    ~sqlite_backend();

    std::unique_ptr<sspr::store::state_store>
    open(std::shared_ptr<const sspr::store::crypto::keyring> keys = default_keys());
    /// Opening without failing the test on an error.
    sspr::store::result<std::unique_ptr<sspr::store::state_store>>
    try_open(std::shared_ptr<const sspr::store::crypto::keyring> keys = default_keys());

    /// Runs SQL on a connection of its own (statements separated by ';').
    void exec(const std::string& sql);
    /// First column of the first row, as an integer / as raw bytes.
    std::int64_t query_int(const std::string& sql);
    std::string query_bytes(const std::string& sql);
    /// A literal for `bytes` in this dialect's SQL.
    static std::string blob_literal(std::string_view bytes);

    [[nodiscard]] const std::string& dir() const noexcept { return dir_; }
    [[nodiscard]] const std::string& path() const noexcept { return options.path; }

    sspr::store::sqlite_options options;
    sspr::common::secret mac_key = default_mac_key();

private:
    std::string dir_;
};

class postgres_backend {
public:
    static constexpr std::string_view name = "postgres";
    postgres_backend();
    postgres_backend(const postgres_backend&) = delete;
    postgres_backend& operator=(const postgres_backend&) = delete;
    ~postgres_backend();

    std::unique_ptr<sspr::store::state_store>
    open(std::shared_ptr<const sspr::store::crypto::keyring> keys = default_keys());
    sspr::store::result<std::unique_ptr<sspr::store::state_store>>
    try_open(std::shared_ptr<const sspr::store::crypto::keyring> keys = default_keys());

    void exec(const std::string& sql);
    std::int64_t query_int(const std::string& sql);
    std::string query_bytes(const std::string& sql);
    static std::string blob_literal(std::string_view bytes);

    [[nodiscard]] const std::string& schema() const noexcept { return options.schema; }

    /// Connection settings of the test server with a schema of this fixture's own.
    sspr::store::postgres_options options;
    sspr::common::secret mac_key = default_mac_key();
};

/// Connection settings of the test server (no schema chosen).
sspr::store::postgres_options postgres_server_options();

/// A schema name no other fixture in any process uses.
std::string unique_schema_name();

} // namespace sspr::testing::store_support
