// Unit tests of store/throttle_cache.hpp over the fake store, whose call count shows which
// decisions were made from memory. Two caches over one set of fake tables stand for two gateway
// instances sharing a database.
#include "store/throttle_cache.hpp"
#include "tests/fakes/fake_random.hpp"
#include "tests/store/fake_state_store.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <string>
#include <thread>
#include <vector>

using namespace sspr::store;
using namespace std::chrono_literals;
using sspr::fakes::fake_state_store;

namespace {

constexpr timestamp t0{std::chrono::milliseconds(1'700'000'000'000)};
const throttle_limit three_per_10min{3, 10min, 30min};

throttle_decision decide(throttle_cache& cache, std::string_view key, timestamp now,
                         const throttle_limit& limit = three_per_10min) {
    auto r = cache.hit(key, limit, now);
    if (!r) {
        FAIL("throttle error: " << r.error().message());
    }
    return *r;
}

} // namespace

TEST_CASE("throttle: attempts up to the limit pass, the next is refused and blocks the key",
          "[store]") {
    fake_state_store store;
    sspr::fakes::fake_random random;
    throttle_cache cache(store, random);
    for (std::uint64_t n = 1; n <= 3; ++n) {
        const auto d = decide(cache, "ip:203.0.113.7", t0 + std::chrono::minutes(n));
        CHECK(d.allowed);
        CHECK(d.count == n);
        CHECK_FALSE(d.from_cache);
    }
    const auto refused = decide(cache, "ip:203.0.113.7", t0 + 4min);
    CHECK_FALSE(refused.allowed);
    CHECK(refused.count == 4);
    CHECK(refused.blocked_until == t0 + 4min + 30min);
    // The block is in the store, for the other instances.
    CHECK(store.blocked_until("ip:203.0.113.7", t0 + 5min).value() == t0 + 34min);
    // Another key is not affected.
    CHECK(decide(cache, "ip:203.0.113.8", t0 + 4min).allowed);
}

TEST_CASE("throttle: a blocked key is refused from memory without a store call", "[store]") {
    fake_state_store store;
    sspr::fakes::fake_random random;
    throttle_cache cache(store, random);
    for (int n = 0; n < 4; ++n) {
        (void)decide(cache, "user:alice", t0);
    }
    const auto calls = store.calls();
    for (int n = 0; n < 1000; ++n) {
        const auto d = decide(cache, "user:alice", t0 + 30s);
        REQUIRE_FALSE(d.allowed);
        REQUIRE(d.from_cache);
        REQUIRE(d.blocked_until == t0 + 30min);
    }
    CHECK(store.calls() == calls);
    // The block's real end, although memory only vouches for it until max_cached_block.
    CHECK(cache.cached_block("user:alice", t0 + 30s) == t0 + 30min);
    CHECK_FALSE(cache.cached_block("user:bob", t0 + 30s).has_value());
    CHECK(cache.stats().cache_refusals == 1000);
    CHECK(cache.stats().store_calls == 4);
}

TEST_CASE("throttle: when the block ends the store decides again, in a new window", "[store]") {
    fake_state_store store;
    sspr::fakes::fake_random random;
    throttle_cache::options opts;
    opts.max_cached_block = 1h; // the whole block from memory: no attempt reaches the store
    throttle_cache cache(store, random, opts);
    for (int n = 0; n < 4; ++n) {
        (void)decide(cache, "k", t0);
    }
    CHECK(decide(cache, "k", t0 + 30min - 1ms).from_cache);
    CHECK_FALSE(cache.cached_block("k", t0 + 30min).has_value());
    const auto after = decide(cache, "k", t0 + 30min);
    CHECK(after.allowed);
    CHECK(after.count == 1);
    CHECK_FALSE(after.from_cache);
}

TEST_CASE("throttle: with no block time a key is refused until its window ends", "[store]") {
    fake_state_store store;
    sspr::fakes::fake_random random;
    throttle_cache cache(store, random);
    const throttle_limit one_per_window{1, 10min, 0ms};
    CHECK(decide(cache, "k", t0, one_per_window).allowed);
    const auto second = decide(cache, "k", t0 + 1min, one_per_window);
    CHECK_FALSE(second.allowed);
    CHECK(second.blocked_until == t0 + 10min);
    CHECK(decide(cache, "k", t0 + 10min, one_per_window).allowed);
}

TEST_CASE("throttle: two instances share one count and honour each other's blocks", "[store]") {
    fake_state_store store_a;
    fake_state_store store_b(store_a.shared_tables()); // the same database
    sspr::fakes::fake_random random;
    throttle_cache a(store_a, random);
    throttle_cache b(store_b, random);

    CHECK(decide(a, "user:carol", t0).count == 1);
    CHECK(decide(b, "user:carol", t0).count == 2);
    CHECK(decide(a, "user:carol", t0).count == 3);
    const auto over = decide(b, "user:carol", t0); // 4th overall, on b
    CHECK_FALSE(over.allowed);

    // a has no cached block, but its next attempt reaches the store and learns it: no extra
    // attempt gets through.
    CHECK_FALSE(a.cached_block("user:carol", t0).has_value());
    const auto learned = decide(a, "user:carol", t0 + 1s);
    CHECK_FALSE(learned.allowed);
    CHECK_FALSE(learned.from_cache);
    CHECK(learned.blocked_until == t0 + 30min);
    CHECK(decide(a, "user:carol", t0 + 2s).from_cache);
}

TEST_CASE("throttle: an unblock made elsewhere is seen here within max_cached_block", "[store]") {
    fake_state_store store;
    sspr::fakes::fake_random random;
    throttle_cache::options opts;
    opts.max_cached_block = 1min;
    throttle_cache cache(store, random, opts);
    for (int n = 0; n < 4; ++n) {
        (void)decide(cache, "user:dave", t0);
    }
    REQUIRE(store.reset("user:dave").has_value()); // an admin clears the user on another instance

    CHECK(decide(cache, "user:dave", t0 + 59s).from_cache); // still the cached copy
    const auto after = decide(cache, "user:dave", t0 + 1min);
    CHECK(after.allowed);
    CHECK(after.count == 1);
}

TEST_CASE("throttle: a store block outlasting max_cached_block is cached again, not lifted; "
          "attempts that reach the store count",
          "[store]") {
    fake_state_store store;
    sspr::fakes::fake_random random;
    throttle_cache::options opts;
    opts.max_cached_block = 1min;
    throttle_cache cache(store, random, opts);
    for (int n = 0; n < 4; ++n) {
        (void)decide(cache, "k", t0);
    }
    const auto recheck = decide(cache, "k", t0 + 1min);
    CHECK_FALSE(recheck.allowed);
    CHECK_FALSE(recheck.from_cache);
    CHECK(recheck.count == 5); // counted: same window (t0 .. t0 + 10 min)
    CHECK(recheck.blocked_until == t0 + 30min);
    CHECK(decide(cache, "k", t0 + 1min + 1s).from_cache);
}

TEST_CASE("throttle: reset clears the key here and in the store", "[store]") {
    fake_state_store store;
    sspr::fakes::fake_random random;
    throttle_cache cache(store, random);
    for (int n = 0; n < 4; ++n) {
        (void)decide(cache, "k", t0);
    }
    REQUIRE(cache.reset("k").has_value());
    CHECK_FALSE(cache.cached_block("k", t0).has_value());
    CHECK_FALSE(store.blocked_until("k", t0).value().has_value());
    CHECK(decide(cache, "k", t0).count == 1);
}

TEST_CASE("throttle: a store failure comes back as the error; cached blocks still refuse",
          "[store]") {
    fake_state_store store;
    sspr::fakes::fake_random random;
    throttle_cache cache(store, random);
    for (int n = 0; n < 4; ++n) {
        (void)decide(cache, "blocked", t0);
    }
    store.fail_with(error::unavailable);
    const auto r = cache.hit("fresh", three_per_10min, t0);
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error() == error::unavailable);
    CHECK_FALSE(decide(cache, "blocked", t0).allowed);
}

TEST_CASE("throttle: the table never grows past its capacity, whatever arrives", "[store]") {
    fake_state_store store;
    sspr::fakes::fake_random random;
    throttle_cache::options opts;
    opts.max_entries = 60; // rounded up to 8 sets of 8
    throttle_cache cache(store, random, opts);
    CHECK(cache.capacity() == 64);
    const auto bytes = cache.memory_bytes();
    for (int i = 0; i < 10000; ++i) {
        (void)decide(cache, "ip:" + std::to_string(i), t0);
    }
    CHECK(cache.size() == 64);
    CHECK(cache.memory_bytes() == bytes);
    CHECK(cache.stats().evictions == 10000 - 64);
}

TEST_CASE("throttle: a flood of new keys does not push blocked keys out", "[store]") {
    fake_state_store store;
    sspr::fakes::fake_random random;
    throttle_cache::options opts;
    opts.max_entries = 64;
    throttle_cache cache(store, random, opts);
    for (int k = 0; k < 8; ++k) {
        for (int n = 0; n < 4; ++n) {
            (void)decide(cache, "attacker:" + std::to_string(k), t0);
        }
    }
    for (int i = 0; i < 5000; ++i) {
        (void)decide(cache, "flood:" + std::to_string(i), t0 + 1s);
    }
    const auto calls = store.calls();
    for (int k = 0; k < 8; ++k) {
        INFO(k);
        CHECK(decide(cache, "attacker:" + std::to_string(k), t0 + 2s).from_cache);
    }
    CHECK(store.calls() == calls);
}

TEST_CASE("throttle: threads refusing one blocked key all decide from memory", "[store]") {
    fake_state_store store;
    sspr::fakes::fake_random random;
    throttle_cache cache(store, random);
    for (int n = 0; n < 4; ++n) {
        (void)decide(cache, "k", t0);
    }
    const auto calls = store.calls();
    std::atomic<int> refused{0};
    std::vector<std::thread> pool;
    pool.reserve(4);
    for (int t = 0; t < 4; ++t) {
        pool.emplace_back([&] {
            for (int n = 0; n < 10000; ++n) {
                auto d = cache.hit("k", three_per_10min, t0 + 1s);
                if (d && !d->allowed && d->from_cache) {
                    ++refused;
                }
            }
        });
    }
    for (auto& t : pool) {
        t.join();
    }
    CHECK(refused == 40000);
    CHECK(store.calls() == calls);
}
