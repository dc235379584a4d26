// Unit tests of delivery/smtp_client.hpp that need no server: configurations that cannot work
// are refused at start-up with a message naming the key.
#include "delivery/smtp_client.hpp"

#include "tests/fakes/fake_clock.hpp"

#include <catch2/catch.hpp>

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
