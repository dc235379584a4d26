// Unit tests of delivery/sms_body.hpp: the webhook body from the admin's template, with values
// escaped for JSON or form encoding, and templates that cannot work caught at start-up.
#include "delivery/sms_body.hpp"

#include <boost/json/parse.hpp>

#include <catch2/catch.hpp>

using sspr::config::sms_body_format;
using sspr::delivery::render_sms_body;
using sspr::delivery::sms_body_template_problem;

TEST_CASE("sms body: JSON values are escaped inside their strings", "[delivery]") {
    const auto body = render_sms_body(sms_body_format::json, R"({"to":"{to}","text":"{message}"})",
                                      "+821012345678", "He said \"hi\"\n\t\\ 한글 </script> \x01");
    CHECK(body.reveal() ==
          R"({"to":"+821012345678","text":"He said \"hi\"\n\t\\ 한글 </script> \u0001"})");
    const auto parsed = boost::json::parse(body.reveal()).as_object();
    CHECK(parsed.at("text").as_string() == "He said \"hi\"\n\t\\ 한글 </script> \x01");
}

TEST_CASE("sms body: a placeholder may appear more than once, other braces stay", "[delivery]") {
    const auto body =
        render_sms_body(sms_body_format::json,
                        R"({"messages":[{"to":["{to}"],"body":"{message}","ref":"{to}-{id}"}]})",
                        "+15550100199", "code 1");
    CHECK(body.reveal() ==
          R"({"messages":[{"to":["+15550100199"],"body":"code 1","ref":"+15550100199-{id}"}]})");
}

TEST_CASE("sms body: form values are percent-encoded, spaces as plus", "[delivery]") {
    const auto body = render_sms_body(sms_body_format::form, "to={to}&body={message}&from=ssprd",
                                      "+821012345678", "a b&c=d+e/한%");
    CHECK(body.reveal() == "to=%2B821012345678&body=a+b%26c%3Dd%2Be%2F%ED%95%9C%25&from=ssprd");
}

TEST_CASE("sms body: templates that cannot work are named at start-up", "[delivery]") {
    CHECK_FALSE(
        sms_body_template_problem(sms_body_format::json, R"({"to":"{to}","text":"{message}"})"));
    CHECK_FALSE(sms_body_template_problem(sms_body_format::json, R"(["{message}"])"));
    CHECK_FALSE(sms_body_template_problem(sms_body_format::form, "to={to}&text={message}"));

    CHECK(sms_body_template_problem(sms_body_format::json, R"({"to":"{to}"})") ==
          "body template must contain {message}");
    // Outside a JSON string the value would not be JSON (or would be JSON the admin did not mean).
    CHECK(sms_body_template_problem(sms_body_format::json, R"({"to":{to},"text":"{message}"})"));
    CHECK(sms_body_template_problem(sms_body_format::json, R"({"text":{message}})"));
    CHECK(sms_body_template_problem(sms_body_format::json, R"("{message}")") ==
          "body template must be a JSON object or array");
    CHECK(sms_body_template_problem(sms_body_format::json, R"({"text":"{message}")"));
    CHECK(sms_body_template_problem(sms_body_format::invalid, "{message}") ==
          "body format must be json or form");
}

TEST_CASE("sms body: content types", "[delivery]") {
    CHECK(sspr::delivery::sms_content_type(sms_body_format::json) ==
          "application/json; charset=utf-8");
    CHECK(sspr::delivery::sms_content_type(sms_body_format::form) ==
          "application/x-www-form-urlencoded");
}
