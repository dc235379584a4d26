// The building blocks of the loader (config/reader.hpp, config/validate.hpp): how a YAML scalar is
// typed, how values are quoted in messages, and the spelling checks the rules use.
#include "config/reader.hpp"
#include "config/validate.hpp"

#include <catch2/catch.hpp>

#include <yaml-cpp/yaml.h>

using namespace sspr::config::detail;

namespace {

scalar_meaning meaning(const std::string& yaml_value) {
    const YAML::Node doc = YAML::Load("v: " + yaml_value);
    return meaning_of(doc["v"]);
}

} // namespace

TEST_CASE("scalar: plain scalars are typed as YAML 1.1 readers (PyYAML) type them", "[config]") {
    CHECK(meaning("hello") == scalar_meaning::string);
    CHECK(meaning("TLSv1.2") == scalar_meaning::string);
    CHECK(meaning("30s") == scalar_meaning::string);
    CHECK(meaning("127.0.0.1:8443") == scalar_meaning::string);
    CHECK(meaning("1.2.3") == scalar_meaning::string);
    CHECK(meaning("y") == scalar_meaning::string); // PyYAML leaves y/n alone

    for (const char* b : {"true", "false", "True", "FALSE", "yes", "No", "on", "OFF"}) {
        INFO(b);
        CHECK(meaning(b) == scalar_meaning::boolean);
    }
    for (const char* i : {"0", "42", "-7", "+3", "0x1f", "017", "0b101", "1_000", "1:30"}) {
        INFO(i);
        CHECK(meaning(i) == scalar_meaning::integer);
    }
    for (const char* f : {"1.2", "1.", ".5", "1.0e+3", ".inf", "-.Inf", ".nan"}) {
        INFO(f);
        CHECK(meaning(f) == scalar_meaning::floating);
    }
    for (const char* n : {"~", "null", "Null", "NULL"}) {
        INFO(n);
        CHECK(meaning(n) == scalar_meaning::null);
    }
    CHECK(meaning("") == scalar_meaning::null);
    CHECK(meaning("2024-01-31") == scalar_meaning::timestamp);
}

TEST_CASE("scalar: quoting and standard tags make text; other tags are refused", "[config]") {
    CHECK(meaning("\"true\"") == scalar_meaning::string);
    CHECK(meaning("'42'") == scalar_meaning::string);
    CHECK(meaning("!!str 42") == scalar_meaning::string);
    CHECK(meaning("!!int 42") == scalar_meaning::integer);
    CHECK(meaning("!!bool true") == scalar_meaning::boolean);
    CHECK(meaning("!custom x") == scalar_meaning::invalid);
}

TEST_CASE("scalar: values in messages are short and show control characters escaped", "[config]") {
    CHECK(quote_for_message("abc") == "'abc'");
    CHECK(quote_for_message(std::string("a\nb\x01", 4)) == "'a\\x0ab\\x01'");
    const std::string long_value(100, 'x');
    CHECK(quote_for_message(long_value) == "'" + std::string(40, 'x') + "...'");
}

TEST_CASE("scalar: UTF-8 validation refuses malformed, overlong and surrogate forms", "[config]") {
    CHECK(is_valid_utf8("plain ascii"));
    CHECK(is_valid_utf8("처음 다닌 학교"));
    CHECK(is_valid_utf8("\xf0\x9f\x94\x91"));       // U+1F511
    CHECK_FALSE(is_valid_utf8("\xc3"));             // truncated
    CHECK_FALSE(is_valid_utf8("\xc0\xaf"));         // overlong '/'
    CHECK_FALSE(is_valid_utf8("\xed\xa0\x80"));     // surrogate
    CHECK_FALSE(is_valid_utf8("\xf4\x90\x80\x80")); // past U+10FFFF
    CHECK_FALSE(is_valid_utf8("\xff"));
}

TEST_CASE("scalar: durations print in the largest exact unit", "[config]") {
    using namespace std::chrono_literals;
    CHECK(format_duration(0ms) == "0s");
    CHECK(format_duration(250ms) == "250ms");
    CHECK(format_duration(1500ms) == "1500ms");
    CHECK(format_duration(30s) == "30s");
    CHECK(format_duration(90s) == "90s");
    CHECK(format_duration(10min) == "10m");
    CHECK(format_duration(24h) == "1d");
    CHECK(format_duration(36h) == "36h");
}

TEST_CASE("spelling: host:port, IP/CIDR, DN, e-mail, mailbox and LDAP filter", "[config]") {
    CHECK(is_host_port("0.0.0.0:8443"));
    CHECK(is_host_port("[::1]:8443"));
    CHECK(is_host_port("sspr.example.org:443"));
    CHECK_FALSE(is_host_port("8443"));
    CHECK_FALSE(is_host_port("::1:8443"));
    CHECK_FALSE(is_host_port("host:0"));
    CHECK_FALSE(is_host_port("host:65536"));
    CHECK_FALSE(is_host_port("host:08443"));
    CHECK_FALSE(is_host_port("bad_host:80"));

    CHECK(is_ip_or_cidr("10.0.0.0/8"));
    CHECK(is_ip_or_cidr("192.168.1.10"));
    CHECK(is_ip_or_cidr("fd00::/8"));
    CHECK_FALSE(is_ip_or_cidr("10.0.0.0/33"));
    CHECK_FALSE(is_ip_or_cidr("10.0.0/8"));
    CHECK_FALSE(is_ip_or_cidr("proxy.example.org"));

    CHECK(looks_like_dn("dc=example,dc=org"));
    CHECK(looks_like_dn("CN=IT Staff,OU=Groups,DC=example,DC=org"));
    CHECK_FALSE(looks_like_dn("example.org"));
    CHECK_FALSE(looks_like_dn("=x"));

    CHECK(looks_like_email("helpdesk@example.org"));
    CHECK_FALSE(looks_like_email("helpdesk"));
    CHECK_FALSE(looks_like_email("a@b@example.org"));
    CHECK_FALSE(looks_like_email("helpdesk@localhost"));
    CHECK(looks_like_mailbox("Password reset <sspr@example.org>"));
    CHECK(looks_like_mailbox("sspr@example.org"));
    CHECK_FALSE(looks_like_mailbox("Password reset <sspr@example.org"));

    CHECK(is_balanced_filter("(uid={login})"));
    CHECK(is_balanced_filter("(&(objectClass=user)(sAMAccountName={login}))"));
    CHECK_FALSE(is_balanced_filter("uid={login}"));
    CHECK_FALSE(is_balanced_filter("(uid={login}"));
    CHECK_FALSE(is_balanced_filter("(a=1)(b=2)"));
}
