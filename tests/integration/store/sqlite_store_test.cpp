// What only the SQLite store has: a full disk (simulated with SQLite's max_page_count pragma, since
// a small tmpfs needs mount rights), the write lock held by someone else, the files' permissions,
// and files it cannot use.
#include "tests/integration/store/backends.hpp"
#include "tests/support/store_test_support.hpp"

#include <catch2/catch.hpp>

#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <iterator>
#include <thread>

using namespace sspr::store;
using namespace sspr::testing::store_support;

namespace {

std::string slurp(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

enrollment bulky(int i) {
    enrollment e;
    e.user_dn = "uid=bulk" + std::to_string(i) + ",dc=x";
    e.questions = {{"q", std::string(6000, 'h')}};
    return e;
}

} // namespace

TEST_CASE("sqlite store: a full database gives disk_full, keeps its data and recovers when space "
          "is freed",
          "[store]") {
    sqlite_backend backend;
    // 64 pages of 4 KiB: room for the schema and a few dozen bulky rows. max_page_count stands in
    // for a full file system here (the same SQLITE_FULL comes back from a real ENOSPC).
    backend.options.max_page_count = 64;
    auto store = backend.open();
    int written = 0;
    boost::system::error_code last;
    for (int i = 0; i < 1000; ++i) {
        auto r = store->put_enrollment(bulky(i), t0);
        if (!r) {
            last = r.error();
            break;
        }
        ++written;
    }
    REQUIRE(written > 0);
    CHECK(last == error::disk_full);
    // Reads keep working.
    CHECK(ok(store->get_enrollment("uid=bulk0,dc=x")).questions.size() == 1);
    CHECK(ok(store->list_enrollments("", 1000)).size() == static_cast<std::size_t>(written));
    // Nothing half-written: the refused row is not there.
    CHECK(err(store->get_enrollment("uid=bulk" + std::to_string(written) + ",dc=x")) ==
          error::not_found);

    // Freeing rows makes room again (SQLite reuses the freed pages).
    for (int i = 0; i < 5; ++i) {
        ok(store->delete_enrollment("uid=bulk" + std::to_string(i) + ",dc=x"));
    }
    CHECK(ok(store->put_enrollment(bulky(written), t0)) == 1);
    CHECK(ok(store->increment("after-full", 1h, t0)).count == 1);
}

TEST_CASE("sqlite store: a write lock held elsewhere past the busy timeout gives busy, reads go on",
          "[store]") {
    sqlite_backend backend;
    backend.options.busy_timeout = 200ms;
    auto store = backend.open();
    ok(store->increment("k", 1h, t0));

    // Another connection, as another process (the sqlite3 shell, a second ssprd) would hold it.
    sqlite3* raw = nullptr;
    REQUIRE(sqlite3_open_v2(backend.path().c_str(), &raw, SQLITE_OPEN_READWRITE, nullptr) ==
            SQLITE_OK);
    const std::unique_ptr<sqlite3, decltype(&sqlite3_close_v2)> other(raw, &sqlite3_close_v2);
    REQUIRE(sqlite3_exec(other.get(), "BEGIN IMMEDIATE", nullptr, nullptr, nullptr) == SQLITE_OK);

    const auto start = std::chrono::steady_clock::now();
    CHECK(err(store->increment("k", 1h, t0)) == error::busy);
    const auto waited = std::chrono::steady_clock::now() - start;
    CHECK(waited >= 150ms);
    CHECK(waited < 3s);
    // WAL: readers do not wait for the writer.
    CHECK_FALSE(ok(store->blocked_until("k", t0)).has_value());

    REQUIRE(sqlite3_exec(other.get(), "ROLLBACK", nullptr, nullptr, nullptr) == SQLITE_OK);
    CHECK(ok(store->increment("k", 1h, t0)).count == 2);
}

TEST_CASE("sqlite store: a burst of writes is folded back into the database file by the store's "
          "checkpointer",
          "[store]") {
    // The pooled connections' WAL hook replaces SQLite's automatic checkpoint; the store's own
    // thread must then do it, or the rows would stay in the WAL and the database file would not
    // grow. About 1500 pages of rows: past the 1000-page mark that wakes the checkpointer.
    sqlite_backend backend;
    auto store = backend.open();
    const auto file_size = [&](const char* suffix) {
        struct stat st {};
        REQUIRE(::stat((backend.path() + suffix).c_str(), &st) == 0);
        return static_cast<std::int64_t>(st.st_size);
    };
    const auto before = file_size("");
    for (int i = 0; i < 1000; ++i) {
        ok(store->put_enrollment(bulky(i), t0));
    }
    const std::int64_t rows_bytes = 1000LL * 6000;
    REQUIRE(file_size("-wal") > rows_bytes / 2);
    // Bounded wait: the checkpointer is woken at once, but runs on its own thread.
    const auto deadline = std::chrono::steady_clock::now() + 10s;
    while (file_size("") - before < rows_bytes && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(50ms);
    }
    CHECK(file_size("") - before >= rows_bytes);
    CHECK(ok(store->list_enrollments("", 2000)).size() == 1000);
}

TEST_CASE("sqlite store: release_memory empties the idle connections' page caches and the data "
          "stays readable",
          "[store]") {
    // The gateway calls release_memory when a quiet spell begins: an idle daemon's RSS should not
    // keep the pages of its busiest minute. Rows written and read back once fill the page caches
    // of the connections that wrote and read them (SQLite's default is up to 2 MiB each).
    sqlite_backend backend;
    auto store = backend.open();
    const sqlite3_int64 opened = sqlite3_memory_used();
    constexpr int rows = 300;
    for (int i = 0; i < rows; ++i) {
        ok(store->put_enrollment(bulky(i), t0));
    }
    REQUIRE(ok(store->list_enrollments("", 2000)).size() == rows);
    const sqlite3_int64 cached = sqlite3_memory_used();
    store->release_memory();
    const sqlite3_int64 released = cached - sqlite3_memory_used();
    // Most of what the rows added is handed back (the rest: statements, schema, the connection
    // a background checkpoint may hold).
    REQUIRE(cached - opened > sqlite3_int64{256} * 1024);
    CHECK(released > (cached - opened) / 2);
    CHECK(ok(store->list_enrollments("", 2000)).size() == rows);
}

TEST_CASE("sqlite store: the database and its WAL are private to the owner", "[store]") {
    sqlite_backend backend;
    auto store = backend.open();
    ok(store->put_enrollment(sample_enrollment("uid=alice,dc=x"), t0));
    for (const auto& suffix : {"", "-wal", "-shm"}) {
        INFO(suffix);
        struct stat st {};
        REQUIRE(::stat((backend.path() + suffix).c_str(), &st) == 0);
        CHECK((st.st_mode & 0777U) == 0600U);
    }
}

TEST_CASE("sqlite store: an existing file group or others may access is refused at open",
          "[store]") {
    sqlite_backend backend;
    {
        auto store = backend.open();
        ok(store->increment("kept", 1h, t0));
    }
    for (const mode_t loose : {0640U, 0604U, 0620U, 0602U, 0660U, 0644U}) {
        INFO("mode " << std::oct << loose);
        REQUIRE(::chmod(backend.path().c_str(), loose) == 0);
        CHECK(err(backend.try_open()) == error::insecure_file);
        // Refused, not repaired behind the admin's back.
        struct stat st {};
        REQUIRE(::stat(backend.path().c_str(), &st) == 0);
        CHECK((st.st_mode & 0777U) == loose);
    }
    // A -wal or -shm file beside it that others may read is refused too.
    REQUIRE(::chmod(backend.path().c_str(), 0600) == 0);
    for (const char* suffix : {"-wal", "-shm"}) {
        INFO(suffix);
        const std::string side = backend.path() + suffix;
        { std::ofstream create(side, std::ios::binary); }
        REQUIRE(::chmod(side.c_str(), 0644) == 0);
        CHECK(err(backend.try_open()) == error::insecure_file);
        REQUIRE(::chmod(side.c_str(), 0600) == 0);
        REQUIRE(::unlink(side.c_str()) == 0);
    }
    // Made private again, it opens with its data.
    auto store = backend.open();
    CHECK(ok(store->increment("kept", 1h, t0)).count == 2);
}

TEST_CASE("sqlite store: a new file is created 0600 whatever the umask", "[store]") {
    sqlite_backend backend;
    const mode_t old_umask = ::umask(0);
    auto store = backend.try_open();
    ::umask(old_umask);
    REQUIRE(store.has_value());
    struct stat st {};
    REQUIRE(::stat(backend.path().c_str(), &st) == 0);
    CHECK((st.st_mode & 0777U) == 0600U);
}

TEST_CASE("sqlite store: no address, secret or answer hash is readable anywhere in its files",
          "[store]") {
    sqlite_backend backend;
    auto store = backend.open();
    ok(store->put_enrollment(sample_enrollment("uid=alice,dc=x"), t0));
    // Both the main file and the WAL, where fresh pages sit until a checkpoint.
    const auto bytes = slurp(backend.path()) + slurp(backend.path() + "-wal");
    REQUIRE(bytes.find("uid=alice,dc=x") != std::string::npos); // the search itself works
    CHECK(bytes.find("alice@example.org") == std::string::npos);
    CHECK(bytes.find("+82 10 1234 5678") == std::string::npos);
    CHECK(bytes.find("12345678901234567890") == std::string::npos);
    CHECK(bytes.find("$argon2id$") == std::string::npos);
}

TEST_CASE("sqlite store: a file that is not a database is corrupt, a path it cannot create is "
          "unavailable",
          "[store]") {
    sqlite_backend backend;
    {
        std::ofstream junk(backend.path(), std::ios::binary);
        junk << std::string(8192, 'x');
    }
    ::chmod(backend.path().c_str(), 0600);
    CHECK(err(backend.try_open()) == error::corrupt);

    sqlite_backend elsewhere;
    elsewhere.options.path = elsewhere.dir() + "/no/such/dir/state.db";
    CHECK(err(elsewhere.try_open()) == error::unavailable);
}
