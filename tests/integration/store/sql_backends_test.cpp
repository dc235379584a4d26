// What only the database stores have, checked on both: schema migrations, encryption at rest
// (nothing readable in the tables, tampering detected, key rotation), durability of acknowledged
// writes when the writer is killed with SIGKILL, and increments from two processes at once.
#include "store/crypto.hpp"
#include "store/enrollment_codec.hpp"
#include "store/rotate.hpp"
#include "store/sql.hpp"
#include "tests/integration/store/backends.hpp"
#include "tests/integration/store/child_process.hpp"
#include "tests/support/store_test_support.hpp"

#include <catch2/catch.hpp>
#include <sqlite3.h>

#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <algorithm>
#include <memory>
#include <string>
#include <thread>
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

/// Takes the schema back to what version 1 left: no indexes of version 2, no MAC columns of
/// version 3.
template <class Backend> void back_to_version_1(Backend& backend) {
    backend.exec("DROP INDEX flows_expires_at; DROP INDEX codes_expires_at; "
                 "DROP INDEX counters_window_end; ALTER TABLE flows DROP COLUMN row_mac; "
                 "ALTER TABLE codes DROP COLUMN row_mac; "
                 "ALTER TABLE enrollments DROP COLUMN row_mac; "
                 "DELETE FROM schema_version WHERE version >= 2");
}

/// A value sealed as the previous build sealed it (crypto format 1: the authenticated data has
/// user and field but no version), with a fresh nonce.
std::string legacy_seal(const crypto::key& k, std::string_view plaintext, std::string_view dn,
                        std::string_view field) {
    const auto u32 = [](std::string& out, std::uint32_t v) {
        for (int shift = 24; shift >= 0; shift -= 8) {
            out.push_back(static_cast<char>((v >> static_cast<unsigned>(shift)) & 0xffU));
        }
    };
    std::string header(1, '\x01');
    u32(header, k.id());
    std::string aad = "ssprd-store-v1" + header;
    u32(aad, static_cast<std::uint32_t>(field.size()));
    aad.append(field);
    u32(aad, static_cast<std::uint32_t>(dn.size()));
    aad.append(dn);
    static std::uint8_t counter = 0;
    std::array<unsigned char, crypto::nonce_bytes> nonce{};
    nonce[0] = ++counter;
    const std::span<const unsigned char, crypto::key_bytes> key_bytes(k.data(), crypto::key_bytes);
    const auto body = crypto::detail::aes_256_gcm_encrypt(key_bytes, nonce, aad, plaintext);
    REQUIRE(body.has_value());
    return header + std::string(reinterpret_cast<const char*>(nonce.data()), nonce.size()) + *body;
}

template <class Backend>
void insert_legacy_enrollment(Backend& backend, const enrollment& e, std::int64_t version,
                              std::int64_t step, timestamp updated, bool damage_questions) {
    const auto k = key_a();
    const auto blob = [&](const std::string& plain, std::string_view field) {
        return Backend::blob_literal(legacy_seal(k, plain, e.user_dn, field));
    };
    auto questions = legacy_seal(k, detail::encode_questions(e.questions), e.user_dn, "questions");
    if (damage_questions) {
        questions.back() = static_cast<char>(questions.back() ^ 0x01);
    }
    backend.exec("INSERT INTO enrollments (user_dn, emails, phones, totp, totp_last_step, "
                 "questions, key_id, version, updated_at) VALUES ('" +
                 e.user_dn + "', " + blob(detail::encode_contacts(e.emails), "emails") + ", " +
                 blob(detail::encode_contacts(e.phones), "phones") + ", " +
                 blob(detail::encode_totp(e.totp), "totp") + ", " + std::to_string(step) + ", " +
                 Backend::blob_literal(questions) + ", " + std::to_string(k.id()) + ", " +
                 std::to_string(version) + ", " +
                 std::to_string(updated.time_since_epoch().count()) + ")");
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
    CHECK(backend.query_int("SELECT COUNT(*) FROM schema_version") == 3);
    CHECK(backend.query_int("SELECT MAX(version) FROM schema_version") == 3);
    CHECK(detail::latest_schema_version == 3);
    {
        auto store = backend.open();
        CHECK(ok(store->increment("k", 1h, t0)).count == 2);
    }
    CHECK(backend.query_int("SELECT COUNT(*) FROM schema_version") == 3);
}

TEMPLATE_TEST_CASE("store: a database at an older version is migrated forward on open", "[store]",
                   SQL_BACKENDS) {
    TestType backend;
    {
        auto store = backend.open();
        ok(store->create_flow(sample_flow("before")));
        ok(store->increment("kept", 1h, t0));
    }
    back_to_version_1(backend);
    REQUIRE_FALSE(index_exists(backend, "flows_expires_at"));
    // A flow as version 1 wrote it: no MAC.
    backend.exec("INSERT INTO flows (id, user_dn, kind, state, gates_passed, methods_used, "
                 "created_at, expires_at, version) VALUES ('old', 'uid=a,dc=x', 1, 3, 1, 0, 0, "
                 "9999999999999, 1)");

    auto store = backend.open();
    CHECK(backend.query_int("SELECT MAX(version) FROM schema_version") == 3);
    CHECK(index_exists(backend, "flows_expires_at"));
    CHECK(index_exists(backend, "codes_expires_at"));
    CHECK(index_exists(backend, "counters_window_end"));
    // Flows live for minutes and cannot be given a MAC without the key: migration 3 drops them
    // (the user starts again) rather than trust state nobody can vouch for.
    CHECK(err(store->get_flow("before", t0)) == error::not_found);
    CHECK(err(store->get_flow("old", t0)) == error::not_found);
    CHECK(backend.query_int("SELECT COUNT(*) FROM flows") == 0);
    // Counters carry on.
    CHECK(ok(store->increment("kept", 1h, t0)).count == 2);
    ok(store->create_flow(sample_flow("after")));
    CHECK(ok(store->get_flow("after", t0)).version == 1);
}

TEMPLATE_TEST_CASE(
    "store: migration 3 re-seals enrollments with their version and gives them a MAC", "[store]",
    SQL_BACKENDS) {
    TestType backend;
    { auto store = backend.open(); }
    back_to_version_1(backend);
    backend.exec("INSERT INTO schema_version (version, applied_at) VALUES (2, 0)");
    // Rows exactly as the previous build wrote them: format 1 values (bound to user and field
    // only), no MAC; one whose questions value was damaged at rest.
    const std::string alice = "uid=alice,dc=x";
    const std::string bob = "uid=bob,dc=x";
    const auto e = sample_enrollment(alice);
    insert_legacy_enrollment(backend, e, 6, 100, t0 + 1h, false);
    insert_legacy_enrollment(backend, sample_enrollment(bob), 2, -1, t0, true);

    auto store = backend.open();
    const auto read = ok(store->get_enrollment(alice));
    CHECK(read.version == 6); // the version is kept, and the values are now bound to it
    CHECK(read.updated_at == t0 + 1h);
    CHECK(read.emails == e.emails);
    CHECK(read.phones == e.phones);
    CHECK(read.questions == e.questions);
    REQUIRE(read.totp.has_value());
    CHECK(read.totp->secret.reveal() == e.totp->secret.reveal());
    CHECK(read.totp->last_used_step == 100);
    for (const std::string column : {"emails", "phones", "totp", "questions"}) {
        INFO(column);
        const auto blob =
            backend.query_bytes("SELECT " + column + " FROM enrollments" + user_where(alice));
        CHECK(static_cast<unsigned char>(blob.at(0)) == crypto::format_version);
    }
    CHECK(backend.query_bytes("SELECT row_mac FROM enrollments" + user_where(alice)).size() == 32);
    // The damaged row did not open, so it got no MAC and reads as corrupt, as it did before.
    CHECK(err(store->get_enrollment(bob)) == error::corrupt);
    CHECK(backend.query_bytes("SELECT row_mac FROM enrollments" + user_where(bob)).empty());
    // And the migrated row works on: a put, a TOTP step.
    auto next = read;
    next.emails.push_back({"new@example.org", std::nullopt});
    CHECK(ok(store->put_enrollment(next, t0 + 2h)) == 7);
    CHECK(ok(store->use_totp_step(alice, 101)));
    CHECK(ok(store->get_enrollment(alice)).emails.size() == 3);
}

TEMPLATE_TEST_CASE("store: a database from a newer build is refused and left as it is", "[store]",
                   SQL_BACKENDS) {
    TestType backend;
    { auto store = backend.open(); }
    backend.exec("INSERT INTO schema_version (version, applied_at) VALUES (99, 0)");
    auto again = backend.try_open();
    CHECK(err(again) == error::schema_too_new);
    CHECK(backend.query_int("SELECT COUNT(*) FROM schema_version") == 4);
}

// ---- row integrity ------------------------------------------------------------------------------

TEMPLATE_TEST_CASE("store: a flow row changed with SQL reads as corrupt and is never acted upon",
                   "[store]", SQL_BACKENDS) {
    TestType backend;
    auto store = backend.open();
    const auto v1 = ok(store->create_flow(sample_flow("victim")));
    ok(store->create_flow(sample_flow("other", "uid=mallory,dc=x")));
    const std::string where = " WHERE id = 'victim'";

    SECTION("state set to verified") {
        backend.exec("UPDATE flows SET state = 3" + where);
    }
    SECTION("gates passed raised") {
        backend.exec("UPDATE flows SET gates_passed = 2" + where);
    }
    SECTION("methods used added") {
        backend.exec("UPDATE flows SET methods_used = 6" + where);
    }
    SECTION("another user's flow") {
        backend.exec("UPDATE flows SET user_dn = 'uid=admin,dc=x'" + where);
    }
    SECTION("expiry pushed back") {
        backend.exec("UPDATE flows SET expires_at = expires_at + 86400000" + where);
    }
    SECTION("version changed") {
        backend.exec("UPDATE flows SET version = 7" + where);
    }
    SECTION("the MAC of another flow copied in") {
        backend.exec("UPDATE flows SET row_mac = (SELECT row_mac FROM flows WHERE id = 'other')" +
                     where);
    }
    SECTION("no MAC at all") {
        backend.exec("UPDATE flows SET row_mac = " + TestType::blob_literal("") + where);
    }
    CHECK(err(store->get_flow("victim", t0)) == error::corrupt);
    // A write derived from it is refused too, and changes nothing.
    const auto before = backend.query_bytes("SELECT row_mac FROM flows" + where);
    auto next = v1;
    next.state = flow_state::completed;
    CHECK(err(store->update_flow(next)) == error::corrupt);
    CHECK(backend.query_bytes("SELECT row_mac FROM flows" + where) == before);
    // The other flow is untouched.
    CHECK(ok(store->get_flow("other", t0)).user_dn == "uid=mallory,dc=x");
}

TEMPLATE_TEST_CASE("store: a flow row copied under another id reads as corrupt", "[store]",
                   SQL_BACKENDS) {
    TestType backend;
    auto store = backend.open();
    auto verified = sample_flow("done", "uid=alice,dc=x");
    verified.state = flow_state::verified;
    verified.gates_passed = 1;
    ok(store->create_flow(verified));
    // The attacker's own fresh flow id, given the row (and MAC) of someone's verified flow.
    backend.exec("INSERT INTO flows (id, user_dn, kind, state, gates_passed, methods_used, "
                 "created_at, expires_at, version, row_mac) SELECT 'mine', user_dn, kind, state, "
                 "gates_passed, methods_used, created_at, expires_at, version, row_mac FROM flows "
                 "WHERE id = 'done'");
    CHECK(err(store->get_flow("mine", t0)) == error::corrupt);
    CHECK(ok(store->get_flow("done", t0)).state == flow_state::verified);
}

TEMPLATE_TEST_CASE("store: a code row changed with SQL reads as corrupt and spends nothing",
                   "[store]", SQL_BACKENDS) {
    TestType backend;
    auto store = backend.open();
    ok(store->create_flow(sample_flow("f")));
    ok(store->create_flow(sample_flow("g")));
    ok(store->put_code(sample_code("f"))); // 5 tries
    ok(store->put_code(sample_code("g")));
    for (int i = 0; i < 4; ++i) {
        ok(store->take_try("f", method::email, t0));
    }
    REQUIRE(ok(store->get_code("f", method::email, t0)).tries_left == 1);
    const std::string where = " WHERE flow_id = 'f' AND method = 1";

    SECTION("tries given back") {
        backend.exec("UPDATE codes SET tries_left = 5" + where);
    }
    SECTION("code hash replaced by a hash the attacker knows the code of") {
        backend.exec("UPDATE codes SET code_hash = " + TestType::blob_literal("known") + where);
    }
    SECTION("bound to another destination") {
        backend.exec("UPDATE codes SET binding_hash = " + TestType::blob_literal("elsewhere") +
                     where);
    }
    SECTION("lifetime extended") {
        backend.exec("UPDATE codes SET expires_at = expires_at + 86400000" + where);
    }
    SECTION("another flow's code and MAC copied in") {
        backend.exec("UPDATE codes SET (binding_hash, code_hash, expires_at, tries_left, row_mac) "
                     "= (SELECT binding_hash, code_hash, expires_at, tries_left, row_mac FROM "
                     "codes WHERE flow_id = 'g')" +
                     where);
    }
    CHECK(err(store->get_code("f", method::email, t0)) == error::corrupt);
    const auto tries_before = backend.query_int("SELECT tries_left FROM codes" + where);
    CHECK(err(store->take_try("f", method::email, t0)) == error::corrupt);
    CHECK(backend.query_int("SELECT tries_left FROM codes" + where) == tries_before);
    CHECK(ok(store->take_try("g", method::email, t0)).tries_left == 4);
}

TEMPLATE_TEST_CASE("store: a lowered TOTP step reads as corrupt and never lets a replay through",
                   "[store]", SQL_BACKENDS) {
    TestType backend;
    auto store = backend.open();
    const std::string dn = "uid=alice,dc=x";
    ok(store->put_enrollment(sample_enrollment(dn), t0));
    REQUIRE(ok(store->use_totp_step(dn, 60000000)));
    backend.exec("UPDATE enrollments SET totp_last_step = 1" + user_where(dn));
    // The replay of the code just used would pass against the lowered step: it is refused.
    CHECK(err(store->use_totp_step(dn, 60000000)) == error::corrupt);
    CHECK(err(store->get_enrollment(dn)) == error::corrupt);
    CHECK(backend.query_int("SELECT totp_last_step FROM enrollments" + user_where(dn)) == 1);
}

TEMPLATE_TEST_CASE("store: an enrollment's columns changed with SQL read as corrupt", "[store]",
                   SQL_BACKENDS) {
    TestType backend;
    auto store = backend.open();
    const std::string dn = "uid=alice,dc=x";
    ok(store->put_enrollment(sample_enrollment(dn), t0));
    const auto e = ok(store->get_enrollment(dn));
    SECTION("version") {
        backend.exec("UPDATE enrollments SET version = 9" + user_where(dn));
    }
    SECTION("updated_at") {
        backend.exec("UPDATE enrollments SET updated_at = 0" + user_where(dn));
    }
    SECTION("key id") {
        backend.exec("UPDATE enrollments SET key_id = 5" + user_where(dn));
    }
    CHECK(err(store->get_enrollment(dn)) == error::corrupt);
    // A put based on the earlier read is refused and changes nothing.
    CHECK(err(store->put_enrollment(e, t0 + 1h)) == error::corrupt);
}

TEMPLATE_TEST_CASE("store: an older sealed value of the same user put back reads as corrupt",
                   "[store]", SQL_BACKENDS) {
    TestType backend;
    auto store = backend.open();
    const std::string dn = "uid=alice,dc=x";
    auto e = sample_enrollment(dn);
    ok(store->put_enrollment(e, t0));
    const auto old_phones = backend.query_bytes("SELECT phones FROM enrollments" + user_where(dn));
    const auto old_mac = backend.query_bytes("SELECT row_mac FROM enrollments" + user_where(dn));
    // The user replaces a lost phone.
    e = ok(store->get_enrollment(dn));
    e.phones = {{"+82 10 9999 0000", t0 + 1h}};
    REQUIRE(ok(store->put_enrollment(e, t0 + 1h)) == 2);

    SECTION("the old phone value alone") {
        backend.exec("UPDATE enrollments SET phones = " + TestType::blob_literal(old_phones) +
                     user_where(dn));
    }
    SECTION("the old phone value with the old row's MAC") {
        backend.exec("UPDATE enrollments SET phones = " + TestType::blob_literal(old_phones) +
                     ", row_mac = " + TestType::blob_literal(old_mac) + user_where(dn));
    }
    CHECK(err(store->get_enrollment(dn)) == error::corrupt);
}

TEMPLATE_TEST_CASE("store: another user's whole sealed enrollment swapped in reads as corrupt",
                   "[store]", SQL_BACKENDS) {
    TestType backend;
    auto store = backend.open();
    const std::string alice = "uid=alice,dc=x";
    const std::string mallory = "uid=mallory,dc=x";
    ok(store->put_enrollment(sample_enrollment(alice), t0));
    auto m = sample_enrollment(mallory);
    m.phones = {{"+82 10 6666 6666", t0}};
    ok(store->put_enrollment(m, t0));
    // Mallory's phone, TOTP secret and answers (and MAC) into Alice's row, so a reset of Alice
    // would send the code to Mallory.
    backend.exec("UPDATE enrollments SET (emails, phones, totp, totp_last_step, questions, key_id, "
                 "version, updated_at, row_mac) = (SELECT emails, phones, totp, totp_last_step, "
                 "questions, key_id, version, updated_at, row_mac FROM enrollments" +
                 user_where(mallory) + ")" + user_where(alice));
    CHECK(err(store->get_enrollment(alice)) == error::corrupt);
    CHECK(err(store->use_totp_step(alice, 70000000)) == error::corrupt);
    CHECK(ok(store->get_enrollment(mallory)).phones == m.phones);
}

// ---- encryption at rest -------------------------------------------------------------------------

TEMPLATE_TEST_CASE("store: enrollment fields are sealed at rest under the active key id", "[store]",
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
    CHECK(backend.query_int("SELECT COUNT(*) FROM schema_version") == 3);
}

// Switching a file to WAL takes an exclusive lock, and while another connection holds a write
// lock SQLite answers SQLITE_BUSY at once, without calling the busy handler. Two processes opening
// a fresh file together hit that (one failed with "database is locked" in CI): the open retries
// within its busy timeout instead.
TEST_CASE("store: opening waits out another connection's write lock on a fresh file",
          "[store][sqlite]") {
    sqlite_backend backend;
    sqlite3* raw = nullptr;
    REQUIRE(sqlite3_open(backend.path().c_str(), &raw) == SQLITE_OK);
    const std::unique_ptr<sqlite3, decltype(&sqlite3_close)> holder(raw, &sqlite3_close);
    REQUIRE(::chmod(backend.path().c_str(), 0600) == 0); // the store refuses a readable file
    // A rollback-journal file (what a fresh file is) with a write transaction open on it.
    REQUIRE(sqlite3_exec(raw,
                         "CREATE TABLE other(x); BEGIN IMMEDIATE; INSERT INTO other VALUES (1)",
                         nullptr, nullptr, nullptr) == SQLITE_OK);
    std::thread release([raw] {
        std::this_thread::sleep_for(300ms);
        sqlite3_exec(raw, "COMMIT", nullptr, nullptr, nullptr);
    });
    const auto started = std::chrono::steady_clock::now();
    auto opened = backend.try_open();
    const auto waited = std::chrono::steady_clock::now() - started;
    release.join();
    INFO((opened ? std::string("opened") : opened.error().message()));
    REQUIRE(opened.has_value());
    CHECK(waited >= 250ms); // it did wait for the lock rather than find none
    CHECK(backend.query_int("SELECT COUNT(*) FROM other") == 1);
}
