// Unit tests of policy/decision.hpp: scope rules, admin two-gate, protected accounts, method
// lists, enrollment and re-confirmation, unlock/change switches, DN comparison. Every expected
// value is written out by hand from the policy described in the issue.
#include "policy/decision.hpp"

#include "tests/fakes/fake_clock.hpp"

#include <catch2/catch.hpp>

#include <chrono>
#include <set>
#include <string>
#include <vector>

using namespace std::chrono_literals;
namespace cfg = sspr::config;
using sspr::policy::check_policy;
using sspr::policy::decide;
using sspr::policy::decision;
using sspr::policy::dn_is_below;
using sspr::policy::enrolled_method;
using sspr::policy::filters_to_evaluate;
using sspr::policy::normalize_dn;
using sspr::policy::reason_code;
using sspr::policy::system_time;
using sspr::policy::to_string;
using sspr::policy::user_facts;

namespace {

using methods_list = std::vector<cfg::method>;

constexpr auto day = std::chrono::hours(24);

// A fixed "now" far from the epoch; the fake clock's own start.
system_time now_time() {
    return sspr::fakes::fake_clock{}.system_now();
}

cfg::methods_config every_method_enabled() {
    cfg::methods_config m;
    m.email.enabled = true;
    m.sms.enabled = true;
    m.totp.enabled = true;
    m.questions.enabled = true;
    return m;
}

cfg::enrollment_config enrollment(std::chrono::seconds reconfirm = 180 * day,
                                  unsigned required = 1) {
    cfg::enrollment_config e;
    e.reconfirm_after = reconfirm;
    e.required_methods = required;
    return e;
}

cfg::policy_config policy_all() {
    cfg::policy_config p;
    p.scope = cfg::scope_mode::all;
    p.default_gates = 1;
    p.default_methods = {cfg::method::email, cfg::method::sms, cfg::method::totp,
                         cfg::method::questions};
    return p;
}

cfg::policy_rule rule(std::string name, cfg::rule_effect effect = cfg::rule_effect::allow) {
    cfg::policy_rule r;
    r.name = std::move(name);
    r.effect = effect;
    return r;
}

// Alice: staff, member of "Staff" (and, through nesting, "All Users"), registered email and
// SMS a day ago.
user_facts alice() {
    user_facts u;
    u.dn = "CN=Alice Liddell,OU=Staff,DC=example,DC=org";
    u.group_dns = {"CN=Staff,OU=Groups,DC=example,DC=org",
                   "CN=All Users,OU=Groups,DC=example,DC=org"};
    u.group_names = {"Staff", "All Users"};
    u.enrolled = {{cfg::method::email, now_time() - day}, {cfg::method::sms, now_time() - day}};
    return u;
}

decision run(const cfg::policy_config& p, const user_facts& u,
             const cfg::methods_config& m = every_method_enabled(),
             const cfg::enrollment_config& e = enrollment()) {
    return decide(p, m, e, u, now_time());
}

// Everything a refusal must leave empty, whatever the reason.
void check_refused(const decision& d, reason_code why) {
    CHECK_FALSE(d.in_scope);
    CHECK(d.gates == 0U);
    CHECK(d.allowed_methods.empty());
    CHECK(d.methods.empty());
    CHECK(d.must_reconfirm.empty());
    CHECK_FALSE(d.enrollment_complete);
    CHECK_FALSE(d.reset_allowed);
    CHECK_FALSE(d.unlock_allowed);
    CHECK_FALSE(d.change_allowed);
    CHECK(d.reason == why);
    CHECK(d.unlock_reason == why);
    CHECK(d.change_reason == why);
}

} // namespace

// ---- reasons ----------------------------------------------------------------------------------

TEST_CASE("reason_code: every value has its stable audit name", "[policy]") {
    CHECK(to_string(reason_code::invalid) == "invalid");
    CHECK(to_string(reason_code::allowed) == "allowed");
    CHECK(to_string(reason_code::policy_invalid) == "policy.invalid");
    CHECK(to_string(reason_code::facts_invalid_dn) == "facts.invalid_dn");
    CHECK(to_string(reason_code::scope_none) == "scope.none");
    CHECK(to_string(reason_code::scope_no_rule_matched) == "scope.no_rule_matched");
    CHECK(to_string(reason_code::scope_denied_by_rule) == "scope.denied_by_rule");
    CHECK(to_string(reason_code::scope_disabled) == "scope.disabled");
    CHECK(to_string(reason_code::scope_account_expired) == "scope.account_expired");
    CHECK(to_string(reason_code::scope_protected_account) == "scope.protected_account");
    CHECK(to_string(reason_code::gates_admin_needs_two_methods) == "gates.admin_needs_two_methods");
    CHECK(to_string(reason_code::methods_not_enough_allowed) == "methods.not_enough_allowed");
    CHECK(to_string(reason_code::enrollment_incomplete) == "enrollment.incomplete");
    CHECK(to_string(reason_code::enrollment_reconfirm_required) == "enrollment.reconfirm_required");
    CHECK(to_string(reason_code::unlock_not_allowed) == "unlock.not_allowed");
    CHECK(to_string(reason_code::change_not_allowed) == "change.not_allowed");
    CHECK(to_string(static_cast<reason_code>(999)) == "invalid");
}

TEST_CASE("reason_code: names are unique", "[policy]") {
    std::set<std::string_view> names;
    const auto last = static_cast<int>(reason_code::change_not_allowed);
    for (int i = 0; i <= last; ++i) {
        names.insert(to_string(static_cast<reason_code>(i)));
    }
    CHECK(names.size() == static_cast<std::size_t>(last + 1));
}

// ---- scope ------------------------------------------------------------------------------------

TEST_CASE("decide: scope none keeps everyone out, rules notwithstanding", "[policy]") {
    auto p = policy_all();
    p.scope = cfg::scope_mode::none;
    auto r = rule("staff");
    r.groups = {"Staff"};
    p.rules = {r};
    const auto d = run(p, alice());
    check_refused(d, reason_code::scope_none);
    CHECK(d.matched_rule.empty());
}

TEST_CASE("decide: the default policy (scope none) refuses", "[policy]") {
    const cfg::policy_config p; // as the structs come: nobody until the admin says so
    check_refused(run(p, alice()), reason_code::scope_none);
}

TEST_CASE("decide: scope selected with no matching rule is out", "[policy]") {
    auto p = policy_all();
    p.scope = cfg::scope_mode::selected;
    auto r = rule("finance");
    r.groups = {"Finance"};
    p.rules = {r};
    const auto d = run(p, alice());
    check_refused(d, reason_code::scope_no_rule_matched);
    CHECK(d.matched_rule.empty());
}

TEST_CASE("decide: scope selected with a matching group rule is in", "[policy]") {
    auto p = policy_all();
    p.scope = cfg::scope_mode::selected;
    auto r = rule("staff");
    r.groups = {"Finance", "staff"}; // any of them; by name, case-insensitively
    p.rules = {r};
    const auto d = run(p, alice());
    CHECK(d.in_scope);
    CHECK(d.matched_rule == "staff");
    CHECK(d.gates == 1U);
    CHECK(d.reason == reason_code::allowed);
    CHECK(d.reset_allowed);
}

TEST_CASE("decide: scope all with no rules takes everyone with the defaults", "[policy]") {
    const auto d = run(policy_all(), alice());
    CHECK(d.in_scope);
    CHECK(d.matched_rule.empty());
    CHECK(d.gates == 1U);
    CHECK(d.allowed_methods == methods_list{cfg::method::email, cfg::method::sms, cfg::method::totp,
                                            cfg::method::questions});
    CHECK(d.methods == methods_list{cfg::method::email, cfg::method::sms});
    CHECK(d.must_reconfirm.empty());
    CHECK(d.enrollment_complete);
    CHECK(d.reset_allowed);
    CHECK(d.unlock_allowed);
    CHECK(d.change_allowed);
    CHECK(d.reason == reason_code::allowed);
    CHECK(d.unlock_reason == reason_code::allowed);
    CHECK(d.change_reason == reason_code::allowed);
    CHECK_FALSE(d.admin);
}

TEST_CASE("decide: the first matching rule wins", "[policy]") {
    auto p = policy_all();
    p.scope = cfg::scope_mode::selected;
    auto first = rule("all-users");
    first.groups = {"All Users"};
    first.gates = 2;
    auto second = rule("staff");
    second.groups = {"Staff"};
    second.gates = 1;
    p.rules = {first, second};
    auto d = run(p, alice());
    CHECK(d.matched_rule == "all-users");
    CHECK(d.gates == 2U);

    p.rules = {second, first};
    d = run(p, alice());
    CHECK(d.matched_rule == "staff");
    CHECK(d.gates == 1U);
}

TEST_CASE("decide: a deny rule listed before an allow rule keeps the user out", "[policy]") {
    auto p = policy_all();
    p.scope = cfg::scope_mode::selected;
    auto deny = rule("no-staff", cfg::rule_effect::deny);
    deny.groups = {"Staff"};
    auto allow = rule("everyone");
    allow.groups = {"All Users"};

    p.rules = {deny, allow};
    auto d = run(p, alice());
    check_refused(d, reason_code::scope_denied_by_rule);
    CHECK(d.matched_rule == "no-staff");

    // The same two rules the other way round: the allow rule matches first.
    p.rules = {allow, deny};
    d = run(p, alice());
    CHECK(d.in_scope);
    CHECK(d.matched_rule == "everyone");
}

TEST_CASE("decide: scope all still honours a matching deny rule", "[policy]") {
    auto p = policy_all();
    auto deny = rule("contractors", cfg::rule_effect::deny);
    deny.ous = {"OU=Staff,DC=example,DC=org"};
    p.rules = {deny};
    check_refused(run(p, alice()), reason_code::scope_denied_by_rule);

    auto bob = alice();
    bob.dn = "CN=Bob,OU=Contractors,DC=example,DC=org";
    CHECK(run(p, bob).in_scope);
}

TEST_CASE("decide: an OU rule matches users below the OU, case-insensitively", "[policy]") {
    auto p = policy_all();
    p.scope = cfg::scope_mode::selected;
    auto r = rule("staff-ou");
    r.ous = {"ou=Finance,dc=example,dc=org", "ou = STAFF , dc=Example , dc=ORG"};
    p.rules = {r};

    auto u = alice();
    CHECK(run(p, u).matched_rule == "staff-ou");

    u.dn = "CN=Carol,OU=Interns,OU=Staff,DC=example,DC=org"; // deeper still counts
    CHECK(run(p, u).in_scope);

    u.dn = "OU=Staff,DC=example,DC=org"; // the OU itself is not below it
    check_refused(run(p, u), reason_code::scope_no_rule_matched);

    u.dn = "CN=Dave,OU=Staff2,DC=example,DC=org"; // a longer sibling name is not the OU
    check_refused(run(p, u), reason_code::scope_no_rule_matched);

    // Ends with ",OU=Staff,DC=example,DC=org" as a string, but the comma is part of the name.
    u.dn = "CN=Eve\\,OU=Staff,DC=example,DC=org";
    check_refused(run(p, u), reason_code::scope_no_rule_matched);
}

TEST_CASE("decide: a filter rule matches only users the flows found the filter true for",
          "[policy]") {
    auto p = policy_all();
    p.scope = cfg::scope_mode::selected;
    auto r = rule("has-mobile");
    r.filter = "(mobile=*)";
    p.rules = {r};

    auto u = alice();
    check_refused(run(p, u), reason_code::scope_no_rule_matched);
    u.matched_filters = {"(employeeType=staff)"};
    check_refused(run(p, u), reason_code::scope_no_rule_matched);
    u.matched_filters = {"(employeeType=staff)", "(mobile=*)"};
    CHECK(run(p, u).matched_rule == "has-mobile");
}

TEST_CASE("decide: a rule matches only when every condition it names holds", "[policy]") {
    auto p = policy_all();
    p.scope = cfg::scope_mode::selected;
    auto r = rule("staff-in-staff-ou-with-mobile");
    r.groups = {"Staff"};
    r.ous = {"OU=Staff,DC=example,DC=org"};
    r.filter = "(mobile=*)";
    p.rules = {r};

    auto u = alice();
    u.matched_filters = {"(mobile=*)"};
    CHECK(run(p, u).in_scope);

    auto not_member = u;
    not_member.group_names = {"All Users"};
    not_member.group_dns = {"CN=All Users,OU=Groups,DC=example,DC=org"};
    check_refused(run(p, not_member), reason_code::scope_no_rule_matched);

    auto elsewhere = u;
    elsewhere.dn = "CN=Alice Liddell,OU=Sales,DC=example,DC=org";
    check_refused(run(p, elsewhere), reason_code::scope_no_rule_matched);

    auto no_mobile = u;
    no_mobile.matched_filters.clear();
    check_refused(run(p, no_mobile), reason_code::scope_no_rule_matched);
}

TEST_CASE("decide: a rule with no condition matches everyone", "[policy]") {
    auto p = policy_all();
    p.scope = cfg::scope_mode::selected;
    auto specific = rule("finance");
    specific.groups = {"Finance"};
    p.rules = {specific, rule("")}; // unnamed catch-all: labelled by its index
    const auto d = run(p, alice());
    CHECK(d.in_scope);
    CHECK(d.matched_rule == "rules[1]");
}

TEST_CASE("decide: a group given by DN matches case-insensitively, spaces ignored", "[policy]") {
    auto p = policy_all();
    p.scope = cfg::scope_mode::selected;
    auto r = rule("staff-dn");
    r.groups = {"cn=staff, ou=groups, dc=EXAMPLE, dc=org"};
    p.rules = {r};
    auto u = alice();
    u.group_names.clear(); // only the DN can match
    CHECK(run(p, u).matched_rule == "staff-dn");

    r.groups = {"cn=staff,ou=other,dc=example,dc=org"};
    p.rules = {r};
    check_refused(run(p, u), reason_code::scope_no_rule_matched);
}

// ---- account state and protected accounts -----------------------------------------------------

TEST_CASE("decide: a disabled account is never in scope", "[policy]") {
    auto p = policy_all();
    p.rules = {rule("everyone")};
    auto u = alice();
    u.disabled = true;
    check_refused(run(p, u), reason_code::scope_disabled);
}

TEST_CASE("decide: an expired account is not in scope", "[policy]") {
    auto u = alice();
    u.account_expired = true;
    check_refused(run(policy_all(), u), reason_code::scope_account_expired);
}

TEST_CASE("decide: locked, must-change and expired-password users stay in scope", "[policy]") {
    auto u = alice();
    u.locked = true;
    u.must_change = true;
    u.password_expired = true;
    const auto d = run(policy_all(), u);
    CHECK(d.in_scope);
    CHECK(d.unlock_allowed);
}

TEST_CASE("decide: a protected account is refused unless the policy allows it", "[policy]") {
    auto p = policy_all();
    p.rules = {rule("everyone")}; // an allow rule does not let it in
    auto u = alice();
    u.admin_count = true;
    const auto refused = run(p, u);
    check_refused(refused, reason_code::scope_protected_account);
    CHECK(refused.matched_rule.empty());

    p.allow_protected_accounts = true;
    const auto d = run(p, u);
    CHECK(d.in_scope);
    CHECK(d.admin); // privileged all the same
    CHECK(d.gates == 2U);
    CHECK(d.allowed_methods ==
          methods_list{cfg::method::email, cfg::method::sms, cfg::method::totp});
    CHECK(d.reset_allowed);
}

TEST_CASE("decide: a malformed user DN is refused", "[policy]") {
    auto u = alice();
    u.dn = "";
    check_refused(run(policy_all(), u), reason_code::facts_invalid_dn);
    u.dn = "alice";
    check_refused(run(policy_all(), u), reason_code::facts_invalid_dn);
    u.dn = "cn=alice\\";
    check_refused(run(policy_all(), u), reason_code::facts_invalid_dn);
}

// ---- admins -----------------------------------------------------------------------------------

TEST_CASE("decide: an admin group member (by name) needs two gates and no questions", "[policy]") {
    auto p = policy_all();
    p.admin_groups = {"DOMAIN ADMINS"};
    auto r = rule("everyone");
    r.gates = 1; // the rule's gates do not lower an admin's
    p.rules = {r};
    auto u = alice();
    u.group_names.push_back("Domain Admins");
    u.enrolled.push_back({cfg::method::questions, now_time() - day});
    const auto d = run(p, u);
    CHECK(d.admin);
    CHECK(d.in_scope);
    CHECK(d.gates == 2U);
    CHECK(d.allowed_methods ==
          methods_list{cfg::method::email, cfg::method::sms, cfg::method::totp});
    CHECK(d.methods == methods_list{cfg::method::email, cfg::method::sms});
    CHECK(d.enrollment_complete);
    CHECK(d.reset_allowed);
}

TEST_CASE("decide: an admin group member (by DN) is recognised case-insensitively", "[policy]") {
    auto p = policy_all();
    p.admin_groups = {"cn=Helpdesk Admins,ou=Groups,dc=example,dc=org"};
    auto u = alice();
    u.group_dns.push_back("CN=HELPDESK ADMINS, OU=Groups, DC=Example, DC=Org");
    const auto d = run(p, u);
    CHECK(d.admin);
    CHECK(d.gates == 2U);

    // A group with the same cn elsewhere in the tree is another group.
    auto other = alice();
    other.group_dns.push_back("CN=Helpdesk Admins,OU=Lab,DC=example,DC=org");
    CHECK_FALSE(run(p, other).admin);
}

TEST_CASE("decide: an admin left with only security questions cannot reset", "[policy]") {
    auto p = policy_all();
    p.admin_groups = {"Staff"};
    p.default_methods = {cfg::method::questions};
    auto u = alice();
    u.enrolled = {{cfg::method::questions, now_time() - day}};
    const auto d = run(p, u);
    CHECK(d.in_scope);
    CHECK(d.admin);
    CHECK(d.gates == 2U);
    CHECK(d.allowed_methods.empty());
    CHECK(d.methods.empty());
    CHECK_FALSE(d.enrollment_complete);
    CHECK_FALSE(d.reset_allowed);
    CHECK_FALSE(d.unlock_allowed);
    CHECK(d.reason == reason_code::gates_admin_needs_two_methods);
    CHECK(d.unlock_reason == reason_code::gates_admin_needs_two_methods);
    // Changing a known password needs no method.
    CHECK(d.change_allowed);
}

TEST_CASE("decide: an admin with one method besides questions cannot reset", "[policy]") {
    auto p = policy_all();
    p.admin_groups = {"Staff"};
    p.default_methods = {cfg::method::email, cfg::method::questions};
    const auto d = run(p, alice());
    CHECK(d.allowed_methods == methods_list{cfg::method::email});
    CHECK(d.reason == reason_code::gates_admin_needs_two_methods);
    CHECK_FALSE(d.reset_allowed);
}

// ---- gates and methods ------------------------------------------------------------------------

TEST_CASE("decide: gates come from the matching rule, else the policy default", "[policy]") {
    auto p = policy_all();
    p.default_gates = 2;
    auto r = rule("staff-one-gate");
    r.groups = {"Staff"};
    r.gates = 1;
    auto no_gates = rule("sales");
    no_gates.groups = {"Sales"};
    p.rules = {r, no_gates};

    CHECK(run(p, alice()).gates == 1U);

    auto sales = alice();
    sales.group_names = {"Sales"};
    sales.group_dns = {"CN=Sales,OU=Groups,DC=example,DC=org"};
    const auto d = run(p, sales);
    CHECK(d.matched_rule == "sales");
    CHECK(d.gates == 2U);
    CHECK(d.reset_allowed); // email and SMS both current

    auto nobody_matched = alice();
    nobody_matched.group_names.clear();
    nobody_matched.group_dns.clear();
    CHECK(run(p, nobody_matched).gates == 2U); // scope all, defaults
}

TEST_CASE("decide: methods come from the rule, else the default, in policy order", "[policy]") {
    auto p = policy_all();
    p.default_methods = {cfg::method::totp, cfg::method::email, cfg::method::totp};
    auto r = rule("staff-sms");
    r.groups = {"Staff"};
    r.methods = {cfg::method::sms};
    auto sales = rule("sales");
    sales.groups = {"Sales"};
    p.rules = {r, sales};

    auto d = run(p, alice());
    CHECK(d.allowed_methods == methods_list{cfg::method::sms});
    CHECK(d.methods == methods_list{cfg::method::sms});

    auto u = alice();
    u.group_names = {"Sales"};
    u.group_dns.clear();
    d = run(p, u);
    CHECK(d.allowed_methods == methods_list{cfg::method::totp, cfg::method::email});
    CHECK(d.methods == methods_list{cfg::method::email}); // no TOTP registered
}

TEST_CASE("decide: an empty default method list means every enabled method", "[policy]") {
    auto p = policy_all();
    p.default_methods.clear();
    auto m = every_method_enabled();
    m.questions.enabled = false;
    const auto d = run(p, alice(), m);
    CHECK(d.allowed_methods ==
          methods_list{cfg::method::email, cfg::method::sms, cfg::method::totp});
}

TEST_CASE("decide: a method not enabled is never offered, even when registered", "[policy]") {
    auto m = every_method_enabled();
    m.sms.enabled = false;
    const auto d = run(policy_all(), alice(), m);
    CHECK(d.allowed_methods ==
          methods_list{cfg::method::email, cfg::method::totp, cfg::method::questions});
    CHECK(d.methods == methods_list{cfg::method::email});
    CHECK(d.must_reconfirm.empty());
}

TEST_CASE("decide: fewer allowed methods than needed cannot be fixed by enrolling", "[policy]") {
    auto m = cfg::methods_config{};
    m.email.enabled = true; // the only one
    const auto d = run(policy_all(), alice(), m, enrollment(180 * day, 2));
    CHECK(d.in_scope);
    CHECK(d.allowed_methods == methods_list{cfg::method::email});
    CHECK(d.reason == reason_code::methods_not_enough_allowed);
    CHECK_FALSE(d.reset_allowed);

    auto p = policy_all();
    auto r = rule("two-gates");
    r.gates = 2;
    p.rules = {r};
    CHECK(run(p, alice(), m).reason == reason_code::methods_not_enough_allowed);
}

// ---- enrollment --------------------------------------------------------------------------------

TEST_CASE("decide: a confirmation older than reconfirm_after must be renewed", "[policy]") {
    sspr::fakes::fake_clock clock;
    auto u = alice();
    u.enrolled = {{cfg::method::email, clock.system_now()},
                  {cfg::method::sms, clock.system_now() - 10 * day}};
    const auto e = enrollment(30 * day);
    const auto m = every_method_enabled();
    const auto p = policy_all();

    clock.advance(20 * day - 1s); // SMS: 30 days less a second
    auto d = decide(p, m, e, u, clock.system_now());
    CHECK(d.methods == methods_list{cfg::method::email, cfg::method::sms});
    CHECK(d.must_reconfirm.empty());

    clock.advance(1s); // SMS confirmed exactly 30 days ago: expired
    d = decide(p, m, e, u, clock.system_now());
    CHECK(d.methods == methods_list{cfg::method::email});
    CHECK(d.must_reconfirm == methods_list{cfg::method::sms});
    CHECK(d.reset_allowed); // one gate, one method required: email still does

    clock.advance(10 * day); // now both expired
    d = decide(p, m, e, u, clock.system_now());
    CHECK(d.methods.empty());
    CHECK(d.must_reconfirm == methods_list{cfg::method::email, cfg::method::sms});
    CHECK_FALSE(d.enrollment_complete);
    CHECK_FALSE(d.reset_allowed);
    CHECK(d.reason == reason_code::enrollment_reconfirm_required);
}

TEST_CASE("decide: reconfirm_after 0 means confirmations never expire", "[policy]") {
    auto u = alice();
    u.enrolled = {{cfg::method::email, now_time() - 3650 * day}};
    const auto d = run(policy_all(), u, every_method_enabled(), enrollment(0s));
    CHECK(d.methods == methods_list{cfg::method::email});
    CHECK(d.reset_allowed);
}

TEST_CASE("decide: the freshest registration of a method counts", "[policy]") {
    auto u = alice();
    u.enrolled = {{cfg::method::email, now_time() - 400 * day},
                  {cfg::method::email, now_time() - 2 * day},
                  {cfg::method::invalid, now_time()}};
    const auto d = run(policy_all(), u);
    CHECK(d.methods == methods_list{cfg::method::email});
    CHECK(d.must_reconfirm.empty());
}

TEST_CASE("decide: too few registered methods leave enrollment incomplete", "[policy]") {
    auto u = alice();
    u.enrolled.clear();
    auto d = run(policy_all(), u);
    CHECK(d.in_scope);
    CHECK_FALSE(d.enrollment_complete);
    CHECK_FALSE(d.reset_allowed);
    CHECK(d.reason == reason_code::enrollment_incomplete);
    CHECK(d.unlock_reason == reason_code::enrollment_incomplete);
    CHECK(d.change_allowed);

    // required_methods 2, one registered.
    u.enrolled = {{cfg::method::totp, now_time() - day}};
    d = run(policy_all(), u, every_method_enabled(), enrollment(180 * day, 2));
    CHECK(d.methods == methods_list{cfg::method::totp});
    CHECK(d.reason == reason_code::enrollment_incomplete);

    // Two gates, one registered: max(required 1, gates 2) = 2.
    auto p = policy_all();
    p.default_gates = 2;
    d = run(p, u);
    CHECK(d.reason == reason_code::enrollment_incomplete);
    CHECK_FALSE(d.enrollment_complete);

    // One current and one expired of two needed: renewing the expired one would do.
    u.enrolled.push_back({cfg::method::email, now_time() - 200 * day});
    d = run(p, u);
    CHECK(d.reason == reason_code::enrollment_reconfirm_required);
}

// ---- unlock and change ------------------------------------------------------------------------

TEST_CASE("decide: unlock and change follow the global switches", "[policy]") {
    auto p = policy_all();
    p.allow_unlock = false;
    p.allow_change = false;
    const auto d = run(p, alice());
    CHECK(d.reset_allowed);
    CHECK_FALSE(d.unlock_allowed);
    CHECK_FALSE(d.change_allowed);
    CHECK(d.unlock_reason == reason_code::unlock_not_allowed);
    CHECK(d.change_reason == reason_code::change_not_allowed);
}

TEST_CASE("decide: a rule's unlock and change override the global switches", "[policy]") {
    auto p = policy_all();
    p.allow_unlock = false;
    p.allow_change = true;
    auto r = rule("staff");
    r.groups = {"Staff"};
    r.unlock = true;
    r.change = false;
    p.rules = {r};
    auto d = run(p, alice());
    CHECK(d.unlock_allowed);
    CHECK(d.unlock_reason == reason_code::allowed);
    CHECK_FALSE(d.change_allowed);
    CHECK(d.change_reason == reason_code::change_not_allowed);

    // A rule that names neither leaves the global switches in force.
    auto plain = rule("staff");
    plain.groups = {"Staff"};
    p.rules = {plain};
    d = run(p, alice());
    CHECK_FALSE(d.unlock_allowed);
    CHECK(d.change_allowed);
}

TEST_CASE("decide: a switched-off unlock is named before missing enrollment", "[policy]") {
    auto p = policy_all();
    p.allow_unlock = false;
    auto u = alice();
    u.enrolled.clear();
    const auto d = run(p, u);
    CHECK(d.reason == reason_code::enrollment_incomplete);
    CHECK(d.unlock_reason == reason_code::unlock_not_allowed);
}

// ---- policy problems --------------------------------------------------------------------------

TEST_CASE("check_policy: a valid policy has no problems", "[policy]") {
    auto p = policy_all();
    auto r = rule("staff");
    r.groups = {"Staff", "cn=x,dc=example,dc=org"};
    r.ous = {"ou=Staff,dc=example,dc=org"};
    r.gates = 2;
    p.rules = {r};
    p.admin_groups = {"Domain Admins"};
    CHECK(check_policy(p).empty());
    CHECK(check_policy(cfg::policy_config{}).empty());
}

TEST_CASE("check_policy: names each structural problem, and decide refuses everyone", "[policy]") {
    auto p = policy_all();
    p.scope = cfg::scope_mode::invalid;
    p.default_gates = 3;
    p.default_methods = {cfg::method::invalid};
    p.admin_groups = {" "};
    auto r = rule("bad");
    r.effect = cfg::rule_effect::invalid;
    r.gates = 0;
    r.methods = {cfg::method::invalid};
    r.groups = {""};
    r.ous = {"Staff"};
    p.rules = {rule("fine"), r};
    const auto problems = check_policy(p);
    REQUIRE(problems.size() == 9U);
    CHECK(problems[0].where == "scope");
    CHECK(problems[1].where == "default_gates");
    CHECK(problems[2].where == "default_methods");
    CHECK(problems[3].where == "admin_groups[0]");
    CHECK(problems[4].where == "rules[1] (bad)");
    CHECK(problems[4].what == "effect must be allow or deny");
    CHECK(problems[5].what == "gates must be 1 or 2");
    CHECK(problems[6].what == "methods contains an invalid method");
    CHECK(problems[7].what == "a group is empty");
    CHECK(problems[8].what == "ou \"Staff\" is not a DN");

    check_refused(run(p, alice()), reason_code::policy_invalid);
}

TEST_CASE("decide: one broken OU anywhere refuses everyone rather than skip a deny", "[policy]") {
    auto p = policy_all();
    auto deny = rule("no-admins", cfg::rule_effect::deny);
    deny.ous = {"ou=Admins,dc=example,dc=org", "not a dn"};
    p.rules = {rule("everyone"), deny};
    check_refused(run(p, alice()), reason_code::policy_invalid);
}

TEST_CASE("filters_to_evaluate: distinct non-empty filters in rule order", "[policy]") {
    auto p = policy_all();
    auto a = rule("a");
    a.filter = "(mobile=*)";
    auto b = rule("b");
    auto c = rule("c");
    c.filter = "(employeeType=staff)";
    auto d = rule("d");
    d.filter = "(mobile=*)";
    p.rules = {a, b, c, d};
    CHECK(filters_to_evaluate(p) == std::vector<std::string>{"(mobile=*)", "(employeeType=staff)"});
    CHECK(filters_to_evaluate(policy_all()).empty());
}

// ---- DNs --------------------------------------------------------------------------------------

TEST_CASE("normalize_dn: case, spaces and escapes are written one way", "[policy]") {
    CHECK(normalize_dn("CN=Alice,OU=Staff,DC=Example,DC=org") ==
          "cn=alice,ou=staff,dc=example,dc=org");
    CHECK(normalize_dn("  cn = Alice ,  ou=Staff  ") == "cn=alice,ou=staff");
    CHECK(normalize_dn("cn=Smith\\, John,dc=x") == "cn=smith\\, john,dc=x");
    CHECK(normalize_dn("cn=Smith\\2C John,dc=x") == "cn=smith\\, john,dc=x");
    CHECK(normalize_dn("cn=a\\ b,dc=x") == "cn=a b,dc=x");
    CHECK(normalize_dn("cn=\\ lead\\ ,dc=x") == "cn=\\ lead\\ ,dc=x");
    CHECK(normalize_dn("cn=\\#1,dc=x") == "cn=\\#1,dc=x");
    CHECK(normalize_dn("cn=J\\C3\\BCrgen,dc=x") == "cn=j\xC3\xBCrgen,dc=x");
    CHECK(normalize_dn("cn=J\xC3\xBCrgen,dc=x") == "cn=j\xC3\xBCrgen,dc=x");
    CHECK(normalize_dn("cn=a\\00b,dc=x") == "cn=a\\00b,dc=x");
    // Multi-valued RDNs: the order of the values does not matter.
    CHECK(normalize_dn("uid=al+cn=Alice,dc=x") == "cn=alice+uid=al,dc=x");
    CHECK(normalize_dn("CN=Alice + UID=al,dc=x") == "cn=alice+uid=al,dc=x");
}

TEST_CASE("normalize_dn: refuses what is not a DN", "[policy]") {
    CHECK_FALSE(normalize_dn(""));
    CHECK_FALSE(normalize_dn("   "));
    CHECK_FALSE(normalize_dn("alice"));
    CHECK_FALSE(normalize_dn("cn=alice,"));
    CHECK_FALSE(normalize_dn(",cn=alice"));
    CHECK_FALSE(normalize_dn("=alice"));
    CHECK_FALSE(normalize_dn("c n=alice"));
    CHECK_FALSE(normalize_dn("cn=alice\\"));
    CHECK_FALSE(normalize_dn("cn=alice\\q"));
    CHECK_FALSE(normalize_dn("cn=alice+,dc=x"));
}

TEST_CASE("dn_is_below: RDN by RDN, strictly below", "[policy]") {
    CHECK(dn_is_below("cn=a,ou=Staff,dc=x", "OU=staff,DC=X"));
    CHECK(dn_is_below("cn=a,ou=b,ou=staff,dc=x", "ou=staff,dc=x"));
    CHECK_FALSE(dn_is_below("ou=staff,dc=x", "ou=staff,dc=x"));
    CHECK_FALSE(dn_is_below("cn=a,ou=xstaff,dc=x", "ou=staff,dc=x"));
    // As a string this ends with ",ou=staff,dc=x"; as a DN it is only two RDNs long.
    CHECK_FALSE(dn_is_below("cn=a\\,ou=staff,dc=x", "ou=staff,dc=x"));
    CHECK_FALSE(dn_is_below("cn=a,ou=staff,dc=x", "not a dn"));
}
