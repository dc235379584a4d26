// Errors of the state store: every fault SQLite, PostgreSQL or the at-rest encryption can produce
// maps to one of these values, so flows/ can decide (retry, tell the user, answer 503) without
// knowing which backend is configured. The database's own message goes to the log, never into
// the value, so nothing the database echoes back can reach a page.
#pragma once

#include <boost/system/error_code.hpp>
#include <boost/system/result.hpp>

#include <type_traits>

namespace sspr::store {

enum class error {
    /// The database stayed locked by another writer for longer than the busy timeout (SQLite
    /// SQLITE_BUSY/LOCKED; PostgreSQL lock timeout, deadlock, serialization failure, statement
    /// timeout). Retrying later may succeed.
    busy = 1,
    /// The database cannot be reached: connection refused or lost, authentication refused, file
    /// cannot be opened or read. Nothing was written (or, for a connection lost mid-statement,
    /// the outcome is unknown).
    unavailable,
    /// The database has no room left to write (SQLITE_FULL; PostgreSQL 53100 disk_full).
    disk_full,
    /// There is no such record.
    not_found,
    /// The record exists but its lifetime is over (flow or one-time code past its expiry).
    expired,
    /// The record changed since it was read (version compare-and-set lost), or one with the same
    /// key already exists.
    conflict,
    /// The one-time code has no tries left.
    no_tries_left,
    /// Stored data cannot be read back as written: authentication of the ciphertext failed
    /// (tampered, moved to another row or field, wrong key), a row does not decode, or the
    /// database file is damaged.
    corrupt,
    /// The data was encrypted under a key id the keyring does not hold (an old key was dropped
    /// before the rotation finished).
    unknown_key,
    /// The caller's value cannot be stored (empty key, invalid enum, over a length limit).
    invalid_argument,
    /// The database schema is newer than this build knows; it is left untouched.
    schema_too_new,
    /// Every connection is in use and the wait for one timed out; refused instead of queueing.
    overloaded,
    /// The SQLite database file (or its -wal/-shm file) may be read or written by group or others:
    /// anyone who can write it can forge state, anyone who can read it holds every row. Refused
    /// at open until it is made private (chmod 600).
    insecure_file,
    /// Any other database failure (unexpected SQL error or I/O error); details are in the log.
    failed,
};

const boost::system::error_category& store_category() noexcept;

inline boost::system::error_code make_error_code(error e) noexcept {
    return {static_cast<int>(e), store_category()};
}

template <class T> using result = boost::system::result<T>;

} // namespace sspr::store

template <> struct boost::system::is_error_code_enum<sspr::store::error> : std::true_type {};
