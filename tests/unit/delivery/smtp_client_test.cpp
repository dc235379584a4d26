// Unit tests of delivery/smtp_client.hpp that need no server: configurations that cannot work
// are refused at start-up with a message naming the key.
#include "delivery/smtp_client.hpp"

#include "tests/fakes/fake_clock.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <stdexcept>

using sspr::config::smtp_config;
using sspr::config::smtp_tls;
using sspr::delivery::smtp_client;

namespace {

smtp_config good() {
    smtp_config c;
    c.enabled = true;
    c.host = "mail.example.org";
    c.port = 587;
    c.tls = smtp_tls::starttls;
    c.from = "Example IT <noreply@example.org>";
    c.username = "sspr";
    c.password = sspr::common::secret("pw");
    return c;
}

std::string refusal(const smtp_config& c) {
    try {
        smtp_client client(c, std::make_shared<sspr::fakes::fake_clock>());
    } catch (const std::invalid_argument& e) {
        return e.what();
    }
    return "accepted";
}

} // namespace

TEST_CASE("smtp client: a complete configuration is accepted", "[delivery]") {
    CHECK(refusal(good()) == "accepted");
    auto implicit = good();
    implicit.tls = smtp_tls::implicit;
    implicit.port = 465;
    CHECK(refusal(implicit) == "accepted");
    auto v6 = good();
    v6.host = "::1";
    CHECK(refusal(v6) == "accepted");
    auto anonymous = good();
    anonymous.username.clear();
    anonymous.password = {};
    CHECK(refusal(anonymous) == "accepted");
}

TEST_CASE("smtp client: configurations that cannot work are refused", "[delivery]") {
    auto c = good();
    c.host = "";
    CHECK(refusal(c) == "smtp: host must be a host name or an IP address");
    c = good();
    c.host = "mail.example.org/path";
    CHECK(refusal(c) == "smtp: host must be a host name or an IP address");
    c = good();
    c.port = 0;
    CHECK(refusal(c) == "smtp: port must be set");
    c = good();
    c.tls = smtp_tls::invalid;
    CHECK(refusal(c) == "smtp: tls must be starttls, implicit or none");
    c = good();
    c.timeout = std::chrono::seconds(0);
    CHECK(refusal(c) == "smtp: timeout must be positive");
    c = good();
    c.from = "not an address";
    CHECK(refusal(c) == "smtp: from must be an address or \"Name <address>\"");
    c = good();
    c.password = {};
    CHECK(refusal(c) == "smtp: username and password file go together");
    c = good();
    c.tls = smtp_tls::none;
    CHECK(refusal(c) == "smtp: AUTH without TLS would send the password in clear");
}

TEST_CASE("smtp client: send re-checks the recipient and the message id before connecting",
          "[delivery]") {
    // Nothing listens on the configured host: a message that got past the checks would fail
    // with a connection error, not with the codes checked here.
    auto c = good();
    c.host = "127.0.0.1";
    c.port = 1; // privileged and unused: the connection is refused
    c.tls = smtp_tls::none;
    c.username.clear();
    c.password = {};
    c.timeout = std::chrono::seconds{1};
    const smtp_client client(c, std::make_shared<sspr::fakes::fake_clock>());
    const auto message_to = [](std::string to, std::string id) {
        sspr::delivery::message m;
        m.kind = sspr::delivery::message_kind::password_changed;
        m.via = sspr::delivery::channel::email;
        m.destination = std::move(to);
        m.id = std::move(id);
        m.params.organisation = "Example Corp";
        return m;
    };
    for (const char* bad : {"alice@example.org>\r\nRCPT TO:<eve@evil.example",
                            "alice@example.org\r\n", "alice@example.org,eve@evil.example",
                            "alice@example.org, eve@evil.example", "<alice@example.org>", ""}) {
        INFO(bad);
        const auto r = client.send(message_to(bad, "id1"));
        REQUIRE_FALSE(r.has_value());
        CHECK(r.error().is(sspr::delivery::error::invalid_destination));
    }
    for (const char* bad : {"", "id\r\nBcc: eve@evil.example", "id>", "a b",
                            "0123456789012345678901234567890123456789012345678901234567890123x"}) {
        INFO(bad);
        const auto r = client.send(message_to("alice@example.org", bad));
        REQUIRE_FALSE(r.has_value());
        CHECK(r.error().is(sspr::delivery::error::invalid_message));
    }
    // A good message gets as far as the network.
    const auto r = client.send(message_to("alice@example.org", "id1"));
    REQUIRE_FALSE(r.has_value());
    CHECK_FALSE(r.error().is(sspr::delivery::error::invalid_destination));
    CHECK_FALSE(r.error().is(sspr::delivery::error::invalid_message));
}
