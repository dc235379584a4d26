// Problem rendering (gateway/problem.hpp): the RFC 9457 fields, the media type, the language, the
// figures, and Retry-After where the status calls for it.
#include "gateway/problem.hpp"

#include <boost/json/parse.hpp>

#include <catch2/catch.hpp>

using namespace sspr::gateway;

namespace {

const i18n& catalogue() {
    static const i18n m = [] {
        const std::vector<i18n::document> docs{
            {"en",
             R"({"problem.password_too_short": "Use at least {min} characters.",
                 "problem_title.password_too_short": "Password too short",
                 "problem.throttled": "Too many attempts.",
                 "problem_title.throttled": "Too many attempts",
                 "problem.overloaded": "Busy.", "problem_title.overloaded": "Busy",
                 "problem.not_found": "Nothing here.", "problem_title.not_found": "Not found"})",
             ""},
            {"ko",
             R"({"problem.password_too_short": "{min}자 이상으로 입력하세요.",
                 "problem_title.password_too_short": "너무 짧은 비밀번호",
                 "problem.throttled": "시도 횟수가 너무 많습니다.",
                 "problem_title.throttled": "시도 횟수 초과",
                 "problem.overloaded": "혼잡합니다.", "problem_title.overloaded": "혼잡",
                 "problem.not_found": "없습니다.", "problem_title.not_found": "찾을 수 없음"})",
             ""}};
        return i18n::parse(docs);
    }();
    return m;
}

boost::json::object body_of(const response& res) {
    return boost::json::parse(res.body()).as_object();
}

} // namespace

TEST_CASE("problem: the body has every RFC 9457 field and the stable code", "[gateway]") {
    problem_info p;
    p.code = "password_too_short";
    p.status = 422;
    p.params = {{"min", "12"}};
    const response res = render_problem(p, catalogue(), "en", "req-1");
    CHECK(res.result_int() == 422);
    CHECK(res[http::field::content_type] == "application/problem+json");
    CHECK(res[http::field::content_language] == "en");
    CHECK(res.count(http::field::retry_after) == 0);
    const auto b = body_of(res);
    CHECK(b.at("type").as_string() == "https://ssprd.dev/problems/password_too_short");
    CHECK(b.at("title").as_string() == "Password too short");
    CHECK(b.at("status").as_int64() == 422);
    CHECK(b.at("detail").as_string() == "Use at least 12 characters.");
    CHECK(b.at("code").as_string() == "password_too_short");
    CHECK(b.at("request_id").as_string() == "req-1");
    CHECK(b.at("params").as_object().at("min").as_string() == "12");
    CHECK_FALSE(b.contains("retry_after"));
}

TEST_CASE("problem: detail and title follow the language", "[gateway]") {
    problem_info p;
    p.code = "password_too_short";
    p.status = 422;
    p.params = {{"min", "8"}};
    const response res = render_problem(p, catalogue(), "ko", "r");
    const auto b = body_of(res);
    CHECK(b.at("detail").as_string() == "8자 이상으로 입력하세요.");
    CHECK(b.at("title").as_string() == "너무 짧은 비밀번호");
    CHECK(res[http::field::content_language] == "ko");
}

TEST_CASE("problem: 429 and 503 always carry Retry-After, in the header and the body",
          "[gateway]") {
    problem_info throttled;
    throttled.code = "throttled";
    throttled.status = 429;
    throttled.retry_after = std::chrono::seconds(900);
    const response r1 = render_problem(throttled, catalogue(), "en", "r");
    CHECK(r1[http::field::retry_after] == "900");
    CHECK(body_of(r1).at("retry_after").as_int64() == 900);

    throttled.retry_after = std::chrono::seconds(0);
    CHECK(render_problem(throttled, catalogue(), "en", "r")[http::field::retry_after] == "1");

    const response r2 = render_problem(problems::overloaded(), catalogue(), "en", "r");
    CHECK(r2.result_int() == 503);
    CHECK(r2[http::field::retry_after] == "1");
    CHECK(body_of(r2).at("code").as_string() == "overloaded");
    CHECK_FALSE(body_of(r2).contains("params"));
}

TEST_CASE("problem: a code without catalogue texts is about:blank with the reason phrase",
          "[gateway]") {
    problem_info p;
    p.code = "no_such_code";
    p.status = 409;
    const auto b = body_of(render_problem(p, catalogue(), "en", "r"));
    CHECK(b.at("type").as_string() == "about:blank");
    CHECK(b.at("title").as_string() == "Conflict");
    CHECK_FALSE(b.contains("detail"));
    CHECK(b.at("code").as_string() == "no_such_code");
}

TEST_CASE("problem: the gateway's own problems have their statuses", "[gateway]") {
    CHECK(problems::invalid_request().status == 400);
    CHECK(problems::invalid_request("username").params.at("field") == "username");
    CHECK(problems::invalid_request().params.empty());
    CHECK(problems::not_found().status == 404);
    CHECK(problems::method_not_allowed().status == 405);
    CHECK(problems::payload_too_large().status == 413);
    CHECK(problems::unsupported_media_type().status == 415);
    CHECK(problems::origin_not_allowed().status == 403);
    CHECK(problems::csrf_invalid().status == 403);
    CHECK(problems::overloaded().retry_after == std::chrono::seconds(1));
    CHECK(problems::internal_error().status == 500);
    // A status that is not an error is never sent as a problem.
    problem_info odd;
    odd.code = "not_found";
    odd.status = 200;
    CHECK(render_problem(odd, catalogue(), "en", "r").result_int() == 500);
}
