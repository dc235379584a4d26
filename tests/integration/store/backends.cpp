#include "tests/integration/store/backends.hpp"

#include "common/random.hpp"
#include "tests/integration/testenv.hpp"

#include <libpq-fe.h>
#include <sqlite3.h>

#include <unistd.h>

#include <array>
#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <stdexcept>

namespace sspr::testing::store_support {
namespace {

using sspr::store::crypto::key;
using sspr::store::crypto::keyring;

key fill_key(std::byte b) {
    std::array<std::byte, 32> bytes{};
    bytes.fill(b);
    return key(bytes);
}

std::string hex(std::string_view bytes) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string out;
    out.reserve(bytes.size() * 2);
    for (const char c : bytes) {
        const auto u = static_cast<unsigned char>(c);
        out.push_back(digits[u >> 4U]);
        out.push_back(digits[u & 0xfU]);
    }
    return out;
}

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

sqlite_ptr raw_sqlite(const std::string& path) {
    sqlite3* raw = nullptr;
    const int rc = sqlite3_open_v2(path.c_str(), &raw, SQLITE_OPEN_READWRITE, nullptr);
    sqlite_ptr db(raw);
    if (rc != SQLITE_OK) {
        throw std::runtime_error("cannot open " + path + " for the test: " + sqlite3_errstr(rc));
    }
    sqlite3_busy_timeout(db.get(), 5000);
    return db;
}

sqlite_ptr sqlite_query(const std::string& path, const std::string& sql, stmt_ptr& out) {
    auto db = raw_sqlite(path);
    sqlite3_stmt* raw = nullptr;
    if (sqlite3_prepare_v2(db.get(), sql.c_str(), -1, &raw, nullptr) != SQLITE_OK) {
        throw std::runtime_error("test query failed: " + std::string(sqlite3_errmsg(db.get())));
    }
    out.reset(raw);
    if (sqlite3_step(raw) != SQLITE_ROW) {
        throw std::runtime_error("test query returned no row: " + sql);
    }
    return db;
}

pgconn_ptr raw_postgres(const sspr::store::postgres_options& o) {
    const auto port = std::to_string(o.port);
    const std::string password(o.password.reveal());
    const std::array<const char*, 7> keys{"host",     "port",    "dbname", "user",
                                          "password", "sslmode", nullptr};
    const std::array<const char*, 7> values{o.host.c_str(), port.c_str(),     o.database.c_str(),
                                            o.user.c_str(), password.c_str(), "disable",
                                            nullptr};
    pgconn_ptr conn(PQconnectdbParams(keys.data(), values.data(), 0));
    if (!conn || PQstatus(conn.get()) != CONNECTION_OK) {
        throw std::runtime_error("cannot connect to the test PostgreSQL: " +
                                 std::string(conn ? PQerrorMessage(conn.get()) : "no memory"));
    }
    PQsetNoticeProcessor(
        conn.get(), [](void*, const char*) {}, nullptr);
    return conn;
}

pgresult_ptr pg_run(const sspr::store::postgres_options& o, const std::string& sql,
                    bool rows_expected) {
    auto conn = raw_postgres(o);
    const auto with_path = "SET search_path TO \"" + o.schema + "\"";
    pgresult_ptr set(PQexec(conn.get(), with_path.c_str()));
    // Queries: binary results (bytea as its bytes, bigint as 8 big-endian bytes). Scripts of
    // several statements need the simple protocol.
    pgresult_ptr res(rows_expected ? PQexecParams(conn.get(), sql.c_str(), 0, nullptr, nullptr,
                                                  nullptr, nullptr, 1)
                                   : PQexec(conn.get(), sql.c_str()));
    const auto status = PQresultStatus(res.get());
    if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
        throw std::runtime_error("test SQL failed: " + std::string(PQerrorMessage(conn.get())));
    }
    if (rows_expected && PQntuples(res.get()) < 1) {
        throw std::runtime_error("test query returned no row: " + sql);
    }
    return res;
}

} // namespace

key key_a() {
    return fill_key(std::byte{0x11});
}
key key_b() {
    return fill_key(std::byte{0x22});
}

std::shared_ptr<const keyring> default_keys() {
    static const auto keys = std::make_shared<const keyring>(key_a());
    return keys;
}

const sspr::common::secret& default_mac_key() {
    static const sspr::common::secret key{std::string(32, 'm')};
    return key;
}

void fail_open(std::string_view backend, const boost::system::error_code& ec) {
    throw std::runtime_error("cannot open the " + std::string(backend) + " store: " + ec.message());
}

std::string unique_schema_name() {
    static std::atomic<unsigned> counter{0};
    std::array<std::byte, 4> r{};
    common::make_system_random()->fill(r);
    std::uint32_t v = 0;
    std::memcpy(&v, r.data(), sizeof v);
    return "t_" + std::to_string(::getpid()) + "_" + std::to_string(counter++) + "_" +
           std::to_string(v);
}

// ---- fake ---------------------------------------------------------------------------------------

std::unique_ptr<sspr::store::state_store>
fake_backend::open(const std::shared_ptr<const keyring>& /*keys*/) {
    return std::make_unique<fakes::fake_state_store>(tables_);
}

// ---- sqlite -------------------------------------------------------------------------------------

sqlite_backend::sqlite_backend() {
    const char* tmp = std::getenv("TMPDIR");
    std::string pattern =
        std::string(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp") + "/sspr-store-test.XXXXXX";
    if (::mkdtemp(pattern.data()) == nullptr) {
        throw std::runtime_error("mkdtemp failed for " + pattern);
    }
    dir_ = pattern;
    options.path = dir_ + "/state.db";
    options.connections = 4;
}

sqlite_backend::~sqlite_backend() {
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
}

sspr::store::result<std::unique_ptr<sspr::store::state_store>>
sqlite_backend::try_open(std::shared_ptr<const keyring> keys) {
    return sspr::store::make_sqlite_store(options, std::move(keys), mac_key,
                                          common::make_system_random());
}

std::unique_ptr<sspr::store::state_store>
sqlite_backend::open(std::shared_ptr<const keyring> keys) {
    auto r = try_open(std::move(keys));
    if (!r) {
        fail_open(name, r.error());
    }
    return std::move(*r);
}

void sqlite_backend::exec(const std::string& sql) {
    auto db = raw_sqlite(options.path);
    char* message = nullptr;
    if (sqlite3_exec(db.get(), sql.c_str(), nullptr, nullptr, &message) != SQLITE_OK) {
        const std::string text = message != nullptr ? message : "?";
        sqlite3_free(message);
        throw std::runtime_error("test SQL failed: " + text);
    }
}

std::int64_t sqlite_backend::query_int(const std::string& sql) {
    stmt_ptr st;
    const auto db = sqlite_query(options.path, sql, st);
    return sqlite3_column_int64(st.get(), 0);
}

std::string sqlite_backend::query_bytes(const std::string& sql) {
    stmt_ptr st;
    const auto db = sqlite_query(options.path, sql, st);
    const auto* data = static_cast<const char*>(sqlite3_column_blob(st.get(), 0));
    return std::string(data != nullptr ? data : "",
                       static_cast<std::size_t>(sqlite3_column_bytes(st.get(), 0)));
}

std::string sqlite_backend::blob_literal(std::string_view bytes) {
    return "X'" + hex(bytes) + "'";
}

// ---- postgres -----------------------------------------------------------------------------------

sspr::store::postgres_options postgres_server_options() {
    sspr::store::postgres_options o;
    o.host = testenv("SSPR_PG_HOST");
    o.port = static_cast<std::uint16_t>(std::stoul(testenv("SSPR_PG_PORT")));
    o.database = testenv("SSPR_PG_DATABASE");
    o.user = testenv("SSPR_PG_USER");
    o.password = common::secret(testenv_file("SSPR_PG_PASSWORD_FILE"));
    // The test server listens on loopback without TLS; production defaults to verify-full.
    o.sslmode = "disable";
    o.pool_size = 4;
    o.connect_timeout = std::chrono::milliseconds(2000);
    o.statement_timeout = std::chrono::milliseconds(5000);
    return o;
}

postgres_backend::postgres_backend() : options(postgres_server_options()) {
    options.schema = unique_schema_name();
}

postgres_backend::~postgres_backend() {
    try {
        auto conn = raw_postgres(options);
        const auto sql = "DROP SCHEMA IF EXISTS \"" + options.schema + "\" CASCADE";
        const pgresult_ptr res(PQexec(conn.get(), sql.c_str()));
    } catch (...) {
        // The server may be down on purpose (outage tests); a leftover schema harms nothing.
    }
}

sspr::store::result<std::unique_ptr<sspr::store::state_store>>
postgres_backend::try_open(std::shared_ptr<const keyring> keys) {
    return sspr::store::make_postgres_store(options, std::move(keys), mac_key,
                                            common::make_system_random());
}

std::unique_ptr<sspr::store::state_store>
postgres_backend::open(std::shared_ptr<const keyring> keys) {
    auto r = try_open(std::move(keys));
    if (!r) {
        fail_open(name, r.error());
    }
    return std::move(*r);
}

void postgres_backend::exec(const std::string& sql) {
    pg_run(options, sql, false);
}

std::int64_t postgres_backend::query_int(const std::string& sql) {
    const auto res = pg_run(options, sql, true);
    const char* data = PQgetvalue(res.get(), 0, 0);
    const auto len = static_cast<std::size_t>(PQgetlength(res.get(), 0, 0));
    std::uint64_t v = 0;
    for (std::size_t i = 0; i < len; ++i) {
        v = (v << 8U) | static_cast<unsigned char>(data[i]);
    }
    if (len == 4) {
        return static_cast<std::int32_t>(static_cast<std::uint32_t>(v));
    }
    return static_cast<std::int64_t>(v);
}

std::string postgres_backend::query_bytes(const std::string& sql) {
    const auto res = pg_run(options, sql, true);
    return std::string(PQgetvalue(res.get(), 0, 0),
                       static_cast<std::size_t>(PQgetlength(res.get(), 0, 0)));
}

std::string postgres_backend::blob_literal(std::string_view bytes) {
    return "'\\x" + hex(bytes) + "'::bytea";
}

} // namespace sspr::testing::store_support
