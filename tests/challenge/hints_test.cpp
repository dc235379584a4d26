// Unit tests of challenge/hints.hpp: masks of real addresses and numbers, and the fake hints of
// unknown logins, which must be stable, case-blind and shaped like real ones. Expected fake digits
// and letters were computed with an independent HMAC-SHA-256 (Python's hmac module) over the
// length-prefixed label and login, as the header describes.
#include "challenge/hints.hpp"

#include <catch2/catch.hpp>

#include <regex>
#include <string>
#include <vector>

namespace {

namespace challenge = sspr::challenge;

const sspr::common::secret key{std::string(32, 'k')};
const std::vector<std::string> domains{"corp.example", "mail.example", "example.org"};

std::string masked_email(std::string_view address) {
    const auto m = challenge::mask_email(address);
    REQUIRE(m.has_value());
    return *m;
}

std::string masked_phone(std::string_view number) {
    const auto m = challenge::mask_phone(number);
    REQUIRE(m.has_value());
    return *m;
}

} // namespace

TEST_CASE("hints: email masks keep the first character and the domain", "[challenge]") {
    CHECK(masked_email("alice@example.org") == "a****@example.org");
    CHECK(masked_email("Bob.Smith@Example.ORG") == "b****@example.org");
    CHECK(masked_email("x@y.example") == "x****@y.example"); // four stars even for one character
    CHECK(masked_email("김철수@example.kr") == "김****@example.kr");
    CHECK(masked_email("\"odd@local\"@example.org") == "\"****@example.org");
}

TEST_CASE("hints: what is not an address is refused", "[challenge]") {
    for (const char* bad : {"", "alice", "@example.org", "alice@", "al ice@example.org",
                            "alice@exa\tmple.org", "\xff@example.org", "\xea\xb9@example.org"}) {
        const auto m = challenge::mask_email(bad);
        REQUIRE_FALSE(m.has_value());
        CHECK(m.error() == challenge::error::invalid_email);
    }
}

TEST_CASE("hints: phone masks keep the country code and the last four digits", "[challenge]") {
    CHECK(masked_phone("+82 10-1234-5678") == "+82 ** **** 5678");
    CHECK(masked_phone("+821012341234") == "+82 ** **** 1234");
    CHECK(masked_phone("+1 (415) 555-2671") == "+1 ** **** 2671");
    CHECK(masked_phone("+7 912 345 67 89") == "+7 ** **** 6789");
    CHECK(masked_phone("+353 87 123 4567") == "+353 ** **** 4567");
    CHECK(masked_phone("+44 20 7946 0958") == "+44 ** **** 0958");
    CHECK(masked_phone("0082 10 1234 5678") == "+82 ** **** 5678");
    CHECK(masked_phone("010-1234-5678") == "** **** 5678");
}

TEST_CASE("hints: what is not a phone number is refused", "[challenge]") {
    for (const char* bad : {"", "+", "+82 12345", "+82 10 1234 567x", "+1234567890123456", "12345",
                            "+82 10_1234_5678"}) {
        const auto m = challenge::mask_phone(bad);
        REQUIRE_FALSE(m.has_value());
        CHECK(m.error() == challenge::error::invalid_phone);
    }
}

TEST_CASE("hints: fake email hints look real and stay the same", "[challenge]") {
    // HMAC says domain index 0 for "jsmith"; the letter is the login's own.
    const auto jsmith = challenge::fake_email_hint(key, "jsmith", domains);
    REQUIRE(jsmith.has_value());
    CHECK(*jsmith == "j****@corp.example");
    // Same hint for the same login however it is typed.
    CHECK(*challenge::fake_email_hint(key, "JSmith", domains) == *jsmith);
    CHECK(*challenge::fake_email_hint(key, "  jsmith ", domains) == *jsmith);
    // HMAC says domain index 2 for "bob".
    CHECK(*challenge::fake_email_hint(key, "bob", domains) == "b****@example.org");
    // A login that does not start with a letter or digit: the HMAC picks the letter ('x').
    CHECK(*challenge::fake_email_hint(key, "_svc", domains) == "x****@corp.example");

    const std::regex shape(R"([a-z0-9]\*\*\*\*@[a-z.]+)");
    CHECK(std::regex_match(*jsmith, shape));
    CHECK(std::regex_match(masked_email("John.Smith@corp.example"), shape));

    CHECK(challenge::fake_email_hint(key, "jsmith", {}).error() ==
          challenge::error::invalid_parameters);
}

TEST_CASE("hints: fake phone hints look real, stay the same and depend on the key", "[challenge]") {
    const auto jsmith = challenge::fake_phone_hint(key, "jsmith", "82");
    REQUIRE(jsmith.has_value());
    CHECK(*jsmith == "+82 ** **** 0267");
    CHECK(*challenge::fake_phone_hint(key, "JSMITH", "82") == *jsmith);
    CHECK(*challenge::fake_phone_hint(key, "alice", "82") == "+82 ** **** 9623");
    const sspr::common::secret other_key{std::string(32, 'K')};
    CHECK(*challenge::fake_phone_hint(other_key, "jsmith", "82") == "+82 ** **** 4117");

    // Same shape as a real mask.
    const std::regex shape(R"(\+[0-9]{1,3} \*\* \*\*\*\* [0-9]{4})");
    CHECK(std::regex_match(*jsmith, shape));
    CHECK(std::regex_match(masked_phone("+82 10-9876-5432"), shape));

    for (const char* bad : {"", "1234", "8a", "+82"}) {
        CHECK(challenge::fake_phone_hint(key, "jsmith", bad).error() ==
              challenge::error::invalid_parameters);
    }
}
