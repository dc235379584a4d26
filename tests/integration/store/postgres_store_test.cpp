// What only the PostgreSQL store has: the connection and login failures it must report clearly,
// and the options it refuses. (Outages of a running server are in outage_test.cpp, which runs
// alone because it stops the shared test server.)
#include "tests/integration/store/backends.hpp"
#include "tests/support/store_test_support.hpp"

#include <catch2/catch.hpp>

#include <chrono>

using namespace sspr::store;
using namespace sspr::testing::store_support;

TEST_CASE("postgres store: nothing listening gives unavailable at once", "[store]") {
    postgres_backend backend;
    backend.options.port = 1; // privileged and unused: the connection is refused
    const auto start = std::chrono::steady_clock::now();
    CHECK(err(backend.try_open()) == error::unavailable);
    CHECK(std::chrono::steady_clock::now() - start < 3s);
}

TEST_CASE("postgres store: a wrong password gives unavailable", "[store]") {
    postgres_backend backend;
    backend.options.password = sspr::common::secret("not-the-password");
    CHECK(err(backend.try_open()) == error::unavailable);
}

TEST_CASE("postgres store: a schema name that would need quoting is refused", "[store]") {
    postgres_backend backend;
    for (const auto* bad : {"", "Upper", "with space", "semi;colon", "1digit", "quote\""}) {
        INFO(bad);
        backend.options.schema = bad;
        CHECK(err(backend.try_open()) == error::invalid_argument);
    }
}

TEST_CASE("postgres store: two stores on one schema share counters and see each other's flows",
          "[store]") {
    postgres_backend backend;
    auto one = backend.open();
    auto two = backend.open(); // a second gateway instance
    CHECK(ok(one->increment("ip:198.51.100.1", 10min, t0)).count == 1);
    CHECK(ok(two->increment("ip:198.51.100.1", 10min, t0)).count == 2);
    ok(one->block("ip:198.51.100.1", t0 + 30min));
    CHECK(ok(two->increment("ip:198.51.100.1", 10min, t0)).blocked_until == t0 + 30min);
    ok(two->create_flow(sample_flow("shared")));
    CHECK(ok(one->get_flow("shared", t0)).version == 1);
}
