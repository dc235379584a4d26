// Unit tests of policy/throttle.hpp: the Entra-strength defaults, bucket validation, which events
// count where, limits/windows/blocks/retry-after over a fake clock, key normalisation and the keys
// cleared after a successful reset. Expected values are written by hand; the HMAC known answers
// were computed independently with `openssl dgst -sha256 -hmac`.
#include "policy/throttle.hpp"

#include "tests/fakes/fake_clock.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

using namespace std::chrono_literals;
namespace cfg = sspr::config;
using sspr::common::secret;
using sspr::policy::bucket_set;
using sspr::policy::counter_of;
using sspr::policy::derive_key;
using sspr::policy::evaluate;
using sspr::policy::keys_to_clear_on_success;
using sspr::policy::make_bucket_set;
using sspr::policy::most_restrictive;
using sspr::policy::normalize_destination;
using sspr::policy::normalize_ip;
using sspr::policy::throttle_decision;
using sspr::policy::throttle_error;
using sspr::policy::throttle_event;
using sspr::policy::throttle_subject;
using sspr::policy::throttle_verdict;

namespace {

const secret& test_key() {
    static const secret key{std::string("0123456789abcdef0123456789abcdef")};
    return key;
}

cfg::throttle_bucket bucket(std::string name, cfg::throttle_key key, unsigned limit,
                            std::chrono::seconds window, std::chrono::seconds block) {
    return {std::move(name), key, limit, window, block};
}

std::vector<std::string> names_of(const std::vector<const cfg::throttle_bucket*>& buckets) {
    std::vector<std::string> out;
    out.reserve(buckets.size());
    for (const auto* b : buckets) {
        out.push_back(b->name);
    }
    return out;
}

bucket_set defaults() {
    return make_bucket_set(cfg::throttles_config{}).value();
}

// The refusal code for a configuration made of `buckets`.
throttle_error refusal(std::vector<cfg::throttle_bucket> buckets,
                       std::string* bucket_name = nullptr) {
    cfg::throttles_config c;
    c.buckets = std::move(buckets);
    auto r = make_bucket_set(c);
    REQUIRE_FALSE(r.has_value());
    if (bucket_name != nullptr) {
        *bucket_name = r.error().bucket;
    }
    REQUIRE(&r.error().code.category() == &sspr::policy::throttle_category());
    return static_cast<throttle_error>(r.error().code.value());
}

const auto failed_proofs_per_user = bucket("failed_proofs", cfg::throttle_key::user, 5, 24h, 24h);

std::string key_for(const cfg::throttle_bucket& b, const throttle_subject& s) {
    return derive_key(b, s, test_key()).value();
}

} // namespace

// ---- defaults and validation ------------------------------------------------------------------

TEST_CASE("throttles: the defaults are Entra's numbers", "[policy]") {
    const auto set = defaults();
    REQUIRE(set.buckets().size() == 7U);

    const auto* proofs = set.find("failed_proofs");
    REQUIRE(proofs != nullptr);
    CHECK(proofs->key == cfg::throttle_key::user);
    CHECK(proofs->limit == 5U);
    CHECK(proofs->window == 24h);
    CHECK(proofs->block == 24h);

    const auto* validations = set.find("validations");
    REQUIRE(validations != nullptr);
    CHECK(validations->key == cfg::throttle_key::user);
    CHECK(validations->limit == 5U);
    CHECK(validations->window == 1h);
    CHECK(validations->block == 24h);

    const auto* emails = set.find("emails");
    REQUIRE(emails != nullptr);
    CHECK(emails->key == cfg::throttle_key::destination);
    CHECK(emails->limit == 10U);
    CHECK(emails->window == 10min);
    CHECK(emails->block == 24h);

    const auto* texts = set.find("texts");
    REQUIRE(texts != nullptr);
    CHECK(texts->key == cfg::throttle_key::destination);
    CHECK(texts->limit == 5U);
    CHECK(texts->window == 1h);
    CHECK(texts->block == 24h);

    // Per-IP and per-user limits on starting flows.
    const auto* per_ip = set.find("flow_starts_per_ip");
    REQUIRE(per_ip != nullptr);
    CHECK(per_ip->key == cfg::throttle_key::client_ip);
    CHECK(per_ip->limit == 20U);
    CHECK(per_ip->window == 10min);
    CHECK(per_ip->block == 30min);
    const auto* per_user = set.find("flow_starts_per_user");
    REQUIRE(per_user != nullptr);
    CHECK(per_user->key == cfg::throttle_key::user);
    CHECK(per_user->limit == 5U);
    // And the aggregate over the client's network (IPv6 /48, IPv4 /24).
    const auto* per_net = set.find("flow_starts_per_net");
    REQUIRE(per_net != nullptr);
    CHECK(per_net->key == cfg::throttle_key::client_net);
    CHECK(per_net->limit == 200U);
    CHECK(per_net->window == 10min);
    CHECK(per_net->block == 30min);

    CHECK(set.find("nonesuch") == nullptr);
}

TEST_CASE("throttles: invalid bucket configurations are refused, naming the bucket", "[policy]") {
    std::string name;
    CHECK(refusal({failed_proofs_per_user,
                   bucket("emails", cfg::throttle_key::destination, 10, 600s, 0s),
                   bucket("emails", cfg::throttle_key::destination, 3, 60s, 0s)},
                  &name) == throttle_error::duplicate_name);
    CHECK(name == "emails");
    CHECK(refusal({failed_proofs_per_user, bucket("", cfg::throttle_key::user, 1, 1s, 0s)}) ==
          throttle_error::invalid_name);
    CHECK(refusal({failed_proofs_per_user, bucket("Emails", cfg::throttle_key::user, 1, 1s, 0s)},
                  &name) == throttle_error::invalid_name);
    CHECK(name == "Emails");
    CHECK(refusal({failed_proofs_per_user, bucket("emails|x", cfg::throttle_key::user, 1, 1s,
                                                  0s)}) == throttle_error::invalid_name);
    CHECK(refusal({failed_proofs_per_user, bucket("logins", cfg::throttle_key::user, 1, 1s, 0s)},
                  &name) == throttle_error::unknown_counter);
    CHECK(name == "logins");
    CHECK(refusal({failed_proofs_per_user, bucket("emails_", cfg::throttle_key::user, 1, 1s,
                                                  0s)}) == throttle_error::unknown_counter);
    CHECK(refusal({failed_proofs_per_user, bucket("emails", cfg::throttle_key::invalid, 1, 1s,
                                                  0s)}) == throttle_error::invalid_key);
    CHECK(refusal({failed_proofs_per_user, bucket("emails", cfg::throttle_key::user, 0, 1s, 0s)}) ==
          throttle_error::zero_limit);
    CHECK(refusal({failed_proofs_per_user, bucket("emails", cfg::throttle_key::user, 1, 0s, 0s)}) ==
          throttle_error::invalid_window);
    CHECK(refusal({failed_proofs_per_user, bucket("emails", cfg::throttle_key::user, 1, -5s,
                                                  0s)}) == throttle_error::invalid_window);
    CHECK(refusal({failed_proofs_per_user, bucket("emails", cfg::throttle_key::user, 1, 1s,
                                                  -1s)}) == throttle_error::negative_block);
    // Failed proofs counted only per IP: one user can be guessed at from many addresses.
    CHECK(refusal({bucket("failed_proofs_per_ip", cfg::throttle_key::client_ip, 5, 24h, 24h)}) ==
          throttle_error::no_failed_proofs_bucket);
    CHECK(refusal({}) == throttle_error::no_failed_proofs_bucket);
}

TEST_CASE("throttles: a minimal valid set and an admin's extra bucket are accepted", "[policy]") {
    cfg::throttles_config c;
    c.buckets = {failed_proofs_per_user,
                 bucket("emails_per_ip", cfg::throttle_key::client_ip, 30, 600s, 0s),
                 bucket("texts", cfg::throttle_key::destination, 3, 1h, 24h)};
    const auto r = make_bucket_set(c);
    REQUIRE(r.has_value());
    CHECK(r->buckets().size() == 3U);
}

TEST_CASE("throttles: value() on a refused set throws a system_error", "[policy]") {
    cfg::throttles_config c;
    c.buckets.clear();
    CHECK_THROWS_AS(make_bucket_set(c).value(), boost::system::system_error);
}

TEST_CASE("counter_of: a bucket counts what its name starts with", "[policy]") {
    CHECK(counter_of("failed_proofs") == throttle_event::proof_failed);
    CHECK(counter_of("failed_proofs_per_ip") == throttle_event::proof_failed);
    CHECK(counter_of("validations") == throttle_event::validation_attempted);
    CHECK(counter_of("emails") == throttle_event::email_sent);
    CHECK(counter_of("emails_per_ip") == throttle_event::email_sent);
    CHECK(counter_of("texts") == throttle_event::sms_sent);
    CHECK(counter_of("sms") == throttle_event::invalid);
    CHECK(counter_of("flow_starts_per_ip") == throttle_event::flow_started);
    CHECK(counter_of("flow_starts") == throttle_event::flow_started);
    CHECK(counter_of("flow_starts_") == throttle_event::invalid);
    CHECK(counter_of("emailsx") == throttle_event::invalid);
    CHECK(counter_of("textsfoo") == throttle_event::invalid);
    CHECK(counter_of("") == throttle_event::invalid);
}

TEST_CASE("throttles: which buckets an event counts in and which it must pass", "[policy]") {
    const auto set = defaults();
    using names = std::vector<std::string>;
    CHECK(names_of(set.counted_by(throttle_event::proof_failed)) == names{"failed_proofs"});
    CHECK(names_of(set.counted_by(throttle_event::validation_attempted)) == names{"validations"});
    CHECK(names_of(set.counted_by(throttle_event::email_sent)) == names{"emails"});
    CHECK(names_of(set.counted_by(throttle_event::sms_sent)) == names{"texts"});
    CHECK(names_of(set.counted_by(throttle_event::flow_started)) ==
          names{"flow_starts_per_ip", "flow_starts_per_user", "flow_starts_per_net"});
    CHECK(set.counted_by(throttle_event::invalid).empty());

    // A lockout after failed proofs or too many validations stops everything else too.
    CHECK(names_of(set.checked_before(throttle_event::flow_started)) ==
          names{"failed_proofs", "validations", "flow_starts_per_ip", "flow_starts_per_user",
                "flow_starts_per_net"});
    CHECK(names_of(set.checked_before(throttle_event::email_sent)) ==
          names{"failed_proofs", "validations", "emails"});
    CHECK(names_of(set.checked_before(throttle_event::validation_attempted)) ==
          names{"failed_proofs", "validations"});
    CHECK(names_of(set.checked_before(throttle_event::sms_sent)) ==
          names{"failed_proofs", "validations", "texts"});
    CHECK(set.checked_before(throttle_event::invalid).empty());
}

// ---- counting ---------------------------------------------------------------------------------

namespace {

// What the store answers to increment(): `count` events in a window ending at `window_end`.
sspr::policy::counter_reading counted(std::uint64_t count, sspr::policy::system_time window_end) {
    return {count, window_end, std::nullopt};
}

// What the check before acting reads: only the block.
sspr::policy::counter_reading block_only(std::optional<sspr::policy::system_time> until) {
    return {0, {}, until};
}

} // namespace

TEST_CASE("throttles: the fifth failed proof blocks for 24 hours", "[policy]") {
    sspr::fakes::fake_clock clock;
    const auto set = defaults();
    const auto& b = *set.find("failed_proofs");
    const auto window_end = clock.system_now() + 24h;
    for (std::uint64_t i = 1; i <= 4; ++i) {
        const auto d = evaluate(b, counted(i, window_end), clock.system_now());
        CHECK(d.allowed());
        CHECK_FALSE(d.block_until.has_value());
        clock.advance(10min);
    }
    // The fifth is counted (it happened) and starts the block.
    const auto fifth_at = clock.system_now();
    auto d = evaluate(b, counted(5, window_end), fifth_at);
    CHECK(d.allowed());
    REQUIRE(d.block_until.has_value());
    CHECK(*d.block_until == fifth_at + 24h);
    const auto stored_block = *d.block_until;

    // Every check before acting is refused for the next 24 hours.
    d = evaluate(b, block_only(stored_block), clock.system_now());
    CHECK(d.verdict == throttle_verdict::blocked);
    CHECK(d.retry_after == 24h);
    CHECK(d.bucket == "failed_proofs");
    CHECK_FALSE(d.block_until.has_value()); // nothing new to store

    clock.advance(24h - 1s);
    d = evaluate(b, block_only(stored_block), clock.system_now());
    CHECK_FALSE(d.allowed());
    CHECK(d.retry_after == 1s);

    clock.advance(1s);
    d = evaluate(b, block_only(stored_block), clock.system_now());
    CHECK(d.allowed());
    CHECK(d.retry_after == 0s);

    // Not blocked at all reads as allowed.
    CHECK(evaluate(b, block_only(std::nullopt), clock.system_now()).allowed());
}

TEST_CASE("throttles: a count above the limit refuses and starts the block", "[policy]") {
    sspr::fakes::fake_clock clock;
    const auto set = defaults();
    const auto& b = *set.find("validations"); // 5 per hour, then 24 h
    const auto now = clock.system_now();
    CHECK(evaluate(b, counted(4, now + 30min), now).allowed());
    const auto fifth = evaluate(b, counted(5, now + 30min), now);
    CHECK(fifth.allowed());
    CHECK(fifth.block_until == now + 24h);

    // A sixth counted (a concurrent request that missed the block): refused, block (re)stated.
    const auto sixth = evaluate(b, counted(6, now + 30min), now);
    CHECK(sixth.verdict == throttle_verdict::blocked);
    CHECK(sixth.retry_after == 24h);
    CHECK(sixth.block_until == now + 24h);
}

namespace {

// The one throttle rule, walked through events 1 to 6 of a limit-5 bucket whose current window
// ends at `window_end`; `block_until` is where the 5th event must put the block.
void check_limit_of_five(const cfg::throttle_bucket& b, sspr::policy::system_time now,
                         sspr::policy::system_time window_end,
                         sspr::policy::system_time block_until) {
    REQUIRE(b.limit == 5U);
    for (std::uint64_t i = 1; i <= 4; ++i) {
        INFO("event " << i);
        const auto d = evaluate(b, counted(i, window_end), now);
        CHECK(d.allowed());
        CHECK(d.retry_after == 0s);
        CHECK_FALSE(d.block_until.has_value());
    }

    // The 5th is let through (it is counted: it happened) and starts the block.
    const auto fifth = evaluate(b, counted(5, window_end), now);
    CHECK(fifth.allowed());
    CHECK(fifth.retry_after == 0s);
    REQUIRE(fifth.block_until.has_value());
    CHECK(*fifth.block_until == block_until);

    // The 6th is refused by the stored block: at the check before acting, and when it was
    // counted anyway (the store's increment reports the block). Nothing new to store.
    const auto later = now + 1s;
    const auto expected_retry = std::chrono::ceil<std::chrono::seconds>(block_until - later);
    for (const auto& reading :
         {block_only(block_until), sspr::policy::counter_reading{6, window_end, block_until}}) {
        INFO("6th with count " << reading.count);
        const auto sixth = evaluate(b, reading, later);
        CHECK(sixth.verdict == throttle_verdict::blocked);
        CHECK(sixth.retry_after == expected_retry);
        CHECK(sixth.bucket == b.name);
        CHECK_FALSE(sixth.block_until.has_value());
    }

    // A count above the limit with no block stored (a concurrent request that missed it, or a
    // failed block write) refuses and starts the block again, from this event.
    const auto restated = b.block > cfg::seconds{0} ? later + b.block : window_end;
    for (const std::uint64_t count : {6U, 7U}) {
        INFO("count " << count << " without a stored block");
        const auto over = evaluate(b, counted(count, window_end), later);
        CHECK(over.verdict == throttle_verdict::blocked);
        REQUIRE(over.block_until.has_value());
        CHECK(*over.block_until == restated);
        CHECK(over.retry_after == std::chrono::ceil<std::chrono::seconds>(restated - later));
    }
}

} // namespace

TEST_CASE("throttles: with limit 5, events 1-4 pass, the 5th passes and blocks, the 6th is refused",
          "[policy][throttle]") {
    const auto now = sspr::fakes::fake_clock{}.system_now();
    // The window ends 50 min from now, later than now + block: a rule that starts the block only
    // above the limit, or blocks until the later of now + block and the window end (the rule the
    // store's throttle front used to apply), fails here.
    const auto window_end = now + 50min;
    SECTION("a bucket with a block: blocked for `block` from the 5th event") {
        const auto b = bucket("failed_proofs", cfg::throttle_key::user, 5, 1h, 10min);
        check_limit_of_five(b, now, window_end, now + 10min);
    }
    SECTION("a bucket with block 0: blocked until its window ends") {
        const auto b = bucket("failed_proofs", cfg::throttle_key::user, 5, 1h, 0s);
        check_limit_of_five(b, now, window_end, window_end);
    }
}

TEST_CASE("throttles: a bucket without a block blocks for the rest of its window", "[policy]") {
    sspr::fakes::fake_clock clock;
    const auto b = bucket("emails_per_ip", cfg::throttle_key::client_ip, 3, 10min, 0s);
    const auto window_end = clock.system_now() + 7min; // opened 3 min ago
    CHECK(evaluate(b, counted(2, window_end), clock.system_now()).allowed());
    auto d = evaluate(b, counted(3, window_end), clock.system_now());
    CHECK(d.allowed());
    CHECK(d.block_until == window_end);

    d = evaluate(b, counted(4, window_end), clock.system_now());
    CHECK_FALSE(d.allowed());
    CHECK(d.retry_after == 7min);

    clock.advance(7min - 500ms);
    d = evaluate(b, block_only(window_end), clock.system_now());
    CHECK_FALSE(d.allowed());
    CHECK(d.retry_after == 1s); // half a second left rounds up

    clock.advance(500ms);
    CHECK(evaluate(b, block_only(window_end), clock.system_now()).allowed());
    // The store opened a new window: counting starts again from 1.
    CHECK(evaluate(b, counted(1, clock.system_now() + 10min), clock.system_now()).allowed());
}

TEST_CASE("throttles: a reading out of step with itself refuses briefly", "[policy]") {
    const auto now = sspr::fakes::fake_clock{}.system_now();
    const auto b = bucket("emails_per_ip", cfg::throttle_key::client_ip, 3, 10min, 0s);
    const auto d = evaluate(b, counted(4, now - 1s), now); // over the limit, window over
    CHECK_FALSE(d.allowed());
    CHECK(d.retry_after == 1s);
    CHECK_FALSE(d.block_until.has_value());
}

TEST_CASE("throttles: retry-after rounds up to whole seconds", "[policy]") {
    const auto now = sspr::fakes::fake_clock{}.system_now();
    CHECK(evaluate(failed_proofs_per_user, block_only(now + 1500ms), now).retry_after == 2s);
    CHECK(evaluate(failed_proofs_per_user, block_only(now + 1ms), now).retry_after == 1s);
    CHECK(evaluate(failed_proofs_per_user, block_only(now), now).allowed());
    CHECK(evaluate(failed_proofs_per_user, block_only(now - 1h), now).allowed());
}

TEST_CASE("throttles: the tenth email in ten minutes blocks the address for a day", "[policy]") {
    sspr::fakes::fake_clock clock;
    const auto set = defaults();
    const auto& b = *set.find("emails");
    const auto now = clock.system_now();
    const auto ninth = evaluate(b, counted(9, now + 1min), now);
    CHECK(ninth.allowed());
    CHECK_FALSE(ninth.block_until.has_value());
    const auto tenth = evaluate(b, counted(10, now + 1min), now);
    CHECK(tenth.allowed());
    CHECK(tenth.block_until == now + 24h);
    const auto eleventh = evaluate(b, block_only(tenth.block_until), now + 1s);
    CHECK_FALSE(eleventh.allowed());
    CHECK(eleventh.retry_after == 24h - 1s);
}

TEST_CASE("most_restrictive: the longest refusal wins; all allowed is allowed", "[policy]") {
    const std::array<throttle_decision, 3> mixed{{
        {throttle_verdict::allowed, 0s, "emails", std::nullopt},
        {throttle_verdict::blocked, 30s, "flow_starts_per_ip", std::nullopt},
        {throttle_verdict::blocked, 3600s, "failed_proofs", std::nullopt},
    }};
    auto d = most_restrictive(mixed);
    CHECK(d.verdict == throttle_verdict::blocked);
    CHECK(d.retry_after == 3600s);
    CHECK(d.bucket == "failed_proofs");

    const std::array<throttle_decision, 2> fine{{
        {throttle_verdict::allowed, 0s, "emails", std::nullopt},
        {throttle_verdict::allowed, 0s, "validations", std::nullopt},
    }};
    d = most_restrictive(fine);
    CHECK(d.allowed());
    CHECK(d.bucket.empty());
    CHECK(most_restrictive({}).allowed());

    // An unset verdict is not an "allowed".
    const std::array<throttle_decision, 1> unset{{{}}};
    CHECK_FALSE(most_restrictive(unset).allowed());
}

// ---- normalisation ----------------------------------------------------------------------------

TEST_CASE("normalize_ip: IPv4 as is, IPv4-mapped IPv6 as IPv4", "[policy]") {
    CHECK(normalize_ip("192.0.2.1").value() == "192.0.2.1");
    CHECK(normalize_ip(" 192.0.2.1 ").value() == "192.0.2.1");
    CHECK(normalize_ip("::ffff:192.0.2.1").value() == "192.0.2.1");
    CHECK(normalize_ip("::FFFF:C000:0201").value() == "192.0.2.1");
    CHECK(normalize_ip("[::ffff:192.0.2.1]").value() == "192.0.2.1");
}

TEST_CASE("normalize_ip: IPv6 counts per /64", "[policy]") {
    CHECK(normalize_ip("2001:db8:1:2:3:4:5:6").value() == "2001:db8:1:2::/64");
    CHECK(normalize_ip("2001:DB8:1:2:ffff:ffff:ffff:ffff").value() == "2001:db8:1:2::/64");
    CHECK(normalize_ip("2001:0db8:0001:0002::1").value() == "2001:db8:1:2::/64");
    CHECK(normalize_ip("[2001:db8:1:3::1]").value() == "2001:db8:1:3::/64");
    CHECK(normalize_ip("fe80::1%eth0").value() == "fe80::/64");
    CHECK(normalize_ip("::1").value() == "::/64");
}

TEST_CASE("normalize_ip: refuses what is not an address", "[policy]") {
    for (const char* bad : {"", "localhost", "256.1.1.1", "1.2.3", "01.2.3.4", "1.2.3.4:80",
                            "2001:db8::1::2", "[192.0.2.1"}) {
        INFO(bad);
        const auto r = normalize_ip(bad);
        REQUIRE_FALSE(r.has_value());
        CHECK(r.error().is(throttle_error::invalid_ip));
    }
}

TEST_CASE("normalize_destination: email trimmed and lower-cased", "[policy]") {
    CHECK(normalize_destination("  Alice.Liddell@Example.ORG\t", "KR").value() ==
          "alice.liddell@example.org");
    CHECK(normalize_destination("bob@example.org", "KR").value() == "bob@example.org");
    for (const char* bad : {"@example.org", "alice@", "a@b@c", "alice smith@example.org",
                            "alice@exa\nmple.org", "...@gmail.com"}) {
        INFO(bad);
        const auto r = normalize_destination(bad, "KR");
        REQUIRE_FALSE(r.has_value());
        CHECK(r.error().is(throttle_error::invalid_destination));
    }
}

TEST_CASE("normalize_destination: mail sub-addresses count as the mailbox they reach", "[policy]") {
    for (const char* spelling : {"alice@example.org", "alice+1@example.org", "Alice+2@Example.org",
                                 "alice+reset+again@example.org", "alice+@example.org"}) {
        INFO(spelling);
        CHECK(normalize_destination(spelling, "KR").value() == "alice@example.org");
    }
    // Gmail also ignores dots and answers to googlemail.com.
    for (const char* spelling :
         {"jdoe@gmail.com", "j.doe@gmail.com", "J.D.o.e+x@GMail.com", "j.doe@googlemail.com"}) {
        INFO(spelling);
        CHECK(normalize_destination(spelling, "KR").value() == "jdoe@gmail.com");
    }
    // Dots elsewhere are part of the mailbox, and a '+' first is no sub-address.
    CHECK(normalize_destination("j.doe@example.org", "KR").value() == "j.doe@example.org");
    CHECK(normalize_destination("+tag@example.org", "KR").value() == "+tag@example.org");
    CHECK(normalize_destination("bob@example.org", "KR").value() !=
          normalize_destination("alice@example.org", "KR").value());
}

TEST_CASE("normalize_destination: every spelling of a number is its E.164 form", "[policy]") {
    CHECK(normalize_destination("+1 (415) 555-2671", "KR").value() == "+14155552671");
    CHECK(normalize_destination("+1.415.555.2671", "KR").value() == "+14155552671");
    for (const char* spelling : {" +82 10-1234-5678 ", "010-1234-5678", "010 1234 5678",
                                 "0082 10 1234 5678", "+82 (0)10 1234 5678", "+821012345678"}) {
        INFO(spelling);
        CHECK(normalize_destination(spelling, "KR").value() == "+821012345678");
    }
    // National numbers are read in the region given, the one delivery/ sends with.
    CHECK(normalize_destination("(415) 555-2671", "US").value() == "+14155552671");
    CHECK(normalize_destination("030/1234567", "DE").value() == "+49301234567");
    for (const char* bad : {"", "   ", "+", "call me", "555-CALL", "1+555", "+-", "+999 123456"}) {
        INFO(bad);
        CHECK_FALSE(normalize_destination(bad, "KR").has_value());
    }
    // Without a region only international numbers can be read.
    CHECK_FALSE(normalize_destination("010-1234-5678", "").has_value());
    CHECK(normalize_destination("+82 10 1234 5678", "").value() == "+821012345678");
}

TEST_CASE("normalize_net: IPv6 counts per /48, IPv4 per /24", "[policy]") {
    using sspr::policy::normalize_net;
    CHECK(normalize_net("2001:db8:1:2:3:4:5:6").value() == "2001:db8:1::/48");
    CHECK(normalize_net("2001:db8:1:ffff::1").value() == "2001:db8:1::/48");
    CHECK(normalize_net("[2001:DB8:0001:abcd::1]").value() == "2001:db8:1::/48");
    CHECK(normalize_net("2001:db8:2::1").value() == "2001:db8:2::/48");
    CHECK(normalize_net("fe80::1%eth0").value() == "fe80::/48");
    CHECK(normalize_net("192.0.2.1").value() == "192.0.2.0/24");
    CHECK(normalize_net("192.0.2.254").value() == "192.0.2.0/24");
    CHECK(normalize_net("::ffff:192.0.2.77").value() == "192.0.2.0/24");
    CHECK(normalize_net("198.51.100.7").value() == "198.51.100.0/24");
    for (const char* bad : {"", "localhost", "256.1.1.1", "2001:db8::1::2"}) {
        INFO(bad);
        CHECK(normalize_net(bad).error().is(throttle_error::invalid_ip));
    }
}

// ---- keys -------------------------------------------------------------------------------------

TEST_CASE("derive_key: bucket name in clear, subject as a keyed hash", "[policy]") {
    throttle_subject s;
    s.user = "CN=Alice,OU=Staff,DC=Example,DC=org";
    CHECK(key_for(failed_proofs_per_user, s) ==
          "bucket:failed_proofs|user:"
          "e567bff10e6b2873216716c4856f2a50b2c1ed2d79c5c6e7418485ce0a139e6e");

    throttle_subject phone;
    phone.destination = "+1 (555) 010-0199";
    CHECK(key_for(bucket("texts", cfg::throttle_key::destination, 3, 1h, 24h), phone) ==
          "bucket:texts|dest:cc17570acba1dcf05308bba039c48a9fabdbe13f97af7eb903b009b149f50ca8");

    throttle_subject host;
    host.client_ip = "2001:db8:1:2:aaaa:bbbb:cccc:dddd";
    CHECK(key_for(bucket("flow_starts_per_ip", cfg::throttle_key::client_ip, 20, 600s, 1800s),
                  host) == "bucket:flow_starts_per_ip|ip:"
                           "b0ec936a801870d12e4d6efd611413be0a874ecc39517273771be797555596b9");
}

TEST_CASE("derive_key: spellings of one subject share a key, others do not", "[policy]") {
    const auto user_bucket = failed_proofs_per_user;
    const auto ip_bucket = bucket("flow_starts_per_ip", cfg::throttle_key::client_ip, 20, 600s, 0s);
    const auto dest_bucket = bucket("emails", cfg::throttle_key::destination, 10, 600s, 24h);
    throttle_subject a;
    throttle_subject b;

    a.user = "cn=alice,ou=staff,dc=example,dc=org";
    b.user = "CN=Alice, OU=Staff, DC=Example, DC=Org";
    CHECK(key_for(user_bucket, a) == key_for(user_bucket, b));
    b.user = "cn=alicia,ou=staff,dc=example,dc=org";
    CHECK(key_for(user_bucket, a) != key_for(user_bucket, b));

    a.client_ip = "192.0.2.1";
    b.client_ip = "::ffff:192.0.2.1";
    CHECK(key_for(ip_bucket, a) == key_for(ip_bucket, b));
    a.client_ip = "2001:db8:1:2::1";
    b.client_ip = "2001:db8:1:2::99";
    CHECK(key_for(ip_bucket, a) == key_for(ip_bucket, b));
    b.client_ip = "2001:db8:1:3::1";
    CHECK(key_for(ip_bucket, a) != key_for(ip_bucket, b));

    a.destination = "Alice@Example.org";
    b.destination = " alice@example.org ";
    CHECK(key_for(dest_bucket, a) == key_for(dest_bucket, b));
    a.destination = "Alice+reset1@Example.org";
    b.destination = "alice+reset2@example.org";
    CHECK(key_for(dest_bucket, a) == key_for(dest_bucket, b));
    a.destination = "+1 555 010 0199";
    b.destination = "+1-555-010-0199";
    CHECK(key_for(dest_bucket, a) == key_for(dest_bucket, b));
    // A national spelling counts as the same number once the region says whose it is.
    b.destination = "1 (555) 010-0199";
    b.phone_region = "US";
    CHECK(key_for(dest_bucket, a) == key_for(dest_bucket, b));
    a.destination = "+82 10 1234 5678";
    a.phone_region = "KR";
    b.phone_region = "KR";
    for (const char* spelling : {"010-1234-5678", "0082 10 1234 5678", "+821012345678"}) {
        b.destination = spelling;
        CHECK(key_for(dest_bucket, a) == key_for(dest_bucket, b));
    }
    b.destination = "010-1234-5679";
    CHECK(key_for(dest_bucket, a) != key_for(dest_bucket, b));

    // Same subject, two buckets: two counters.
    CHECK(key_for(dest_bucket, a) !=
          key_for(bucket("texts", cfg::throttle_key::destination, 3, 1h, 24h), a));
}

TEST_CASE("derive_key: never holds the raw address, and depends on the HMAC key", "[policy]") {
    const auto dest_bucket = bucket("emails", cfg::throttle_key::destination, 10, 600s, 24h);
    throttle_subject s;
    s.destination = "alice@example.org";
    const auto key = key_for(dest_bucket, s);
    CHECK(key.find("alice") == std::string::npos);
    CHECK(key.find("example") == std::string::npos);

    const secret other{std::string("fedcba9876543210fedcba9876543210")};
    CHECK(derive_key(dest_bucket, s, other).value() != key);
}

TEST_CASE("derive_key: refuses a weak key, a missing subject and a bad one", "[policy]") {
    throttle_subject s;
    s.user = "cn=alice,dc=example,dc=org";
    const secret short_key{std::string("fifteen bytes!!")};
    auto r = derive_key(failed_proofs_per_user, s, short_key);
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().is(throttle_error::weak_key));
    CHECK(r.error().bucket == "failed_proofs");
    CHECK_FALSE(derive_key(failed_proofs_per_user, s, secret{}).has_value());

    const auto ip_bucket = bucket("flow_starts_per_ip", cfg::throttle_key::client_ip, 20, 600s, 0s);
    r = derive_key(ip_bucket, s, test_key()); // no client_ip given
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().is(throttle_error::missing_subject));
    CHECK(r.error().bucket == "flow_starts_per_ip");

    s.client_ip = "not-an-ip";
    r = derive_key(ip_bucket, s, test_key());
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().is(throttle_error::invalid_ip));
    CHECK(r.error().bucket == "flow_starts_per_ip");

    throttle_subject bad_user;
    bad_user.user = "alice";
    r = derive_key(failed_proofs_per_user, bad_user, test_key());
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().is(throttle_error::invalid_user));

    r = derive_key(bucket("flow_starts", cfg::throttle_key::flow, 3, 60s, 0s), s, test_key());
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().is(throttle_error::missing_subject));

    r = derive_key(bucket("emails", cfg::throttle_key::invalid, 3, 60s, 0s), s, test_key());
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().is(throttle_error::invalid_key));
}

TEST_CASE("derive_key: a flow-keyed bucket is keyed by the flow id", "[policy]") {
    const auto b = bucket("validations_per_flow", cfg::throttle_key::flow, 3, 15min, 0s);
    throttle_subject a;
    a.flow_id = "f-1";
    throttle_subject c;
    c.flow_id = "f-2";
    CHECK(key_for(b, a).starts_with("bucket:validations_per_flow|flow:"));
    CHECK(key_for(b, a) != key_for(b, c));
}

TEST_CASE("derive_key: a client_net bucket counts a /48 or a /24 as one", "[policy]") {
    const auto net_bucket =
        bucket("flow_starts_per_net", cfg::throttle_key::client_net, 200, 600s, 1800s);
    const auto ip_bucket = bucket("flow_starts_per_ip", cfg::throttle_key::client_ip, 20, 600s, 0s);
    throttle_subject a;
    throttle_subject b;
    // Two /64s of one /48: two per-IP counters, one per-network counter.
    a.client_ip = "2001:db8:1:2::1";
    b.client_ip = "2001:db8:1:ffff::1";
    CHECK(key_for(ip_bucket, a) != key_for(ip_bucket, b));
    CHECK(key_for(net_bucket, a) == key_for(net_bucket, b));
    CHECK(key_for(net_bucket, a).starts_with("bucket:flow_starts_per_net|net:"));
    b.client_ip = "2001:db8:2::1";
    CHECK(key_for(net_bucket, a) != key_for(net_bucket, b));
    // Two addresses of one /24, written either way.
    a.client_ip = "192.0.2.1";
    b.client_ip = "::ffff:192.0.2.200";
    CHECK(key_for(ip_bucket, a) != key_for(ip_bucket, b));
    CHECK(key_for(net_bucket, a) == key_for(net_bucket, b));
    // An address and its /24 are different subjects, even when the text would match.
    a.client_ip = "192.0.2.0";
    CHECK(key_for(ip_bucket, a) != key_for(net_bucket, a));
    throttle_subject none;
    CHECK(derive_key(net_bucket, none, test_key()).error().is(throttle_error::missing_subject));
}

// ---- after a successful reset -----------------------------------------------------------------

TEST_CASE("keys_to_clear_on_success: the user's counters, never the address's", "[policy]") {
    cfg::throttles_config c; // the defaults, plus a flow bucket
    c.buckets.push_back(bucket("validations_per_flow", cfg::throttle_key::flow, 3, 15min, 0s));
    const auto set = make_bucket_set(c).value();
    const std::string dn = "CN=Alice,OU=Staff,DC=example,DC=org";
    const std::vector<std::string> destinations{"alice@example.org", "ALICE+x@example.org",
                                                "+1 555 010 0199",   "not a destination",
                                                "010-1234-5678",     "+82 10 1234 5678"};
    const auto keys =
        keys_to_clear_on_success(set, dn, destinations, "f-1", test_key(), "KR").value();

    throttle_subject s;
    s.user = dn;
    s.destination = "alice@example.org";
    s.flow_id = "f-1";
    throttle_subject phone;
    phone.destination = "+15550100199";
    throttle_subject korean;
    korean.destination = "+821012345678";
    std::vector<std::string> expected{
        key_for(*set.find("failed_proofs"), s),
        key_for(*set.find("validations"), s),
        key_for(*set.find("flow_starts_per_user"), s),
        key_for(*set.find("emails"), s),
        key_for(*set.find("emails"), phone), // the bucket counts any destination it is given
        key_for(*set.find("emails"), korean),
        key_for(*set.find("texts"), s),
        key_for(*set.find("texts"), phone),
        key_for(*set.find("texts"), korean),
        key_for(*set.find("validations_per_flow"), s),
    };
    std::sort(expected.begin(), expected.end());
    CHECK(keys == expected);
    for (const auto& k : keys) {
        CHECK(k.find("|ip:") == std::string::npos);
        CHECK(k.find("|net:") == std::string::npos);
    }

    // Without a flow id, no flow key.
    const auto no_flow =
        keys_to_clear_on_success(set, dn, destinations, "", test_key(), "KR").value();
    CHECK(no_flow.size() == 9U);

    // A user that is not a DN, or a weak key, is an error rather than a partial list.
    auto r = keys_to_clear_on_success(set, "alice", destinations, "", test_key(), "KR");
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().is(throttle_error::invalid_user));
    r = keys_to_clear_on_success(set, dn, destinations, "", secret{}, "KR");
    REQUIRE_FALSE(r.has_value());
    CHECK(r.error().is(throttle_error::weak_key));
}
