// Unit tests of delivery/address.hpp: what may be sent to, and what a log line shows of it.
#include "common/phone.hpp"
#include "delivery/address.hpp"

#include <catch2/catch.hpp>

using sspr::delivery::channel;
using sspr::delivery::error;
using sspr::delivery::mask_destination;
using sspr::delivery::normalise_destination;
using sspr::delivery::normalise_email;
using sspr::delivery::normalise_phone;

TEST_CASE("address: plain addresses are accepted as they are", "[delivery]") {
    for (const char* ok : {"alice@example.org", "a.b+tag@sub.example.co.kr", "x_y-z@a-b.example",
                           "o'neil@example.org"}) {
        const auto r = normalise_email(ok);
        REQUIRE(r);
        CHECK(*r == ok);
    }
}

TEST_CASE("address: anything that could break an SMTP command or a header is refused",
          "[delivery]") {
    for (const char* bad : {"",
                            "alice",
                            "@example.org",
                            "alice@",
                            "alice@localhost",
                            "alice@example..org",
                            ".alice@example.org",
                            "al..ice@example.org",
                            "alice.@example.org",
                            "alice@-example.org",
                            "alice@example.org\r\nRCPT TO:<x@y.org>",
                            "alice@example.org>",
                            "<alice@example.org>",
                            "Alice <alice@example.org>",
                            "\"al ice\"@example.org",
                            "alice@[127.0.0.1]",
                            "jürgen@example.org",
                            "alice@exämple.org",
                            "a lice@example.org",
                            "alice@example.org "}) {
        const auto r = normalise_email(bad);
        INFO(bad);
        REQUIRE_FALSE(r);
        CHECK(r.error().is(error::invalid_destination));
    }
    CHECK_FALSE(normalise_email(std::string(65, 'a') + "@example.org"));
    CHECK(normalise_email(std::string(64, 'a') + "@example.org"));
}

TEST_CASE("address: every spelling of a phone number is sent as its E.164 form", "[delivery]") {
    for (const char* spelling : {"+82 10 1234 5678", "010.1234.5678", "010-1234-5678",
                                 "0082 10 1234 5678", "+82 (0)10-1234-5678", "+821012345678"}) {
        INFO(spelling);
        const auto r = normalise_phone(spelling, "KR");
        REQUIRE(r);
        CHECK(*r == "+821012345678");
        // The form policy/ counts the destination under: one number to both.
        CHECK(*r == sspr::common::to_e164(spelling, "KR").value());
    }
    CHECK(*normalise_phone("+1 (415) 555-2671", "KR") == "+14155552671");
    CHECK(*normalise_phone("(415) 555-2671", "US") == "+14155552671");
    CHECK(*normalise_phone("+49 30 1234567", "KR") == "+49301234567");
}

TEST_CASE("address: phone numbers with letters, a misplaced plus or a wrong length are refused",
          "[delivery]") {
    for (const char* bad :
         {"", "+", "12345", "+1234567890123456", "+82 10 1234 567a", "82+1012345678",
          "++821012345678", "+82\n1012345678", "+82 10 1234 5678; rm", "+999 1234 5678"}) {
        INFO(bad);
        const auto r = normalise_phone(bad, "KR");
        REQUIRE_FALSE(r);
        CHECK(r.error().is(error::invalid_destination));
    }
}

TEST_CASE("address: the channel decides which check applies", "[delivery]") {
    CHECK(normalise_destination(channel::email, "alice@example.org", "KR"));
    CHECK_FALSE(normalise_destination(channel::email, "+821012345678", "KR"));
    CHECK(*normalise_destination(channel::sms, "010-1234-5678", "KR") == "+821012345678");
    CHECK_FALSE(normalise_destination(channel::sms, "010-1234-5678", ""));
    CHECK_FALSE(normalise_destination(channel::sms, "alice@example.org", "KR"));
    // The address sent to stays as registered: sub-addresses are only merged for counting.
    CHECK(*normalise_destination(channel::email, "alice+reset@example.org", "KR") ==
          "alice+reset@example.org");
    CHECK(normalise_destination(channel::invalid, "alice@example.org", "KR")
              .error()
              .is(error::invalid_message));
}

TEST_CASE("address: log lines show a masked destination", "[delivery]") {
    CHECK(mask_destination(channel::email, "alice@example.org") == "a***@example.org");
    CHECK(mask_destination(channel::sms, "+821012345678") == "+********5678");
    CHECK(mask_destination(channel::sms, "01012345678") == "*******5678");
    CHECK(mask_destination(channel::sms, "1234") == "****");
}
