// The embedded StateStore: one SQLite file, the default for a single gateway instance.
//
// - WAL journal, so readers never wait for the writer.
// - synchronous=NORMAL by default. In WAL mode a commit has been written to the WAL file with
//   write(2) before sqlite3_step returns, so a gateway killed with SIGKILL (or crashing) loses no
//   acknowledged write: the kernel still holds the pages (tests/integration/store kills a writer
//   to prove it). What NORMAL gives up is the fsync per commit, i.e. the last commits before a
//   power loss or kernel crash; set `synchronous_full` to pay an fsync per commit for those too.
// - In-process writers take one mutex instead of meeting on SQLite's file lock, whose busy
//   handler sleeps in milliseconds; the busy timeout still covers other processes (a rotation
//   command, the sqlite3 shell).
// - Checkpoints run on a thread of the store's own (PASSIVE, never blocking a request), not
//   inside the commit that happens to cross 1000 WAL pages, which would make that request wait
//   for the copy and an fdatasync.
// - Schema migrations with a version table, in one IMMEDIATE transaction, when opened.
// - Every flow, code and enrollment row carries a MAC checked on every read (store/row_mac.hpp).
// - Every call blocks: run it from a common::blocking_pool.
#pragma once

#include "store/state_store.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace sspr::store {

struct sqlite_options {
    /// The database file; created (mode 0600) with its schema when missing. An existing file
    /// (or -wal/-shm beside it) that group or others may access is refused: insecure_file.
    std::string path;
    /// Connections kept open; reads run in parallel on them, writes one at a time.
    std::size_t connections = 4;
    /// How long a write waits for the write lock (in-process mutex, then SQLite's file lock)
    /// before error::busy, and a call waits for a free connection before error::overloaded.
    std::chrono::milliseconds busy_timeout{5000};
    /// fsync on every commit (synchronous=FULL): survives power loss too, at a disk flush per
    /// write.
    bool synchronous_full = false;
    /// SQLite's max_page_count on every connection (0: SQLite's own limit). The tests use it to
    /// make the database "full" without a small file system, which needs mount rights.
    std::int64_t max_page_count = 0;
    /// SQLite's page cache per connection, in KiB (its own default is 2048). A miss costs a
    /// pread(2) from the kernel's page cache, not a disk read, while the file is in use.
    std::size_t cache_kib = 512;
};

/// Opens (creating and migrating when needed) the SQLite store. `keys` seals the enrollments,
/// `row_mac_key` (the server HMAC key, at least 32 bytes) keys the MAC of every row. Errors:
/// invalid_argument (no keys or random, a short MAC key), unavailable (cannot open or create the
/// file, or it is not a regular file), insecure_file (group or others may access the file),
/// schema_too_new, corrupt (not a database), busy; the reason is logged.
[[nodiscard]] result<std::unique_ptr<state_store>>
make_sqlite_store(const sqlite_options& options, std::shared_ptr<const crypto::keyring> keys,
                  const common::secret& row_mac_key, std::shared_ptr<common::random> random);

} // namespace sspr::store
