// Unit tests of doctor/canary.hpp over the fake directory and the fake random: the random
// password and its classes, the refusal of admin, protected and out-of-scope canaries (nothing
// written), the PASS line of a reset that was applied and bound with, and the FAIL of each
// refusal, without the password ever in a result or on stderr. The same against slapd and Samba
// is in tests/integration/doctor/test_doctor.py.
#include "doctor/canary.hpp"

#include "tests/fakes/fake_directory.hpp"
#include "tests/fakes/fake_random.hpp"
#include "tests/support/stderr_capture.hpp"

#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <string>

using namespace sspr;
using doctor::check_canary;
using doctor::status;

namespace {

constexpr const char* ordinary_dn = "uid=t30,ou=people,dc=example,dc=org";
constexpr const char* admin_dn = "uid=carol,ou=people,dc=example,dc=org";
constexpr const char* protected_dn = "cn=Administrator,cn=Users,dc=example,dc=org";
constexpr const char* staff_dn = "uid=bob,ou=people,dc=example,dc=org";
constexpr const char* admins_group = "cn=sspr-admins,ou=groups,dc=example,dc=org";
constexpr const char* staff_group = "cn=all-staff,ou=groups,dc=example,dc=org";
constexpr const char* old_password = "Start-Pass-1!";
constexpr const char* check_name = "directory ldaps://dc1 canary reset";

config::config test_config() {
    config::config c;
    c.methods.email.enabled = true;
    c.methods.totp.enabled = true;
    c.policy.scope = config::scope_mode::all;
    c.policy.admin_groups = {admins_group};
    config::policy_rule deny;
    deny.name = "not-all-staff";
    deny.effect = config::rule_effect::deny;
    deny.groups = {staff_group};
    c.policy.rules = {deny};
    c.password.min_length = 10;
    c.password.banned_terms = {"example"};
    return c;
}

ldap::user_entry entry(const char* dn, const char* login) {
    ldap::user_entry e;
    e.dn = dn;
    e.login = login;
    e.display_name = std::string("Test ") + login;
    return e;
}

struct fixture {
    fakes::fake_directory dir;
    fakes::fake_random rng;
    config::config cfg = test_config();
    policy::password_checker checker{cfg.password};

    fixture() {
        dir.add_user(entry(ordinary_dn, "t30"), old_password);
        dir.add_user(entry(admin_dn, "carol"), old_password, {admins_group});
        auto admin = entry(protected_dn, "Administrator");
        admin.admin_count = true;
        dir.add_user(admin, old_password);
        dir.add_user(entry(staff_dn, "bob"), old_password, {staff_group});
    }

    doctor::check_result run(const std::string& login) {
        return check_canary(dir, rng, cfg, checker, check_name, login,
                            std::chrono::system_clock::now());
    }
};

bool contains(const std::string& s, const std::string& part) {
    return s.find(part) != std::string::npos;
}

bool has_any(const std::string& s, const char* set) {
    return s.find_first_of(set) != std::string::npos;
}

} // namespace

TEST_CASE("doctor canary: the random password has every class and passes the rules", "[doctor]") {
    const config::config c = test_config();
    const policy::password_checker checker(c.password);
    fakes::fake_random rng;
    const policy::password_context who{"t30", "Test User 30"};
    const auto a = doctor::make_canary_password(rng, checker, c.password, who);
    const auto b = doctor::make_canary_password(rng, checker, c.password, who);
    REQUIRE(a.has_value());
    REQUIRE(b.has_value());
    const std::string pw(a->reveal());
    CHECK(pw.size() == 32);
    CHECK(has_any(pw, "ABCDEFGHJKLMNPQRSTUVWXYZ"));
    CHECK(has_any(pw, "abcdefghijkmnopqrstuvwxyz"));
    CHECK(has_any(pw, "23456789"));
    CHECK(has_any(pw, "!#$%&*+?@^~"));
    CHECK(checker.check(pw, who).empty());
    CHECK(a->reveal() != b->reveal()); // the generator moved on: a fresh one each time
}

TEST_CASE("doctor canary: the length follows min_length and max_length", "[doctor]") {
    config::config c = test_config();
    c.password.min_length = 40;
    c.password.max_length = 64;
    fakes::fake_random rng;
    const policy::password_checker longer(c.password);
    CHECK(doctor::canary_password_length(longer, c.password) == 40);
    CHECK(doctor::make_canary_password(rng, longer, c.password, {})->reveal().size() == 40);
    c.password.min_length = 8;
    c.password.min_score = 5;
    c.password.max_length = 12;
    const policy::password_checker shorter(c.password);
    CHECK(doctor::canary_password_length(shorter, c.password) == 12);
    CHECK(doctor::make_canary_password(rng, shorter, c.password, {})->reveal().size() == 12);
}

TEST_CASE("doctor canary: an ordinary account in scope is reset and bound with", "[doctor]") {
    fixture f;
    testing::stderr_capture captured;
    const auto r = f.run("t30");
    const std::string logged = captured.text();
    const std::string now = f.dir.password_of(ordinary_dn);
    CHECK(r.level == status::pass);
    CHECK(r.name == check_name);
    CHECK(contains(r.finding,
                   "canary reset applied and verified: t30 (" + std::string(ordinary_dn) + ")"));
    CHECK(contains(r.finding, "32 characters (not shown, not kept), set with the Password "
                              "Modify operation, and a bind with it succeeded"));
    CHECK(r.fix.empty());
    CHECK(now != old_password);
    CHECK(now.size() == 32);
    CHECK(f.dir.verifications() == 1); // doctor's own bind as the canary
    // The password is nowhere: not in the line, not on stderr.
    CHECK_FALSE(contains(doctor::format(r), now));
    CHECK_FALSE(contains(logged, now));
    // The other accounts were not touched.
    CHECK(f.dir.password_of(admin_dn) == old_password);
    CHECK(f.dir.password_of(protected_dn) == old_password);
    CHECK(f.dir.password_of(staff_dn) == old_password);
}

TEST_CASE("doctor canary: a second run sets another password", "[doctor]") {
    fixture f;
    REQUIRE(f.run("t30").level == status::pass);
    const std::string first = f.dir.password_of(ordinary_dn);
    REQUIRE(f.run("t30").level == status::pass);
    CHECK(f.dir.password_of(ordinary_dn) != first);
}

TEST_CASE("doctor canary: an admin canary is refused and nothing is written", "[doctor]") {
    fixture f;
    const auto r = f.run("carol");
    CHECK(r.level == status::fail);
    CHECK(contains(r.finding, "carol (" + std::string(admin_dn) + "): refused, nothing changed"));
    CHECK(contains(r.finding, "treats it as an admin"));
    CHECK(contains(r.fix, "dedicated ordinary account in scope"));
    CHECK(f.dir.password_of(admin_dn) == old_password);
    CHECK(f.dir.verifications() == 0);
    CHECK(contains(doctor::format(r), "\n      fix: choose as the canary"));
}

TEST_CASE("doctor canary: protected and out-of-scope canaries are refused", "[doctor]") {
    fixture f;
    const auto prot = f.run("Administrator");
    CHECK(prot.level == status::fail);
    CHECK(contains(prot.finding, "protected account (adminCount=1)"));
    CHECK(contains(prot.finding, "scope.protected_account"));
    CHECK(f.dir.password_of(protected_dn) == old_password);

    const auto out = f.run("bob");
    CHECK(out.level == status::fail);
    CHECK(contains(out.finding, "deny rule"));
    CHECK(contains(out.finding, "not-all-staff"));
    CHECK(f.dir.password_of(staff_dn) == old_password);

    // Even with protected accounts allowed, one is an admin (two gates): still no canary.
    f.cfg.policy.allow_protected_accounts = true;
    const auto allowed = f.run("Administrator");
    CHECK(allowed.level == status::fail);
    CHECK(contains(allowed.finding, "treats it as an admin"));
    CHECK(f.dir.password_of(protected_dn) == old_password);
}

TEST_CASE("doctor canary: an unknown login is a FAIL", "[doctor]") {
    fixture f;
    const auto r = f.run("nobody");
    CHECK(r.level == status::fail);
    CHECK(contains(r.finding, "no user \"nobody\""));
    CHECK(contains(r.fix, "--canary-user"));
}

TEST_CASE("doctor canary: a refused reset names the directory's reason and the fix", "[doctor]") {
    fixture f;
    f.dir.fail_resets_with(ldap::error::access_denied);
    const auto r = f.run("t30");
    CHECK(r.level == status::fail);
    CHECK(contains(r.finding, "insufficient rights: the directory refused the service account's "
                              "reset of " +
                                  std::string(ordinary_dn)));
    CHECK(contains(r.finding, "access denied by the directory"));
    CHECK(contains(r.fix, "`write` (not `manage`) on userPassword"));
    CHECK(f.dir.password_of(ordinary_dn) == old_password);
    CHECK(f.dir.verifications() == 0);
}

TEST_CASE("doctor canary: a reset the directory does not hold is not a PASS", "[doctor]") {
    fixture f;
    f.dir.drop_writes(true);
    const auto r = f.run("t30");
    CHECK(r.level == status::fail);
    CHECK(contains(r.finding, "acknowledged the reset"));
    CHECK(contains(r.fix, "replicas"));
}

TEST_CASE("doctor canary: the failure verdicts per directory reason", "[doctor]") {
    const std::string dn = ordinary_dn;
    using ldap::error;
    const auto ad = doctor::canary_reset_failed(ldap::failure(error::access_denied, "00000005"),
                                                ldap::dialect::active_directory, "n", dn);
    CHECK(contains(ad.fix, "delegate \"Reset Password\""));
    CHECK(contains(ad.finding, "(00000005)"));
    const auto young = doctor::canary_reset_failed(ldap::failure(error::password_too_young),
                                                   ldap::dialect::openldap, "n", dn);
    CHECK(contains(young.fix, "minimum age"));
    const auto quality = doctor::canary_reset_failed(ldap::failure(error::password_not_complex),
                                                     ldap::dialect::openldap, "n", dn);
    CHECK(contains(quality.finding, "refused the random password"));
    const auto lost = doctor::canary_reset_failed(ldap::failure(error::timeout),
                                                  ldap::dialect::openldap, "n", dn);
    CHECK(contains(lost.finding, "may or may not have been applied"));
    for (const auto& r : {ad, young, quality, lost}) {
        CHECK(r.level == status::fail);
        CHECK_FALSE(r.fix.empty());
        CHECK(r.fix.find('\n') == std::string::npos);
    }
}

TEST_CASE("doctor canary: refuse_canary lets only an ordinary account in scope pass", "[doctor]") {
    policy::decision d;
    d.in_scope = true;
    CHECK_FALSE(doctor::refuse_canary(d, "n", "t30", ordinary_dn).has_value());
    d.admin = true;
    CHECK(doctor::refuse_canary(d, "n", "t30", ordinary_dn).has_value());
    policy::decision out;
    out.reason = policy::reason_code::scope_disabled;
    const auto r = doctor::refuse_canary(out, "n", "t30", ordinary_dn);
    REQUIRE(r.has_value());
    CHECK(contains(r->finding, "disabled"));
    CHECK(contains(r->finding, "scope.disabled"));
}
