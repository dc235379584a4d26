// Unit tests of delivery/address.hpp: what may be sent to, and what a log line shows of it.
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

TEST_CASE("address: phone numbers lose their separators and keep a leading plus", "[delivery]") {
    CHECK(*normalise_phone("+82 10 1234 5678") == "+821012345678");
    CHECK(*normalise_phone("+1 (555) 010-0199") == "+15550100199");
    CHECK(*normalise_phone("010.1234.5678") == "01012345678");
    CHECK(*normalise_phone("123456") == "123456");
    CHECK(*normalise_phone("+123456789012345") == "+123456789012345");
}

TEST_CASE("address: phone numbers with letters, a misplaced plus or a wrong length are refused",
          "[delivery]") {
    for (const char* bad :
         {"", "+", "12345", "+1234567890123456", "+82 10 1234 567a", "82+1012345678",
          "++821012345678", "+82\n1012345678", "+82 10 1234 5678; rm"}) {
        INFO(bad);
        const auto r = normalise_phone(bad);
        REQUIRE_FALSE(r);
        CHECK(r.error().is(error::invalid_destination));
    }
}

TEST_CASE("address: the channel decides which check applies", "[delivery]") {
    CHECK(normalise_destination(channel::email, "alice@example.org"));
    CHECK_FALSE(normalise_destination(channel::email, "+821012345678"));
    CHECK(*normalise_destination(channel::sms, "+82 10 1234 5678") == "+821012345678");
    CHECK_FALSE(normalise_destination(channel::sms, "alice@example.org"));
    CHECK(normalise_destination(channel::invalid, "alice@example.org")
              .error()
              .is(error::invalid_message));
}

TEST_CASE("address: log lines show a masked destination", "[delivery]") {
    CHECK(mask_destination(channel::email, "alice@example.org") == "a***@example.org");
    CHECK(mask_destination(channel::sms, "+821012345678") == "+********5678");
    CHECK(mask_destination(channel::sms, "01012345678") == "*******5678");
    CHECK(mask_destination(channel::sms, "1234") == "****");
}
