// Unit tests of directory_options_from (ldap/from_config.hpp): every key of the YAML's directory
// section reaches ldap::config with its value, enums map one to one, seconds become milliseconds.
#include "ldap/from_config.hpp"

#include <catch2/catch.hpp>

#include <stdexcept>

using sspr::ldap::dialect_choice;
using sspr::ldap::directory_options_from;
using sspr::ldap::openldap_reset_mode;
namespace cfg = sspr::config;
using namespace std::chrono_literals;

namespace {

/// Every field differs from its default, so a field that is not copied shows up.
cfg::directory_config non_default() {
    cfg::directory_config d;
    d.uris = {"ldaps://dc1.example.org", "ldaps://dc2.example.org"};
    d.dialect = cfg::dialect::openldap;
    d.bind_dn = "cn=sspr,dc=example,dc=org";
    d.bind_password = sspr::common::secret("service-pw");
    d.base_dn = "dc=example,dc=org";
    d.user_base = "ou=people,dc=example,dc=org";
    d.group_base = "ou=groups,dc=example,dc=org";
    d.user_filter = "(uid={login})";
    d.mail_attributes = {"mail", "otherMailbox"};
    d.mobile_attributes = {"mobile", "pager"};
    d.ca_file = "/etc/ssprd/ca.pem";
    d.tls_verify = false;
    d.start_tls = false;
    d.connect_timeout = 7s;
    d.operation_timeout = 13s;
    d.pool_size = 9;
    d.max_waiting = 99;
    d.acquire_timeout = 1500ms;
    d.backoff_min = 100ms;
    d.backoff_max = 9000ms;
    d.max_group_depth = 3;
    d.max_groups = 42;
    d.openldap_reset = cfg::openldap_reset::replace_user_password;
    d.must_change_after_reset = true;
    return d;
}

} // namespace

TEST_CASE("directory_options_from: every key is carried over", "[ldap]") {
    const auto o = directory_options_from(non_default());
    CHECK(o.uris == std::vector<std::string>{"ldaps://dc1.example.org", "ldaps://dc2.example.org"});
    CHECK(o.dialect == dialect_choice::openldap);
    CHECK(o.bind_dn == "cn=sspr,dc=example,dc=org");
    CHECK(o.bind_password.reveal() == "service-pw");
    CHECK(o.base_dn == "dc=example,dc=org");
    CHECK(o.user_base == "ou=people,dc=example,dc=org");
    CHECK(o.group_base == "ou=groups,dc=example,dc=org");
    CHECK(o.user_filter == "(uid={login})");
    CHECK(o.mail_attributes == std::vector<std::string>{"mail", "otherMailbox"});
    CHECK(o.mobile_attributes == std::vector<std::string>{"mobile", "pager"});
    CHECK(o.ca_file == "/etc/ssprd/ca.pem");
    CHECK_FALSE(o.tls_verify);
    CHECK_FALSE(o.start_tls);
    CHECK(o.connect_timeout == 7000ms);
    CHECK(o.operation_timeout == 13000ms);
    CHECK(o.pool_size == 9);
    CHECK(o.max_waiting == 99);
    CHECK(o.acquire_timeout == 1500ms);
    CHECK(o.backoff_min == 100ms);
    CHECK(o.backoff_max == 9000ms);
    CHECK(o.max_group_depth == 3);
    CHECK(o.max_groups == 42);
    CHECK(o.openldap_reset == openldap_reset_mode::replace_user_password);
    CHECK(o.must_change_after_reset);
}

TEST_CASE("directory_options_from: dialects and reset modes map one to one", "[ldap]") {
    auto d = non_default();
    d.dialect = cfg::dialect::detect;
    CHECK(directory_options_from(d).dialect == dialect_choice::detect);
    d.dialect = cfg::dialect::active_directory;
    CHECK(directory_options_from(d).dialect == dialect_choice::active_directory);
    d.openldap_reset = cfg::openldap_reset::password_modify;
    CHECK(directory_options_from(d).openldap_reset == openldap_reset_mode::password_modify_exop);
}

TEST_CASE("directory_options_from: the defaults of both sides agree", "[ldap]") {
    // An absent YAML key must mean what ldap/ means by default.
    const auto o = directory_options_from(cfg::directory_config{});
    const sspr::ldap::config defaults;
    CHECK(o.dialect == defaults.dialect);
    CHECK(o.connect_timeout == defaults.connect_timeout);
    CHECK(o.operation_timeout == defaults.operation_timeout);
    CHECK(o.pool_size == defaults.pool_size);
    CHECK(o.max_waiting == defaults.max_waiting);
    CHECK(o.acquire_timeout == defaults.acquire_timeout);
    CHECK(o.openldap_reset == defaults.openldap_reset);
    CHECK(o.tls_verify == defaults.tls_verify);
    CHECK(o.start_tls == defaults.start_tls);
    CHECK(o.mail_attributes == defaults.mail_attributes);
}

TEST_CASE("directory_options_from: an unset enum is refused, not guessed", "[ldap]") {
    auto d = non_default();
    d.dialect = cfg::dialect::invalid;
    CHECK_THROWS_AS(directory_options_from(d), std::invalid_argument);
    d = non_default();
    d.openldap_reset = cfg::openldap_reset::invalid;
    CHECK_THROWS_AS(directory_options_from(d), std::invalid_argument);
}
