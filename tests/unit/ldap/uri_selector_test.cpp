// Unit tests of ldap/uri_selector.hpp driven by a clock that moves only when told: failover order,
// per-URI exponential backoff with a cap, reset on success, and when a connection to a fallback
// should be retired.
#include "ldap/uri_selector.hpp"

#include "tests/fakes/fake_clock.hpp"

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <cstddef>
#include <memory>
#include <stdexcept>
#include <vector>

using namespace std::chrono_literals;
using sspr::ldap::uri_selector;

namespace {

using indexes = std::vector<std::size_t>;

struct fixture {
    std::shared_ptr<sspr::fakes::fake_clock> clock = std::make_shared<sspr::fakes::fake_clock>();
    uri_selector selector{3, clock, 100ms, 1000ms};

    // True when URI `index` comes back exactly `backoff` after now: not a moment earlier.
    bool backs_off_for(std::size_t index, std::chrono::milliseconds backoff) {
        const auto contains = [&] {
            for (const std::size_t i : selector.candidates()) {
                if (i == index) {
                    return true;
                }
            }
            return false;
        };
        if (contains()) {
            return false;
        }
        clock->advance(backoff - 1ms);
        if (contains()) {
            return false;
        }
        clock->advance(1ms);
        return contains();
    }
};

} // namespace

TEST_CASE("uri_selector: initially every URI is a candidate, in configured order", "[ldap]") {
    fixture f;
    CHECK(f.selector.candidates() == indexes{0, 1, 2});
}

TEST_CASE("uri_selector: a failed URI is skipped until backoff_min has passed", "[ldap]") {
    fixture f;
    f.selector.record_failure(0);
    CHECK(f.selector.candidates() == indexes{1, 2});
    f.clock->advance(99ms);
    CHECK(f.selector.candidates() == indexes{1, 2});
    f.clock->advance(1ms);
    CHECK(f.selector.candidates() == indexes{0, 1, 2});
}

TEST_CASE("uri_selector: a failure in the middle keeps the order of the others", "[ldap]") {
    fixture f;
    f.selector.record_failure(1);
    CHECK(f.selector.candidates() == indexes{0, 2});
}

TEST_CASE("uri_selector: backoff doubles on repeated failures and stops at backoff_max", "[ldap]") {
    fixture f;
    f.selector.record_failure(0);
    CHECK(f.backs_off_for(0, 100ms));
    f.selector.record_failure(0);
    CHECK(f.backs_off_for(0, 200ms));
    f.selector.record_failure(0);
    CHECK(f.backs_off_for(0, 400ms));
    f.selector.record_failure(0);
    CHECK(f.backs_off_for(0, 800ms));
    f.selector.record_failure(0);
    CHECK(f.backs_off_for(0, 1000ms)); // 1600 capped
    f.selector.record_failure(0);
    CHECK(f.backs_off_for(0, 1000ms));
}

TEST_CASE("uri_selector: backoff is counted from the latest failure", "[ldap]") {
    fixture f;
    f.selector.record_failure(0);
    f.clock->advance(50ms);
    f.selector.record_failure(0); // now 200 ms from here, not from the first failure
    f.clock->advance(199ms);
    CHECK(f.selector.candidates() == indexes{1, 2});
    f.clock->advance(1ms);
    CHECK(f.selector.candidates() == indexes{0, 1, 2});
}

TEST_CASE("uri_selector: success makes the URI a candidate again and resets its backoff",
          "[ldap]") {
    fixture f;
    f.selector.record_failure(0);
    f.selector.record_failure(0);
    f.selector.record_failure(0); // 400 ms
    f.selector.record_success(0);
    CHECK(f.selector.candidates() == indexes{0, 1, 2});
    f.selector.record_failure(0);
    CHECK(f.backs_off_for(0, 100ms));
}

TEST_CASE("uri_selector: URIs back off independently", "[ldap]") {
    fixture f;
    f.selector.record_failure(0);
    f.selector.record_failure(0); // #0: 200 ms
    f.selector.record_failure(1); // #1: 100 ms
    CHECK(f.selector.candidates() == indexes{2});
    f.clock->advance(100ms);
    CHECK(f.selector.candidates() == indexes{1, 2});
    f.clock->advance(100ms);
    CHECK(f.selector.candidates() == indexes{0, 1, 2});
}

TEST_CASE("uri_selector: no candidate at all while every URI backs off", "[ldap]") {
    fixture f;
    f.selector.record_failure(0);
    f.selector.record_failure(1);
    f.selector.record_failure(2);
    CHECK(f.selector.candidates().empty());
    f.clock->advance(100ms);
    CHECK(f.selector.candidates() == indexes{0, 1, 2});
}

TEST_CASE("uri_selector: fail back to the preferred URI once its backoff has passed", "[ldap]") {
    fixture f;
    f.selector.record_failure(0); // work moved to #1
    CHECK_FALSE(f.selector.should_fail_back(1));
    f.clock->advance(99ms);
    CHECK_FALSE(f.selector.should_fail_back(1));
    f.clock->advance(1ms);
    CHECK(f.selector.should_fail_back(1));
}

TEST_CASE("uri_selector: fail back considers only URIs listed before", "[ldap]") {
    fixture f;
    // Nothing precedes the first URI.
    CHECK_FALSE(f.selector.should_fail_back(0));
    f.selector.record_failure(0);
    f.selector.record_failure(1);
    // #2 is in use; both preferred URIs back off.
    CHECK_FALSE(f.selector.should_fail_back(2));
    // #1 is not "before" #1; #2 failing says nothing about #1's connection.
    f.selector.record_failure(2);
    CHECK_FALSE(f.selector.should_fail_back(1));
    f.selector.record_success(1);
    CHECK(f.selector.should_fail_back(2));
    CHECK_FALSE(f.selector.should_fail_back(1));
}

TEST_CASE("uri_selector: a maximum below the minimum is raised to the minimum", "[ldap]") {
    auto clock = std::make_shared<sspr::fakes::fake_clock>();
    uri_selector selector(1, clock, 500ms, 100ms);
    selector.record_failure(0);
    selector.record_failure(0); // would be 1000 ms without the cap, 100 ms with a lower one
    clock->advance(499ms);
    CHECK(selector.candidates().empty());
    clock->advance(1ms);
    CHECK(selector.candidates() == indexes{0});
}

TEST_CASE("uri_selector: an index beyond the configured URIs is a logic error", "[ldap]") {
    fixture f;
    CHECK_THROWS_AS(f.selector.record_failure(3), std::out_of_range);
    CHECK_THROWS_AS(f.selector.record_success(3), std::out_of_range);
}
