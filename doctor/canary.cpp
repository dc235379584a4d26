#include "doctor/canary.hpp"

#include "flows/adapters.hpp"

#include <algorithm>
#include <array>
#include <string_view>
#include <utility>
#include <vector>

namespace sspr::doctor {
namespace {

constexpr std::size_t preferred_length = 32;
constexpr int max_tries = 16;

// Four classes, so that AD's complexity (3 of 5) and any "upper, lower, digit, symbol" rule hold.
// The symbols avoid quotes, backslash, space and the DN / filter specials: the value never needs
// escaping anywhere, should an operator have to type it in an emergency after all.
constexpr std::array<std::string_view, 4> classes = {
    "ABCDEFGHJKLMNPQRSTUVWXYZ", "abcdefghijkmnopqrstuvwxyz", "23456789", "!#$%&*+?@^~"};

char pick(common::random& rng, std::string_view set) {
    return set[static_cast<std::size_t>(rng.uniform(set.size()))];
}

std::string ldap_text(const ldap::failure& f) {
    return f.code.message() + (f.diagnostic.empty() ? "" : " (" + f.diagnostic + ")");
}

std::string rights_fix(ldap::dialect d) {
    return d == ldap::dialect::active_directory
               ? "delegate \"Reset Password\" and read/write lockoutTime on the canary's OU to "
                 "the service account (docs/troubleshooting.md)"
               : "give the service account `write` (not `manage`) on userPassword and the pwd* "
                 "lock attributes of the canary's subtree in the directory's ACL";
}

} // namespace

std::size_t canary_password_length(const policy::password_checker& checker,
                                   const config::password_config& rules) {
    const std::size_t min = std::max<std::size_t>(checker.effective_min_length(), classes.size());
    const std::size_t max = rules.max_length;
    return std::min(std::max(preferred_length, min), std::max(max, min));
}

std::optional<common::secret> make_canary_password(common::random& rng,
                                                   const policy::password_checker& checker,
                                                   const config::password_config& rules,
                                                   const policy::password_context& who) {
    const std::size_t length = canary_password_length(checker, rules);
    if (length > rules.max_length) {
        return std::nullopt; // min_length (or min_score) above max_length: no password fits
    }
    std::string all;
    for (const auto set : classes) {
        all += set;
    }
    for (int attempt = 0; attempt < max_tries; ++attempt) {
        // Reserved up front, so the characters are never copied into a buffer left unwiped.
        std::string value;
        value.reserve(length);
        for (const auto set : classes) {
            value.push_back(pick(rng, set));
        }
        while (value.size() < length) {
            value.push_back(pick(rng, all));
        }
        // Fisher-Yates: the guaranteed characters end up anywhere.
        for (std::size_t i = value.size() - 1; i > 0; --i) {
            std::swap(value[i], value[static_cast<std::size_t>(rng.uniform(i + 1))]);
        }
        common::secret candidate(std::move(value));
        if (checker.check(candidate.reveal(), who).empty()) {
            return candidate;
        }
    }
    return std::nullopt;
}

std::optional<check_result> refuse_canary(const policy::decision& d, const std::string& name,
                                          const std::string& login, const std::string& dn) {
    const std::string head = login + " (" + dn + "): refused, nothing changed: ";
    const std::string ordinary =
        "choose as the canary a dedicated ordinary account in scope: not in policy.admin_groups, "
        "not protected (adminCount), enabled and not excluded by policy.scope or a rule";
    if (d.in_scope && d.admin) {
        return check_result{status::fail, name,
                            head + "the policy treats it as an admin (policy.admin_groups, two "
                                   "gates); the canary must be an ordinary account",
                            ordinary};
    }
    if (d.in_scope) {
        return std::nullopt;
    }
    using r = policy::reason_code;
    std::string why;
    switch (d.reason) {
    case r::scope_protected_account:
        why = "it is a protected account (adminCount=1)";
        break;
    case r::scope_disabled:
        why = "the account is disabled";
        break;
    case r::scope_account_expired:
        why = "the account has expired";
        break;
    case r::scope_denied_by_rule:
        why = "a deny rule of the policy keeps it out of scope (" + d.matched_rule + ")";
        break;
    case r::scope_none:
    case r::scope_no_rule_matched:
        why = "it is out of the policy's scope";
        break;
    default:
        why = "the policy refuses it";
        break;
    }
    return check_result{status::fail, name,
                        head + why + " (" + std::string(policy::to_string(d.reason)) + ")",
                        ordinary};
}

check_result canary_reset_failed(const ldap::failure& f, ldap::dialect dialect,
                                 const std::string& name, const std::string& dn) {
    using e = ldap::error;
    const std::string text = ldap_text(f);
    auto fail = [&](std::string finding, std::string fix) {
        return check_result{status::fail, name, std::move(finding), std::move(fix)};
    };
    if (f.is(e::access_denied)) {
        return fail("insufficient rights: the directory refused the service account's reset of " +
                        dn + ": " + text,
                    rights_fix(dialect));
    }
    if (f.is(e::password_too_young)) {
        return fail("the directory refused the reset of " + dn + ": " + text,
                    "the canary's password changed within the directory's minimum age: run the "
                    "canary again later, or give the canary a password policy without one");
    }
    if (f.is(e::password_too_short) || f.is(e::password_not_complex) ||
        f.is(e::password_in_history) || f.is(e::password_too_long) ||
        f.is(e::password_restriction) || f.is(e::invalid_password_encoding)) {
        return fail("the directory refused the random password for " + dn + ": " + text,
                    "make the password section (min_length, max_length, ad_complexity) match the "
                    "directory's password policy, which users would meet too");
    }
    if (f.is(e::account_disabled) || f.is(e::account_expired) || f.is(e::no_such_object)) {
        return fail("the directory refused the reset of " + dn + ": " + text,
                    "choose an enabled, existing ordinary account as the canary");
    }
    if (f.is(e::tls_required)) {
        return fail("the directory refused the reset of " + dn + ": " + text,
                    "use an ldaps:// URI or directory.start_tls: true");
    }
    if (f.is(e::unsupported)) {
        return fail("the directory refused the reset of " + dn + ": " + text,
                    "enable the Password Modify extended operation (RFC 3062) on the server, or "
                    "set directory.openldap_reset: replace_user_password");
    }
    if (f.is(e::not_verified)) {
        return fail("the directory acknowledged the reset of " + dn +
                        ", but a bind as the canary with the new password failed: " + text,
                    "check the canary's state (locked, expired) and that the URI names one "
                    "server, not a load balancer over replicas that have not replicated yet");
    }
    if (f.is(e::timeout) || f.is(e::server_down) || f.is(e::overloaded)) {
        return fail("no answer to the reset of " + dn +
                        " (it may or may not have been applied): " + text,
                    "check the directory's health and run doctor again");
    }
    return fail("the directory refused the reset of " + dn + ": " + text,
                "read the directory's reason above; docs/troubleshooting.md lists the usual ones");
}

check_result check_canary(ldap::directory& dir, common::random& rng, const config::config& c,
                          const policy::password_checker& checker, const std::string& name,
                          const std::string& login, policy::system_time now) {
    auto found = dir.find_user(login);
    if (!found) {
        return {status::fail, name, "cannot look up \"" + login + "\": " + ldap_text(found.error()),
                "check directory.base_dn, user_base and user_filter"};
    }
    if (!*found) {
        return {status::fail, name, "no user \"" + login + "\" found below the user base",
                "pass --canary-user the login of an existing, dedicated ordinary account"};
    }
    const ldap::user_entry& u = **found;
    auto groups = dir.groups_of(u.dn);
    if (!groups) {
        return {status::fail, name,
                "cannot read the groups of " + u.dn + ": " + ldap_text(groups.error()),
                "allow the service account to read group membership"};
    }
    // The facts the flows give the policy; no enrollment: the canary needs no methods.
    policy::user_facts facts = flows::facts_of(u, *groups, store::enrollment{}, 0);
    for (const auto& filter : policy::filters_to_evaluate(c.policy)) {
        auto m = dir.matches(u.dn, filter);
        if (!m) {
            return {status::fail, name,
                    "cannot evaluate the policy filter " + filter + ": " + ldap_text(m.error()),
                    "correct the filter in the policy's rules"};
        }
        if (*m) {
            facts.matched_filters.insert(filter);
        }
    }
    const auto decision = policy::decide(c.policy, c.methods, c.enrollment, facts, now);
    if (auto refused = refuse_canary(decision, name, login, u.dn)) {
        return std::move(*refused);
    }
    const policy::password_context who{u.login, u.display_name};
    auto password = make_canary_password(rng, checker, c.password, who);
    if (!password) {
        return {status::fail, name,
                "no random password of " +
                    std::to_string(canary_password_length(checker, c.password)) +
                    " characters passes the configured password rules; nothing changed",
                "check password.min_length, max_length and banned_terms"};
    }
    // As complete_reset sends it: unlock where the policy allows unlocking, must-change as
    // configured.
    ldap::reset_options options;
    options.unlock = decision.unlock_reason != policy::reason_code::unlock_not_allowed;
    options.must_change = c.directory.must_change_after_reset;
    if (auto done = dir.reset_password(u.dn, password->reveal(), options); !done) {
        return canary_reset_failed(done.error(), dir.dialect(), name, u.dn);
    }
    // reset_password already binds to check; this bind is doctor's own proof, reported as such.
    auto bound = dir.verify_password(u.dn, password->reveal());
    if (!bound && !bound.error().is(ldap::error::must_change_password) &&
        !bound.error().is(ldap::error::password_expired)) {
        return canary_reset_failed(
            ldap::failure(ldap::error::not_verified, ldap_text(bound.error())), dir.dialect(), name,
            u.dn);
    }
    const char* how = dir.dialect() == ldap::dialect::active_directory ? "a unicodePwd reset"
                      : c.directory.openldap_reset == config::openldap_reset::replace_user_password
                          ? "a userPassword replace"
                          : "the Password Modify operation";
    return {status::pass,
            name,
            "canary reset applied and verified: " + login + " (" + u.dn +
                ") now has a fresh random password of " +
                std::to_string(password->reveal().size()) +
                " characters (not shown, not kept), set with " + how +
                ", and a bind with it succeeded" +
                (options.must_change ? "; it must be changed at next logon" : ""),
            {}};
}

} // namespace sspr::doctor
