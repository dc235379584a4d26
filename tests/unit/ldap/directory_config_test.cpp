// Unit tests of make_directory (ldap/ldap_directory.hpp): a configuration that cannot work is
// refused at construction with std::invalid_argument, and input that cannot name anyone is answered
// without a connection. The URI is ldaps://127.0.0.1:1, where nothing listens: any network attempt
// would give server_down instead of the answers checked here.
#include "ldap/ldap_directory.hpp"

#include "tests/fakes/fake_clock.hpp"
#include "tests/support/stderr_capture.hpp"

#include <catch2/catch.hpp>

#include <unistd.h>

#include <csignal>

#include <cstdio>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>

using namespace std::string_view_literals;
using Catch::Matchers::Contains;
using sspr::ldap::config;
using sspr::ldap::dialect_choice;
using sspr::ldap::error;
using sspr::ldap::make_directory;

using sspr::testing::stderr_capture;

namespace {

config valid_config() {
    config cfg;
    cfg.uris = {"ldaps://127.0.0.1:1"};
    cfg.dialect = dialect_choice::openldap;
    cfg.bind_dn = "cn=sspr,ou=services,dc=example,dc=org";
    cfg.bind_password = sspr::common::secret("service-password");
    cfg.base_dn = "dc=example,dc=org";
    cfg.user_filter = "(&(objectClass=person)(uid={login}))";
    return cfg;
}

// Construction and the refusals below never read the time.
std::shared_ptr<const sspr::common::clock> test_clock() {
    return std::make_shared<sspr::fakes::fake_clock>();
}

} // namespace

TEST_CASE("make_directory: a valid configuration is accepted without connecting", "[ldap]") {
    auto dir = make_directory(valid_config(), test_clock());
    REQUIRE(dir != nullptr);
    // A configured dialect is known at once; nothing had to be asked of a server.
    CHECK(dir->dialect() == sspr::ldap::dialect::openldap);
}

TEST_CASE("make_directory: the factory leaves the process's SIGPIPE disposition alone", "[ldap]") {
    struct sigaction saved {};
    struct sigaction dfl {};
    dfl.sa_handler = SIG_DFL;
    ::sigemptyset(&dfl.sa_mask);
    REQUIRE(::sigaction(SIGPIPE, &dfl, &saved) == 0);
    auto dir = make_directory(valid_config(), test_clock());
    struct sigaction now {};
    REQUIRE(::sigaction(SIGPIPE, &saved, &now) == 0); // restore what the test main set
    CHECK(now.sa_handler == SIG_DFL); // main() decides, once (common::ignore_sigpipe)
    CHECK(dir != nullptr);
}

TEST_CASE("make_directory: the dialect is known at once when configured, unknown when detected",
          "[ldap]") {
    auto cfg = valid_config();
    cfg.dialect = dialect_choice::active_directory;
    CHECK(make_directory(cfg, test_clock())->dialect() == sspr::ldap::dialect::active_directory);
    cfg.dialect = dialect_choice::detect;
    CHECK(make_directory(cfg, test_clock())->dialect() == sspr::ldap::dialect::invalid);
}

TEST_CASE("make_directory: every URI scheme ssprd speaks is accepted", "[ldap]") {
    auto cfg = valid_config();
    cfg.uris = {"ldaps://127.0.0.1:1", "ldap://127.0.0.1:2", "ldapi://%2Frun%2Fslapd%2Fldapi"};
    CHECK_NOTHROW(make_directory(cfg, test_clock()));
    cfg.user_filter.clear(); // the dialect's default filter
    CHECK_NOTHROW(make_directory(cfg, test_clock()));
}

TEST_CASE("make_directory: no URI is refused", "[ldap]") {
    auto cfg = valid_config();
    cfg.uris.clear();
    CHECK_THROWS_AS(make_directory(cfg, test_clock()), std::invalid_argument);
    CHECK_THROWS_WITH(make_directory(cfg, test_clock()), Contains("URI"));
}

TEST_CASE("make_directory: a URI that is not LDAP is refused", "[ldap]") {
    auto cfg = valid_config();
    cfg.uris = {"http://dc.example.org"};
    CHECK_THROWS_AS(make_directory(cfg, test_clock()), std::invalid_argument);
    CHECK_THROWS_WITH(make_directory(cfg, test_clock()), Contains("http://dc.example.org"));
    cfg.uris = {"dc.example.org:636"};
    CHECK_THROWS_AS(make_directory(cfg, test_clock()), std::invalid_argument);
    // One bad URI among good ones spoils the list.
    cfg.uris = {"ldaps://127.0.0.1:1", "LDAPS://dc2.example.org"};
    CHECK_THROWS_AS(make_directory(cfg, test_clock()), std::invalid_argument);
}

TEST_CASE("make_directory: an empty base DN is refused", "[ldap]") {
    auto cfg = valid_config();
    cfg.base_dn.clear();
    CHECK_THROWS_AS(make_directory(cfg, test_clock()), std::invalid_argument);
    CHECK_THROWS_WITH(make_directory(cfg, test_clock()), Contains("base DN"));
}

TEST_CASE("make_directory: a user filter that is not a filter with {login} is refused", "[ldap]") {
    auto cfg = valid_config();
    cfg.user_filter = "(&(objectClass=person)(uid=jdoe))";
    CHECK_THROWS_AS(make_directory(cfg, test_clock()), std::invalid_argument);
    CHECK_THROWS_WITH(make_directory(cfg, test_clock()), Contains("filter"));
    cfg.user_filter = "uid={login}";
    CHECK_THROWS_AS(make_directory(cfg, test_clock()), std::invalid_argument);
    cfg.user_filter = "(&(objectClass=person)(uid={login})";
    CHECK_THROWS_AS(make_directory(cfg, test_clock()), std::invalid_argument);
    cfg.user_filter = "(objectClass=person)(uid={login})";
    CHECK_THROWS_AS(make_directory(cfg, test_clock()), std::invalid_argument);
}

TEST_CASE("make_directory: a service account without password or DN is refused", "[ldap]") {
    auto cfg = valid_config();
    cfg.bind_password = sspr::common::secret();
    CHECK_THROWS_AS(make_directory(cfg, test_clock()), std::invalid_argument);
    CHECK_THROWS_WITH(make_directory(cfg, test_clock()), Contains("password"));
    cfg = valid_config();
    cfg.bind_dn.clear();
    CHECK_THROWS_AS(make_directory(cfg, test_clock()), std::invalid_argument);
}

TEST_CASE("make_directory: the invalid dialect and reset mode are refused", "[ldap]") {
    auto cfg = valid_config();
    cfg.dialect = dialect_choice::invalid;
    CHECK_THROWS_AS(make_directory(cfg, test_clock()), std::invalid_argument);
    CHECK_THROWS_WITH(make_directory(cfg, test_clock()), Contains("dialect"));
    cfg = valid_config();
    cfg.openldap_reset = sspr::ldap::openldap_reset_mode::invalid;
    CHECK_THROWS_AS(make_directory(cfg, test_clock()), std::invalid_argument);
}

TEST_CASE("make_directory: plain LDAP and unchecked certificates are accepted with a warning",
          "[ldap]") {
    auto cfg = valid_config();
    cfg.uris = {"ldap://127.0.0.1:1"};
    cfg.start_tls = false;
    cfg.tls_verify = false;
    stderr_capture capture;
    CHECK_NOTHROW(make_directory(cfg, test_clock()));
    const std::string text = capture.text();
    CHECK_THAT(text, Contains("level=warning") && Contains("without StartTLS") &&
                         Contains("uri=\"ldap://127.0.0.1:1\""));
    CHECK_THAT(text, Contains("verification is OFF"));
}

TEST_CASE("make_directory: a secure configuration logs no warning", "[ldap]") {
    stderr_capture capture;
    CHECK_NOTHROW(make_directory(valid_config(), test_clock()));
    CHECK(capture.text().empty());
}

TEST_CASE("ldap_directory: find_user answers nobody for an impossible login without the network",
          "[ldap]") {
    auto dir = make_directory(valid_config(), test_clock());
    const auto nobody = [&](std::string_view login) {
        const auto found = dir->find_user(login);
        if (!found) {
            FAIL_CHECK("find_user failed: " << found.error().code.message());
            return false;
        }
        return !found->has_value();
    };
    CHECK(nobody(""));
    CHECK(nobody("j\xC3"));        // truncated UTF-8
    CHECK(nobody("\xC0\xAF"));     // overlong
    CHECK(nobody("\xED\xA0\x80")); // surrogate
    CHECK(nobody(std::string(300, 'a')));
}

TEST_CASE("ldap_directory: malformed passwords are refused before the network", "[ldap]") {
    auto dir = make_directory(valid_config(), test_clock());
    const std::string dn = "uid=jdoe,ou=people,dc=example,dc=org";
    const auto error_of = [](const sspr::ldap::result<void>& r) {
        REQUIRE_FALSE(r.has_value());
        return r.error().code;
    };
    CHECK(error_of(dir->reset_password(dn, "", {})) == error::password_too_short);
    CHECK(error_of(dir->reset_password(dn, "Secret\0Part"sv, {})) ==
          error::invalid_password_encoding);
    CHECK(error_of(dir->reset_password(dn, "P\xC3\xA4ss\xC3", {})) ==
          error::invalid_password_encoding);
    CHECK(error_of(dir->change_password(dn, "", "N3w-Password!")) == error::wrong_current_password);
    CHECK(error_of(dir->change_password(dn, "0ld-Password!",
                                        "\xED\xA0\x80"
                                        "abc")) == error::invalid_password_encoding);
    CHECK(error_of(dir->change_password(dn, "0ld-Password!", "")) == error::password_too_short);
}

TEST_CASE("make_directory: zero pool, timeouts or backoff are refused", "[ldap]") {
    auto zero_pool = valid_config();
    zero_pool.pool_size = 0;
    CHECK_THROWS_AS(make_directory(zero_pool, test_clock()), std::invalid_argument);
    auto zero_timeout = valid_config();
    zero_timeout.operation_timeout = std::chrono::milliseconds(0);
    CHECK_THROWS_AS(make_directory(zero_timeout, test_clock()), std::invalid_argument);
    // A zero backoff would let a dead server be hammered on every request.
    auto zero_backoff = valid_config();
    zero_backoff.backoff_min = std::chrono::milliseconds(0);
    CHECK_THROWS_WITH(make_directory(zero_backoff, test_clock()), Contains("backoff"));
    auto inverted = valid_config();
    inverted.backoff_max = inverted.backoff_min - std::chrono::milliseconds(1);
    CHECK_THROWS_AS(make_directory(inverted, test_clock()), std::invalid_argument);
}
