// What only the database stores have, checked on both: schema migrations, encryption at rest
// (nothing readable in the tables, tampering detected, key rotation), durability of acknowledged
// writes when the writer is killed with SIGKILL, and increments from two processes at once.
#include "store/crypto.hpp"
#include "store/rotate.hpp"
#include "store/sql.hpp"
#include "tests/store/backends.hpp"
#include "tests/store/child_process.hpp"
#include "tests/store/store_test_support.hpp"

#include <catch2/catch.hpp>

#include <signal.h>
#include <sys/wait.h>

#include <algorithm>
#include <string>
#include <vector>

using namespace sspr::store;
using namespace sspr::testing::store_support;
using sspr::config::method;

using sqlite_backend = sspr::testing::store_support::sqlite_backend;
using postgres_backend = sspr::testing::store_support::postgres_backend;

#define SQL_BACKENDS sqlite_backend, postgres_backend

namespace {

std::vector<std::string> writer_args(const sqlite_backend& b) {
    return {"sqlite", b.path()};
}
std::vector<std::string> writer_args(const postgres_backend& b) {
    return {"postgres", b.schema()};
}

bool index_exists(sqlite_backend& b, const std::string& name) {
    return b.query_int("SELECT COUNT(*) FROM sqlite_master WHERE type = 'index' AND name = '" +
                       name + "'") == 1;
}
bool index_exists(postgres_backend& b, const std::string& name) {
    return b.query_int("SELECT COUNT(*) FROM pg_indexes WHERE schemaname = '" + b.schema() +
                       "' AND indexname = '" + name + "'") == 1;
}

std::vector<std::string> writer_command(const std::vector<std::string>& target, std::string mode,
                                        long count) {
    std::vector<std::string> argv{SSPR_STORE_WRITER};
    argv.insert(argv.end(), target.begin(), target.end());
    argv.push_back(std::move(mode));
    argv.push_back(std::to_string(count));
    return argv;
}

std::string user_where(const std::string& dn) {
    return " WHERE user_dn = '" + dn + "'";
}

bool contains(std::string_view haystack, std::string_view needle) {
    return haystack.find(needle) != std::string_view::npos;
}

} // namespace

// ---- migrations ---------------------------------------------------------------------------------

TEMPLATE_TEST_CASE("store: a new database gets every migration once, and reopening changes nothing",
                   "[store]", SQL_BACKENDS) {
    TestType backend;
    {
        auto store = backend.open();
        ok(store->increment("k", 1h, t0));
    }
    CHECK(backend.query_int("SELECT COUNT(*) FROM schema_version") == 2);
    CHECK(backend.query_int("SELECT MAX(version) FROM schema_version") == 2);
    CHECK(detail::latest_schema_version == 2);
    {
        auto store = backend.open();
        CHECK(ok(store->increment("k", 1h, t0)).count == 2);
    }
    CHECK(backend.query_int("SELECT COUNT(*) FROM schema_version") == 2);
}

TEMPLATE_TEST_CASE("store: a database at an older version is migrated forward on open", "[store]",
                   SQL_BACKENDS) {
    TestType backend;
    {
        auto store = backend.open();
        ok(store->create_flow(sample_flow("before")));
    }
    // Back to what version 1 left behind.
    backend.exec("DROP INDEX flows_expires_at; DROP INDEX codes_expires_at; "
                 "DROP INDEX counters_window_end; DELETE FROM schema_version WHERE version = 2");
    REQUIRE_FALSE(index_exists(backend, "flows_expires_at"));

    auto store = backend.open();
    CHECK(backend.query_int("SELECT MAX(version) FROM schema_version") == 2);
    CHECK(index_exists(backend, "flows_expires_at"));
    CHECK(index_exists(backend, "codes_expires_at"));
    CHECK(index_exists(backend, "counters_window_end"));
    CHECK(ok(store->get_flow("before", t0)).version == 1);
}

TEMPLATE_TEST_CASE("store: a database from a newer build is refused and left as it is", "[store]",
                   SQL_BACKENDS) {
    TestType backend;
    { auto store = backend.open(); }
    backend.exec("INSERT INTO schema_version (version, applied_at) VALUES (99, 0)");
    auto again = backend.try_open();
    CHECK(err(again) == error::schema_too_new);
    CHECK(backend.query_int("SELECT COUNT(*) FROM schema_version") == 3);
}

// ---- encryption at rest -------------------------------------------------------------------------

TEMPLATE_TEST_CASE("store: enrolment fields are sealed at rest under the active key id", "[store]",
                   SQL_BACKENDS) {
    TestType backend;
    auto store = backend.open();
    const std::string dn = "uid=alice,ou=people,dc=example,dc=org";
    ok(store->put_enrollment(sample_enrollment(dn), t0));

    const auto id = key_a().id();
    CHECK(backend.query_int("SELECT key_id FROM enrollments" + user_where(dn)) ==
          static_cast<std::int64_t>(id));
    CHECK(ok(store->get_enrollment(dn)).key_id == id);
    for (const std::string column : {"emails", "phones", "totp", "questions"}) {
        INFO(column);
        const auto blob =
            backend.query_bytes("SELECT " + column + " FROM enrollments" + user_where(dn));
        CHECK(crypto::sealed_key_id(blob) == id);
        CHECK_FALSE(contains(blob, "alice@example.org"));
        CHECK_FALSE(contains(blob, "1234 5678"));
        CHECK_FALSE(contains(blob, "12345678901234567890"));
        CHECK_FALSE(contains(blob, "argon2id"));
        CHECK_FALSE(contains(blob, "first-pet"));
    }
}

TEMPLATE_TEST_CASE("store: a tampered, moved or swapped ciphertext reads as corrupt", "[store]",
                   SQL_BACKENDS) {
    TestType backend;
    auto store = backend.open();
    const std::string alice = "uid=alice,dc=x";
    const std::string bob = "uid=bob,dc=x";
    ok(store->put_enrollment(sample_enrollment(alice), t0));
    ok(store->put_enrollment(sample_enrollment(bob), t0));
    const auto column = [&](const std::string& c, const std::string& dn) {
        return backend.query_bytes("SELECT " + c + " FROM enrollments" + user_where(dn));
    };
    const auto set = [&](const std::string& c, const std::string& dn, const std::string& blob) {
        backend.exec("UPDATE enrollments SET " + c + " = " + TestType::blob_literal(blob) +
                     user_where(dn));
    };

    SECTION("one bit flipped in the ciphertext") {
        auto blob = column("emails", alice);
        blob[blob.size() / 2] = static_cast<char>(blob[blob.size() / 2] ^ 0x01);
        set("emails", alice, blob);
    }
    SECTION("another user's value copied in") {
        set("phones", alice, column("phones", bob));
    }
    SECTION("another field's value copied in") {
        set("phones", alice, column("emails", alice));
    }
    SECTION("the key id in the header changed to another known key") {
        // Key B is in the keyring below, so the header names a key that exists: the tag still
        // fails, because the header is authenticated data.
        auto blob = column("totp", alice);
        const auto b = key_b().id();
        for (std::size_t i = 0; i < 4; ++i) {
            blob[1 + i] = static_cast<char>((b >> (24 - 8 * i)) & 0xffU);
        }
        set("totp", alice, blob);
    }
    const auto both = std::make_shared<const crypto::keyring>(key_a(), std::vector{key_b()});
    auto reopened = backend.open(both);
    CHECK(err(reopened->get_enrollment(alice)) == error::corrupt);
    CHECK(ok(reopened->get_enrollment(bob)).emails.size() == 2);
}

TEMPLATE_TEST_CASE(
    "store: data under a key the keyring lacks is unknown_key, an older key reads it", "[store]",
    SQL_BACKENDS) {
    TestType backend;
    const std::string dn = "uid=alice,dc=x";
    {
        auto store = backend.open(); // key A
        ok(store->put_enrollment(sample_enrollment(dn), t0));
    }
    {
        auto store = backend.open(std::make_shared<const crypto::keyring>(key_b()));
        CHECK(err(store->get_enrollment(dn)) == error::unknown_key);
    }
    auto store =
        backend.open(std::make_shared<const crypto::keyring>(key_b(), std::vector{key_a()}));
    const auto e = ok(store->get_enrollment(dn));
    CHECK(e.key_id == key_a().id());
    CHECK(e.phones == std::vector<contact>{{"+82 10 1234 5678", t0 - 48h}});
}

TEMPLATE_TEST_CASE("store: rotation re-encrypts every readable row under the active key", "[store]",
                   SQL_BACKENDS) {
    TestType backend;
    std::vector<std::string> users;
    {
        auto store = backend.open(); // key A
        for (int i = 1; i <= 7; ++i) {
            users.push_back("uid=u" + std::to_string(i) + ",dc=x");
            ok(store->put_enrollment(sample_enrollment(users.back()),
                                     t0 + std::chrono::minutes(i)));
        }
    }
    // One damaged row: rotation must name it and carry on.
    auto damaged =
        backend.query_bytes("SELECT questions FROM enrollments" + user_where("uid=u6,dc=x"));
    damaged.back() = static_cast<char>(damaged.back() ^ 0x80);
    backend.exec("UPDATE enrollments SET questions = " + TestType::blob_literal(damaged) +
                 user_where("uid=u6,dc=x"));

    const auto rotating = std::make_shared<const crypto::keyring>(key_b(), std::vector{key_a()});
    {
        auto store = backend.open(rotating);
        const auto report = ok(rotate(*store, *rotating, 3)); // pages of 3: 3 + 3 + 1
        CHECK(report.examined == 7);
        CHECK(report.rewritten == 6);
        CHECK(report.unreadable == std::vector<std::string>{"uid=u6,dc=x"});
        // Running it again finds nothing left to do.
        const auto again = ok(rotate(*store, *rotating, 3));
        CHECK(again.examined == 7);
        CHECK(again.rewritten == 0);
    }
    CHECK(backend.query_int("SELECT COUNT(*) FROM enrollments WHERE key_id = " +
                            std::to_string(key_b().id())) == 6);
    CHECK(backend.query_int("SELECT COUNT(*) FROM enrollments WHERE key_id = " +
                            std::to_string(key_a().id())) == 1);

    // Key A can go: everything rotated reads with key B alone, unchanged but for the version.
    auto store = backend.open(std::make_shared<const crypto::keyring>(key_b()));
    for (int i = 1; i <= 7; ++i) {
        if (i == 6) {
            continue;
        }
        const auto e = ok(store->get_enrollment("uid=u" + std::to_string(i) + ",dc=x"));
        CHECK(e.key_id == key_b().id());
        CHECK(e.version == 2);
        CHECK(e.updated_at == t0 + std::chrono::minutes(i));
        CHECK(e.emails.size() == 2);
        CHECK(e.totp->secret.reveal() == std::string_view("12345678901234567890\0\x01", 22));
    }
}

// ---- durability ---------------------------------------------------------------------------------

TEMPLATE_TEST_CASE("store: a writer killed with SIGKILL loses no acknowledged write", "[store]",
                   SQL_BACKENDS) {
    TestType backend;
    { auto store = backend.open(); } // schema in place before the writer starts

    child_process writer(writer_command(writer_args(backend), "mixed", 1000000));
    REQUIRE(writer.read_line(10s) == std::optional<std::string>("ready"));
    // Let it get well into the loop, then kill it at whatever point it has reached.
    std::vector<std::string> lines;
    while (lines.size() < 600) {
        auto line = writer.read_line(10s);
        REQUIRE(line.has_value());
        lines.push_back(std::move(*line));
    }
    writer.kill_now();
    const int status = writer.wait();
    REQUIRE(WIFSIGNALED(status));
    CHECK(WTERMSIG(status) == SIGKILL);
    // Acknowledgements already in the pipe count too: they were printed after the commit.
    for (auto& line : writer.read_rest(5s)) {
        lines.push_back(std::move(line));
    }

    std::uint64_t counts = 0;
    std::uint64_t flows = 0;
    for (const auto& line : lines) {
        if (line.starts_with("count ")) {
            ++counts;
            // A single writer: the acknowledged counts are 1, 2, 3, ... in order.
            REQUIRE(std::stoull(line.substr(6)) == counts);
        } else if (line.starts_with("flow ")) {
            REQUIRE(std::stoull(line.substr(5)) == flows);
            ++flows;
        } else {
            FAIL("unexpected line from the writer: " << line);
        }
    }
    INFO("acknowledged increments " << counts << ", flows " << flows);

    auto store = backend.open();
    const auto hits =
        backend.query_int("SELECT hits FROM counters WHERE counter_key = 'writer-key'");
    // Every acknowledged increment is there; at most one more, committed just before the kill
    // and never acknowledged.
    CHECK(hits >= static_cast<std::int64_t>(counts));
    CHECK(hits <= static_cast<std::int64_t>(counts) + 1);
    const auto rows = backend.query_int("SELECT COUNT(*) FROM flows");
    CHECK(rows >= static_cast<std::int64_t>(flows));
    CHECK(rows <= static_cast<std::int64_t>(flows) + 1);
    for (std::uint64_t i = 0; i < flows; ++i) {
        if (!store->get_flow("flow-" + std::to_string(i), t0)) {
            FAIL("acknowledged flow-" << i << " is missing");
        }
    }
}

TEMPLATE_TEST_CASE("store: increments from two processes never lose a count", "[store]",
                   SQL_BACKENDS) {
    TestType backend; // fresh: the two writers also race to create the schema
    constexpr long each = 1000;
    child_process first(writer_command(writer_args(backend), "increment", each));
    child_process second(writer_command(writer_args(backend), "increment", each));
    const auto lines = read_all({&first, &second}, 120s);
    const int s1 = first.wait();
    const int s2 = second.wait();
    REQUIRE(WIFEXITED(s1));
    REQUIRE(WIFEXITED(s2));
    CHECK(WEXITSTATUS(s1) == 0);
    CHECK(WEXITSTATUS(s2) == 0);

    std::vector<std::uint64_t> counts;
    for (const auto& of_one : lines) {
        REQUIRE_FALSE(of_one.empty());
        CHECK(of_one.front() == "ready");
        for (std::size_t i = 1; i < of_one.size(); ++i) {
            REQUIRE(of_one[i].starts_with("count "));
            counts.push_back(std::stoull(of_one[i].substr(6)));
        }
    }
    // Each count from 1 to 2000 was handed to exactly one process.
    std::sort(counts.begin(), counts.end());
    std::vector<std::uint64_t> expected(2 * each);
    for (std::size_t i = 0; i < expected.size(); ++i) {
        expected[i] = i + 1;
    }
    CHECK(counts == expected);
    CHECK(backend.query_int("SELECT hits FROM counters WHERE counter_key = 'writer-key'") ==
          2 * each);
    CHECK(backend.query_int("SELECT COUNT(*) FROM schema_version") == 2);
}
