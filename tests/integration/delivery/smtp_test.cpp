// Integration tests of email delivery against the real SMTP sink that scripts/testenv starts
// (smtp.sh: aiosmtpd with required STARTTLS + AUTH on one port, implicit TLS on another, both
// with certificates from the test CA). Each test reads back what the server stored.
#include "tests/integration/delivery/support.hpp"

#include <catch2/catch.hpp>

#include <chrono>

using namespace std::chrono_literals;
using sspr::delivery::channel;
using sspr::delivery::error;
using sspr::delivery::message;
using sspr::delivery::message_kind;
using sspr::testing::error_of;
using sspr::testing::listener;
using sspr::testing::mail_for;
using sspr::testing::parse_entity;
using sspr::testing::send_and_wait;
using sspr::testing::smtp_config;
using sspr::testing::testenv;

namespace {

message code_email(std::string to, std::string language = "en",
                   std::string organisation = "Example Corp") {
    message m;
    m.kind = message_kind::code;
    m.via = channel::email;
    m.language = std::move(language);
    m.destination = std::move(to);
    m.params.code = sspr::common::secret("493817");
    m.params.code_lifetime = 600s;
    m.params.organisation = std::move(organisation);
    m.params.display_name = "Alice Example";
    return m;
}

} // namespace

TEST_CASE("smtp: a code email over STARTTLS with AUTH arrives and the code reads back",
          "[delivery][integration]") {
    auto sender = sspr::testing::make_test_sender(smtp_config(listener::starttls, true));
    const auto to = sspr::testing::unique_address("alice");
    auto msg = code_email(to);
    msg.id = "it-" + sspr::testing::unique_token();
    const auto id = msg.id;
    const auto sent = send_and_wait(*sender, std::move(msg));
    REQUIRE(sent);

    const auto stored = mail_for(to);
    REQUIRE(stored.size() == 1);
    const auto mail = parse_entity(stored[0]);
    // The sink's trace fields: TLS was up and we authenticated before MAIL.
    CHECK(mail.header("X-Sink-Listener") == "starttls");
    CHECK(mail.header("X-Sink-TLS")->starts_with("TLSv1."));
    CHECK(mail.header("X-Sink-Auth") == testenv("SSPR_SMTP_USER"));
    CHECK(mail.header("Return-Path") == "<noreply@example.org>");
    // Our headers.
    CHECK(mail.header("From") == "\"Example IT\" <noreply@example.org>");
    CHECK(mail.header("To") == to);
    CHECK(mail.header("Subject") == "Example Corp: your verification code");
    CHECK(mail.header("Message-ID") == "<" + id + "@example.org>");
    CHECK(mail.header("Content-Language") == "en");

    const auto text = sspr::testing::part_text(mail, "text/plain");
    const auto html = sspr::testing::part_text(mail, "text/html");
    CHECK(sspr::testing::find_code(text) == "493817");
    CHECK(text.find("It expires in 10 minutes and works only once.\r\n") != std::string::npos);
    CHECK(text.find("Example Corp staff will never ask you for this code") != std::string::npos);
    CHECK(html.find(">493817</p>") != std::string::npos);

    const auto stats = sender->stats();
    CHECK(stats.email.sent == 1);
    CHECK(stats.email.retried == 0);
}

TEST_CASE("smtp: implicit TLS without AUTH delivers a Korean message", "[delivery][integration]") {
    auto sender = sspr::testing::make_test_sender(smtp_config(listener::implicit, false));
    const auto to = sspr::testing::unique_address("minji");
    REQUIRE(send_and_wait(*sender, code_email(to, "ko", "예시 주식회사")));

    const auto stored = mail_for(to);
    REQUIRE(stored.size() == 1);
    const auto mail = parse_entity(stored[0]);
    CHECK(mail.header("X-Sink-Listener") == "implicit");
    CHECK(mail.header("X-Sink-TLS")->starts_with("TLSv1."));
    CHECK(mail.header("X-Sink-Auth") == "none");
    CHECK(sspr::testing::decode_words(*mail.header("Subject")) == "[예시 주식회사] 인증 코드 안내");
    CHECK(mail.header("Content-Language") == "ko");
    const auto text = sspr::testing::part_text(mail, "text/plain");
    CHECK(sspr::testing::find_code(text) == "493817");
    CHECK(text.find("이 코드는 10분 후에 만료되며 한 번만 사용할 수 있습니다.") !=
          std::string::npos);
}

TEST_CASE("smtp: a notice arrives with its time and without any code", "[delivery][integration]") {
    auto sender = sspr::testing::make_test_sender(smtp_config(listener::starttls, true));
    const auto to = sspr::testing::unique_address("bob");
    message m;
    m.kind = message_kind::password_changed;
    m.via = channel::email;
    m.destination = to;
    m.params.organisation = "Example Corp";
    m.params.helpdesk = "help@example.org";
    m.params.when = std::chrono::system_clock::time_point(1714555805s);
    const auto sent = send_and_wait(*sender, std::move(m));
    REQUIRE(sent);
    const auto stored = mail_for(to);
    REQUIRE(stored.size() == 1);
    const auto mail = parse_entity(stored[0]);
    CHECK(mail.header("Subject") == "Example Corp: your password was changed");
    const auto text = sspr::testing::part_text(mail, "text/plain");
    CHECK(text.find("The password of your Example Corp account was changed on 2024-05-01 09:30 "
                    "UTC.") != std::string::npos);
    CHECK(text.find("contact help@example.org at once") != std::string::npos);
    CHECK(sspr::testing::find_code(text).empty());
}

TEST_CASE("smtp: a server certificate from an untrusted CA is refused, not retried",
          "[delivery][integration]") {
    auto cfg = smtp_config(listener::starttls, true);
    // The system's store: real CAs, but not the test CA that signed the sink's certificate.
    cfg.smtp.ca_file = "/etc/ssl/certs/ca-certificates.crt";
    auto sender = sspr::testing::make_test_sender(cfg);
    const auto to = sspr::testing::unique_address("alice");
    CHECK(error_of(send_and_wait(*sender, code_email(to))) == error::tls_failure);
    CHECK(mail_for(to).empty());
    CHECK(sender->stats().email.retried == 0);
    CHECK(sender->stats().email.failed == 1);

    auto implicit = smtp_config(listener::implicit, false);
    implicit.smtp.ca_file = "/etc/ssl/certs/ca-certificates.crt";
    auto sender2 = sspr::testing::make_test_sender(implicit);
    CHECK(error_of(send_and_wait(*sender2, code_email(to))) == error::tls_failure);
    CHECK(mail_for(to).empty());
}

TEST_CASE("smtp: a wrong AUTH password is refused, not retried", "[delivery][integration]") {
    auto cfg = smtp_config(listener::starttls, true);
    cfg.smtp.password = sspr::common::secret("not-the-password");
    auto sender = sspr::testing::make_test_sender(cfg);
    const auto to = sspr::testing::unique_address("alice");
    CHECK(error_of(send_and_wait(*sender, code_email(to))) == error::auth_failed);
    CHECK(mail_for(to).empty());
    CHECK(sender->stats().email.retried == 0);
}

TEST_CASE("smtp: a server that requires AUTH refuses a sender without credentials",
          "[delivery][integration]") {
    auto sender = sspr::testing::make_test_sender(smtp_config(listener::starttls, false));
    const auto to = sspr::testing::unique_address("alice");
    CHECK(error_of(send_and_wait(*sender, code_email(to))) == error::auth_failed);
    CHECK(mail_for(to).empty());
}

TEST_CASE("smtp: 451 is retried and the second attempt delivers once", "[delivery][integration]") {
    auto sender = sspr::testing::make_test_sender(smtp_config(listener::starttls, true));
    const auto to = sspr::testing::unique_address("tempfail");
    REQUIRE(send_and_wait(*sender, code_email(to)));
    CHECK(mail_for(to).size() == 1);
    const auto stats = sender->stats();
    CHECK(stats.email.sent == 1);
    CHECK(stats.email.retried == 1);
    CHECK(stats.email.failed == 0);
}

TEST_CASE("smtp: 550 is reported at once and not retried", "[delivery][integration]") {
    auto sender = sspr::testing::make_test_sender(smtp_config(listener::implicit, false));
    const auto to = sspr::testing::unique_address("reject");
    const auto r = send_and_wait(*sender, code_email(to));
    CHECK(error_of(r) == error::rejected);
    CHECK(r.error().diagnostic.find("550") != std::string::npos);
    CHECK(mail_for(to).empty());
    const auto stats = sender->stats();
    CHECK(stats.email.retried == 0);
    CHECK(stats.email.failed == 1);
}

TEST_CASE("smtp: a refused connection is retried, then reported quickly",
          "[delivery][integration]") {
    auto cfg = smtp_config(listener::implicit, false);
    cfg.smtp.port = sspr::testing::closed_port();
    auto sender = sspr::testing::make_test_sender(cfg);
    const auto start = std::chrono::steady_clock::now();
    CHECK(error_of(send_and_wait(*sender, code_email("alice@example.org"))) ==
          error::connect_failed);
    CHECK(std::chrono::steady_clock::now() - start < 3s);
    CHECK(sender->stats().email.retried == 2);
}

TEST_CASE("smtp: a server that never answers times out each attempt and is retried",
          "[delivery][integration]") {
    sspr::testing::silent_listener silent;
    auto cfg = smtp_config(listener::starttls, true);
    cfg.smtp.port = silent.port();
    cfg.smtp.timeout = 1s;
    auto sender = sspr::testing::make_test_sender(cfg);
    const auto start = std::chrono::steady_clock::now();
    // Nothing was handed over (no greeting came), so another attempt cannot send it twice.
    CHECK(error_of(send_and_wait(*sender, code_email("alice@example.org"))) == error::timeout);
    const auto took = std::chrono::steady_clock::now() - start;
    CHECK(took >= 2900ms); // three attempts of 1 s
    CHECK(took < 6s);
    CHECK(sender->stats().email.retried == 2);
}
