// The factory chosen by configuration, and what the YAML configuration hands the PostgreSQL
// store. Hermetic: the SQLite file lives in a temporary directory, no server is contacted.
#include "common/random.hpp"
#include "store/postgres_store.hpp"
#include "store/state_store.hpp"
#include "tests/integration/store/backends.hpp"

#include <catch2/catch.hpp>

using namespace sspr::store;
using namespace std::chrono_literals;

TEST_CASE("store factory: the sqlite backend opens the configured file", "[store]") {
    const sspr::testing::store_support::sqlite_backend scratch; // only for its directory
    sspr::config::store_config cfg;
    cfg.backend = sspr::config::store_backend::sqlite;
    cfg.sqlite_path = scratch.dir() + "/configured.db";
    auto store = make_state_store(cfg, sspr::testing::store_support::default_keys(),
                                  sspr::testing::store_support::default_mac_key(),
                                  sspr::common::make_system_random());
    REQUIRE(store.has_value());
    const timestamp t0{std::chrono::milliseconds(1'700'000'000'000)};
    CHECK((*store)->increment("k", 1h, t0).value().count == 1);
}

TEST_CASE("store factory: no backend, no keys, no random or a short MAC key is invalid_argument",
          "[store]") {
    using sspr::testing::store_support::default_keys;
    using sspr::testing::store_support::default_mac_key;
    const sspr::testing::store_support::sqlite_backend scratch;
    sspr::config::store_config cfg;
    cfg.sqlite_path = scratch.dir() + "/configured.db";
    cfg.backend = sspr::config::store_backend::invalid;
    CHECK(
        make_state_store(cfg, default_keys(), default_mac_key(), sspr::common::make_system_random())
            .error() == error::invalid_argument);
    cfg.backend = sspr::config::store_backend::sqlite;
    CHECK(make_state_store(cfg, nullptr, default_mac_key(), sspr::common::make_system_random())
              .error() == error::invalid_argument);
    CHECK(make_state_store(cfg, default_keys(), default_mac_key(), nullptr).error() ==
          error::invalid_argument);
    // The row MAC key is the server HMAC key, 32 bytes at least.
    const sspr::common::secret short_key{std::string(31, 'm')};
    CHECK(make_state_store(cfg, default_keys(), short_key, sspr::common::make_system_random())
              .error() == error::invalid_argument);
    CHECK(make_state_store(cfg, default_keys(), sspr::common::secret{},
                           sspr::common::make_system_random())
              .error() == error::invalid_argument);
}

TEST_CASE("store factory: the postgres options take what the YAML gives", "[store]") {
    sspr::config::postgres_config cfg;
    cfg.host = "db.example.org";
    cfg.port = 6543;
    cfg.database = "sspr_prod";
    cfg.user = "gateway";
    cfg.password = sspr::common::secret("s3cret");
    cfg.sslmode = "verify-ca";
    cfg.pool_size = 9;
    const auto o = postgres_options_from(cfg);
    CHECK(o.host == "db.example.org");
    CHECK(o.port == 6543);
    CHECK(o.database == "sspr_prod");
    CHECK(o.user == "gateway");
    CHECK(o.password.reveal() == "s3cret");
    CHECK(o.sslmode == "verify-ca");
    CHECK(o.pool_size == 9);
    CHECK(o.schema == "public");
    // The default stays verify-full.
    CHECK(postgres_options_from(sspr::config::postgres_config{}).sslmode == "verify-full");
}
