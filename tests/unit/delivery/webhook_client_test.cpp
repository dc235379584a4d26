// Unit tests of delivery/webhook_client.hpp that need no server: configurations that cannot work
// are refused at start-up, and no message names a secret.
#include "delivery/webhook_client.hpp"

#include <catch2/catch.hpp>

#include <stdexcept>

using sspr::config::sms_body_format;
using sspr::config::sms_config;
using sspr::delivery::webhook_client;

namespace {

sms_config good() {
    sms_config c;
    c.enabled = true;
    c.url = "https://sms.example.org/v1/messages?account=42";
    c.bearer_token = sspr::common::secret("tok-SECRET");
    return c;
}

std::string refusal(const sms_config& c) {
    try {
        webhook_client client(c);
    } catch (const std::invalid_argument& e) {
        return e.what();
    }
    return "accepted";
}

} // namespace

TEST_CASE("webhook client: complete configurations are accepted", "[delivery]") {
    CHECK(refusal(good()) == "accepted");
    auto form = good();
    form.format = sms_body_format::form;
    form.body_template = "to={to}&text={message}";
    form.method = "put";
    form.headers = {{"X-Account", "42"}, {"Content-Type", "application/x-www-form-urlencoded"}};
    CHECK(refusal(form) == "accepted");
    auto basic = good();
    basic.bearer_token = {};
    basic.basic_user = "sspr";
    basic.basic_password = sspr::common::secret("pw");
    CHECK(refusal(basic) == "accepted");
    auto keyed = good();
    keyed.bearer_token = {};
    keyed.secret_headers.emplace("X-Api-Key", sspr::common::secret("key-SECRET"));
    CHECK(refusal(keyed) == "accepted");
}

TEST_CASE("webhook client: configurations that cannot work are refused", "[delivery]") {
    auto c = good();
    c.url = "http://sms.example.org/";
    CHECK(refusal(c) == "sms: url must be an https:// URL");
    c.url = "not a url";
    CHECK(refusal(c) == "sms: url must be an https:// URL");
    c = good();
    c.url = "https://user:pass@sms.example.org/";
    CHECK(refusal(c) == "sms: put credentials in basic_user/basic_password_file, not in the URL");
    c = good();
    c.method = "GET";
    CHECK(refusal(c) == "sms: method must be POST, PUT or PATCH");
    c = good();
    c.headers = {{"X-Bad", "a\r\nInjected: 1"}};
    CHECK(refusal(c) == "sms: header 'X-Bad' is not a valid HTTP header");
    c = good();
    c.headers = {{"Bad Name", "1"}};
    CHECK(refusal(c) == "sms: header 'Bad Name' is not a valid HTTP header");
    c = good();
    c.headers = {{"content-length", "1"}};
    CHECK(refusal(c) == "sms: header 'content-length' is set by ssprd itself");
    c = good();
    c.headers = {{"Authorization", "Key abc"}};
    CHECK(refusal(c) ==
          "sms: an Authorization header and bearer/basic authentication exclude each other");
    c = good();
    c.basic_user = "sspr";
    c.basic_password = sspr::common::secret("pw");
    CHECK(refusal(c) == "sms: choose bearer or basic authentication, not both");
    c = good();
    c.bearer_token = {};
    c.basic_user = "sspr";
    CHECK(refusal(c) == "sms: basic_user and basic_password_file go together");
    c = good();
    c.bearer_token = {};
    c.bearer_token_file = "/etc/ssprd/sms.token";
    CHECK(refusal(c) == "sms: the bearer token file is empty");
    c = good();
    c.body_template = R"({"to":"{to}"})";
    CHECK(refusal(c) == "sms: body template must contain {message}");
    c = good();
    c.timeout = std::chrono::seconds(0);
    CHECK(refusal(c) == "sms: timeout must be positive");
}

TEST_CASE("webhook client: a bad secret header is named, its value never shown", "[delivery]") {
    auto c = good();
    c.bearer_token = {};
    c.secret_headers.emplace("X-Api-Key", sspr::common::secret("key-SECRET\r\nX: 1"));
    const auto what = refusal(c);
    CHECK(what == "sms: header 'X-Api-Key' is not a valid HTTP header");
    CHECK(what.find("SECRET") == std::string::npos);
}
