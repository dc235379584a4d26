// Unit tests of common/phone.hpp: the spellings of one number that must give one E.164 form (so
// the throttles count one destination and the text goes to that number), the prefixes of several
// dialling plans, and the numbers that must be refused rather than guessed at.
#include "common/phone.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <optional>
#include <string>

using sspr::common::is_phone_region;
using sspr::common::phone_regions;
using sspr::common::to_e164;

namespace {

std::string e164(std::string_view number, std::string_view region) {
    const auto r = to_e164(number, region);
    INFO(number << " in " << region);
    REQUIRE(r.has_value());
    return *r;
}

} // namespace

TEST_CASE("phone: every spelling of a Korean mobile number is one E.164 number", "[common]") {
    for (const char* spelling :
         {"010-1234-5678", "01012345678", "010 1234 5678", "010.1234.5678", "(010) 1234-5678",
          "+82 10 1234 5678", "+82-10-1234-5678", "+821012345678", "+82 010 1234 5678",
          "+82 (0)10 1234 5678", "0082 10 1234 5678", "0082-10-1234-5678", "001 82 10 1234 5678",
          "00700 82 10 1234 5678", "  +82 10 1234 5678 "}) {
        CHECK(e164(spelling, "KR") == "+821012345678");
    }
    // The region does not matter for numbers in international form.
    CHECK(e164("+82 10 1234 5678", "US") == "+821012345678");
    CHECK(e164("0082 10 1234 5678", "GB") == "+821012345678");
}

TEST_CASE("phone: national numbers are read in the default region's plan", "[common]") {
    CHECK(e164("02-312-3456", "KR") == "+8223123456"); // Seoul
    CHECK(e164("(415) 555-2671", "US") == "+14155552671");
    CHECK(e164("1 415 555 2671", "US") == "+14155552671");
    CHECK(e164("011 82 10 1234 5678", "US") == "+821012345678");
    CHECK(e164("020 7946 0958", "GB") == "+442079460958");
    CHECK(e164("+44 (0)20 7946 0958", "GB") == "+442079460958");
    CHECK(e164("090-1234-5678", "JP") == "+819012345678");
    CHECK(e164("010 82 10 1234 5678", "JP") == "+821012345678");
    CHECK(e164("06 12 34 56 78", "FR") == "+33612345678");
    CHECK(e164("0171 1234567", "DE") == "+491711234567");
    CHECK(e164("0412 345 678", "AU") == "+61412345678");
    CHECK(e164("0011 82 10 1234 5678", "AU") == "+821012345678");
    CHECK(e164("8 912 345 67 89", "RU") == "+79123456789");
    // Italy keeps the leading 0 after the country code.
    CHECK(e164("06 1234 5678", "IT") == "+390612345678");
    CHECK(e164("+39 06 1234 5678", "KR") == "+390612345678");
    CHECK(e164("9123 4567", "SG") == "+6591234567");
}

TEST_CASE("phone: an international prefix that could be read two ways takes the valid reading",
          "[common]") {
    // In Korea 001 is a carrier's prefix and 00 the ITU's: "0014155552671" is 00 + US (001 + 41
    // would leave Switzerland a number one digit short), "00182…" is 001 + Korea.
    CHECK(e164("00 1 415 555 2671", "KR") == "+14155552671");
    CHECK(e164("001 1 415 555 2671", "KR") == "+14155552671");
    CHECK(e164("001 82 10 1234 5678", "KR") == "+821012345678");
    // 008 + "21…" would be an unassigned country code: 00 + 82 it is.
    CHECK(e164("0082 10 1234 5678", "KR") == "+821012345678");
}

TEST_CASE("phone: what cannot be sent to safely is refused", "[common]") {
    for (const char* bad : {"", "+", "abc", "010-1234-567x", "+82 10_1234_5678", "++821012345678",
                            "+999 1234 5678",        // no such country code
                            "+1 415 555 267",        // North American numbers have ten digits
                            "+82 10 123",            // too short for Korea
                            "+82 10 1234 5678 9012", // too long for Korea
                            "+1234567890123456",     // more than 15 digits
                            "010-1234",              // too short a national number
                            "00 999 1234"}) {        // abroad, to nowhere
        INFO(bad);
        CHECK_FALSE(to_e164(bad, "KR").has_value());
    }
    // A national number needs a region that to_e164 knows.
    CHECK_FALSE(to_e164("010-1234-5678", "").has_value());
    CHECK_FALSE(to_e164("010-1234-5678", "XX").has_value());
    CHECK(to_e164("+82 10 1234 5678", "").value() == "+821012345678");
}

TEST_CASE("phone: the regions are listed once, in order, and each is known", "[common]") {
    const auto regions = phone_regions();
    REQUIRE(regions.size() >= 30);
    CHECK(std::is_sorted(regions.begin(), regions.end()));
    CHECK(std::adjacent_find(regions.begin(), regions.end()) == regions.end());
    for (const auto r : regions) {
        CHECK(is_phone_region(r));
        CHECK(r.size() == 2);
    }
    CHECK(is_phone_region("KR"));
    CHECK_FALSE(is_phone_region("kr"));
    CHECK_FALSE(is_phone_region("XX"));
}
