// JSON bodies (gateway/json_body.hpp): objects only, the JSON media type, and field reading that
// names the first wrong field without its value.
#include "gateway/json_body.hpp"

#include <catch2/catch.hpp>

using namespace sspr::gateway;

namespace {

boost::json::object parse(std::string_view text) {
    auto v = parse_object(text, make_wiping_storage());
    REQUIRE(v);
    return v->as_object();
}

} // namespace

TEST_CASE("json_body: only a JSON object is a body", "[gateway]") {
    const auto sp = make_wiping_storage();
    CHECK(parse_object(R"({"a":1})", sp));
    CHECK_FALSE(parse_object(R"([1,2])", sp));
    CHECK_FALSE(parse_object(R"("text")", sp));
    CHECK_FALSE(parse_object(R"({"a":)", sp));
    CHECK_FALSE(parse_object("", sp));
    CHECK_FALSE(parse_object("{\"a\":\"\xff\"}", sp)); // not UTF-8
    CHECK_FALSE(parse_object(R"({"a":1} {"b":2})", sp));
    std::string deep(40, '[');
    deep = "{\"a\":" + deep + std::string(40, ']') + "}";
    CHECK_FALSE(parse_object(deep, sp)); // deeper than 32 levels
}

TEST_CASE("json_body: the content type is application/json, UTF-8 if a charset is named",
          "[gateway]") {
    CHECK(is_json_content_type("application/json"));
    CHECK(is_json_content_type("Application/JSON"));
    CHECK(is_json_content_type("application/json; charset=utf-8"));
    CHECK(is_json_content_type("application/json;charset=\"UTF-8\""));
    CHECK_FALSE(is_json_content_type(""));
    CHECK_FALSE(is_json_content_type("text/plain"));
    CHECK_FALSE(is_json_content_type("application/x-www-form-urlencoded"));
    CHECK_FALSE(is_json_content_type("application/json; charset=latin1"));
    CHECK_FALSE(is_json_content_type("application/json-patch+json"));
    CHECK_FALSE(is_json_content_type("application/json; boundary=x"));
}

TEST_CASE("json_body: fields are read with types and sizes checked", "[gateway]") {
    const auto o = parse(R"({"username":"alice","password":"s3cret","n":5,"list":[1,2]})");
    field_reader r(o);
    CHECK(r.text("username") == "alice");
    CHECK(r.secret("password").reveal() == "s3cret");
    CHECK(r.array("list", 4)->size() == 2);
    CHECK_FALSE(r.optional_text("absent"));
    r.only({"username", "password", "n", "list"});
    CHECK(r.ok());
}

TEST_CASE("json_body: the first wrong field is named, its value never", "[gateway]") {
    const auto check = [](std::string_view body, auto&& read, const char* field) {
        const auto o = parse(body);
        field_reader r(o);
        read(r);
        REQUIRE_FALSE(r.ok());
        const problem_info p = r.problem();
        CHECK(p.code == "invalid_request");
        CHECK(p.status == 400);
        CHECK(p.params.at("field") == field);
        for (const auto& [k, v] : p.params) {
            CHECK(v.find("hunter2") == std::string::npos);
        }
    };
    check(R"({})", [](field_reader& r) { (void)r.text("username"); }, "username");
    check(R"({"username":5})", [](field_reader& r) { (void)r.text("username"); }, "username");
    check(R"({"username":""})", [](field_reader& r) { (void)r.text("username"); }, "username");
    check(R"({"password":"hunter2hunter2"})",
          [](field_reader& r) { (void)r.secret("password", 8); }, "password");
    check(R"({"code":"12\u00003"})", [](field_reader& r) { (void)r.secret("code"); }, "code");
    check(R"({"answers":[]})", [](field_reader& r) { (void)r.array("answers", 5); }, "answers");
    check(R"({"answers":{}})", [](field_reader& r) { (void)r.array("answers", 5); }, "answers");
    check(R"({"a":"x","b":5})",
          [](field_reader& r) {
              (void)r.text("a");
              (void)r.text("b"); // first problem
              (void)r.text("c"); // not reported over it
          },
          "b");
    check(R"({"username":"u","hunter2":"x"})",
          [](field_reader& r) {
              (void)r.text("username");
              r.only({"username"});
          },
          "(unknown member)");
    check(R"({"x":1})", [](field_reader& r) { (void)r.optional_text("x"); }, "x");
}
