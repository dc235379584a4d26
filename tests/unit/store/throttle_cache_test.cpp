// Unit tests of store/throttle_cache.hpp: a memory of the blocks the store reported, which refuses
// a blocked key without a store round trip for no longer than max_cached_block, forgets on demand,
// keeps its size fixed and spends its room on the blocks that are being refused. No store here:
// the cache has none, and what it refuses is only what it was told.
#include "store/throttle_cache.hpp"
#include "tests/fakes/fake_random.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

using namespace sspr::store;
using namespace std::chrono_literals;

namespace {

constexpr timestamp t0{std::chrono::milliseconds(1'700'000'000'000)};

throttle_cache::options with(std::size_t max_entries, std::chrono::milliseconds max_cached_block) {
    throttle_cache::options o;
    o.max_entries = max_entries;
    o.max_cached_block = max_cached_block;
    return o;
}

} // namespace

TEST_CASE("throttle_cache: a remembered block is refused until it ends", "[store][throttle]") {
    sspr::fakes::fake_random random;
    throttle_cache cache(random, with(1024, 1h)); // the whole block from memory
    CHECK_FALSE(cache.cached_block("user:alice", t0).has_value());

    cache.remember_block("user:alice", t0 + 30min, t0);
    CHECK(cache.cached_block("user:alice", t0) == t0 + 30min);
    CHECK(cache.cached_block("user:alice", t0 + 30min - 1ms) == t0 + 30min);
    CHECK_FALSE(cache.cached_block("user:alice", t0 + 30min).has_value());
    // Another key is not affected.
    CHECK_FALSE(cache.cached_block("user:bob", t0 + 1s).has_value());
    // Only the lookups that returned a block count as refusals.
    CHECK(cache.stats().cache_refusals == 2);
}

TEST_CASE("throttle_cache: memory refuses for at most max_cached_block, then the store is asked",
          "[store][throttle]") {
    sspr::fakes::fake_random random;
    throttle_cache cache(random, with(1024, 1min));
    cache.remember_block("user:dave", t0 + 24h, t0);
    // The block's real end, for Retry-After, although memory vouches for it only a minute.
    CHECK(cache.cached_block("user:dave", t0 + 1min - 1ms) == t0 + 24h);
    // An admin may have unblocked the user on another instance: the caller must ask the store.
    CHECK_FALSE(cache.cached_block("user:dave", t0 + 1min).has_value());

    // The store still holds the block: remembered again, refused for another minute from then.
    cache.remember_block("user:dave", t0 + 24h, t0 + 1min);
    CHECK(cache.cached_block("user:dave", t0 + 2min - 1ms) == t0 + 24h);
    CHECK_FALSE(cache.cached_block("user:dave", t0 + 2min).has_value());
}

TEST_CASE("throttle_cache: the store's latest answer replaces what was remembered",
          "[store][throttle]") {
    sspr::fakes::fake_random random;
    throttle_cache cache(random, with(1024, 1h));
    cache.remember_block("k", t0 + 50min, t0);
    cache.remember_block("k", t0 + 10min, t0 + 1s);
    CHECK(cache.cached_block("k", t0 + 2s) == t0 + 10min);
    CHECK_FALSE(cache.cached_block("k", t0 + 10min).has_value());

    // A block that is already over is no block: the older copy goes.
    cache.remember_block("k", t0 + 50min, t0 + 3s);
    cache.remember_block("k", t0 + 4s, t0 + 4s);
    CHECK_FALSE(cache.cached_block("k", t0 + 5s).has_value());
    CHECK(cache.size() == 0);
}

TEST_CASE("throttle_cache: max_cached_block 0 refuses nothing from memory", "[store][throttle]") {
    sspr::fakes::fake_random random;
    throttle_cache cache(random, with(64, 0ms));
    cache.remember_block("k", t0 + 1h, t0);
    CHECK_FALSE(cache.cached_block("k", t0).has_value());
    CHECK(cache.size() == 0);
}

TEST_CASE("throttle_cache: forget drops the key's block at once, and only that key's",
          "[store][throttle]") {
    sspr::fakes::fake_random random;
    throttle_cache cache(random);
    cache.remember_block("user:erin", t0 + 24h, t0);
    cache.remember_block("user:frank", t0 + 24h, t0);
    REQUIRE(cache.cached_block("user:erin", t0 + 1s).has_value());

    cache.forget("user:erin"); // an admin unblock, or a success cleared her counters
    CHECK_FALSE(cache.cached_block("user:erin", t0 + 2s).has_value());
    CHECK(cache.cached_block("user:frank", t0 + 2s) == t0 + 24h);
    CHECK(cache.size() == 1);
    cache.forget("user:nobody"); // nothing remembered: nothing happens
    CHECK(cache.size() == 1);
}

TEST_CASE("throttle_cache: a configuration that cannot work is refused at construction",
          "[store][throttle]") {
    sspr::fakes::fake_random random;
    CHECK_THROWS_AS(throttle_cache(random, with(0, 1min)), std::invalid_argument);
    CHECK_THROWS_AS(throttle_cache(random, with(64, -1ms)), std::invalid_argument);
}

TEST_CASE("throttle_cache: the table never grows past its capacity, whatever arrives",
          "[store][throttle]") {
    sspr::fakes::fake_random random;
    throttle_cache cache(random, with(60, 1min)); // rounded up to 8 sets of 8
    CHECK(cache.capacity() == 64);
    const auto bytes = cache.memory_bytes();
    CHECK(bytes >= cache.capacity() * 2 * sizeof(std::uint64_t)); // at least the fingerprints

    // Lookups of keys that were never blocked store nothing.
    int found = 0;
    for (int i = 0; i < 10000; ++i) {
        found += cache.cached_block("ip:" + std::to_string(i), t0).has_value() ? 1 : 0;
    }
    CHECK(found == 0);
    CHECK(cache.size() == 0);

    for (int i = 0; i < 10000; ++i) {
        cache.remember_block("ip:" + std::to_string(i), t0 + 1h, t0);
    }
    CHECK(cache.size() == 64);
    CHECK(cache.memory_bytes() == bytes);
    // Every block but the 64 that fit pushed a live one out.
    CHECK(cache.stats().evictions == 10000 - 64);
}

TEST_CASE("throttle_cache: eviction reuses stale entries before pushing out a live block",
          "[store][throttle]") {
    sspr::fakes::fake_random random;
    throttle_cache cache(random, with(8, 1min)); // one set: every key competes for its 8 ways
    // Stale at t0 + 1 min: two blocks that ended, two whose minute in memory is over.
    cache.remember_block("ended:0", t0 + 55s, t0);
    cache.remember_block("ended:1", t0 + 55s, t0);
    cache.remember_block("capped:0", t0 + 1h, t0);
    cache.remember_block("capped:1", t0 + 1h, t0);
    // Live until t0 + 1 min 50 s.
    for (int i = 0; i < 4; ++i) {
        cache.remember_block("live:" + std::to_string(i), t0 + 1h, t0 + 50s);
    }
    REQUIRE(cache.size() == 8);

    const auto now = t0 + 1min;
    for (int i = 0; i < 4; ++i) {
        cache.remember_block("new:" + std::to_string(i), t0 + 1h, now);
    }
    CHECK(cache.stats().evictions == 0);
    for (int i = 0; i < 4; ++i) {
        INFO(i);
        CHECK(cache.cached_block("live:" + std::to_string(i), now) == t0 + 1h);
        CHECK(cache.cached_block("new:" + std::to_string(i), now) == t0 + 1h);
    }

    // Now every way is live: one more block pushes exactly one out.
    cache.remember_block("one_more", t0 + 1h, now);
    CHECK(cache.stats().evictions == 1);
    CHECK(cache.size() == 8);
    CHECK(cache.cached_block("one_more", now) == t0 + 1h);
}

TEST_CASE("throttle_cache: blocks being refused survive a flood of fresh keys and new blocks",
          "[store][throttle]") {
    sspr::fakes::fake_random random;
    throttle_cache cache(random, with(64, 1h));
    std::vector<std::string> attackers;
    for (int k = 0; k < 8; ++k) {
        attackers.push_back("attacker:" + std::to_string(k));
        cache.remember_block(attackers.back(), t0 + 1h, t0);
    }
    const auto all_refused = [&](timestamp now) {
        for (const auto& a : attackers) {
            if (cache.cached_block(a, now) != t0 + 1h) {
                return false;
            }
        }
        return true;
    };

    // Fresh keys that are not blocked: lookups only, nothing stored, nothing evicted.
    for (int i = 0; i < 5000; ++i) {
        (void)cache.cached_block("fresh:" + std::to_string(i), t0 + 1s);
    }
    CHECK(cache.size() == 8);
    CHECK(cache.stats().evictions == 0);

    // A flood of new blocks nobody asks about again, while the attackers keep hammering.
    bool survived = true;
    for (int i = 0; i < 5000 && survived; ++i) {
        cache.remember_block("flood:" + std::to_string(i), t0 + 1h, t0 + 2s);
        survived = all_refused(t0 + 2s);
    }
    CHECK(survived);
    CHECK(cache.stats().evictions > 0); // the flood did fill the table
    CHECK(cache.size() == 64);
}

TEST_CASE("throttle_cache: threads looking up, remembering and forgetting at once stay consistent",
          "[store][throttle]") {
    sspr::fakes::fake_random random;
    throttle_cache cache(random, with(4096, 1h));
    constexpr int shared_keys = 100;
    for (int k = 0; k < shared_keys; ++k) {
        cache.remember_block("shared:" + std::to_string(k), t0 + 1h, t0);
    }
    const auto refusals_before = cache.stats().cache_refusals;

    constexpr int threads = 4;
    constexpr int rounds = 5000;
    std::atomic<int> wrong{0};
    std::atomic<std::uint64_t> returned{0};
    std::vector<std::thread> pool;
    pool.reserve(threads);
    for (int t = 0; t < threads; ++t) {
        pool.emplace_back([&, t] {
            std::uint64_t mine = 0;
            for (int n = 0; n < rounds; ++n) {
                const auto now = t0 + std::chrono::milliseconds(n);
                // Every thread refuses the shared blocks...
                if (cache.cached_block("shared:" + std::to_string(n % shared_keys), now) ==
                    t0 + 1h) {
                    ++mine;
                } else {
                    ++wrong;
                }
                // ... while remembering and forgetting keys of its own.
                const auto own = "t" + std::to_string(t) + ":" + std::to_string(n % 50);
                cache.remember_block(own, now + 1min, now);
                if (cache.cached_block(own, now) == now + 1min) {
                    ++mine;
                } else {
                    ++wrong;
                }
                cache.forget(own);
                if (cache.cached_block(own, now).has_value()) {
                    ++wrong;
                }
            }
            returned += mine;
        });
    }
    for (auto& th : pool) {
        th.join();
    }
    CHECK(wrong == 0);
    CHECK(returned == std::uint64_t{2} * threads * rounds);
    CHECK(cache.stats().cache_refusals - refusals_before == returned);
    CHECK(cache.stats().evictions == 0);
    CHECK(cache.size() == static_cast<std::size_t>(shared_keys));
}
