#include "store/probe.hpp"

#include "store/sql.hpp"

#include <libpq-fe.h>
#include <sqlite3.h>

#include <sys/stat.h>

#include <memory>
#include <vector>

namespace sspr::store {
namespace {

struct sqlite_closer {
    void operator()(sqlite3* db) const noexcept { sqlite3_close_v2(db); }
};
using sqlite_ptr = std::unique_ptr<sqlite3, sqlite_closer>;
struct stmt_finalizer {
    void operator()(sqlite3_stmt* s) const noexcept { sqlite3_finalize(s); }
};
using stmt_ptr = std::unique_ptr<sqlite3_stmt, stmt_finalizer>;
struct pgconn_finisher {
    void operator()(PGconn* c) const noexcept { PQfinish(c); }
};
using pgconn_ptr = std::unique_ptr<PGconn, pgconn_finisher>;
struct pgresult_clearer {
    void operator()(PGresult* r) const noexcept { PQclear(r); }
};
using pgresult_ptr = std::unique_ptr<PGresult, pgresult_clearer>;

std::string first_line(const char* text) {
    std::string s = text != nullptr ? text : "";
    if (const auto nl = s.find('\n'); nl != std::string::npos) {
        s.resize(nl);
    }
    return s;
}

schema_probe probe_sqlite(const config::store_config& cfg, schema_probe out) {
    out.where = "sqlite " + cfg.sqlite_path;
    struct stat st {};
    if (::stat(cfg.sqlite_path.c_str(), &st) != 0) {
        out.result = schema_probe::outcome::empty;
        out.detail = "the database file does not exist yet";
        return out;
    }
    sqlite3* raw = nullptr;
    const int rc = sqlite3_open_v2(cfg.sqlite_path.c_str(), &raw, SQLITE_OPEN_READONLY, nullptr);
    const sqlite_ptr db(raw);
    if (rc != SQLITE_OK) {
        out.result = schema_probe::outcome::unavailable;
        out.detail = db ? sqlite3_errmsg(db.get()) : sqlite3_errstr(rc);
        return out;
    }
    sqlite3_busy_timeout(db.get(), 2000);
    sqlite3_stmt* s = nullptr;
    const std::string sql(detail::read_version);
    if (sqlite3_prepare_v2(db.get(), sql.c_str(), -1, &s, nullptr) != SQLITE_OK) {
        const stmt_ptr guard(s);
        const std::string why = sqlite3_errmsg(db.get());
        if (why.find("no such table") != std::string::npos) {
            out.result = schema_probe::outcome::empty;
            out.detail = "the database has no ssprd tables yet";
        } else {
            out.result = schema_probe::outcome::unreadable;
            out.detail = why;
        }
        return out;
    }
    const stmt_ptr stmt(s);
    if (sqlite3_step(stmt.get()) != SQLITE_ROW) {
        out.result = schema_probe::outcome::unreadable;
        out.detail = sqlite3_errmsg(db.get());
        return out;
    }
    out.result = schema_probe::outcome::opened;
    out.version = sqlite3_column_int64(stmt.get(), 0);
    return out;
}

schema_probe probe_postgres(const config::store_config& cfg, schema_probe out) {
    const auto& pg = cfg.postgres;
    out.where =
        "postgres " + pg.user + "@" + pg.host + ":" + std::to_string(pg.port) + "/" + pg.database;
    const std::string port = std::to_string(pg.port);
    std::vector<const char*> keys{
        "host", "port", "dbname", "user", "sslmode", "connect_timeout", "application_name"};
    std::vector<const char*> values{pg.host.c_str(), port.c_str(),       pg.database.c_str(),
                                    pg.user.c_str(), pg.sslmode.c_str(), "5",
                                    "ssprd doctor"};
    if (!pg.password.empty()) {
        keys.push_back("password");
        values.push_back(pg.password.reveal().data());
    }
    keys.push_back(nullptr);
    values.push_back(nullptr);
    const pgconn_ptr conn(PQconnectdbParams(keys.data(), values.data(), 0));
    if (!conn || PQstatus(conn.get()) != CONNECTION_OK) {
        out.result = schema_probe::outcome::unavailable;
        out.detail = conn ? first_line(PQerrorMessage(conn.get())) : "out of memory";
        return out;
    }
    const pgresult_ptr ro(PQexec(conn.get(), "START TRANSACTION READ ONLY"));
    const pgresult_ptr exists(
        PQexec(conn.get(), "SELECT to_regclass('schema_version') IS NOT NULL"));
    if (!exists || PQresultStatus(exists.get()) != PGRES_TUPLES_OK) {
        out.result = schema_probe::outcome::unreadable;
        out.detail = first_line(PQerrorMessage(conn.get()));
        return out;
    }
    if (std::string_view(PQgetvalue(exists.get(), 0, 0)) != "t") {
        out.result = schema_probe::outcome::empty;
        out.detail = "the database has no ssprd tables yet";
        return out;
    }
    const std::string sql(detail::read_version);
    const pgresult_ptr version(PQexec(conn.get(), sql.c_str()));
    if (!version || PQresultStatus(version.get()) != PGRES_TUPLES_OK) {
        out.result = schema_probe::outcome::unreadable;
        out.detail = first_line(PQerrorMessage(conn.get()));
        return out;
    }
    out.result = schema_probe::outcome::opened;
    out.version = std::stoll(PQgetvalue(version.get(), 0, 0));
    const pgresult_ptr end(PQexec(conn.get(), "ROLLBACK"));
    return out;
}

} // namespace

schema_probe probe_schema(const config::store_config& cfg) {
    schema_probe out;
    out.latest = detail::latest_schema_version;
    if (cfg.backend == config::store_backend::postgres) {
        return probe_postgres(cfg, std::move(out));
    }
    return probe_sqlite(cfg, std::move(out));
}

} // namespace sspr::store
