#include "store/postgres_store.hpp"

#include "store/sql_store.hpp"

#include <libpq-fe.h>
#include <poll.h>

#include <algorithm>
#include <condition_variable>
#include <cstring>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

namespace sspr::store {
namespace {

using namespace detail;

struct pgconn_finisher {
    void operator()(PGconn* c) const noexcept { PQfinish(c); }
};
using pgconn_ptr = std::unique_ptr<PGconn, pgconn_finisher>;

struct pgresult_clearer {
    void operator()(PGresult* r) const noexcept { PQclear(r); }
};
using pgresult_ptr = std::unique_ptr<PGresult, pgresult_clearer>;

// Type OIDs of pg_type (catalog/pg_type_d.h is a server header); stable since PostgreSQL 7.
constexpr Oid bytea_oid = 17;
constexpr Oid int8_oid = 20;
constexpr Oid int4_oid = 23;
constexpr Oid text_oid = 25;

// Any constant of our own: pg_advisory_xact_lock keys are shared by everything in the database.
constexpr std::int64_t migration_lock_key = 0x7373707264000001; // "ssprd" 1

bool valid_schema(std::string_view s) {
    if (s.empty() || s.size() > 63 || (s[0] >= '0' && s[0] <= '9')) {
        return false;
    }
    return std::all_of(s.begin(), s.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
    });
}

error map_sqlstate(std::string_view state) noexcept {
    if (state == "23505") {
        return error::conflict;
    }
    if (state == "23503") {
        return error::not_found; // a code for a flow that is not there
    }
    if (state == "53100") {
        return error::disk_full;
    }
    // serialization failure, deadlock, lock not available, statement timeout
    if (state == "40001" || state == "40P01" || state == "55P03" || state == "57014") {
        return error::busy;
    }
    // connection exceptions, admin/crash shutdown, cannot connect now, too many connections,
    // bad credentials, no such database, read-only (a standby)
    if (state.starts_with("08") || state.starts_with("57P") || state.starts_with("28") ||
        state == "53300" || state == "3D000" || state == "25006") {
        return error::unavailable;
    }
    if (state == "XX001" || state == "XX002") {
        return error::corrupt;
    }
    return error::failed;
}

// First line of libpq's message: its later lines may repeat the statement's DETAIL, which can
// quote values.
std::string first_line(const char* message) {
    std::string out = message != nullptr ? message : "";
    if (const auto nl = out.find('\n'); nl != std::string::npos) {
        out.resize(nl);
    }
    return out;
}

// Notices (e.g. "relation already exists, skipping") would go to stderr by default.
void ignore_notice(void* /*arg*/, const char* /*message*/) {}

std::int64_t read_be(const char* p, std::size_t n) noexcept {
    std::uint64_t v = 0;
    for (std::size_t i = 0; i < n; ++i) {
        v = (v << 8U) | static_cast<unsigned char>(p[i]);
    }
    if (n == 4) {
        return static_cast<std::int32_t>(static_cast<std::uint32_t>(v));
    }
    return static_cast<std::int64_t>(v);
}

class pg_driver {
public:
    static constexpr std::string_view name = "postgres";

    /// A connection on loan; back to the pool when the lease dies, or dropped if it broke.
    class lease {
    public:
        lease(pg_driver* driver, pgconn_ptr conn) noexcept
            : driver_(driver), conn_(std::move(conn)) {}
        lease(lease&& other) noexcept = default;
        lease& operator=(lease&&) = delete;
        lease(const lease&) = delete;
        lease& operator=(const lease&) = delete;
        ~lease() {
            if (conn_) {
                driver_->release(std::move(conn_));
            }
        }
        PGconn* conn() const noexcept { return conn_.get(); }

    private:
        pg_driver* driver_;
        pgconn_ptr conn_;
    };

    static result<std::unique_ptr<pg_driver>> open(const postgres_options& options,
                                                   const migration_step& step) {
        if (!valid_schema(options.schema) || options.pool_size == 0 || options.host.empty()) {
            return error::invalid_argument;
        }
        auto driver = std::unique_ptr<pg_driver>(new pg_driver(options));
        // The first connection migrates before any statement is prepared: preparing needs the
        // tables.
        auto first = driver->connect(false);
        if (!first) {
            return first.error();
        }
        if (auto migrated = driver->migrate(first->get(), step); !migrated) {
            return migrated.error();
        }
        if (auto prepared = prepare(first->get()); !prepared) {
            return prepared.error();
        }
        driver->idle_.push_back(std::move(*first));
        driver->open_ = 1;
        return driver;
    }

    result<lease> acquire(bool /*write*/) {
        std::unique_lock lock(mutex_);
        const auto deadline = std::chrono::steady_clock::now() + options_.acquire_timeout;
        for (;;) {
            while (!idle_.empty()) {
                auto conn = std::move(idle_.back());
                idle_.pop_back();
                if (healthy(conn.get())) {
                    return lease(this, std::move(conn));
                }
                // Dropped by the server while idle (restart, failover, idle timeout): replace
                // it instead of failing the caller's statement on it.
                --open_;
            }
            if (open_ < options_.pool_size) {
                ++open_;
                lock.unlock();
                auto conn = connect(true);
                if (!conn) {
                    lock.lock();
                    --open_;
                    available_.notify_one();
                    return conn.error();
                }
                return lease(this, std::move(*conn));
            }
            if (available_.wait_until(lock, deadline) == std::cv_status::timeout && idle_.empty() &&
                open_ >= options_.pool_size) {
                log_failure(name, "acquire", error::overloaded, "no free connection");
                return error::overloaded;
            }
        }
    }

    result<sql_result> exec(lease& l, stmt s, std::span<const sql_param> params) {
        const auto& def = statement(s);
        if (params.size() != def.params.size()) {
            throw std::logic_error("wrong parameter count for " + std::string(def.name));
        }
        const binary_params bound(params);
        const pgresult_ptr res(PQexecPrepared(l.conn(), def.name.data(),
                                              static_cast<int>(params.size()), bound.values(),
                                              bound.lengths(), bound.formats(), 1));
        return collect(l.conn(), res.get(), def.name, def.writes);
    }

private:
    explicit pg_driver(const postgres_options& options) : options_(options) {}

    void release(pgconn_ptr conn) {
        const bool keep = PQstatus(conn.get()) == CONNECTION_OK &&
                          PQtransactionStatus(conn.get()) == PQTRANS_IDLE;
        {
            const std::lock_guard lock(mutex_);
            if (keep) {
                idle_.push_back(std::move(conn));
            } else {
                --open_;
            }
        }
        available_.notify_one();
    }

    static bool healthy(PGconn* c) {
        // Reads whatever the server sent while the connection sat idle (libpq sockets are
        // non-blocking inside, so this never waits). A server that ended the session sends a
        // FATAL message and then closes: the first read takes the message, a later one meets the
        // end of the stream. So read until the socket has nothing more (a few rounds at most).
        for (int round = 0; round < 4; ++round) {
            if (PQstatus(c) != CONNECTION_OK) {
                return false;
            }
            pollfd p{PQsocket(c), POLLIN, 0};
            const int ready = ::poll(&p, 1, 0);
            if (ready == 0) {
                break;
            }
            if (ready < 0 || PQconsumeInput(c) == 0) {
                return false;
            }
        }
        return PQstatus(c) == CONNECTION_OK && PQtransactionStatus(c) == PQTRANS_IDLE;
    }

    /// Parameters in binary: integers as 8 big-endian bytes, text and bytea as they are. The
    /// views must outlive the call that sends them.
    class binary_params {
    public:
        explicit binary_params(std::span<const sql_param> params)
            : ints_(params.size()), values_(params.size()), lengths_(params.size()),
              formats_(params.size(), 1), types_(params.size()) {
            for (std::size_t i = 0; i < params.size(); ++i) {
                const auto& p = params[i];
                if (p.type == param_type::i64) {
                    const auto u = static_cast<std::uint64_t>(p.i);
                    for (std::size_t b = 0; b < 8; ++b) {
                        ints_[i][b] = static_cast<char>((u >> (56 - 8 * b)) & 0xffU);
                    }
                    values_[i] = ints_[i].data();
                    lengths_[i] = 8;
                    types_[i] = int8_oid;
                } else {
                    // A null pointer would send SQL NULL; an empty value must still be a value.
                    values_[i] = p.s.empty() ? "" : p.s.data();
                    lengths_[i] = static_cast<int>(p.s.size());
                    types_[i] = p.type == param_type::blob ? bytea_oid : text_oid;
                }
            }
        }
        [[nodiscard]] const char* const* values() const noexcept { return values_.data(); }
        [[nodiscard]] const int* lengths() const noexcept { return lengths_.data(); }
        [[nodiscard]] const int* formats() const noexcept { return formats_.data(); }
        [[nodiscard]] const Oid* types() const noexcept { return types_.data(); }

    private:
        std::vector<std::array<char, 8>> ints_;
        std::vector<const char*> values_;
        std::vector<int> lengths_;
        std::vector<int> formats_;
        std::vector<Oid> types_;
    };

    /// The rows of a binary-format result (or the failure it reports).
    static result<sql_result> collect(PGconn* conn, PGresult* res, std::string_view name,
                                      bool writes) {
        const auto status = res != nullptr ? PQresultStatus(res) : PGRES_FATAL_ERROR;
        if (status != PGRES_TUPLES_OK && status != PGRES_COMMAND_OK) {
            return fail(name, conn, res);
        }
        sql_result out;
        const int rows = PQntuples(res);
        const int columns = PQnfields(res);
        out.rows.reserve(static_cast<std::size_t>(rows));
        for (int r = 0; r < rows; ++r) {
            sql_row row(static_cast<std::size_t>(columns));
            for (int c = 0; c < columns; ++c) {
                auto& cell = row[static_cast<std::size_t>(c)];
                if (PQgetisnull(res, r, c) != 0) {
                    cell.null = true;
                    continue;
                }
                const char* data = PQgetvalue(res, r, c);
                const auto size = static_cast<std::size_t>(PQgetlength(res, r, c));
                const Oid type = PQftype(res, c);
                if (type == int8_oid || type == int4_oid) {
                    if (size != (type == int8_oid ? 8U : 4U)) {
                        return fail_with(name, error::corrupt, "unexpected integer width");
                    }
                    cell.i = read_be(data, size);
                } else {
                    cell.s.assign(data, size);
                }
            }
            out.rows.push_back(std::move(row));
        }
        const char* affected = PQcmdTuples(res);
        if (writes && affected != nullptr && *affected != '\0') {
            out.affected = std::strtoull(affected, nullptr, 10);
        }
        return out;
    }

    /// One statement outside the prepared set (a migration's), on the migrating connection.
    static result<sql_result> run_adhoc(PGconn* conn, std::string_view sql,
                                        std::span<const sql_param> params) {
        const binary_params bound(params);
        const std::string text(sql);
        const pgresult_ptr res(PQexecParams(conn, text.c_str(), static_cast<int>(params.size()),
                                            bound.types(), bound.values(), bound.lengths(),
                                            bound.formats(), 1));
        return collect(conn, res.get(), "migrate", true);
    }

    static error fail_with(std::string_view operation, error e, const std::string& detail) {
        log_failure(name, operation, e, detail);
        return e;
    }

    static error fail(std::string_view operation, PGconn* conn, const PGresult* res) {
        if (PQstatus(conn) != CONNECTION_OK) {
            return fail_with(operation, error::unavailable,
                             "connection lost: " + first_line(PQerrorMessage(conn)));
        }
        const char* state = res != nullptr ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : nullptr;
        const char* primary =
            res != nullptr ? PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY) : nullptr;
        if (state == nullptr) {
            return fail_with(operation, error::failed, first_line(PQerrorMessage(conn)));
        }
        const auto e = map_sqlstate(state);
        // A duplicate key or a missing parent row is an answer for the caller, not a fault.
        if (e == error::conflict || e == error::not_found) {
            return e;
        }
        return fail_with(operation, e,
                         std::string("SQLSTATE ") + state + ": " + first_line(primary));
    }

    result<pgconn_ptr> connect(bool prepare_statements) const {
        const auto port = std::to_string(options_.port);
        const auto timeout = std::to_string(std::max<std::int64_t>(
            2, (options_.connect_timeout.count() + 999) / 1000)); // libpq: whole seconds, >= 2
        // search_path: our schema only, so unqualified names cannot resolve elsewhere.
        const auto server_options = "-c search_path=" + options_.schema + " -c statement_timeout=" +
                                    std::to_string(options_.statement_timeout.count());
        const auto user_timeout = std::to_string(options_.connect_timeout.count());
        std::vector<const char*> keys{"host",
                                      "port",
                                      "dbname",
                                      "user",
                                      "sslmode",
                                      "connect_timeout",
                                      "options",
                                      "application_name",
                                      "client_encoding",
                                      "keepalives",
                                      "keepalives_idle",
                                      "tcp_user_timeout"};
        std::vector<const char*> values{options_.host.c_str(),
                                        port.c_str(),
                                        options_.database.c_str(),
                                        options_.user.c_str(),
                                        options_.sslmode.c_str(),
                                        timeout.c_str(),
                                        server_options.c_str(),
                                        "ssprd",
                                        "UTF8",
                                        "1",
                                        "30",
                                        user_timeout.c_str()};
        // The secret's own buffer (a std::string, so NUL-terminated): no copy left behind.
        if (!options_.password.empty()) {
            keys.push_back("password");
            values.push_back(options_.password.reveal().data());
        }
        if (!options_.sslrootcert.empty()) {
            keys.push_back("sslrootcert");
            values.push_back(options_.sslrootcert.c_str());
        }
        keys.push_back(nullptr);
        values.push_back(nullptr);
        pgconn_ptr conn(PQconnectdbParams(keys.data(), values.data(), 0));
        if (!conn) {
            return fail_with("connect", error::failed, "out of memory");
        }
        if (PQstatus(conn.get()) != CONNECTION_OK) {
            // libpq's text names host and user but never the password.
            return fail_with("connect", error::unavailable, first_line(PQerrorMessage(conn.get())));
        }
        PQsetNoticeProcessor(conn.get(), ignore_notice, nullptr);
        if (prepare_statements) {
            if (auto prepared = prepare(conn.get()); !prepared) {
                return prepared.error();
            }
        }
        return conn;
    }

    static result<void> prepare(PGconn* conn) {
        for (std::size_t i = 0; i < stmt_count; ++i) {
            const auto& def = statement(static_cast<stmt>(i));
            std::vector<Oid> types;
            types.reserve(def.params.size());
            for (const char t : def.params) {
                types.push_back(t == 'i' ? int8_oid : t == 'b' ? bytea_oid : text_oid);
            }
            const std::string text(def.sql);
            const pgresult_ptr res(PQprepare(conn, def.name.data(), text.c_str(),
                                             static_cast<int>(types.size()), types.data()));
            if (!res || PQresultStatus(res.get()) != PGRES_COMMAND_OK) {
                return fail(def.name, conn, res.get());
            }
        }
        return {};
    }

    static result<void> simple(PGconn* conn, std::string_view operation, const std::string& sql) {
        const pgresult_ptr res(PQexec(conn, sql.c_str()));
        const auto status = res ? PQresultStatus(res.get()) : PGRES_FATAL_ERROR;
        if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
            return fail(operation, conn, res.get());
        }
        return {};
    }

    static result<std::int64_t> query_int(PGconn* conn, std::string_view operation,
                                          const std::string& sql) {
        const pgresult_ptr res(PQexec(conn, sql.c_str()));
        if (!res || PQresultStatus(res.get()) != PGRES_TUPLES_OK || PQntuples(res.get()) != 1) {
            return fail(operation, conn, res.get());
        }
        return std::strtoll(PQgetvalue(res.get(), 0, 0), nullptr, 10);
    }

    result<void> migrate(PGconn* conn, const migration_step& step) const {
        if (auto r = simple(conn, "migrate", "BEGIN"); !r) {
            return r.error();
        }
        const auto rollback = [conn](boost::system::error_code e) -> result<void> {
            const pgresult_ptr res(PQexec(conn, "ROLLBACK"));
            return e;
        };
        // One instance migrates at a time; the others wait here and then find nothing to do.
        if (auto r =
                simple(conn, "migrate",
                       "SELECT pg_advisory_xact_lock(" + std::to_string(migration_lock_key) + ")");
            !r) {
            return rollback(r.error());
        }
        auto exists = query_int(conn, "migrate",
                                "SELECT count(*) FROM pg_namespace WHERE nspname = '" +
                                    options_.schema + "'");
        if (!exists) {
            return rollback(exists.error());
        }
        if (*exists == 0) {
            if (auto r = simple(conn, "migrate", "CREATE SCHEMA \"" + options_.schema + "\""); !r) {
                return rollback(r.error());
            }
        }
        // The connection's search_path named the schema before it existed; name it again.
        if (auto r =
                simple(conn, "migrate", "SET LOCAL search_path TO \"" + options_.schema + "\"");
            !r) {
            return rollback(r.error());
        }
        if (auto r = simple(conn, "migrate", std::string(create_version_table)); !r) {
            return rollback(r.error());
        }
        auto version = query_int(conn, "migrate", std::string(read_version));
        if (!version) {
            return rollback(version.error());
        }
        if (*version > latest_schema_version) {
            log_failure(name, "migrate", error::schema_too_new,
                        "database schema version " + std::to_string(*version) + " is newer than " +
                            std::to_string(latest_schema_version) +
                            ", the newest this build knows");
            return rollback(error::schema_too_new);
        }
        const auto now_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                                std::chrono::system_clock::now().time_since_epoch())
                                .count();
        for (const auto& m : migrations) {
            if (m.version <= *version) {
                continue;
            }
            if (auto r = simple(conn, "migrate", migration_sql(m, dialect::postgres)); !r) {
                return rollback(r.error());
            }
            if (m.needs_keys) {
                const migration_exec run = [conn](std::string_view sql,
                                                  std::span<const sql_param> params) {
                    return run_adhoc(conn, sql, params);
                };
                if (auto r = step(m.version, run); !r) {
                    return rollback(r.error());
                }
            }
            if (auto r = simple(conn, "migrate", version_insert_sql(m, now_ms)); !r) {
                return rollback(r.error());
            }
        }
        if (auto r = simple(conn, "migrate", "COMMIT"); !r) {
            return rollback(r.error());
        }
        return {};
    }

    const postgres_options options_;
    std::mutex mutex_;
    std::condition_variable available_;
    std::vector<pgconn_ptr> idle_; // guarded by mutex_
    std::size_t open_ = 0;         // idle + leased + being opened; guarded by mutex_
};

} // namespace

postgres_options postgres_options_from(const config::postgres_config& cfg) {
    postgres_options out;
    out.host = cfg.host;
    out.port = cfg.port;
    out.database = cfg.database;
    out.user = cfg.user;
    out.password = cfg.password;
    out.sslmode = cfg.sslmode;
    out.pool_size = cfg.pool_size;
    return out;
}

result<std::unique_ptr<state_store>>
make_postgres_store(const postgres_options& options, std::shared_ptr<const crypto::keyring> keys,
                    const common::secret& row_mac_key, std::shared_ptr<common::random> random) {
    if (!keys || !random || row_mac_key.reveal().size() < min_row_mac_key_bytes) {
        return error::invalid_argument;
    }
    auto mac = std::make_shared<const row_mac>(row_mac_key);
    auto driver = pg_driver::open(options, sql_store<pg_driver>::migrator(keys, mac, random));
    if (!driver) {
        return driver.error();
    }
    return std::unique_ptr<state_store>(std::make_unique<sql_store<pg_driver>>(
        std::move(*driver), std::move(keys), std::move(mac), std::move(random)));
}

} // namespace sspr::store
