// A one-time code from issue to proof at the library level, through the real servers: challenge/
// issues it, delivery/ sends it over SMTP (STARTTLS + AUTH) or the SMS webhook, the test reads it
// out of what the server received, as the user would, and challenge/ accepts it once, for that
// binding only.
#include "challenge/code.hpp"
#include "tests/integration/delivery/support.hpp"

#include <catch2/catch.hpp>

#include <chrono>

using namespace std::chrono_literals;
using sspr::challenge::code_binding;
using sspr::challenge::code_issuer;
using sspr::challenge::code_status;
using sspr::delivery::channel;
using sspr::delivery::message;
using sspr::delivery::message_kind;
using sspr::testing::send_and_wait;

namespace {

code_issuer make_issuer() {
    // A fresh 32-byte server key per test run, as load_key_file() would hand it over.
    std::array<std::byte, 32> key{};
    sspr::common::make_system_random()->fill(key);
    return code_issuer(
        sspr::common::secret(std::string(reinterpret_cast<const char*>(key.data()), key.size())),
        sspr::common::make_system_random());
}

sspr::config::code_method_config six_digits() {
    sspr::config::code_method_config cfg;
    cfg.enabled = true;
    cfg.code_length = 6;
    cfg.lifetime = 600s;
    cfg.max_tries = 3;
    return cfg;
}

message code_message(channel via, std::string destination, const sspr::common::secret& code) {
    message m;
    m.kind = message_kind::code;
    m.via = via;
    m.destination = std::move(destination);
    m.params.code = code;
    m.params.code_lifetime = 600s;
    m.params.organisation = "Example Corp";
    m.id = "rt-" + sspr::testing::unique_token();
    return m;
}

} // namespace

TEST_CASE("code round trip: an emailed code is accepted once and only for its binding",
          "[delivery][integration]") {
    const auto issuer = make_issuer();
    const auto to = sspr::testing::unique_address("roundtrip");
    const code_binding binding{"uid=t21,ou=people,dc=example,dc=org",
                               "flow-" + sspr::testing::unique_token(), sspr::config::method::email,
                               to};
    const auto now = std::chrono::system_clock::now();
    auto issued = issuer.issue(binding, six_digits(), now);
    REQUIRE(issued.has_value());

    auto sender = sspr::testing::make_test_sender(
        sspr::testing::smtp_config(sspr::testing::listener::starttls, true));
    REQUIRE(send_and_wait(*sender, code_message(channel::email, to, issued->code)));

    const auto stored = sspr::testing::mail_for(to);
    REQUIRE(stored.size() == 1);
    const auto typed = sspr::testing::find_code(
        sspr::testing::part_text(sspr::testing::parse_entity(stored[0]), "text/plain"));
    REQUIRE(typed.size() == 6);

    // The same code for another destination or flow is refused, and costs a try.
    code_binding elsewhere = binding;
    elsewhere.destination = sspr::testing::unique_address("attacker");
    const auto wrong = issuer.verify(issued->record, elsewhere, typed, now + 30s);
    CHECK(wrong.status == code_status::wrong_binding);
    CHECK(wrong.record.tries_left == 2);

    const auto ok = issuer.verify(wrong.record, binding, typed, now + 60s);
    CHECK(ok.status == code_status::ok);
    const auto again = issuer.verify(ok.record, binding, typed, now + 61s);
    CHECK(again.status == code_status::used);
}

TEST_CASE("code round trip: a code sent by SMS webhook is accepted, an expired one is not",
          "[delivery][integration]") {
    const auto issuer = make_issuer();
    const code_binding binding{"uid=t22,ou=people,dc=example,dc=org",
                               "flow-" + sspr::testing::unique_token(), sspr::config::method::sms,
                               "+82 10-5555-0100"};
    const auto now = std::chrono::system_clock::now();
    auto issued = issuer.issue(binding, six_digits(), now);
    REQUIRE(issued.has_value());

    auto sender = sspr::testing::make_test_sender(sspr::testing::sms_config());
    auto msg = code_message(channel::sms, binding.destination, issued->code);
    const auto id = msg.id;
    // Not inside REQUIRE: Catch2 repeats its expression (unevaluated), a use after move.
    const auto sent = send_and_wait(*sender, std::move(msg));
    REQUIRE(sent);

    const auto requests = sspr::testing::requests_with_key(id);
    REQUIRE(requests.size() == 1);
    const auto body = boost::json::parse(std::string(requests[0].at("body").as_string()));
    const auto typed =
        sspr::testing::find_code(std::string(body.as_object().at("text").as_string()));
    REQUIRE(typed.size() == 6);

    CHECK(issuer.verify(issued->record, binding, typed, now + 600s).status == code_status::expired);
    CHECK(issuer.verify(issued->record, binding, typed, now + 599s).status == code_status::ok);
}
