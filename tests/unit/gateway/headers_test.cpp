// The headers every response carries (gateway/headers.hpp) and the request id.
#include "gateway/headers.hpp"

#include "tests/fakes/fake_random.hpp"

#include <catch2/catch.hpp>

#include <set>

using namespace sspr::gateway;

TEST_CASE("headers: the security headers, replacing what a handler set", "[gateway]") {
    response res{http::status::ok, 11};
    res.set(http::field::cache_control, "max-age=3600");
    res.set("X-Frame-Options", "SAMEORIGIN");
    set_security_headers(res);
    CHECK(res[http::field::strict_transport_security] == "max-age=31536000; includeSubDomains");
    CHECK(res["Content-Security-Policy"] ==
          "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
          "frame-ancestors 'none'; base-uri 'none'");
    CHECK(res["Referrer-Policy"] == "same-origin");
    CHECK(res[http::field::cache_control] == "no-store");
    CHECK(res["X-Content-Type-Options"] == "nosniff");
    CHECK(res["X-Frame-Options"] == "DENY");
    CHECK(res.count(http::field::cache_control) == 1);
}

TEST_CASE("headers: request ids are 96 random bits in base64url", "[gateway]") {
    sspr::fakes::fake_random fixed({std::byte{0xFB}, std::byte{0xFF}, std::byte{0x00}});
    // 0xFB 0xFF 0x00 -> 111110 111111 111100 000000 -> "-_8A"
    CHECK(make_request_id(fixed) == "-_8A-_8A-_8A-_8A");

    const auto system = sspr::common::make_system_random();
    std::set<std::string> seen;
    for (int i = 0; i < 1000; ++i) {
        const std::string id = make_request_id(*system);
        REQUIRE(id.size() == 16);
        CHECK(id.find_first_not_of("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                   "0123456789-_") == std::string::npos);
        seen.insert(id);
    }
    CHECK(seen.size() == 1000);
}

TEST_CASE("headers: Date is an IMF-fixdate in English and GMT", "[gateway]") {
    // RFC 9110 section 5.6.7's own example.
    CHECK(http_date(784111777) == "Sun, 06 Nov 1994 08:49:37 GMT");
    CHECK(http_date(0) == "Thu, 01 Jan 1970 00:00:00 GMT");
    // A leap day, the last second of a year, a single-digit day.
    CHECK(http_date(951782400) == "Tue, 29 Feb 2000 00:00:00 GMT");
    CHECK(http_date(1798761599) == "Thu, 31 Dec 2026 23:59:59 GMT");
    CHECK(http_date(1796601600) == "Mon, 07 Dec 2026 00:00:00 GMT");

    response res{http::status::ok, 11};
    const auto before = std::time(nullptr);
    set_date_header(res);
    const auto after = std::time(nullptr);
    const std::string date(res[http::field::date]);
    CHECK((date == http_date(before) || date == http_date(after)));
}
