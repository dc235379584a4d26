// The StateStore conformance suite: every operation of store/state_store.hpp, written once and
// run against the fake, SQLite and PostgreSQL (TEMPLATE_TEST_CASE over the fixtures of
// backends.hpp). Expected values are written out by hand; the many-thread cases check that no
// count or try is ever lost or spent twice.
#include "tests/integration/store/backends.hpp"
#include "tests/support/store_test_support.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <latch>
#include <set>
#include <thread>
#include <vector>

using namespace sspr::store;
using namespace sspr::testing::store_support;
using sspr::config::method;

// Short names: they become part of the test names ("... - sqlite_backend").
using fake_backend = sspr::testing::store_support::fake_backend;
using sqlite_backend = sspr::testing::store_support::sqlite_backend;
using postgres_backend = sspr::testing::store_support::postgres_backend;

#define STORE_BACKENDS fake_backend, sqlite_backend, postgres_backend

// ---- flows --------------------------------------------------------------------------------------

TEMPLATE_TEST_CASE("store: a created flow reads back field for field with version 1", "[store]",
                   STORE_BACKENDS) {
    TestType backend;
    auto store = backend.open();
    auto flow = sample_flow("flow-1");
    flow.kind = flow_kind::unlock;
    flow.state = flow_state::challenged;
    flow.gates_passed = 1;
    flow.methods_used = {method::totp, method::email, method::totp};

    const auto created = ok(store->create_flow(flow));
    CHECK(created.version == 1);
    CHECK(created.methods_used == std::vector<method>{method::email, method::totp});

    const auto read = ok(store->get_flow("flow-1", t0 + 1min));
    CHECK(read.id == "flow-1");
    CHECK(read.user_dn == "uid=alice,ou=people,dc=example,dc=org");
    CHECK(read.kind == flow_kind::unlock);
    CHECK(read.state == flow_state::challenged);
    CHECK(read.gates_passed == 1);
    CHECK(read.methods_used == std::vector<method>{method::email, method::totp});
    CHECK(read.created_at == t0);
    CHECK(read.expires_at == t0 + 15min);
    CHECK(read.version == 1);
}

TEMPLATE_TEST_CASE("store: a second flow with the same id is a conflict and changes nothing",
                   "[store]", STORE_BACKENDS) {
    TestType backend;
    auto store = backend.open();
    ok(store->create_flow(sample_flow("dup")));
    auto other = sample_flow("dup", "uid=mallory,ou=people,dc=example,dc=org");
    CHECK(err(store->create_flow(other)) == error::conflict);
    CHECK(ok(store->get_flow("dup", t0)).user_dn == "uid=alice,ou=people,dc=example,dc=org");
}

TEMPLATE_TEST_CASE("store: an unknown flow is not_found, a flow at or past its expiry is expired",
                   "[store]", STORE_BACKENDS) {
    TestType backend;
    auto store = backend.open();
    CHECK(err(store->get_flow("nope", t0)) == error::not_found);
    ok(store->create_flow(sample_flow("f")));
    CHECK(ok(store->get_flow("f", t0 + 15min - 1ms)).id == "f");
    CHECK(err(store->get_flow("f", t0 + 15min)) == error::expired);
    CHECK(err(store->get_flow("f", t0 + 16min)) == error::expired);
}

TEMPLATE_TEST_CASE("store: update_flow is a compare-and-set on the version", "[store]",
                   STORE_BACKENDS) {
    TestType backend;
    auto store = backend.open();
    const auto v1 = ok(store->create_flow(sample_flow("cas")));

    auto next = v1;
    next.state = flow_state::verified;
    next.gates_passed = 2;
    next.methods_used = {method::sms, method::questions};
    next.expires_at = t0 + 20min;
    // Fields that never change, even when the caller sends other values.
    next.user_dn = "uid=eve,ou=people,dc=example,dc=org";
    next.kind = flow_kind::change;
    next.created_at = t0 + 5min;
    const auto v2 = ok(store->update_flow(next));
    CHECK(v2.version == 2);
    CHECK(v2.state == flow_state::verified);
    CHECK(v2.gates_passed == 2);
    CHECK(v2.methods_used == std::vector<method>{method::sms, method::questions});
    CHECK(v2.expires_at == t0 + 20min);
    CHECK(v2.user_dn == "uid=alice,ou=people,dc=example,dc=org");
    CHECK(v2.kind == flow_kind::reset);
    CHECK(v2.created_at == t0);

    // A writer that read version 1 loses, and its values are not applied.
    auto stale = v1;
    stale.state = flow_state::failed;
    CHECK(err(store->update_flow(stale)) == error::conflict);
    const auto now = ok(store->get_flow("cas", t0));
    CHECK(now.state == flow_state::verified);
    CHECK(now.version == 2);

    auto ghost = sample_flow("ghost");
    ghost.version = 1;
    CHECK(err(store->update_flow(ghost)) == error::not_found);
}

TEMPLATE_TEST_CASE("store: of many threads updating the same version exactly one wins", "[store]",
                   STORE_BACKENDS) {
    TestType backend;
    auto store = backend.open();
    const auto v1 = ok(store->create_flow(sample_flow("race")));
    constexpr int threads = 8;
    std::atomic<int> won{0};
    std::atomic<int> lost{0};
    std::atomic<int> other{0};
    std::latch start(threads);
    std::vector<std::thread> pool;
    pool.reserve(threads);
    for (int i = 0; i < threads; ++i) {
        pool.emplace_back([&, i] {
            auto next = v1;
            next.gates_passed = static_cast<unsigned>(i + 1);
            start.arrive_and_wait();
            auto r = store->update_flow(next);
            if (r) {
                ++won;
            } else if (r.error() == error::conflict) {
                ++lost;
            } else {
                ++other;
            }
        });
    }
    for (auto& t : pool) {
        t.join();
    }
    CHECK(won == 1);
    CHECK(lost == threads - 1);
    CHECK(other == 0);
    CHECK(ok(store->get_flow("race", t0)).version == 2);
}

TEMPLATE_TEST_CASE("store: deleting a flow deletes its codes", "[store]", STORE_BACKENDS) {
    TestType backend;
    auto store = backend.open();
    ok(store->create_flow(sample_flow("del")));
    ok(store->put_code(sample_code("del", method::email)));
    ok(store->put_code(sample_code("del", method::sms)));
    ok(store->delete_flow("del"));
    CHECK(err(store->get_flow("del", t0)) == error::not_found);
    CHECK(err(store->get_code("del", method::email, t0)) == error::not_found);
    CHECK(err(store->get_code("del", method::sms, t0)) == error::not_found);
    CHECK(err(store->delete_flow("del")) == error::not_found);
}

TEMPLATE_TEST_CASE("store: invalid flows are refused with invalid_argument", "[store]",
                   STORE_BACKENDS) {
    TestType backend;
    auto store = backend.open();
    auto no_id = sample_flow("");
    CHECK(err(store->create_flow(no_id)) == error::invalid_argument);
    auto no_user = sample_flow("x", "");
    CHECK(err(store->create_flow(no_user)) == error::invalid_argument);
    auto bad_state = sample_flow("x");
    bad_state.state = flow_state::invalid;
    CHECK(err(store->create_flow(bad_state)) == error::invalid_argument);
    auto bad_kind = sample_flow("x");
    bad_kind.kind = flow_kind::invalid;
    CHECK(err(store->create_flow(bad_kind)) == error::invalid_argument);
    auto bad_method = sample_flow("x");
    bad_method.methods_used = {method::invalid};
    CHECK(err(store->create_flow(bad_method)) == error::invalid_argument);
    CHECK(err(store->get_flow("x", t0)) == error::not_found);
}

// ---- codes --------------------------------------------------------------------------------------

TEMPLATE_TEST_CASE("store: a code reads back with binary hashes intact, per method", "[store]",
                   STORE_BACKENDS) {
    TestType backend;
    auto store = backend.open();
    ok(store->create_flow(sample_flow("c")));
    ok(store->put_code(sample_code("c", method::email)));
    auto sms = sample_code("c", method::sms);
    sms.code_hash = "sms-hash";
    sms.binding_hash = "";
    sms.tries_left = 3;
    ok(store->put_code(sms));

    const auto email = ok(store->get_code("c", method::email, t0));
    CHECK(email.flow_id == "c");
    CHECK(email.method == method::email);
    CHECK(email.binding_hash == std::string("\x01\x02\x00\x03", 4));
    CHECK(email.code_hash == std::string("\xff\x00hash", 6));
    CHECK(email.expires_at == t0 + 10min);
    CHECK(email.tries_left == 5);
    const auto read_sms = ok(store->get_code("c", method::sms, t0));
    CHECK(read_sms.code_hash == "sms-hash");
    CHECK(read_sms.binding_hash.empty());
    CHECK(read_sms.tries_left == 3);
    CHECK(err(store->get_code("c", method::totp, t0)) == error::not_found);
    CHECK(err(store->get_code("c", method::email, t0 + 10min)) == error::expired);
}

TEMPLATE_TEST_CASE("store: a resent code replaces the old one and restarts its tries", "[store]",
                   STORE_BACKENDS) {
    TestType backend;
    auto store = backend.open();
    ok(store->create_flow(sample_flow("r")));
    ok(store->put_code(sample_code("r")));
    CHECK(ok(store->take_try("r", method::email, t0)).tries_left == 4);
    auto again = sample_code("r");
    again.code_hash = "new";
    again.expires_at = t0 + 12min;
    ok(store->put_code(again));
    const auto read = ok(store->get_code("r", method::email, t0));
    CHECK(read.code_hash == "new");
    CHECK(read.tries_left == 5);
    CHECK(read.expires_at == t0 + 12min);
}

TEMPLATE_TEST_CASE("store: a code for a flow that does not exist is not_found", "[store]",
                   STORE_BACKENDS) {
    TestType backend;
    auto store = backend.open();
    CHECK(err(store->put_code(sample_code("missing"))) == error::not_found);
    auto bad = sample_code("missing");
    bad.method = method::invalid;
    CHECK(err(store->put_code(bad)) == error::invalid_argument);
}

TEMPLATE_TEST_CASE("store: take_try spends one try at a time until none is left", "[store]",
                   STORE_BACKENDS) {
    TestType backend;
    auto store = backend.open();
    ok(store->create_flow(sample_flow("t")));
    auto code = sample_code("t");
    code.tries_left = 3;
    ok(store->put_code(code));
    const auto first = ok(store->take_try("t", method::email, t0));
    CHECK(first.tries_left == 2);
    CHECK(first.code_hash == std::string("\xff\x00hash", 6));
    CHECK(ok(store->take_try("t", method::email, t0)).tries_left == 1);
    CHECK(ok(store->take_try("t", method::email, t0)).tries_left == 0);
    CHECK(err(store->take_try("t", method::email, t0)) == error::no_tries_left);
    CHECK(ok(store->get_code("t", method::email, t0)).tries_left == 0);
    CHECK(err(store->take_try("t", method::sms, t0)) == error::not_found);
    CHECK(err(store->take_try("nope", method::email, t0)) == error::not_found);
}

TEMPLATE_TEST_CASE("store: an expired code spends no try", "[store]", STORE_BACKENDS) {
    TestType backend;
    auto store = backend.open();
    ok(store->create_flow(sample_flow("e")));
    ok(store->put_code(sample_code("e")));
    CHECK(err(store->take_try("e", method::email, t0 + 10min)) == error::expired);
    CHECK(ok(store->get_code("e", method::email, t0)).tries_left == 5);
}

TEMPLATE_TEST_CASE("store: concurrent verifiers never spend more tries than there are", "[store]",
                   STORE_BACKENDS) {
    TestType backend;
    auto store = backend.open();
    ok(store->create_flow(sample_flow("guess")));
    ok(store->put_code(sample_code("guess"))); // 5 tries
    constexpr int threads = 8;
    constexpr int attempts = 5;
    std::atomic<int> spent{0};
    std::atomic<int> refused{0};
    std::atomic<int> other{0};
    std::mutex seen_mutex;
    std::multiset<unsigned> seen;
    std::latch start(threads);
    std::vector<std::thread> pool;
    pool.reserve(threads);
    for (int i = 0; i < threads; ++i) {
        pool.emplace_back([&] {
            start.arrive_and_wait();
            for (int a = 0; a < attempts; ++a) {
                auto r = store->take_try("guess", method::email, t0);
                if (r) {
                    ++spent;
                    const std::lock_guard lock(seen_mutex);
                    seen.insert(r->tries_left);
                } else if (r.error() == error::no_tries_left) {
                    ++refused;
                } else {
                    ++other;
                }
            }
        });
    }
    for (auto& t : pool) {
        t.join();
    }
    CHECK(spent == 5);
    CHECK(refused == threads * attempts - 5);
    CHECK(other == 0);
    // Each remaining count was handed out exactly once.
    CHECK(seen == std::multiset<unsigned>{0, 1, 2, 3, 4});
}

TEMPLATE_TEST_CASE("store: delete_code removes one method's code only", "[store]", STORE_BACKENDS) {
    TestType backend;
    auto store = backend.open();
    ok(store->create_flow(sample_flow("d")));
    ok(store->put_code(sample_code("d", method::email)));
    ok(store->put_code(sample_code("d", method::sms)));
    ok(store->delete_code("d", method::email));
    CHECK(err(store->get_code("d", method::email, t0)) == error::not_found);
    CHECK(ok(store->get_code("d", method::sms, t0)).tries_left == 5);
    CHECK(err(store->delete_code("d", method::email)) == error::not_found);
}

// ---- enrollment
// ----------------------------------------------------------------------------------

TEMPLATE_TEST_CASE("store: an enrollment reads back field for field", "[store]", STORE_BACKENDS) {
    TestType backend;
    auto store = backend.open();
    const auto e = sample_enrollment("uid=alice,ou=people,dc=example,dc=org");
    CHECK(ok(store->put_enrollment(e, t0 + 1h)) == 1);

    const auto read = ok(store->get_enrollment("uid=alice,ou=people,dc=example,dc=org"));
    CHECK(read.user_dn == "uid=alice,ou=people,dc=example,dc=org");
    CHECK(read.emails ==
          std::vector<contact>{{"alice@example.org", t0 - 24h}, {"älice@例え.jp", std::nullopt}});
    CHECK(read.phones == std::vector<contact>{{"+82 10 1234 5678", t0 - 48h}});
    REQUIRE(read.totp.has_value());
    CHECK(read.totp->secret.reveal() == std::string_view("12345678901234567890\0\x01", 22));
    CHECK(read.totp->last_used_step == 56666666);
    CHECK(read.totp->confirmed);
    CHECK(read.questions == std::vector<question_answer>{
                                {"first-pet", "$argon2id$v=19$m=65536,t=3,p=1$c2FsdA$aGFzaA"},
                                {"birth-city", "$argon2id$v=19$m=65536,t=3,p=1$c2FsdDI$aGFzaDI"}});
    CHECK(read.version == 1);
    CHECK(read.updated_at == t0 + 1h);
    CHECK_FALSE(read.totp->confirmed_at.has_value());
    CHECK_FALSE(read.questions_confirmed_at.has_value());
}

TEMPLATE_TEST_CASE("store: the TOTP's and the answers' confirmation times read back", "[store]",
                   STORE_BACKENDS) {
    TestType backend;
    auto store = backend.open();
    auto e = sample_enrollment("uid=bob,ou=people,dc=example,dc=org");
    e.totp->confirmed_at = t0 - 5h;
    e.questions_confirmed_at = t0 - 7h;
    ok(store->put_enrollment(e, t0));
    const auto read = ok(store->get_enrollment("uid=bob,ou=people,dc=example,dc=org"));
    REQUIRE(read.totp.has_value());
    CHECK(read.totp->confirmed_at == std::optional<timestamp>(t0 - 5h));
    CHECK(read.questions_confirmed_at == std::optional<timestamp>(t0 - 7h));
}

TEMPLATE_TEST_CASE("store: an empty enrollment (no methods yet) reads back empty", "[store]",
                   STORE_BACKENDS) {
    TestType backend;
    auto store = backend.open();
    enrollment e;
    e.user_dn = "uid=bob,ou=people,dc=example,dc=org";
    ok(store->put_enrollment(e, t0));
    const auto read = ok(store->get_enrollment(e.user_dn));
    CHECK(read.emails.empty());
    CHECK(read.phones.empty());
    CHECK_FALSE(read.totp.has_value());
    CHECK(read.questions.empty());
    CHECK(err(store->get_enrollment("uid=nobody,dc=example,dc=org")) == error::not_found);
}

TEMPLATE_TEST_CASE("store: put_enrollment is a compare-and-set on the version", "[store]",
                   STORE_BACKENDS) {
    TestType backend;
    auto store = backend.open();
    const std::string dn = "uid=carol,ou=people,dc=example,dc=org";
    ok(store->put_enrollment(sample_enrollment(dn), t0));

    // Creating again (version 0) conflicts.
    CHECK(err(store->put_enrollment(sample_enrollment(dn), t0)) == error::conflict);

    auto e = ok(store->get_enrollment(dn));
    e.phones.clear(); // helpdesk: lost phone
    CHECK(ok(store->put_enrollment(e, t0 + 1h)) == 2);

    // Another writer that also read version 1 loses.
    auto stale = e;
    stale.version = 1;
    stale.emails.clear();
    CHECK(err(store->put_enrollment(stale, t0 + 2h)) == error::conflict);
    const auto now = ok(store->get_enrollment(dn));
    CHECK(now.version == 2);
    CHECK(now.phones.empty());
    CHECK(now.emails.size() == 2);
    CHECK(now.updated_at == t0 + 1h);

    auto ghost = sample_enrollment("uid=ghost,dc=example,dc=org");
    ghost.version = 3;
    CHECK(err(store->put_enrollment(ghost, t0)) == error::not_found);
}

TEMPLATE_TEST_CASE("store: delete and list enrollments, in pages", "[store]", STORE_BACKENDS) {
    TestType backend;
    auto store = backend.open();
    for (const auto* dn : {"uid=d,dc=x", "uid=a,dc=x", "uid=c,dc=x", "uid=b,dc=x", "uid=e,dc=x"}) {
        enrollment e;
        e.user_dn = dn;
        ok(store->put_enrollment(e, t0));
    }
    CHECK(ok(store->list_enrollments("", 2)) ==
          std::vector<std::string>{"uid=a,dc=x", "uid=b,dc=x"});
    CHECK(ok(store->list_enrollments("uid=b,dc=x", 2)) ==
          std::vector<std::string>{"uid=c,dc=x", "uid=d,dc=x"});
    CHECK(ok(store->list_enrollments("uid=d,dc=x", 2)) == std::vector<std::string>{"uid=e,dc=x"});
    ok(store->delete_enrollment("uid=c,dc=x"));
    CHECK(err(store->delete_enrollment("uid=c,dc=x")) == error::not_found);
    CHECK(ok(store->list_enrollments("", 10)) ==
          std::vector<std::string>{"uid=a,dc=x", "uid=b,dc=x", "uid=d,dc=x", "uid=e,dc=x"});
    CHECK(err(store->list_enrollments("", 0)) == error::invalid_argument);
}

// ---- TOTP last-used step ------------------------------------------------------------------------

TEMPLATE_TEST_CASE("store: a TOTP step is accepted once, and never an earlier one", "[store]",
                   STORE_BACKENDS) {
    TestType backend;
    auto store = backend.open();
    const std::string dn = "uid=alice,ou=people,dc=example,dc=org";
    auto e = sample_enrollment(dn);
    e.totp->last_used_step = -1;
    ok(store->put_enrollment(e, t0));

    CHECK(ok(store->use_totp_step(dn, 100)) == true);
    CHECK(ok(store->use_totp_step(dn, 100)) == false); // replay
    CHECK(ok(store->use_totp_step(dn, 99)) == false);  // older code
    CHECK(ok(store->use_totp_step(dn, 101)) == true);
    CHECK(ok(store->get_enrollment(dn)).totp->last_used_step == 101);
    CHECK(err(store->use_totp_step("uid=nobody,dc=example,dc=org", 5)) == error::not_found);
}

TEMPLATE_TEST_CASE("store: an enrollment write based on an old read never lowers the TOTP step",
                   "[store]", STORE_BACKENDS) {
    TestType backend;
    auto store = backend.open();
    const std::string dn = "uid=alice,ou=people,dc=example,dc=org";
    auto e = sample_enrollment(dn);
    e.totp->last_used_step = 10;
    ok(store->put_enrollment(e, t0));
    auto read = ok(store->get_enrollment(dn)); // step 10
    CHECK(ok(store->use_totp_step(dn, 200)) == true);
    read.phones.clear();
    ok(store->put_enrollment(read, t0 + 1min)); // carries step 10
    CHECK(ok(store->get_enrollment(dn)).totp->last_used_step == 200);
    CHECK(ok(store->use_totp_step(dn, 200)) == false);
}

TEMPLATE_TEST_CASE("store: of many threads using the same TOTP step exactly one succeeds",
                   "[store]", STORE_BACKENDS) {
    TestType backend;
    auto store = backend.open();
    const std::string dn = "uid=alice,ou=people,dc=example,dc=org";
    ok(store->put_enrollment(sample_enrollment(dn), t0));
    constexpr int threads = 8;
    std::atomic<int> accepted{0};
    std::atomic<int> replays{0};
    std::latch start(threads);
    std::vector<std::thread> pool;
    pool.reserve(threads);
    for (int i = 0; i < threads; ++i) {
        pool.emplace_back([&] {
            start.arrive_and_wait();
            auto r = store->use_totp_step(dn, 60000000);
            if (r && *r) {
                ++accepted;
            } else if (r) {
                ++replays;
            }
        });
    }
    for (auto& t : pool) {
        t.join();
    }
    CHECK(accepted == 1);
    CHECK(replays == threads - 1);
}

// ---- counters -----------------------------------------------------------------------------------

TEMPLATE_TEST_CASE("store: increment counts in a fixed window that restarts after it ends",
                   "[store]", STORE_BACKENDS) {
    TestType backend;
    auto store = backend.open();
    const auto first = ok(store->increment("ip:203.0.113.7", 10min, t0));
    CHECK(first.count == 1);
    CHECK(first.window_end == t0 + 10min);
    CHECK_FALSE(first.blocked_until.has_value());
    CHECK(ok(store->increment("ip:203.0.113.7", 10min, t0 + 1min)).count == 2);
    const auto third = ok(store->increment("ip:203.0.113.7", 10min, t0 + 10min - 1ms));
    CHECK(third.count == 3);
    CHECK(third.window_end == t0 + 10min);
    // At the window's end a new window starts with this attempt.
    const auto fresh = ok(store->increment("ip:203.0.113.7", 10min, t0 + 10min));
    CHECK(fresh.count == 1);
    CHECK(fresh.window_end == t0 + 20min);
    // Keys are independent.
    CHECK(ok(store->increment("ip:203.0.113.8", 10min, t0 + 1min)).count == 1);
}

TEMPLATE_TEST_CASE("store: a block holds until its end, only grows, and increments report it",
                   "[store]", STORE_BACKENDS) {
    TestType backend;
    auto store = backend.open();
    CHECK_FALSE(ok(store->blocked_until("user:alice", t0)).has_value());
    ok(store->block("user:alice", t0 + 30min));
    CHECK(ok(store->blocked_until("user:alice", t0)) == t0 + 30min);
    ok(store->block("user:alice", t0 + 5min)); // shorter: ignored
    CHECK(ok(store->blocked_until("user:alice", t0)) == t0 + 30min);
    ok(store->block("user:alice", t0 + 1h)); // longer: extends
    CHECK(ok(store->blocked_until("user:alice", t0)) == t0 + 1h);

    const auto during = ok(store->increment("user:alice", 10min, t0 + 1min));
    CHECK(during.count == 1);
    CHECK(during.blocked_until == t0 + 1h);
    CHECK_FALSE(ok(store->blocked_until("user:alice", t0 + 1h)).has_value());
    CHECK_FALSE(ok(store->increment("user:alice", 10min, t0 + 1h)).blocked_until.has_value());
}

TEMPLATE_TEST_CASE("store: reset forgets the count and the block", "[store]", STORE_BACKENDS) {
    TestType backend;
    auto store = backend.open();
    ok(store->increment("k", 1h, t0));
    ok(store->increment("k", 1h, t0));
    ok(store->block("k", t0 + 1h));
    ok(store->reset("k"));
    CHECK_FALSE(ok(store->blocked_until("k", t0)).has_value());
    CHECK(ok(store->increment("k", 1h, t0)).count == 1);
    ok(store->reset("never-seen"));
}

TEMPLATE_TEST_CASE("store: invalid counter keys and windows are refused", "[store]",
                   STORE_BACKENDS) {
    TestType backend;
    auto store = backend.open();
    CHECK(err(store->increment("", 1h, t0)) == error::invalid_argument);
    CHECK(err(store->increment("k", 0ms, t0)) == error::invalid_argument);
    CHECK(err(store->block("", t0)) == error::invalid_argument);
}

TEMPLATE_TEST_CASE("store: increments from many threads never lose a count", "[store]",
                   STORE_BACKENDS) {
    TestType backend;
    auto store = backend.open();
    constexpr int threads = 8;
    constexpr int per_thread = 250;
    std::mutex seen_mutex;
    std::vector<std::uint64_t> seen;
    std::atomic<int> failures{0};
    std::latch start(threads);
    std::vector<std::thread> pool;
    pool.reserve(threads);
    for (int i = 0; i < threads; ++i) {
        pool.emplace_back([&] {
            std::vector<std::uint64_t> mine;
            start.arrive_and_wait();
            for (int n = 0; n < per_thread; ++n) {
                auto r = store->increment("shared", 1h, t0);
                if (r) {
                    mine.push_back(r->count);
                } else {
                    ++failures;
                }
            }
            const std::lock_guard lock(seen_mutex);
            seen.insert(seen.end(), mine.begin(), mine.end());
        });
    }
    for (auto& t : pool) {
        t.join();
    }
    CHECK(failures == 0);
    // Every count from 1 to 2000 was handed out exactly once: no lost and no doubled increment.
    std::sort(seen.begin(), seen.end());
    std::vector<std::uint64_t> expected(static_cast<std::size_t>(threads) * per_thread);
    for (std::size_t i = 0; i < expected.size(); ++i) {
        expected[i] = i + 1;
    }
    CHECK(seen == expected);
    CHECK(ok(store->increment("shared", 1h, t0)).count == 2001);
}

// ---- purge --------------------------------------------------------------------------------------

TEMPLATE_TEST_CASE("store: purge_expired removes only what is over, in bounded batches", "[store]",
                   STORE_BACKENDS) {
    TestType backend;
    auto store = backend.open();
    // Flows: three expire at t0 + 15 min, one lives until t0 + 1 h. old-1's codes outlive their
    // flow on paper, so only the flow's deletion can remove them (which batch takes which
    // expired flow is the database's choice; the counts below do not depend on it).
    for (const auto* id : {"old-1", "old-2", "old-3"}) {
        ok(store->create_flow(sample_flow(id)));
    }
    for (const auto m : {method::email, method::sms}) {
        auto c = sample_code("old-1", m);
        c.expires_at = t0 + 1h;
        ok(store->put_code(c));
    }
    auto live = sample_flow("live");
    live.expires_at = t0 + 1h;
    ok(store->create_flow(live));
    auto live_code = sample_code("live"); // expires t0 + 10 min, before its flow
    ok(store->put_code(live_code));
    auto live_sms = sample_code("live", method::sms);
    live_sms.expires_at = t0 + 50min;
    ok(store->put_code(live_sms));
    // Counters: one whose window is over, one blocked beyond the window, one still counting.
    ok(store->increment("over", 5min, t0));
    ok(store->increment("blocked", 5min, t0));
    ok(store->block("blocked", t0 + 2h));
    ok(store->increment("counting", 1h, t0));

    const auto at = t0 + 20min;
    // Batches of 2: two of the three old flows, the live flow's expired email code, the "over"
    // counter; codes deleted with their flow are not counted.
    CHECK(ok(store->purge_expired(at, 2)) == 4);
    // Then the third old flow.
    CHECK(ok(store->purge_expired(at, 2)) == 1);
    CHECK(ok(store->purge_expired(at, 2)) == 0);

    for (const auto* id : {"old-1", "old-2", "old-3"}) {
        CHECK(err(store->get_flow(id, t0)) == error::not_found);
    }
    CHECK(err(store->get_code("old-1", method::sms, t0)) == error::not_found);
    CHECK(ok(store->get_flow("live", at)).id == "live");
    CHECK(err(store->get_code("live", method::email, t0)) == error::not_found);
    CHECK(ok(store->get_code("live", method::sms, at)).tries_left == 5);
    CHECK(ok(store->increment("over", 5min, at)).count == 1);
    CHECK(ok(store->blocked_until("blocked", at)) == t0 + 2h);
    CHECK(ok(store->increment("counting", 1h, at)).count == 2);
    CHECK(err(store->purge_expired(at, 0)) == error::invalid_argument);
}

// ---- reopen -------------------------------------------------------------------------------------

TEMPLATE_TEST_CASE("store: everything written is there after the store is opened again", "[store]",
                   STORE_BACKENDS) {
    TestType backend;
    {
        auto store = backend.open();
        ok(store->create_flow(sample_flow("keep")));
        ok(store->put_code(sample_code("keep")));
        ok(store->put_enrollment(sample_enrollment("uid=alice,dc=x"), t0));
        ok(store->increment("k", 1h, t0));
        ok(store->block("k", t0 + 1h));
    }
    auto store = backend.open();
    CHECK(ok(store->get_flow("keep", t0)).version == 1);
    CHECK(ok(store->get_code("keep", method::email, t0)).tries_left == 5);
    CHECK(ok(store->get_enrollment("uid=alice,dc=x")).emails.size() == 2);
    CHECK(ok(store->increment("k", 1h, t0)).count == 2);
    CHECK(ok(store->blocked_until("k", t0)) == t0 + 1h);
}
