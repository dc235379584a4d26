#include "store/sqlite_store.hpp"

#include "store/sql_store.hpp"

#include <sqlite3.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace sspr::store {
namespace {

using namespace detail;

struct sqlite_closer {
    void operator()(sqlite3* db) const noexcept { sqlite3_close_v2(db); }
};
using sqlite_ptr = std::unique_ptr<sqlite3, sqlite_closer>;

struct stmt_finalizer {
    void operator()(sqlite3_stmt* s) const noexcept { sqlite3_finalize(s); }
};
using stmt_ptr = std::unique_ptr<sqlite3_stmt, stmt_finalizer>;

// Resets a statement however exec leaves, so its read transaction ends and the next use starts
// clean. (A statement left un-reset keeps a WAL snapshot open and stops checkpoints.)
class stmt_reset {
public:
    explicit stmt_reset(sqlite3_stmt* s) noexcept : s_(s) {}
    stmt_reset(const stmt_reset&) = delete;
    stmt_reset& operator=(const stmt_reset&) = delete;
    ~stmt_reset() {
        sqlite3_reset(s_);
        sqlite3_clear_bindings(s_);
    }

private:
    sqlite3_stmt* s_;
};

error map_sqlite(int rc) noexcept {
    switch (rc & 0xff) {
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
        return error::busy;
    case SQLITE_FULL:
        return error::disk_full;
    case SQLITE_CONSTRAINT:
        // Only codes.flow_id has a foreign key: a code for a flow that is not there.
        return rc == SQLITE_CONSTRAINT_FOREIGNKEY ? error::not_found : error::conflict;
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
        return error::corrupt;
    case SQLITE_CANTOPEN:
    case SQLITE_IOERR:
    case SQLITE_READONLY:
    case SQLITE_PERM:
    case SQLITE_AUTH:
        return error::unavailable;
    default:
        return error::failed;
    }
}

std::string describe(sqlite3* db, int rc) {
    std::string out = sqlite3_errstr(rc);
    if (db != nullptr) {
        out += ": ";
        out += sqlite3_errmsg(db);
    }
    return out;
}

struct connection {
    sqlite_ptr db;
    std::array<stmt_ptr, stmt_count> stmts;
};

class sqlite_driver {
public:
    static constexpr std::string_view name = "sqlite";

    /// A connection on loan, with the in-process write lock when the statement writes.
    class lease {
    public:
        lease(sqlite_driver* driver, std::unique_ptr<connection> conn,
              std::unique_lock<std::timed_mutex> write) noexcept
            : driver_(driver), conn_(std::move(conn)), write_(std::move(write)) {}
        lease(lease&& other) noexcept = default;
        lease& operator=(lease&&) = delete;
        lease(const lease&) = delete;
        lease& operator=(const lease&) = delete;
        ~lease() {
            if (conn_) {
                driver_->release(std::move(conn_));
            }
        }
        connection& conn() const noexcept { return *conn_; }

    private:
        sqlite_driver* driver_;
        std::unique_ptr<connection> conn_;
        std::unique_lock<std::timed_mutex> write_;
    };

    static result<std::unique_ptr<sqlite_driver>> open(const sqlite_options& options,
                                                       const migration_step& step) {
        if (options.path.empty() || options.connections == 0) {
            return error::invalid_argument;
        }
        // SQLite gives the -wal and -shm files the permissions of the database file, so creating
        // it 0600 first keeps all three private whatever the process umask is.
        const int fd = ::open(options.path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
        if (fd < 0) {
            log_failure(name, "open", error::unavailable,
                        "cannot open " + options.path + ": " + std::strerror(errno));
            return error::unavailable;
        }
        // An existing file keeps whatever mode it has: one that group or others may read or
        // write would let them read every row or forge one, so it is refused, not used. Checked
        // on the descriptor opened, so the file checked is the file used.
        struct stat st {};
        const int stat_rc = ::fstat(fd, &st);
        ::close(fd);
        if (stat_rc != 0) {
            log_failure(name, "open", error::unavailable,
                        "cannot stat " + options.path + ": " + std::strerror(errno));
            return error::unavailable;
        }
        if (auto private_files = check_private(options.path, st); !private_files) {
            return private_files.error();
        }

        auto driver = std::unique_ptr<sqlite_driver>(new sqlite_driver(options));
        for (std::size_t i = 0; i < options.connections; ++i) {
            auto conn = open_connection(options);
            if (!conn) {
                return conn.error();
            }
            if (i == 0) {
                if (auto migrated = migrate((*conn)->db.get(), step); !migrated) {
                    return migrated.error();
                }
            }
            if (auto prepared = prepare(**conn); !prepared) {
                return prepared.error();
            }
            sqlite3_wal_hook((*conn)->db.get(), &sqlite_driver::on_wal_commit, driver.get());
            driver->idle_.push_back(std::move(*conn));
        }
        auto checkpoint_conn = open_connection(options);
        if (!checkpoint_conn) {
            return checkpoint_conn.error();
        }
        driver->checkpoint_db_ = std::move((*checkpoint_conn)->db);
        driver->checkpointer_ = std::thread([d = driver.get()] { d->checkpoint_loop(); });
        return driver;
    }

    sqlite_driver(const sqlite_driver&) = delete;
    sqlite_driver& operator=(const sqlite_driver&) = delete;
    sqlite_driver(sqlite_driver&&) = delete;
    sqlite_driver& operator=(sqlite_driver&&) = delete;
    ~sqlite_driver() {
        {
            const std::lock_guard lock(checkpoint_mutex_);
            stopping_ = true;
        }
        checkpoint_due_.notify_one();
        if (checkpointer_.joinable()) {
            checkpointer_.join();
        }
    }

    result<lease> acquire(bool write) {
        std::unique_lock<std::timed_mutex> write_lock(write_mutex_, std::defer_lock);
        if (write && !write_lock.try_lock_for(busy_timeout_)) {
            log_failure(name, "acquire", error::busy, "in-process write lock held too long");
            return error::busy;
        }
        std::unique_lock lock(mutex_);
        if (!available_.wait_for(lock, busy_timeout_, [this] { return !idle_.empty(); })) {
            log_failure(name, "acquire", error::overloaded, "no free connection");
            return error::overloaded;
        }
        auto conn = std::move(idle_.back());
        idle_.pop_back();
        return lease(this, std::move(conn), std::move(write_lock));
    }

    result<sql_result> exec(lease& l, stmt s, std::span<const sql_param> params) {
        const auto& def = statement(s);
        if (params.size() != def.params.size()) {
            throw std::logic_error("wrong parameter count for " + std::string(def.name));
        }
        return run_statement(l.conn().db.get(), l.conn().stmts[static_cast<std::size_t>(s)].get(),
                             def.name, def.writes, params);
    }

    /// Empties the page caches of the connections nobody leases now (sqlite3_db_release_memory;
    /// a leased one is skipped, not waited for). The pages are the file's, which the kernel's
    /// page cache holds anyway: a read after a quiet spell costs a pread(2) per page instead.
    void release_memory() noexcept {
        const std::lock_guard lock(mutex_);
        for (const auto& conn : idle_) {
            (void)sqlite3_db_release_memory(conn->db.get());
        }
    }

private:
    explicit sqlite_driver(const sqlite_options& options) : busy_timeout_(options.busy_timeout) {}

    // ---- checkpoints -------------------------------------------------------------------------
    // SQLite's automatic checkpoint runs inside the commit that crosses 1000 WAL pages: that
    // request copies the pages back and waits for fdatasync, a stall of milliseconds in the middle
    // of a user's step. Instead each pooled connection's WAL hook (which replaces the automatic
    // one) only wakes a thread of the store's own, which checkpoints PASSIVE on a connection of
    // its own: it never waits for readers or writers, and writers never wait for it.

    /// Pages in the WAL after which a checkpoint is due (SQLite's automatic default).
    static constexpr int checkpoint_pages = 1000;
    /// A checkpoint also runs this often while the WAL is not empty, so a quiet store's WAL is
    /// folded back too.
    static constexpr auto checkpoint_interval = std::chrono::seconds(5);

    static int on_wal_commit(void* self, sqlite3* /*db*/, const char* /*schema*/, int pages) {
        auto* driver = static_cast<sqlite_driver*>(self);
        if (pages >= checkpoint_pages) {
            {
                const std::lock_guard lock(driver->checkpoint_mutex_);
                driver->checkpoint_wanted_ = true;
            }
            driver->checkpoint_due_.notify_one();
        }
        return SQLITE_OK;
    }

    void checkpoint_loop() {
        std::unique_lock lock(checkpoint_mutex_);
        while (!stopping_) {
            checkpoint_due_.wait_for(lock, checkpoint_interval,
                                     [this] { return stopping_ || checkpoint_wanted_; });
            if (stopping_) {
                break;
            }
            checkpoint_wanted_ = false;
            lock.unlock();
            int wal_pages = 0;
            int copied = 0;
            const int rc = sqlite3_wal_checkpoint_v2(
                checkpoint_db_.get(), nullptr, SQLITE_CHECKPOINT_PASSIVE, &wal_pages, &copied);
            if (rc != SQLITE_OK && (rc & 0xff) != SQLITE_BUSY) {
                log_failure(name, "checkpoint", map_sqlite(rc), describe(checkpoint_db_.get(), rc));
            }
            lock.lock();
        }
    }

    void release(std::unique_ptr<connection> conn) {
        {
            const std::lock_guard lock(mutex_);
            idle_.push_back(std::move(conn));
        }
        available_.notify_one();
    }

    /// Binds `params` to `st`, steps it to the end and collects its rows.
    static result<sql_result> run_statement(sqlite3* db, sqlite3_stmt* st,
                                            std::string_view name_of_statement, bool writes,
                                            std::span<const sql_param> params) {
        const stmt_reset guard(st);
        for (std::size_t i = 0; i < params.size(); ++i) {
            const int index = static_cast<int>(i + 1);
            const auto& p = params[i];
            int rc = SQLITE_OK;
            switch (p.type) {
            case param_type::i64:
                rc = sqlite3_bind_int64(st, index, p.i);
                break;
            case param_type::text:
                rc = sqlite3_bind_text64(st, index, p.s.data(), p.s.size(), SQLITE_STATIC,
                                         SQLITE_UTF8);
                break;
            case param_type::blob:
                // A null pointer would bind NULL, which the NOT NULL columns refuse.
                rc = p.s.empty()
                         ? sqlite3_bind_zeroblob(st, index, 0)
                         : sqlite3_bind_blob64(st, index, p.s.data(), p.s.size(), SQLITE_STATIC);
                break;
            }
            if (rc != SQLITE_OK) {
                return fail(name_of_statement, db, rc);
            }
        }
        sql_result out;
        for (;;) {
            const int rc = sqlite3_step(st);
            if (rc == SQLITE_ROW) {
                const int columns = sqlite3_column_count(st);
                sql_row row(static_cast<std::size_t>(columns));
                for (int c = 0; c < columns; ++c) {
                    auto& cell = row[static_cast<std::size_t>(c)];
                    switch (sqlite3_column_type(st, c)) {
                    case SQLITE_NULL:
                        cell.null = true;
                        break;
                    case SQLITE_INTEGER:
                        cell.i = sqlite3_column_int64(st, c);
                        break;
                    default: {
                        const auto* data = static_cast<const char*>(sqlite3_column_blob(st, c));
                        const auto size = static_cast<std::size_t>(sqlite3_column_bytes(st, c));
                        if (data != nullptr) {
                            cell.s.assign(data, size);
                        }
                        break;
                    }
                    }
                }
                out.rows.push_back(std::move(row));
                continue;
            }
            if (rc == SQLITE_DONE) {
                // Only now is an autocommit write committed (for RETURNING too), so nothing is
                // acknowledged before it is in the WAL.
                if (writes) {
                    out.affected = static_cast<std::uint64_t>(sqlite3_changes64(db));
                }
                return out;
            }
            return fail(name_of_statement, db, rc);
        }
    }

    /// Refuses the database when it, or a -wal/-shm file beside it, grants group or others any
    /// access. `db` is the database file's own stat.
    static result<void> check_private(const std::string& path, const struct stat& db) {
        const auto refuse = [](const std::string& file, mode_t mode) -> result<void> {
            std::array<char, 8> digits{};
            const auto end = std::to_chars(digits.data(), digits.data() + digits.size(),
                                           static_cast<unsigned>(mode & 07777U), 8)
                                 .ptr;
            log_failure(name, "open", error::insecure_file,
                        file + " has mode 0" + std::string(digits.data(), end) +
                            ": group or others may access it; refused until it is private to "
                            "ssprd (chmod 600 " +
                            file + ")");
            return error::insecure_file;
        };
        if (!S_ISREG(db.st_mode)) {
            log_failure(name, "open", error::unavailable, path + " is not a regular file");
            return error::unavailable;
        }
        if ((db.st_mode & 077U) != 0) {
            return refuse(path, db.st_mode);
        }
        for (const char* suffix : {"-wal", "-shm"}) {
            const std::string side = path + suffix;
            struct stat st {};
            if (::lstat(side.c_str(), &st) == 0 && (st.st_mode & 077U) != 0) {
                return refuse(side, st.st_mode);
            }
        }
        return {};
    }

    static error fail(std::string_view operation, sqlite3* db, int rc) {
        const auto e = map_sqlite(rc);
        // A duplicate key or a missing parent row is an answer for the caller, not a fault.
        if (e != error::conflict && e != error::not_found) {
            log_failure(name, operation, e, describe(db, rc));
        }
        return e;
    }

    static result<void> exec_script(sqlite3* db, std::string_view operation,
                                    const std::string& sql) {
        const int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, nullptr);
        if (rc != SQLITE_OK) {
            return fail(operation, db, rc);
        }
        return {};
    }

    /// One statement outside the prepared set (a migration's), with $N parameters.
    static result<sql_result> run_adhoc(sqlite3* db, std::string_view sql,
                                        std::span<const sql_param> params) {
        const auto text = sqlite_text(sql);
        sqlite3_stmt* raw = nullptr;
        const int rc =
            sqlite3_prepare_v2(db, text.c_str(), static_cast<int>(text.size()), &raw, nullptr);
        const stmt_ptr st(raw);
        if (rc != SQLITE_OK) {
            return fail("migrate", db, rc);
        }
        return run_statement(db, st.get(), "migrate", true, params);
    }

    // Switching a new file to WAL needs an exclusive lock. When another process is doing the
    // same switch, SQLite answers SQLITE_BUSY at once without calling the busy handler (waiting
    // could deadlock), so two processes opening a fresh file together must retry here, up to the
    // same busy timeout as every other statement.
    static result<std::string> enter_wal(sqlite3* db, std::chrono::milliseconds busy_timeout) {
        const auto deadline = std::chrono::steady_clock::now() + busy_timeout;
        auto pause = std::chrono::milliseconds(1);
        for (;;) {
            sqlite3_stmt* raw = nullptr;
            int rc = sqlite3_prepare_v2(db, "PRAGMA journal_mode=WAL", -1, &raw, nullptr);
            const stmt_ptr st(raw);
            if (rc == SQLITE_OK) {
                rc = sqlite3_step(st.get());
                if (rc == SQLITE_ROW) {
                    const auto* text = sqlite3_column_text(st.get(), 0);
                    return std::string(text != nullptr ? reinterpret_cast<const char*>(text) : "");
                }
            }
            const int primary = rc & 0xff;
            if ((primary != SQLITE_BUSY && primary != SQLITE_LOCKED) ||
                std::chrono::steady_clock::now() + pause > deadline) {
                return fail("journal_mode", db, rc == SQLITE_DONE ? SQLITE_ERROR : rc);
            }
            std::this_thread::sleep_for(pause);
            pause = std::min(pause * 2, std::chrono::milliseconds(50));
        }
    }

    static result<std::int64_t> query_int(sqlite3* db, std::string_view operation,
                                          const std::string& sql) {
        sqlite3_stmt* raw = nullptr;
        int rc = sqlite3_prepare_v2(db, sql.c_str(), -1, &raw, nullptr);
        const stmt_ptr st(raw);
        if (rc != SQLITE_OK) {
            return fail(operation, db, rc);
        }
        rc = sqlite3_step(st.get());
        if (rc != SQLITE_ROW) {
            return fail(operation, db, rc == SQLITE_DONE ? SQLITE_ERROR : rc);
        }
        return sqlite3_column_int64(st.get(), 0);
    }

    static result<std::unique_ptr<connection>> open_connection(const sqlite_options& options) {
        sqlite3* raw = nullptr;
        // NOMUTEX: a connection is only ever used by the thread holding its lease.
        const int rc = sqlite3_open_v2(
            options.path.c_str(), &raw,
            SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, nullptr);
        auto conn = std::make_unique<connection>();
        conn->db.reset(raw);
        if (rc != SQLITE_OK) {
            return fail("open", raw, rc);
        }
        sqlite3* db = conn->db.get();
        sqlite3_extended_result_codes(db, 1);
        sqlite3_busy_timeout(db, static_cast<int>(options.busy_timeout.count()));

        auto mode = enter_wal(db, options.busy_timeout);
        if (!mode) {
            return mode.error();
        }
        if (*mode != "wal") {
            log_failure(name, "journal_mode", error::unavailable,
                        "WAL is not available for " + options.path + " (journal_mode " + *mode +
                            "); a network file system?");
            return error::unavailable;
        }
        std::string pragmas =
            options.synchronous_full ? "PRAGMA synchronous=FULL;" : "PRAGMA synchronous=NORMAL;";
        // foreign_keys: deleting a flow deletes its codes, and a code needs its flow.
        // journal_size_limit: a burst of writes must not leave a huge WAL file behind.
        pragmas += "PRAGMA foreign_keys=ON; PRAGMA trusted_schema=OFF;"
                   "PRAGMA journal_size_limit=67108864;";
        // cache_size: SQLite's page cache per connection (its default is 2 MiB, times every
        // connection of the pool); the kernel's page cache holds the file anyway.
        pragmas += "PRAGMA cache_size=-" + std::to_string(options.cache_kib) + ";";
        if (options.max_page_count > 0) {
            pragmas += "PRAGMA max_page_count=" + std::to_string(options.max_page_count) + ";";
        }
        if (auto r = exec_script(db, "pragmas", pragmas); !r) {
            return r.error();
        }
        return conn;
    }

    static result<void> migrate(sqlite3* db, const migration_step& step) {
        // IMMEDIATE: take the write lock first, so two processes opening a new file at once
        // cannot both decide to create the tables.
        if (auto r = exec_script(db, "migrate", "BEGIN IMMEDIATE"); !r) {
            return r.error();
        }
        const auto rollback = [db](boost::system::error_code e) -> result<void> {
            sqlite3_exec(db, "ROLLBACK", nullptr, nullptr, nullptr);
            return e;
        };
        if (auto r = exec_script(db, "migrate", std::string(create_version_table)); !r) {
            return rollback(r.error());
        }
        auto current = query_int(db, "migrate", std::string(read_version));
        if (!current) {
            return rollback(current.error());
        }
        const auto version = *current;
        if (version > latest_schema_version) {
            log_failure(name, "migrate", error::schema_too_new,
                        "database schema version " + std::to_string(version) + " is newer than " +
                            std::to_string(latest_schema_version) +
                            ", the newest this build knows");
            return rollback(error::schema_too_new);
        }
        const auto now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                                std::chrono::system_clock::now().time_since_epoch())
                                .count();
        for (const auto& m : migrations) {
            if (m.version <= version) {
                continue;
            }
            if (auto r = exec_script(db, "migrate", migration_sql(m, dialect::sqlite)); !r) {
                return rollback(r.error());
            }
            if (m.needs_keys) {
                const migration_exec run = [db](std::string_view sql,
                                                std::span<const sql_param> params) {
                    return run_adhoc(db, sql, params);
                };
                if (auto r = step(m.version, run); !r) {
                    return rollback(r.error());
                }
            }
            if (auto r = exec_script(db, "migrate", version_insert_sql(m, now_ms)); !r) {
                return rollback(r.error());
            }
        }
        if (auto r = exec_script(db, "migrate", "COMMIT"); !r) {
            return rollback(r.error());
        }
        return {};
    }

    static result<void> prepare(connection& conn) {
        for (std::size_t i = 0; i < stmt_count; ++i) {
            const auto& def = statement(static_cast<stmt>(i));
            const auto text = sqlite_text(def.sql);
            sqlite3_stmt* raw = nullptr;
            const int rc =
                sqlite3_prepare_v3(conn.db.get(), text.c_str(), static_cast<int>(text.size()),
                                   SQLITE_PREPARE_PERSISTENT, &raw, nullptr);
            conn.stmts[i].reset(raw);
            if (rc != SQLITE_OK) {
                return fail(def.name, conn.db.get(), rc);
            }
        }
        return {};
    }

    const std::chrono::milliseconds busy_timeout_;
    std::timed_mutex write_mutex_;
    std::mutex mutex_;
    std::condition_variable available_;
    std::vector<std::unique_ptr<connection>> idle_; // guarded by mutex_

    sqlite_ptr checkpoint_db_; // used by checkpointer_ only
    std::mutex checkpoint_mutex_;
    std::condition_variable checkpoint_due_;
    bool checkpoint_wanted_ = false; // guarded by checkpoint_mutex_
    bool stopping_ = false;          // guarded by checkpoint_mutex_
    std::thread checkpointer_;       // last: started when everything above exists
};

} // namespace

result<std::unique_ptr<state_store>> make_sqlite_store(const sqlite_options& options,
                                                       std::shared_ptr<const crypto::keyring> keys,
                                                       const common::secret& row_mac_key,
                                                       std::shared_ptr<common::random> random) {
    if (!keys || !random || row_mac_key.reveal().size() < min_row_mac_key_bytes) {
        return error::invalid_argument;
    }
    auto mac = std::make_shared<const row_mac>(row_mac_key);
    auto driver =
        sqlite_driver::open(options, sql_store<sqlite_driver>::migrator(keys, mac, random));
    if (!driver) {
        return driver.error();
    }
    return std::unique_ptr<state_store>(std::make_unique<sql_store<sqlite_driver>>(
        std::move(*driver), std::move(keys), std::move(mac), std::move(random)));
}

} // namespace sspr::store
