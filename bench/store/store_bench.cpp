// Throttle checks per second and memory of the block cache (store/throttle_cache.hpp), on the
// path the flows take: a check asks the cache first (cached_block), and only a key with no cached
// block costs a store call (policy::evaluate then decides on what the store reports; it is not
// timed here, being pure arithmetic).
//
//   1. memory under a flood of one million distinct keys: the cache remembering a block for every
//      one (its own memory, fixed whatever arrives), then a check and an increment per key over
//      SQLite (the whole process, database included);
//   2. from memory: a flood on keys that are already blocked, refused by cached_block without the
//      store;
//   3. through SQLite: keys never blocked, so every check is a cache miss and one increment in the
//      store, with synchronous=NORMAL (the default) and FULL;
//   4. through PostgreSQL: the same against the test server (SSPR_TESTENV_FILE; skipped without).
//
// Run with bench/store/run-store-bench, which starts and stops a PostgreSQL of its own.
#include "common/log.hpp"
#include "common/random.hpp"
#include "store/crypto.hpp"
#include "store/postgres_store.hpp"
#include "store/sqlite_store.hpp"
#include "store/state_store.hpp"
#include "store/throttle_cache.hpp"
#include "tests/integration/testenv.hpp"

#include <boost/program_options.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <latch>
#include <string>
#include <thread>
#include <vector>

namespace po = boost::program_options;
namespace st = sspr::store;
using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;

namespace {

struct settings {
    std::chrono::milliseconds duration{2000};
    std::size_t flood = 1'000'000;
    std::size_t max_entries = 65536;
    std::vector<std::size_t> threads{1, 2, 4};
};

st::timestamp now_ts() {
    return st::to_timestamp(std::chrono::system_clock::now());
}

double mib(long kib) {
    return static_cast<double>(kib) / 1024.0;
}

long rss_kib() {
    std::ifstream in("/proc/self/status");
    for (std::string line; std::getline(in, line);) {
        if (line.starts_with("VmRSS:")) {
            return std::strtol(line.c_str() + 6, nullptr, 10);
        }
    }
    return -1;
}

std::shared_ptr<const st::crypto::keyring> bench_keys() {
    std::array<std::byte, 32> raw{};
    sspr::common::make_system_random()->fill(raw);
    return std::make_shared<const st::crypto::keyring>(st::crypto::key(raw));
}

// The server HMAC key the store derives its row MAC key from; any 32 bytes do for a benchmark.
const sspr::common::secret& bench_mac_key() {
    static const sspr::common::secret key{std::string(32, 'm')};
    return key;
}

struct run_result {
    std::uint64_t decisions = 0;
    std::uint64_t errors = 0;
    double seconds = 0;
    [[nodiscard]] double rate() const {
        return seconds > 0 ? static_cast<double>(decisions) / seconds : 0;
    }
};

// `threads` threads call decide(thread, i) for `duration`; counts the calls.
template <class Fn>
run_result run_for(std::size_t threads, std::chrono::milliseconds duration, Fn decide) {
    std::atomic<bool> stop{false};
    std::atomic<std::uint64_t> total{0};
    std::atomic<std::uint64_t> errors{0};
    std::latch ready(static_cast<std::ptrdiff_t>(threads) + 1);
    std::vector<std::thread> pool;
    for (std::size_t t = 0; t < threads; ++t) {
        pool.emplace_back([&, t] {
            std::uint64_t n = 0;
            std::uint64_t bad = 0;
            ready.arrive_and_wait();
            while (!stop.load(std::memory_order_relaxed)) {
                if (!decide(t, n)) {
                    ++bad;
                }
                ++n;
            }
            total += n;
            errors += bad;
        });
    }
    ready.arrive_and_wait();
    const auto start = steady::now();
    std::this_thread::sleep_for(duration);
    stop = true;
    for (auto& th : pool) {
        th.join();
    }
    const auto elapsed = std::chrono::duration<double>(steady::now() - start).count();
    return {total.load(), errors.load(), elapsed};
}

void print_rate(const std::string& what, std::size_t threads, const run_result& r) {
    const double per_call_us = r.decisions != 0 ? r.seconds * 1e6 * static_cast<double>(threads) /
                                                      static_cast<double>(r.decisions)
                                                : 0;
    std::printf("  %-40s threads %2zu  %11.0f decisions/s  %9.3f us/decision/thread", what.c_str(),
                threads, r.rate(), per_call_us);
    if (r.errors != 0) {
        std::printf("  (%llu errors)", static_cast<unsigned long long>(r.errors));
    }
    std::printf("\n");
    (void)std::fflush(stdout);
}

// The window of every counter the bench increments. No policy runs here, so nothing is blocked.
constexpr std::chrono::milliseconds bench_window = std::chrono::hours(1);

void memory_cache(const settings& s) {
    auto random = sspr::common::make_system_random();
    const long before = rss_kib();
    st::throttle_cache::options opts;
    opts.max_entries = s.max_entries;
    st::throttle_cache cache(*random, opts);
    const long built = rss_kib();
    const auto now = now_ts();
    const auto start = steady::now();
    // The worst case for the table: every key of the flood gets blocked.
    for (std::size_t i = 0; i < s.flood; ++i) {
        cache.remember_block("ip:" + std::to_string(i), now + std::chrono::hours(1), now);
    }
    const auto secs = std::chrono::duration<double>(steady::now() - start).count();
    const long after = rss_kib();
    std::printf("  cache alone: a block remembered for each of %zu distinct keys in %.2f s "
                "(%.0f/s)\n",
                s.flood, secs, static_cast<double>(s.flood) / secs);
    std::printf(
        "    table: capacity %zu entries, %zu in use, %.2f MiB (memory_bytes), %llu evictions\n",
        cache.capacity(), cache.size(),
        static_cast<double>(cache.memory_bytes()) / (1024.0 * 1024.0),
        static_cast<unsigned long long>(cache.stats().evictions));
    std::printf("    RSS: %.1f MiB before, %.1f MiB after building, %.1f MiB after the flood "
                "(growth during the flood %.1f MiB)\n",
                mib(before), mib(built), mib(after), mib(after - built));
    (void)std::fflush(stdout);
}

void memory_sqlite(const settings& s, const std::string& dir) {
    st::sqlite_options o;
    o.path = dir + "/flood.db";
    auto store =
        st::make_sqlite_store(o, bench_keys(), bench_mac_key(), sspr::common::make_system_random());
    if (!store) {
        std::printf("  sqlite: cannot open: %s\n", store.error().message().c_str());
        return;
    }
    auto random = sspr::common::make_system_random();
    st::throttle_cache::options opts;
    opts.max_entries = s.max_entries;
    const long before = rss_kib();
    st::throttle_cache cache(*random, opts);
    const auto now = now_ts();
    const auto start = steady::now();
    std::atomic<std::uint64_t> errors{0};
    // Two threads, as the blocking pool would run them.
    std::vector<std::thread> pool;
    for (std::size_t t = 0; t < 2; ++t) {
        pool.emplace_back([&, t] {
            for (std::size_t i = t; i < s.flood; i += 2) {
                const auto key = "ip:" + std::to_string(i);
                if (cache.cached_block(key, now)) {
                    continue;
                }
                if (!(*store)->increment(key, bench_window, now)) {
                    ++errors;
                }
            }
        });
    }
    for (auto& th : pool) {
        th.join();
    }
    const auto secs = std::chrono::duration<double>(steady::now() - start).count();
    const long after = rss_kib();
    struct stat db {};
    struct stat wal {};
    ::stat(o.path.c_str(), &db);
    ::stat((o.path + "-wal").c_str(), &wal);
    std::printf("  cache + SQLite: %zu distinct keys in %.2f s (%.0f/s, %llu errors)\n", s.flood,
                secs, static_cast<double>(s.flood) / secs,
                static_cast<unsigned long long>(errors.load()));
    std::printf("    RSS: %.1f MiB before, %.1f MiB after (growth %.1f MiB); database %.1f MiB + "
                "WAL %.1f MiB on disk (the purge removes these rows when their window ends)\n",
                mib(before), mib(after), mib(after - before),
                static_cast<double>(db.st_size) / (1024.0 * 1024.0),
                static_cast<double>(wal.st_size) / (1024.0 * 1024.0));
    const auto purge_start = steady::now();
    std::size_t purged = 0;
    for (int i = 0; i < 1000; ++i) {
        auto n = (*store)->purge_expired(now + std::chrono::hours(2), 10000);
        if (!n || *n == 0) {
            break;
        }
        purged += *n;
    }
    std::printf("    purge after the window: %zu rows in %.2f s (batches of 10000)\n", purged,
                std::chrono::duration<double>(steady::now() - purge_start).count());
    (void)std::fflush(stdout);
}

void through_store(const std::string& label, st::state_store& store, const settings& s,
                   const std::vector<std::size_t>& threads) {
    auto random = sspr::common::make_system_random();
    for (const auto n : threads) {
        st::throttle_cache cache(*random);
        const auto r = run_for(n, s.duration, [&](std::size_t t, std::uint64_t i) {
            // 10000 keys per thread, never blocked: every check is a miss and one increment.
            const auto key = "user:" + std::to_string(t) + ":" + std::to_string(i % 10000);
            const auto now = now_ts();
            if (cache.cached_block(key, now)) {
                return false; // nothing was blocked: a cached block here is a bug
            }
            return store.increment(key, bench_window, now).has_value();
        });
        print_rate(label, n, r);
    }
}

} // namespace

int main(int argc, char** argv) {
    settings s;
    std::size_t seconds_ms = 2000;
    po::options_description options("Usage: sspr_store_bench [options]\n\nOptions");
    options.add_options()("help,h", "show this help")(
        "duration-ms", po::value(&seconds_ms)->default_value(2000),
        "length of each rate measurement")("flood", po::value(&s.flood)->default_value(1'000'000),
                                           "distinct keys in the memory flood")(
        "entries", po::value(&s.max_entries)->default_value(65536), "block cache capacity")(
        "threads", po::value(&s.threads)->multitoken(), "thread counts to measure (default 1 2 4)");
    po::variables_map vm;
    try {
        po::store(po::parse_command_line(argc, argv, options), vm);
        po::notify(vm);
    } catch (const po::error& e) {
        std::cerr << e.what() << "\n" << options << "\n";
        return 2;
    }
    if (vm.count("help") != 0U) {
        std::cout << options << "\n";
        return 0;
    }
    s.duration = std::chrono::milliseconds(seconds_ms);
    if (s.threads.empty()) {
        s.threads = {1, 2, 4};
    }
    sspr::common::set_log_level(sspr::common::log_level::error);

    std::string dir_pattern = "/tmp/sspr-store-bench.XXXXXX";
    if (::mkdtemp(dir_pattern.data()) == nullptr) {
        std::perror("mkdtemp");
        return 1;
    }
    const std::string dir = dir_pattern;
    std::printf("sspr store bench: %u CPUs, %.1f s per rate\n", std::thread::hardware_concurrency(),
                static_cast<double>(s.duration.count()) / 1000.0);

    // Memory first, while the heap holds nothing else that a freed table could hide in.
    std::printf("\n1. memory under a flood of %zu distinct keys (cache of %zu entries)\n", s.flood,
                s.max_entries);
    memory_cache(s);
    memory_sqlite(s, dir);

    std::printf("\n2. throttle checks from memory (1000 blocked keys, no store call)\n");
    {
        auto random = sspr::common::make_system_random();
        st::throttle_cache::options opts;
        opts.max_cached_block = std::chrono::hours(1); // memory vouches for the whole run
        st::throttle_cache cache(*random, opts);
        const auto t = now_ts();
        std::vector<std::string> keys;
        for (int k = 0; k < 1000; ++k) {
            keys.push_back("ip:198.51.100." + std::to_string(k));
            cache.remember_block(keys.back(), t + std::chrono::hours(1), t);
        }
        for (const auto n : s.threads) {
            const auto r = run_for(n, s.duration, [&](std::size_t, std::uint64_t i) {
                return cache.cached_block(keys[i % keys.size()], now_ts()).has_value();
            });
            print_rate("cached_block() on blocked keys", n, r);
        }
        std::printf("  refused from memory: %llu\n",
                    static_cast<unsigned long long>(cache.stats().cache_refusals));
    }

    // Through SQLite.
    for (const bool full : {false, true}) {
        std::printf("\n3%s. throttle checks through SQLite (synchronous=%s, WAL, 4 connections)\n",
                    full ? "b" : "a", full ? "FULL" : "NORMAL");
        st::sqlite_options o;
        o.path = dir + (full ? "/full.db" : "/normal.db");
        o.synchronous_full = full;
        auto store = st::make_sqlite_store(o, bench_keys(), bench_mac_key(),
                                           sspr::common::make_system_random());
        if (!store) {
            std::printf("  cannot open: %s\n", store.error().message().c_str());
        } else {
            through_store("cached_block() miss -> increment", **store, s, s.threads);
        }
    }

    // Through PostgreSQL.
    std::printf("\n4. throttle checks through PostgreSQL (pool of 8, loopback)\n");
    try {
        auto o = [] {
            st::postgres_options p;
            p.host = sspr::testing::testenv("SSPR_PG_HOST");
            p.port = static_cast<std::uint16_t>(std::stoul(sspr::testing::testenv("SSPR_PG_PORT")));
            p.database = sspr::testing::testenv("SSPR_PG_DATABASE");
            p.user = sspr::testing::testenv("SSPR_PG_USER");
            p.password = sspr::common::secret(sspr::testing::testenv_file("SSPR_PG_PASSWORD_FILE"));
            p.sslmode = "disable";
            p.schema = "bench_" + std::to_string(::getpid());
            p.pool_size = 8;
            return p;
        }();
        auto store = st::make_postgres_store(o, bench_keys(), bench_mac_key(),
                                             sspr::common::make_system_random());
        if (!store) {
            std::printf("  cannot open: %s\n", store.error().message().c_str());
        } else {
            std::vector<std::size_t> pg_threads = s.threads;
            pg_threads.push_back(8);
            through_store("miss -> INSERT .. ON CONFLICT", **store, s, pg_threads);
            std::printf("  (schema %s is left in the bench database; the run script removes the "
                        "server)\n",
                        o.schema.c_str());
        }
    } catch (const std::exception& e) {
        std::printf("  skipped: %s\n", e.what());
    }

    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
    return 0;
}
