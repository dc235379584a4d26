// Origins and CORS (gateway/cors.hpp): the own origin from public_url, exact matches of the
// allowed ones, the headers for allowed and refused origins.
#include "gateway/cors.hpp"

#include <catch2/catch.hpp>

using namespace sspr::gateway;

namespace {

origin_policy policy() {
    const std::vector<std::string> allowed{"https://intranet.example.org",
                                           "https://apps.example.org:8443"};
    return origin_policy("https://SSPR.example.org:443/sspr/", allowed);
}

} // namespace

TEST_CASE("cors: the own origin comes from public_url, normalised", "[gateway]") {
    CHECK(policy().own() == "https://sspr.example.org");
    CHECK(origin_policy("https://sspr.example.org:8443", {}).own() ==
          "https://sspr.example.org:8443");
    CHECK(normalise_origin("https://Intranet.Example.org") == "https://intranet.example.org");
    CHECK(normalise_origin("https://intranet.example.org/") == "");
    CHECK(normalise_origin("null") == "");
    CHECK(normalise_origin("https://u:p@intranet.example.org") == "");
}

TEST_CASE("cors: exact origins only", "[gateway]") {
    const auto p = policy();
    CHECK(p.is_cross_allowed("https://intranet.example.org"));
    CHECK(p.is_cross_allowed("https://apps.example.org:8443"));
    CHECK_FALSE(p.is_cross_allowed("https://apps.example.org"));    // other port
    CHECK_FALSE(p.is_cross_allowed("http://intranet.example.org")); // other scheme
    CHECK_FALSE(p.is_cross_allowed("https://evil.intranet.example.org"));
    CHECK_FALSE(p.is_cross_allowed("https://intranet.example.org.evil.com"));
    CHECK_FALSE(p.is_cross_allowed("null"));
    CHECK_FALSE(p.is_cross_allowed(""));
    CHECK_FALSE(p.is_cross_allowed("https://sspr.example.org")); // own: not cross
    CHECK(p.is_trusted("https://sspr.example.org"));
    CHECK(p.is_trusted("https://sspr.example.org:443"));
    CHECK(p.is_trusted("https://intranet.example.org"));
    CHECK_FALSE(p.is_trusted("https://evil.example.com"));
}

TEST_CASE("cors: an allowed origin gets its own origin back, never *", "[gateway]") {
    response res{http::status::ok, 11};
    apply_cors(res, policy(), "https://intranet.example.org");
    CHECK(res[http::field::access_control_allow_origin] == "https://intranet.example.org");
    CHECK(res[http::field::vary] == "Origin");
    CHECK(res.count(http::field::access_control_allow_credentials) == 0);
    CHECK(std::string(res[http::field::access_control_expose_headers]).find("X-Request-Id") !=
          std::string::npos);
}

TEST_CASE("cors: other origins and same-origin requests get no CORS grant", "[gateway]") {
    for (const char* origin : {"https://evil.example.com", "", "https://sspr.example.org"}) {
        INFO(origin);
        response res{http::status::ok, 11};
        apply_cors(res, policy(), origin);
        CHECK(res.count(http::field::access_control_allow_origin) == 0);
        CHECK(res[http::field::vary] == "Origin");
    }
}

TEST_CASE("cors: the preflight answer names the methods and headers used", "[gateway]") {
    const std::vector<http::verb> methods{http::verb::get, http::verb::put};
    const response res = preflight_response("https://intranet.example.org", methods);
    CHECK(res.result() == http::status::no_content);
    CHECK(res[http::field::access_control_allow_origin] == "https://intranet.example.org");
    CHECK(res[http::field::access_control_allow_methods] == "GET, PUT");
    CHECK(res[http::field::access_control_allow_headers] ==
          "Content-Type, Authorization, Accept-Language");
    CHECK(res[http::field::vary] == "Origin");
}
