// The SQL both database stores share (internal to store/): one schema, one list of migrations
// and one text per statement, so SQLite and PostgreSQL hold exactly the same data the same way.
//
// The texts are written in the subset both dialects accept: $N parameters (SQLite reads them as
// ?N), INSERT ... ON CONFLICT ... DO UPDATE (an atomic upsert in both), RETURNING (SQLite >=
// 3.35), row values, and BYTEA for binary columns (SQLite gets BLOB). Every integer column is
// BIGINT and every time is milliseconds since the Unix epoch.
#pragma once

#include "store/error.hpp"

#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace sspr::store::detail {

enum class dialect { sqlite, postgres };

// ---- schema -------------------------------------------------------------------------------------

struct migration {
    std::int64_t version;
    std::string_view sql; // several statements, run in one transaction with the version row
    /// Work that needs the keys (re-sealing, MACs), done by the store in the same transaction
    /// after `sql` (see migration_step in sql_store.hpp).
    bool needs_keys = false;
};

/// In order; a database at version N gets every migration after N, once. Never edit a migration
/// that has shipped: add a new one.
inline constexpr std::array<migration, 3> migrations{{
    {1, R"sql(
CREATE TABLE flows (
    id TEXT PRIMARY KEY,
    user_dn TEXT NOT NULL,
    kind BIGINT NOT NULL,
    state BIGINT NOT NULL,
    gates_passed BIGINT NOT NULL,
    methods_used BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    version BIGINT NOT NULL
);
CREATE TABLE codes (
    flow_id TEXT NOT NULL REFERENCES flows (id) ON DELETE CASCADE,
    method BIGINT NOT NULL,
    binding_hash BYTEA NOT NULL,
    code_hash BYTEA NOT NULL,
    expires_at BIGINT NOT NULL,
    tries_left BIGINT NOT NULL,
    PRIMARY KEY (flow_id, method)
);
CREATE TABLE counters (
    counter_key TEXT PRIMARY KEY,
    hits BIGINT NOT NULL,
    window_end BIGINT NOT NULL,
    blocked_until BIGINT NOT NULL
);
CREATE TABLE enrollments (
    user_dn TEXT PRIMARY KEY,
    emails BYTEA NOT NULL,
    phones BYTEA NOT NULL,
    totp BYTEA NOT NULL,
    totp_last_step BIGINT NOT NULL,
    questions BYTEA NOT NULL,
    key_id BIGINT NOT NULL,
    version BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
)sql"},
    // The purge looks rows up by expiry; without these it scans whole tables under the write lock.
    {2, R"sql(
CREATE INDEX flows_expires_at ON flows (expires_at);
CREATE INDEX codes_expires_at ON codes (expires_at);
CREATE INDEX counters_window_end ON counters (window_end);
)sql"},
    // Row integrity (store/row_mac.hpp). Flows and codes live for minutes and cannot be given a
    // MAC without the key, so they go (a user in the middle of a reset starts again); enrollments
    // are re-sealed with their version bound in and given their MAC by the store, in the same
    // transaction, so none is left without one.
    {3, R"sql(
ALTER TABLE flows ADD COLUMN row_mac BYTEA NOT NULL DEFAULT '';
ALTER TABLE codes ADD COLUMN row_mac BYTEA NOT NULL DEFAULT '';
ALTER TABLE enrollments ADD COLUMN row_mac BYTEA NOT NULL DEFAULT '';
DELETE FROM codes;
DELETE FROM flows;
)sql",
     true},
}};

inline constexpr std::int64_t latest_schema_version = migrations.back().version;

inline constexpr std::string_view create_version_table =
    "CREATE TABLE IF NOT EXISTS schema_version (version BIGINT PRIMARY KEY, applied_at BIGINT NOT "
    "NULL)";
inline constexpr std::string_view read_version =
    "SELECT COALESCE(MAX(version), 0) FROM schema_version";

/// The migration text for `d` (BYTEA becomes BLOB for SQLite).
[[nodiscard]] std::string migration_sql(const migration& m, dialect d);

/// The statement recording that `m` was applied at `applied_at_ms`.
[[nodiscard]] std::string version_insert_sql(const migration& m, std::int64_t applied_at_ms);

// ---- statements ---------------------------------------------------------------------------------

enum class stmt : std::size_t {
    create_flow,
    get_flow,
    update_flow,
    delete_flow,
    put_code,
    get_code,
    take_try,
    delete_code,
    get_enrollment,
    enrollment_version,
    insert_enrollment,
    update_enrollment,
    delete_enrollment,
    list_enrollments,
    use_totp_step,
    increment,
    block,
    blocked_until,
    reset,
    purge_flows,
    purge_codes,
    purge_counters,
};
inline constexpr std::size_t stmt_count = static_cast<std::size_t>(stmt::purge_counters) + 1;

struct statement_def {
    stmt id;
    std::string_view name;   // also the PostgreSQL prepared statement name
    std::string_view params; // one letter per $N: i = BIGINT, t = TEXT, b = BYTEA
    bool writes;             // takes the SQLite in-process write lock
    std::string_view sql;
};

/// The definition of `s`.
[[nodiscard]] const statement_def& statement(stmt s) noexcept;

/// `sql` with $N turned into ?N for SQLite (the texts hold no other '$').
[[nodiscard]] std::string sqlite_text(std::string_view sql);

// ---- values passed to and read from the drivers -------------------------------------------------

enum class param_type { i64, text, blob };

/// A parameter; text and blob views must outlive the exec call.
struct sql_param {
    param_type type = param_type::i64;
    std::int64_t i = 0;
    std::string_view s;
};

[[nodiscard]] inline sql_param p_int(std::int64_t v) noexcept {
    return {param_type::i64, v, {}};
}
[[nodiscard]] inline sql_param p_text(std::string_view v) noexcept {
    return {param_type::text, 0, v};
}
[[nodiscard]] inline sql_param p_blob(std::string_view v) noexcept {
    return {param_type::blob, 0, v};
}

struct sql_cell {
    bool null = false;
    std::int64_t i = 0; // integer columns
    std::string s;      // text and binary columns
};
using sql_row = std::vector<sql_cell>;

struct sql_result {
    std::vector<sql_row> rows;
    std::uint64_t affected = 0; // rows changed by INSERT/UPDATE/DELETE
};

/// Runs one statement (not one of stmt's: SQL text with $N parameters) on the connection that is
/// migrating, inside its transaction. Handed to the store's migration step.
using migration_exec =
    std::function<result<sql_result>(std::string_view sql, std::span<const sql_param> params)>;

/// The store's part of migration `version` (one with needs_keys), run by the driver after the
/// migration's SQL and before its commit; a failure rolls the whole migration back.
using migration_step =
    std::function<result<void>(std::int64_t version, const migration_exec& exec)>;

// ---- logging ------------------------------------------------------------------------------------

/// Logs a database failure at warning level, at most once per second per error value, so a
/// database outage under load does not turn into a log flood. `detail` is the database's own
/// message: statement names and SQLSTATEs, never bound values.
void log_failure(std::string_view backend, std::string_view operation, boost::system::error_code e,
                 std::string_view detail);

} // namespace sspr::store::detail
