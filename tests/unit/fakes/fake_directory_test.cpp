// Unit tests of tests/fakes/fake_directory.hpp: the fake must keep the Directory contract that the
// real directories keep (lockout, unlock by reset, history, verify-after-write, disabled accounts),
// or tests of the flows built on it would prove nothing.
#include "tests/fakes/fake_directory.hpp"

#include <catch2/catch.hpp>

#include <optional>
#include <string>
#include <vector>

using sspr::fakes::fake_directory;
using sspr::ldap::error;

namespace {

const std::string jdoe_dn = "uid=jdoe,ou=people,dc=example,dc=org";
const std::string first_password = "Initial-Passw0rd";

sspr::ldap::user_entry jdoe() {
    sspr::ldap::user_entry e;
    e.dn = jdoe_dn;
    e.login = "jdoe";
    e.display_name = "Jane Doe";
    e.mail = {"jdoe@example.org"};
    return e;
}

struct fixture {
    fake_directory dir;
    fixture() {
        dir.add_user(
            jdoe(), first_password,
            {"cn=staff,ou=groups,dc=example,dc=org", "cn=vpn,ou=groups,dc=example,dc=org"});
    }
    bool locked() {
        const auto state = dir.state_of(jdoe_dn);
        REQUIRE(state.has_value());
        return state->locked;
    }
};

// The error of a failed call; fails the test when the call succeeded.
template <class Result> boost::system::error_code error_of(const Result& r) {
    REQUIRE_FALSE(r.has_value());
    return r.error().code;
}

} // namespace

TEST_CASE("fake_directory: finds a user by login and nobody else", "[fakes]") {
    fixture f;
    const auto found = f.dir.find_user("jdoe");
    REQUIRE(found.has_value());
    REQUIRE(found->has_value());
    CHECK((*found)->dn == jdoe_dn);
    CHECK((*found)->mail == std::vector<std::string>{"jdoe@example.org"});
    const auto nobody = f.dir.find_user("jdoe2");
    REQUIRE(nobody.has_value());
    CHECK_FALSE(nobody->has_value());
}

TEST_CASE("fake_directory: verifies the right password and refuses a wrong or empty one",
          "[fakes]") {
    fixture f;
    CHECK(f.dir.verify_password(jdoe_dn, first_password).has_value());
    CHECK(error_of(f.dir.verify_password(jdoe_dn, "wrong")) == error::invalid_credentials);
    CHECK(error_of(f.dir.verify_password(jdoe_dn, "")) == error::invalid_credentials);
    CHECK(error_of(f.dir.verify_password("uid=nobody,dc=example,dc=org", first_password)) ==
          error::no_such_object);
}

TEST_CASE("fake_directory: three wrong binds lock the account, even against the right password",
          "[fakes]") {
    fixture f;
    CHECK(error_of(f.dir.verify_password(jdoe_dn, "wrong1")) == error::invalid_credentials);
    CHECK(error_of(f.dir.verify_password(jdoe_dn, "wrong2")) == error::invalid_credentials);
    CHECK_FALSE(f.locked());
    CHECK(error_of(f.dir.verify_password(jdoe_dn, "wrong3")) == error::invalid_credentials);
    CHECK(f.locked());
    CHECK(error_of(f.dir.verify_password(jdoe_dn, first_password)) == error::account_locked);
}

TEST_CASE("fake_directory: a successful bind clears the count of failures", "[fakes]") {
    fixture f;
    (void)f.dir.verify_password(jdoe_dn, "wrong1");
    (void)f.dir.verify_password(jdoe_dn, "wrong2");
    CHECK(f.dir.verify_password(jdoe_dn, first_password).has_value());
    (void)f.dir.verify_password(jdoe_dn, "wrong3");
    (void)f.dir.verify_password(jdoe_dn, "wrong4");
    CHECK_FALSE(f.locked());
}

TEST_CASE("fake_directory: a reset sets the password and unlocks", "[fakes]") {
    fixture f;
    for (int i = 0; i < 3; ++i) {
        (void)f.dir.verify_password(jdoe_dn, "wrong");
    }
    REQUIRE(f.locked());
    REQUIRE(f.dir.reset_password(jdoe_dn, "Reset-Passw0rd", {}).has_value());
    CHECK_FALSE(f.locked());
    CHECK(f.dir.verify_password(jdoe_dn, "Reset-Passw0rd").has_value());
    CHECK(error_of(f.dir.verify_password(jdoe_dn, first_password)) == error::invalid_credentials);
}

TEST_CASE("fake_directory: a reset without unlock leaves the lockout", "[fakes]") {
    fixture f;
    for (int i = 0; i < 3; ++i) {
        (void)f.dir.verify_password(jdoe_dn, "wrong");
    }
    sspr::ldap::reset_options options;
    options.unlock = false;
    REQUIRE(f.dir.reset_password(jdoe_dn, "Reset-Passw0rd", options).has_value());
    CHECK(f.locked());
    CHECK(error_of(f.dir.verify_password(jdoe_dn, "Reset-Passw0rd")) == error::account_locked);
    REQUIRE(f.dir.unlock(jdoe_dn).has_value());
    CHECK(f.dir.verify_password(jdoe_dn, "Reset-Passw0rd").has_value());
}

TEST_CASE("fake_directory: a reset with must_change makes the next bind say so", "[fakes]") {
    fixture f;
    sspr::ldap::reset_options options;
    options.must_change = true;
    REQUIRE(f.dir.reset_password(jdoe_dn, "Reset-Passw0rd", options).has_value());
    CHECK(error_of(f.dir.verify_password(jdoe_dn, "Reset-Passw0rd")) ==
          error::must_change_password);
    // A wrong password still gets the plain refusal: must-change only follows a right one.
    CHECK(error_of(f.dir.verify_password(jdoe_dn, "wrong")) == error::invalid_credentials);
}

TEST_CASE("fake_directory: a change with the wrong current password is refused", "[fakes]") {
    fixture f;
    CHECK(error_of(f.dir.change_password(jdoe_dn, "not-my-password", "Next-Passw0rd")) ==
          error::wrong_current_password);
    CHECK(f.dir.password_of(jdoe_dn) == first_password);
    CHECK(f.dir.change_password(jdoe_dn, first_password, "Next-Passw0rd").has_value());
    CHECK(f.dir.verify_password(jdoe_dn, "Next-Passw0rd").has_value());
}

TEST_CASE("fake_directory: wrong current passwords count towards the lockout", "[fakes]") {
    fixture f;
    for (int i = 0; i < 3; ++i) {
        CHECK(error_of(f.dir.change_password(jdoe_dn, "wrong", "Next-Passw0rd")) ==
              error::wrong_current_password);
    }
    CHECK(f.locked());
    CHECK(error_of(f.dir.change_password(jdoe_dn, first_password, "Next-Passw0rd")) ==
          error::account_locked);
}

TEST_CASE("fake_directory: the last three passwords are refused, older ones allowed", "[fakes]") {
    fixture f;
    REQUIRE(f.dir.change_password(jdoe_dn, first_password, "Second-Passw0rd").has_value());
    REQUIRE(f.dir.change_password(jdoe_dn, "Second-Passw0rd", "Third-Passw0rd").has_value());
    REQUIRE(f.dir.change_password(jdoe_dn, "Third-Passw0rd", "Fourth-Passw0rd").has_value());
    // History: Third, Second, Initial.
    CHECK(error_of(f.dir.change_password(jdoe_dn, "Fourth-Passw0rd", first_password)) ==
          error::password_in_history);
    CHECK(error_of(f.dir.change_password(jdoe_dn, "Fourth-Passw0rd", "Second-Passw0rd")) ==
          error::password_in_history);
    CHECK(error_of(f.dir.change_password(jdoe_dn, "Fourth-Passw0rd", "Third-Passw0rd")) ==
          error::password_in_history);
    CHECK(f.dir.password_of(jdoe_dn) == "Fourth-Passw0rd");
    REQUIRE(f.dir.change_password(jdoe_dn, "Fourth-Passw0rd", "Fifth-Passw0rd").has_value());
    // History: Fourth, Third, Second; the first password has dropped out.
    CHECK(f.dir.change_password(jdoe_dn, "Fifth-Passw0rd", first_password).has_value());
}

TEST_CASE("fake_directory: a password shorter than the minimum is refused", "[fakes]") {
    fixture f;
    CHECK(error_of(f.dir.change_password(jdoe_dn, first_password, "Short1")) ==
          error::password_too_short);
    CHECK(error_of(f.dir.reset_password(jdoe_dn, "Short1", {})) == error::password_too_short);
    CHECK(f.dir.password_of(jdoe_dn) == first_password);
}

TEST_CASE("fake_directory: a write the directory drops is reported as not verified", "[fakes]") {
    fixture f;
    f.dir.drop_writes(true);
    CHECK(error_of(f.dir.reset_password(jdoe_dn, "Reset-Passw0rd", {})) == error::not_verified);
    CHECK(error_of(f.dir.change_password(jdoe_dn, first_password, "Next-Passw0rd")) ==
          error::not_verified);
    CHECK(f.dir.password_of(jdoe_dn) == first_password);
    f.dir.drop_writes(false);
    CHECK(f.dir.reset_password(jdoe_dn, "Reset-Passw0rd", {}).has_value());
}

TEST_CASE("fake_directory: a disabled account refuses reset and bind", "[fakes]") {
    fake_directory dir;
    auto entry = jdoe();
    entry.state.disabled = true;
    dir.add_user(entry, first_password);
    CHECK(error_of(dir.reset_password(jdoe_dn, "Reset-Passw0rd", {})) == error::account_disabled);
    CHECK(dir.password_of(jdoe_dn) == first_password);
    CHECK(error_of(dir.verify_password(jdoe_dn, first_password)) == error::account_disabled);
}

TEST_CASE("fake_directory: fail_with makes every call fail until cleared", "[fakes]") {
    fixture f;
    f.dir.fail_with(error::server_down);
    CHECK(error_of(f.dir.find_user("jdoe")) == error::server_down);
    CHECK(error_of(f.dir.state_of(jdoe_dn)) == error::server_down);
    CHECK(error_of(f.dir.groups_of(jdoe_dn)) == error::server_down);
    CHECK(error_of(f.dir.verify_password(jdoe_dn, first_password)) == error::server_down);
    CHECK(error_of(f.dir.reset_password(jdoe_dn, "Reset-Passw0rd", {})) == error::server_down);
    CHECK(error_of(f.dir.unlock(jdoe_dn)) == error::server_down);
    f.dir.fail_with(std::nullopt);
    CHECK(f.dir.verify_password(jdoe_dn, first_password).has_value());
}

TEST_CASE("fake_directory: groups come back with their names", "[fakes]") {
    fixture f;
    const auto groups = f.dir.groups_of(jdoe_dn);
    REQUIRE(groups.has_value());
    REQUIRE(groups->size() == 2);
    CHECK((*groups)[0].dn == "cn=staff,ou=groups,dc=example,dc=org");
    CHECK((*groups)[0].name == "staff");
    CHECK((*groups)[1].name == "vpn");
}
