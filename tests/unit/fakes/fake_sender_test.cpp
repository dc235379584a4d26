// Unit tests of tests/fakes/fake_sender.hpp, so the tests of flows can trust it: it records,
// completes only on demand, and refuses or fails when told to.
#include "tests/fakes/fake_sender.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <optional>

using sspr::delivery::channel;
using sspr::delivery::error;
using sspr::delivery::message;
using sspr::delivery::message_kind;
using sspr::delivery::result;
using sspr::fakes::fake_sender;

namespace {

message code_sms(std::string code) {
    message m;
    m.kind = message_kind::code;
    m.via = channel::sms;
    m.destination = "+821012345678";
    m.params.code = sspr::common::secret(std::move(code));
    m.params.code_lifetime = std::chrono::seconds(600);
    m.params.organisation = "Example Corp";
    return m;
}

} // namespace

TEST_CASE("fake sender: records messages and completes them only when told", "[delivery]") {
    fake_sender sender;
    std::optional<result<void>> outcome;
    REQUIRE(sender.async_send(code_sms("111111"), [&](result<void> r) { outcome = std::move(r); }));
    REQUIRE(sender.async_send(code_sms("222222"), [](const result<void>&) {}));
    CHECK_FALSE(outcome.has_value()); // never inside async_send
    CHECK(sender.pending() == 2);
    CHECK(sender.last_code() == "222222");
    REQUIRE(sender.messages().size() == 2);
    CHECK(sender.messages()[0].params.code.reveal() == "111111");

    CHECK(sender.complete_next());
    REQUIRE(outcome.has_value());
    CHECK(outcome->has_value());
    CHECK(sender.complete_all() == 1);
    CHECK_FALSE(sender.complete_next());
    CHECK(sender.stats().sms.sent == 2);
    CHECK(sender.stats().email.sent == 0);
}

TEST_CASE("fake sender: refuses and fails on purpose", "[delivery]") {
    fake_sender sender;
    sender.refuse_with(error::overloaded);
    const auto refused = sender.async_send(code_sms("1"), [](const result<void>&) {});
    REQUIRE_FALSE(refused);
    CHECK(refused.error().is(error::overloaded));
    CHECK(sender.stats().overloaded == 1);
    CHECK(sender.messages().empty());

    sender.refuse_with(std::nullopt);
    sender.fail_with(error::temporary_failure);
    std::optional<result<void>> outcome;
    REQUIRE(sender.async_send(code_sms("2"), [&](result<void> r) { outcome = std::move(r); }));
    sender.complete_all();
    REQUIRE(outcome.has_value());
    REQUIRE_FALSE(outcome->has_value());
    CHECK(outcome->error().is(error::temporary_failure));
    CHECK(sender.stats().sms.failed == 1);
}
