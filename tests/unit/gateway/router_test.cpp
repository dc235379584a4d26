// Routing (gateway/router.hpp): exact segments, captures, 404 for unknown paths, 405 with the
// methods a known path takes, and targets that are not origin-form.
#include "gateway/router.hpp"

#include <catch2/catch.hpp>

#include <stdexcept>

using sspr::gateway::router;
namespace http = sspr::gateway::http;

namespace {

struct table {
    router r;
    std::size_t start = r.add(http::verb::post, "/api/v1/reset/start");
    std::size_t methods_get = r.add(http::verb::get, "/api/v1/enroll/methods");
    std::size_t method_delete = r.add(http::verb::delete_, "/api/v1/enroll/methods/{id}");
    std::size_t questions_get = r.add(http::verb::get, "/api/v1/enroll/questions");
    std::size_t questions_put = r.add(http::verb::put, "/api/v1/enroll/questions");
    std::size_t health = r.add(http::verb::get, "/healthz");
};

} // namespace

TEST_CASE("router: known paths and methods are found, with captures", "[gateway]") {
    const table t;
    auto m = t.r.find(http::verb::post, "/api/v1/reset/start");
    CHECK(m.result == router::outcome::found);
    CHECK(m.route == t.start);
    CHECK(m.params.empty());

    m = t.r.find(http::verb::delete_, "/api/v1/enroll/methods/email-0");
    REQUIRE(m.result == router::outcome::found);
    CHECK(m.route == t.method_delete);
    CHECK(m.params == std::vector<std::string>{"email-0"});

    // Captures are decoded; the query is not part of the path.
    m = t.r.find(http::verb::delete_, "/api/v1/enroll/methods/sms%2D1?x=1");
    REQUIRE(m.result == router::outcome::found);
    CHECK(m.params == std::vector<std::string>{"sms-1"});
    CHECK(t.r.find(http::verb::get, "/healthz?probe=1").route == t.health);

    CHECK(t.r.find(http::verb::put, "/api/v1/enroll/questions").route == t.questions_put);
    CHECK(t.r.find(http::verb::get, "/api/v1/enroll/questions").route == t.questions_get);
}

TEST_CASE("router: unknown paths are not found", "[gateway]") {
    const table t;
    for (const char* target :
         {"/", "/api/v1/reset", "/api/v1/reset/start/", "/api/v1/reset/stop", "/API/v1/reset/start",
          "/api/v1/../v1/reset/start", "/api/v1/enroll/methods/", "/api/v1/enroll/methods/a/b",
          "/healthz/"}) {
        INFO(target);
        CHECK(t.r.find(http::verb::get, target).result == router::outcome::not_found);
    }
}

TEST_CASE("router: a known path with another method is 405 with its methods", "[gateway]") {
    const table t;
    auto m = t.r.find(http::verb::get, "/api/v1/reset/start");
    CHECK(m.result == router::outcome::method_not_allowed);
    CHECK(m.allowed == std::vector<http::verb>{http::verb::post});

    m = t.r.find(http::verb::post, "/api/v1/enroll/questions");
    CHECK(m.result == router::outcome::method_not_allowed);
    CHECK(m.allowed == std::vector<http::verb>{http::verb::get, http::verb::put});

    // A found route also reports every method of its path (for preflights).
    m = t.r.find(http::verb::get, "/api/v1/enroll/questions");
    CHECK(m.allowed == std::vector<http::verb>{http::verb::get, http::verb::put});
}

TEST_CASE("router: targets that are not origin-form are refused", "[gateway]") {
    const table t;
    CHECK(t.r.find(http::verb::get, "*").result == router::outcome::bad_target);
    CHECK(t.r.find(http::verb::get, "https://sspr.example.org/healthz").result ==
          router::outcome::bad_target);
    CHECK(t.r.find(http::verb::get, "healthz").result == router::outcome::bad_target);
    CHECK(t.r.find(http::verb::get, "/health z").result == router::outcome::bad_target);
}

TEST_CASE("router: patterns are checked when added", "[gateway]") {
    router r;
    r.add(http::verb::get, "/a/{id}");
    CHECK_THROWS_AS(r.add(http::verb::get, "/a/{other}"), std::invalid_argument);
    CHECK_THROWS_AS(r.add(http::verb::get, "a"), std::invalid_argument);
    CHECK_NOTHROW(r.add(http::verb::post, "/a/{id}"));
}
