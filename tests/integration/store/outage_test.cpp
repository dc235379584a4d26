// A PostgreSQL outage under a running store: the test stops the shared test server (through
// SSPR_PG_CTL / SSPR_PG_DIR), so ctest runs these alone (RUN_SERIAL). The server is started again
// whatever happens in the test.
#include "tests/integration/store/backends.hpp"
#include "tests/integration/testenv.hpp"
#include "tests/support/store_test_support.hpp"

#include <catch2/catch.hpp>

#include <libpq-fe.h>

#include <chrono>
#include <thread>

using namespace sspr::store;
using namespace sspr::testing::store_support;
using sspr::testing::testenv;

namespace {

void pg_ctl(const std::string& action) {
    sspr::testing::run_ctl(testenv("SSPR_PG_CTL"), action, testenv("SSPR_PG_DIR"));
}

// Starts the server again when the test leaves, however it leaves.
class server_restorer {
public:
    server_restorer() = default;
    server_restorer(const server_restorer&) = delete;
    server_restorer& operator=(const server_restorer&) = delete;
    ~server_restorer() {
        try {
            pg_ctl("start");
        } catch (...) {
        }
    }
};

} // namespace

TEST_CASE("postgres store: a stopped server gives unavailable, and the store recovers when it is "
          "back",
          "[store]") {
    postgres_backend backend;
    backend.options.connect_timeout = 2s;
    auto store = backend.open();
    ok(store->create_flow(sample_flow("before")));
    CHECK(ok(store->increment("k", 1h, t0)).count == 1);

    const server_restorer restore;
    pg_ctl("stop");

    auto start = std::chrono::steady_clock::now();
    CHECK(err(store->increment("k", 1h, t0)) == error::unavailable);
    CHECK(err(store->get_flow("before", t0)) == error::unavailable);
    CHECK(err(store->create_flow(sample_flow("during"))) == error::unavailable);
    CHECK(std::chrono::steady_clock::now() - start < 10s);
    CHECK(err(backend.try_open()) == error::unavailable);

    pg_ctl("start");
    // The first call after the restart already works: connections the server dropped are
    // noticed before reuse and replaced.
    CHECK(ok(store->increment("k", 1h, t0)).count == 2);
    CHECK(ok(store->get_flow("before", t0)).version == 1);
    CHECK(err(store->get_flow("during", t0)) == error::not_found);
}

TEST_CASE("postgres store: a connection the server ended is replaced before it is used",
          "[store]") {
    postgres_backend backend;
    backend.options.pool_size = 1;
    auto store = backend.open();
    CHECK(ok(store->increment("k", 1h, t0)).count == 1);

    // End every ssprd session of the test user from another session, as an administrator or a
    // failover would (only this test runs now).
    auto killer_options = postgres_server_options();
    const auto port = std::to_string(killer_options.port);
    const std::string password(killer_options.password.reveal());
    const char* keys[] = {"host", "port", "dbname", "user", "password", "sslmode", nullptr};
    const char* values[] = {killer_options.host.c_str(),
                            port.c_str(),
                            killer_options.database.c_str(),
                            killer_options.user.c_str(),
                            password.c_str(),
                            "disable",
                            nullptr};
    PGconn* conn = PQconnectdbParams(keys, values, 0);
    REQUIRE(PQstatus(conn) == CONNECTION_OK);
    PGresult* res = PQexec(conn, "SELECT count(*) FROM (SELECT pg_terminate_backend(pid) FROM "
                                 "pg_stat_activity WHERE application_name = 'ssprd' AND "
                                 "usename = current_user AND pid <> pg_backend_pid()) AS ended");
    CHECK(PQresultStatus(res) == PGRES_TUPLES_OK);
    CHECK(std::string(PQgetvalue(res, 0, 0)) == "1");
    PQclear(res);
    PQfinish(conn);

    // The termination reaches the client asynchronously; give it a moment to arrive.
    std::this_thread::sleep_for(200ms);
    CHECK(ok(store->increment("k", 1h, t0)).count == 2);
}
