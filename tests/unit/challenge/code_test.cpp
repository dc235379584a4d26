// Unit tests of challenge/code.hpp: codes are uniform digits of the configured length, verify only
// for the exact user + flow + method + destination, expire at their deadline, allow a limited
// number of tries and are accepted once.
#include "challenge/code.hpp"

#include "tests/fakes/fake_clock.hpp"
#include "tests/fakes/fake_random.hpp"

#include <catch2/catch.hpp>

#include <array>
#include <memory>
#include <string>

namespace {

namespace challenge = sspr::challenge;
using challenge::code_status;
using namespace std::chrono_literals;

sspr::common::secret test_key(char fill = 'k') {
    return sspr::common::secret(std::string(32, fill));
}

challenge::code_binding binding_a() {
    return {"uid=a,ou=people,dc=example,dc=org", "flow-1", sspr::config::method::email,
            "a@x.example"};
}

sspr::config::code_method_config cfg(unsigned length = 6, unsigned tries = 5) {
    sspr::config::code_method_config c;
    c.enabled = true;
    c.code_length = length;
    c.lifetime = std::chrono::seconds{600};
    c.max_tries = tries;
    return c;
}

/// Eight little-endian bytes of `v`, the way random::uniform reads a draw.
std::vector<std::byte> le64(std::uint64_t v) {
    std::vector<std::byte> out;
    for (int i = 0; i < 8; ++i) {
        out.push_back(static_cast<std::byte>(v & 0xffU));
        v >>= 8U;
    }
    return out;
}

} // namespace

TEST_CASE("code: the fake random gives the code worked out by hand", "[challenge]") {
    // The default fake pattern is 00 01 02 … 07 for the first draw; read little-endian that is
    // 0x0706050403020100 = 506097522914230528, far below uniform()'s rejection limit, so the code
    // is that value mod 10^n: 6 digits 230528, 7 digits 4230528, 8 digits 14230528.
    const sspr::fakes::fake_clock clock;
    for (const auto& [length, expected] : std::array<std::pair<unsigned, const char*>, 3>{
             {{6, "230528"}, {7, "4230528"}, {8, "14230528"}}}) {
        const challenge::code_issuer issuer(test_key(),
                                            std::make_shared<sspr::fakes::fake_random>());
        const auto issued = issuer.issue(binding_a(), cfg(length), clock.system_now());
        REQUIRE(issued.has_value());
        CHECK(issued->code.reveal() == expected);
    }
}

TEST_CASE("code: small draws are zero-padded to the full length", "[challenge]") {
    const sspr::fakes::fake_clock clock;
    const challenge::code_issuer issuer(test_key(),
                                        std::make_shared<sspr::fakes::fake_random>(le64(5)));
    const auto issued = issuer.issue(binding_a(), cfg(6), clock.system_now());
    REQUIRE(issued.has_value());
    CHECK(issued->code.reveal() == "000005");
}

TEST_CASE("code: every digit is equally likely in every position", "[challenge]") {
    const sspr::fakes::fake_clock clock;
    const challenge::code_issuer issuer(test_key(), sspr::common::make_system_random());
    constexpr int codes = 3000;
    std::array<std::array<int, 10>, 6> counts{};
    for (int i = 0; i < codes; ++i) {
        const auto issued = issuer.issue(binding_a(), cfg(6), clock.system_now());
        REQUIRE(issued.has_value());
        const auto code = issued->code.reveal();
        REQUIRE(code.size() == 6);
        for (std::size_t pos = 0; pos < 6; ++pos) {
            REQUIRE(code[pos] >= '0');
            REQUIRE(code[pos] <= '9');
            ++counts[pos][static_cast<std::size_t>(code[pos] - '0')];
        }
    }
    // Expected 300 per cell, standard deviation about 16.4: 100 either side is more than 6 sigma,
    // yet a generator biased towards some digits by a tenth would fail.
    for (const auto& position : counts) {
        for (const int n : position) {
            CHECK(n > 200);
            CHECK(n < 400);
        }
    }
}

TEST_CASE("code: lengths other than 6 to 8 and empty settings are refused", "[challenge]") {
    const sspr::fakes::fake_clock clock;
    const challenge::code_issuer issuer(test_key(), std::make_shared<sspr::fakes::fake_random>());
    const auto now = clock.system_now();
    CHECK(issuer.issue(binding_a(), cfg(5), now).error() == challenge::error::invalid_parameters);
    CHECK(issuer.issue(binding_a(), cfg(9), now).error() == challenge::error::invalid_parameters);
    CHECK(issuer.issue(binding_a(), cfg(6, 0), now).error() ==
          challenge::error::invalid_parameters);
    auto no_lifetime = cfg();
    no_lifetime.lifetime = std::chrono::seconds{0};
    CHECK(issuer.issue(binding_a(), no_lifetime, now).error() ==
          challenge::error::invalid_parameters);

    auto totp = binding_a();
    totp.method = sspr::config::method::totp;
    CHECK(issuer.issue(totp, cfg(), now).error() == challenge::error::invalid_parameters);
    auto nobody = binding_a();
    nobody.user.clear();
    CHECK(issuer.issue(nobody, cfg(), now).error() == challenge::error::invalid_parameters);
    auto nowhere = binding_a();
    nowhere.destination.clear();
    CHECK(issuer.issue(nowhere, cfg(), now).error() == challenge::error::invalid_parameters);
}

TEST_CASE("code: an HMAC key shorter than 32 bytes is a programming error", "[challenge]") {
    CHECK_THROWS_AS(challenge::code_issuer(sspr::common::secret(std::string(31, 'k')),
                                           sspr::common::make_system_random()),
                    std::invalid_argument);
}

TEST_CASE("code: the right code is accepted once", "[challenge]") {
    const sspr::fakes::fake_clock clock;
    const challenge::code_issuer issuer(test_key(), std::make_shared<sspr::fakes::fake_random>());
    const auto issued = issuer.issue(binding_a(), cfg(), clock.system_now());
    REQUIRE(issued.has_value());
    CHECK(issued->record.tries_left == 5);
    CHECK_FALSE(issued->record.used);

    const auto first = issuer.verify(issued->record, binding_a(), "230528", clock.system_now());
    CHECK(first.status == code_status::ok);
    CHECK(first.record.used);
    CHECK(first.record.tries_left == 5); // success spends no try

    const auto again = issuer.verify(first.record, binding_a(), "230528", clock.system_now());
    CHECK(again.status == code_status::used);
}

TEST_CASE("code: spaces and hyphens typed between digits are ignored", "[challenge]") {
    const sspr::fakes::fake_clock clock;
    const challenge::code_issuer issuer(test_key(), std::make_shared<sspr::fakes::fake_random>());
    const auto issued = issuer.issue(binding_a(), cfg(), clock.system_now());
    REQUIRE(issued.has_value());
    CHECK(issuer.verify(issued->record, binding_a(), "230 528", clock.system_now()).status ==
          code_status::ok);
    CHECK(issuer.verify(issued->record, binding_a(), "230-528 ", clock.system_now()).status ==
          code_status::ok);
}

TEST_CASE("code: a code works for nothing but its user, flow, method and destination",
          "[challenge]") {
    const sspr::fakes::fake_clock clock;
    const challenge::code_issuer issuer(test_key(), std::make_shared<sspr::fakes::fake_random>());
    const auto issued = issuer.issue(binding_a(), cfg(), clock.system_now());
    REQUIRE(issued.has_value());

    auto other_user = binding_a();
    other_user.user = "uid=b,ou=people,dc=example,dc=org";
    auto other_flow = binding_a();
    other_flow.flow = "flow-2";
    auto other_method = binding_a();
    other_method.method = sspr::config::method::sms;
    auto other_destination = binding_a();
    other_destination.destination = "b@x.example";
    // Fields shifted across the boundary must not collide: "flow-1" + "a@x…" vs "flow-1a" + "@x…".
    auto shifted = binding_a();
    shifted.flow = "flow-1a";
    shifted.destination = "@x.example";

    for (const auto& other : {other_user, other_flow, other_method, other_destination, shifted}) {
        const auto v = issuer.verify(issued->record, other, "230528", clock.system_now());
        CHECK(v.status == code_status::wrong_binding);
        CHECK(v.record.tries_left == 4);
        CHECK_FALSE(v.record.used);
    }
}

TEST_CASE("code: a record made under another key does not verify", "[challenge]") {
    const sspr::fakes::fake_clock clock;
    const challenge::code_issuer issuer(test_key('k'),
                                        std::make_shared<sspr::fakes::fake_random>());
    const challenge::code_issuer other(test_key('q'), std::make_shared<sspr::fakes::fake_random>());
    const auto issued = issuer.issue(binding_a(), cfg(), clock.system_now());
    const auto issued_other = other.issue(binding_a(), cfg(), clock.system_now());
    REQUIRE(issued.has_value());
    REQUIRE(issued_other.has_value());
    // Same code, same binding, different key: nothing in the record is the same.
    CHECK(issued->code.reveal() == issued_other->code.reveal());
    CHECK(issued->record.binding_hash != issued_other->record.binding_hash);
    CHECK(issued->record.code_hash != issued_other->record.code_hash);
    CHECK(other.verify(issued->record, binding_a(), "230528", clock.system_now()).status ==
          code_status::wrong_binding);
}

TEST_CASE("code: the code expires exactly at its deadline", "[challenge]") {
    sspr::fakes::fake_clock clock;
    const challenge::code_issuer issuer(test_key(), std::make_shared<sspr::fakes::fake_random>());
    const auto issued_at = clock.system_now();
    const auto issued = issuer.issue(binding_a(), cfg(), issued_at);
    REQUIRE(issued.has_value());
    CHECK(issued->record.expires_at == issued_at + 600s);

    clock.advance(600s - 1ns);
    CHECK(issuer.verify(issued->record, binding_a(), "230528", clock.system_now()).status ==
          code_status::ok);

    clock.advance(1ns);
    const auto at_deadline =
        issuer.verify(issued->record, binding_a(), "230528", clock.system_now());
    CHECK(at_deadline.status == code_status::expired);
    CHECK(at_deadline.record.tries_left == 5); // nothing compared, nothing spent
}

TEST_CASE("code: wrong codes spend tries until none are left", "[challenge]") {
    const sspr::fakes::fake_clock clock;
    const challenge::code_issuer issuer(test_key(), std::make_shared<sspr::fakes::fake_random>());
    const auto issued = issuer.issue(binding_a(), cfg(6, 3), clock.system_now());
    REQUIRE(issued.has_value());
    auto record = issued->record;
    for (const unsigned left : {2U, 1U, 0U}) {
        const auto v = issuer.verify(record, binding_a(), "230529", clock.system_now());
        CHECK(v.status == code_status::wrong);
        CHECK(v.record.tries_left == left);
        record = v.record;
    }
    // The right code no longer helps.
    const auto late = issuer.verify(record, binding_a(), "230528", clock.system_now());
    CHECK(late.status == code_status::exhausted);
    CHECK_FALSE(late.record.used);
}

TEST_CASE("code: one wrong try leaves the right code usable", "[challenge]") {
    const sspr::fakes::fake_clock clock;
    const challenge::code_issuer issuer(test_key(), std::make_shared<sspr::fakes::fake_random>());
    const auto issued = issuer.issue(binding_a(), cfg(6, 2), clock.system_now());
    REQUIRE(issued.has_value());
    const auto wrong = issuer.verify(issued->record, binding_a(), "000000", clock.system_now());
    REQUIRE(wrong.status == code_status::wrong);
    const auto right = issuer.verify(wrong.record, binding_a(), "230528", clock.system_now());
    CHECK(right.status == code_status::ok);
    CHECK(right.record.tries_left == 1);
}

TEST_CASE("code: malformed input is a wrong try", "[challenge]") {
    const sspr::fakes::fake_clock clock;
    const challenge::code_issuer issuer(test_key(), std::make_shared<sspr::fakes::fake_random>());
    const auto issued = issuer.issue(binding_a(), cfg(), clock.system_now());
    REQUIRE(issued.has_value());
    for (const std::string& typed :
         {std::string(), std::string("   "), std::string("23052"), std::string("2305288"),
          std::string("abcdef"), std::string(100, '2') + "230528"}) {
        const auto v = issuer.verify(issued->record, binding_a(), typed, clock.system_now());
        CHECK(v.status == code_status::wrong);
        CHECK(v.record.tries_left == 4);
    }
}

TEST_CASE("code: compare checks only binding and code, for stores that spend tries themselves",
          "[challenge]") {
    const sspr::fakes::fake_clock clock;
    const challenge::code_issuer issuer(test_key(), std::make_shared<sspr::fakes::fake_random>());
    const auto issued = issuer.issue(binding_a(), cfg(), clock.system_now());
    REQUIRE(issued.has_value());
    // As a store's take_try hands it back after spending the last try.
    auto last_try = issued->record;
    last_try.tries_left = 0;
    CHECK(issuer.compare(last_try, binding_a(), "230528") == code_status::ok);
    CHECK(issuer.compare(last_try, binding_a(), "230527") == code_status::wrong);
    auto other = binding_a();
    other.destination = "b@x.example";
    CHECK(issuer.compare(last_try, other, "230528") == code_status::wrong_binding);
}
