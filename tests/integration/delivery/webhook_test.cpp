// Integration tests of SMS delivery against the real HTTPS receiver that scripts/testenv starts
// (webhook.sh: checks the bearer token, records each request, fails on purpose below
// /sms/fail-once/, /sms/unavailable/ and /sms/reject/). Each test reads back what arrived.
#include "tests/integration/delivery/support.hpp"

#include <boost/url/params_view.hpp>

#include <catch2/catch.hpp>

#include <chrono>
#include <map>

using namespace std::chrono_literals;
using sspr::delivery::channel;
using sspr::delivery::error;
using sspr::delivery::message;
using sspr::delivery::message_kind;
using sspr::testing::error_of;
using sspr::testing::requests_with_key;
using sspr::testing::send_and_wait;
using sspr::testing::sms_config;
using sspr::testing::testenv;

namespace {

message code_sms(const std::string& id, std::string language = "en") {
    message m;
    m.kind = message_kind::code;
    m.via = channel::sms;
    m.language = std::move(language);
    m.destination = "+82 10-1234-5678";
    m.params.code = sspr::common::secret("493817");
    m.params.code_lifetime = 600s;
    m.params.organisation = "Example Corp";
    m.id = id;
    return m;
}

std::string str(const boost::json::value& v) {
    return std::string(v.as_string());
}

} // namespace

TEST_CASE("webhook: a code SMS arrives as JSON with the bearer token", "[delivery][integration]") {
    auto sender = sspr::testing::make_test_sender(sms_config());
    const auto id = "sms-" + sspr::testing::unique_token();
    REQUIRE(send_and_wait(*sender, code_sms(id)));

    const auto requests = requests_with_key(id);
    REQUIRE(requests.size() == 1);
    const auto& r = requests[0];
    CHECK(str(r.at("method")) == "POST");
    CHECK(str(r.at("path")) == "/sms");
    CHECK(r.at("status").as_int64() == 200);
    CHECK(str(r.at("auth")) == "bearer");
    const auto& headers = r.at("headers").as_object();
    CHECK(str(headers.at("Content-Type")) == "application/json; charset=utf-8");
    CHECK(str(headers.at("User-Agent")).starts_with("ssprd/"));
    CHECK(headers.if_contains("Expect") == nullptr);

    const auto body = boost::json::parse(str(r.at("body"))).as_object();
    CHECK(str(body.at("to")) == "+821012345678");
    const auto text = str(body.at("text"));
    CHECK(text == "Example Corp: your verification code is 493817. It expires in 10 minutes. "
                  "Staff will never ask for it; do not share it.");
    CHECK(sspr::testing::find_code(text) == "493817");
    CHECK(sender->stats().sms.sent == 1);
}

TEST_CASE("webhook: a form body with basic authentication and a Korean text",
          "[delivery][integration]") {
    auto cfg = sms_config("/form");
    cfg.sms.format = sspr::config::sms_body_format::form;
    cfg.sms.body_template = "to={to}&text={message}&from=ssprd";
    cfg.sms.method = "PUT";
    cfg.sms.basic_user = "sspr";
    cfg.sms.basic_password = std::move(cfg.sms.bearer_token);
    cfg.sms.bearer_token = {};
    cfg.sms.headers = {{"X-Account", "42"}};
    auto sender = sspr::testing::make_test_sender(cfg);
    const auto id = "form-" + sspr::testing::unique_token();
    REQUIRE(send_and_wait(*sender, code_sms(id, "ko")));

    const auto requests = requests_with_key(id);
    REQUIRE(requests.size() == 1);
    const auto& r = requests[0];
    CHECK(str(r.at("method")) == "PUT");
    CHECK(str(r.at("auth")) == "basic:sspr");
    const auto& headers = r.at("headers").as_object();
    CHECK(str(headers.at("Content-Type")) == "application/x-www-form-urlencoded");
    CHECK(str(headers.at("X-Account")) == "42");
    // Read the body back the way a provider would: form fields, '+' meaning space.
    boost::urls::encoding_opts form;
    form.space_as_plus = true;
    const std::string raw_body = str(r.at("body"));
    std::map<std::string, std::string> fields;
    for (const auto& p : boost::urls::params_view(raw_body, form)) {
        fields[p.key] = p.value;
    }
    CHECK(fields.at("to") == "+821012345678");
    CHECK(fields.at("text") ==
          "[Example Corp] 인증 코드 493817 (10분 후 만료). 직원은 이 코드를 절대 "
          "묻지 않습니다. 누구에게도 알려 주지 마세요.");
    CHECK(fields.at("from") == "ssprd");
}

TEST_CASE("webhook: 500 once is retried with the same Idempotency-Key", "[delivery][integration]") {
    const auto id = "once-" + sspr::testing::unique_token();
    auto sender = sspr::testing::make_test_sender(sms_config("/fail-once/" + id));
    REQUIRE(send_and_wait(*sender, code_sms(id)));
    const auto requests = requests_with_key(id);
    REQUIRE(requests.size() == 2);
    CHECK(requests[0].at("status").as_int64() == 500);
    CHECK(requests[1].at("status").as_int64() == 200);
    CHECK(requests[0].at("body") == requests[1].at("body"));
    CHECK(sender->stats().sms.retried == 1);
    CHECK(sender->stats().sms.sent == 1);
}

TEST_CASE("webhook: 503 every time is reported after the last attempt", "[delivery][integration]") {
    const auto id = "down-" + sspr::testing::unique_token();
    auto sender = sspr::testing::make_test_sender(sms_config("/unavailable/" + id));
    const auto r = send_and_wait(*sender, code_sms(id));
    CHECK(error_of(r) == error::temporary_failure);
    CHECK(r.error().diagnostic == "HTTP 503");
    CHECK(requests_with_key(id).size() == 3);
    CHECK(sender->stats().sms.retried == 2);
    CHECK(sender->stats().sms.failed == 1);
}

TEST_CASE("webhook: 400 is reported at once and not retried", "[delivery][integration]") {
    const auto id = "bad-" + sspr::testing::unique_token();
    auto sender = sspr::testing::make_test_sender(sms_config("/reject/" + id));
    const auto r = send_and_wait(*sender, code_sms(id));
    CHECK(error_of(r) == error::rejected);
    CHECK(r.error().diagnostic == "HTTP 400");
    CHECK(requests_with_key(id).size() == 1);
    CHECK(sender->stats().sms.retried == 0);
}

TEST_CASE("webhook: a wrong token gives auth_failed, not retried", "[delivery][integration]") {
    auto cfg = sms_config();
    cfg.sms.bearer_token = sspr::common::secret("wrong-token");
    auto sender = sspr::testing::make_test_sender(cfg);
    const auto id = "tok-" + sspr::testing::unique_token();
    CHECK(error_of(send_and_wait(*sender, code_sms(id))) == error::auth_failed);
    const auto requests = requests_with_key(id);
    REQUIRE(requests.size() == 1);
    CHECK(str(requests[0].at("auth")) == "invalid");
}

TEST_CASE("webhook: a certificate from an untrusted CA is refused before anything is sent",
          "[delivery][integration]") {
    auto cfg = sms_config();
    cfg.sms.ca_file = "/etc/ssl/certs/ca-certificates.crt";
    auto sender = sspr::testing::make_test_sender(cfg);
    const auto id = "ca-" + sspr::testing::unique_token();
    CHECK(error_of(send_and_wait(*sender, code_sms(id))) == error::tls_failure);
    CHECK(requests_with_key(id).empty());
    CHECK(sender->stats().sms.retried == 0);
}

TEST_CASE("webhook: an unreachable or silent provider is reported within the timeout",
          "[delivery][integration]") {
    auto refused = sms_config();
    refused.sms.url = "https://127.0.0.1:" + std::to_string(sspr::testing::closed_port()) + "/sms";
    auto sender = sspr::testing::make_test_sender(refused);
    auto start = std::chrono::steady_clock::now();
    CHECK(error_of(send_and_wait(*sender, code_sms("x1"))) == error::connect_failed);
    CHECK(std::chrono::steady_clock::now() - start < 3s);
    CHECK(sender->stats().sms.retried == 2);

    sspr::testing::silent_listener silent;
    auto hung = sms_config();
    hung.sms.url = "https://127.0.0.1:" + std::to_string(silent.port()) + "/sms";
    hung.sms.timeout = 1s;
    auto sender2 = sspr::testing::make_test_sender(hung);
    start = std::chrono::steady_clock::now();
    // The TLS handshake never ends, so nothing was handed over: retried like a refusal.
    CHECK(error_of(send_and_wait(*sender2, code_sms("x2"))) == error::timeout);
    const auto took = std::chrono::steady_clock::now() - start;
    CHECK(took >= 2900ms); // three attempts of 1 s
    CHECK(took < 6s);
    CHECK(sender2->stats().sms.retried == 2);
}
