// Who may use self-service, with how many gates and which methods: pure functions over what the
// flows learned about a user (user_facts) and the admin's policy. No I/O, no clock of its own, no
// dependency on ldap/: the flows copy the directory's answers into user_facts.
//
// Every decision carries a reason_code for the audit log. Reasons are for the audit only: the
// client always gets the same answer whether or not a user is in scope, so that the gateway never
// tells which accounts exist, are disabled, or are admins.
#pragma once

#include "config/config.hpp"

#include <chrono>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace sspr::policy {

using system_time = std::chrono::system_clock::time_point;

/// A method the user registered, and when it was last confirmed (registered or re-confirmed).
struct enrolled_method {
    config::method kind = config::method::invalid;
    system_time last_confirmed{};
};

/// What the flows know about one user, copied from the directory and the store.
struct user_facts {
    std::string dn; // as the directory returned it
    /// Every group the user belongs to, nested membership already flattened (ldap groups_of).
    std::vector<std::string> group_dns;
    std::vector<std::string> group_names; // the groups' cn, same groups as group_dns
    /// The rule filters (exactly as written in the policy, see filters_to_evaluate) that matched
    /// this user when the flows evaluated them against the directory.
    std::set<std::string> matched_filters;
    /// AD adminCount=1: the account is or was in a protected group.
    bool admin_count = false;
    // Account state as the directory reports it. Only `disabled` and `account_expired` take a user
    // out of scope; the others are here so one struct describes the user in the audit.
    bool disabled = false;
    bool locked = false;
    bool must_change = false;
    bool password_expired = false;
    bool account_expired = false;
    std::vector<enrolled_method> enrolled;
};

/// Why a decision came out as it did. Stable names (to_string) go to the audit log and metrics;
/// never to the client.
enum class reason_code {
    invalid = 0,
    /// "allowed": the action may go ahead.
    allowed,
    /// "policy.invalid": the policy cannot be evaluated (see check_policy); nobody is in scope.
    policy_invalid,
    /// "facts.invalid_dn": the user's DN is empty or not a DN; refused rather than guessed at.
    facts_invalid_dn,
    /// "scope.none": the policy's scope is none.
    scope_none,
    /// "scope.no_rule_matched": scope is `selected` and no rule matched the user.
    scope_no_rule_matched,
    /// "scope.denied_by_rule": the first rule that matched is a deny rule.
    scope_denied_by_rule,
    /// "scope.disabled": the account is disabled; never in scope.
    scope_disabled,
    /// "scope.account_expired": the account itself has expired; a new password would not help.
    scope_account_expired,
    /// "scope.protected_account": adminCount=1 and the policy does not allow protected accounts.
    scope_protected_account,
    /// "gates.admin_needs_two_methods": an admin, but fewer than two methods are allowed once
    /// security questions are removed; such an account can never reset here.
    gates_admin_needs_two_methods,
    /// "methods.not_enough_allowed": fewer methods are allowed for the user than the gates or the
    /// required enrollment need; no enrollment can fix it, only the policy.
    methods_not_enough_allowed,
    /// "enrollment.incomplete": the user has not registered enough current methods.
    enrollment_incomplete,
    /// "enrollment.reconfirm_required": enough methods are registered, but some must be confirmed
    /// again before they count.
    enrollment_reconfirm_required,
    /// "unlock.not_allowed": in scope and able to prove identity, but unlock is switched off.
    unlock_not_allowed,
    /// "change.not_allowed": in scope, but change is switched off.
    change_not_allowed,
};

/// The stable name of a reason ("scope.denied_by_rule"); "invalid" for values outside the enum.
[[nodiscard]] std::string_view to_string(reason_code r) noexcept;

/// What the policy says about one user at one moment.
struct decision {
    /// The scope rules (and the account's state) let this user use self-service at all.
    bool in_scope = false;
    /// Member of an admin group, or a protected account the policy allows: two gates, no questions.
    bool admin = false;
    /// Methods to pass for a reset or an unlock: 1 or 2; 0 when not in scope.
    unsigned gates = 0;
    /// Methods the user may register and use (enabled, allowed by the rule, no questions for
    /// admins), in policy order. Empty when not in scope.
    std::vector<config::method> allowed_methods;
    /// The allowed methods the user has registered and confirmed recently enough: those offered
    /// at a reset.
    std::vector<config::method> methods;
    /// Allowed methods the user registered whose confirmation is too old; not offered until the
    /// user confirms them again (after signing in with the current password).
    std::vector<config::method> must_reconfirm;
    /// At least max(required_methods, gates) current methods.
    bool enrollment_complete = false;
    /// A forgotten password may be reset: in scope and enough current methods for the gates.
    bool reset_allowed = false;
    /// A locked account may be unlocked: as reset_allowed (the user proves identity the same way),
    /// and unlock is on for this user.
    bool unlock_allowed = false;
    /// A known password may be changed: in scope and change is on (the password is the proof, so
    /// no enrollment is needed).
    bool change_allowed = false;
    /// Why reset_allowed is what it is (the scope reason when not in scope).
    reason_code reason = reason_code::invalid;
    /// Why unlock_allowed / change_allowed are what they are.
    reason_code unlock_reason = reason_code::invalid;
    reason_code change_reason = reason_code::invalid;
    /// The rule that decided the scope: its name, or "rules[<index>]" when it has none; empty
    /// when no rule decided (scope all with no match, or the user was refused before the rules).
    std::string matched_rule;
};

/// Decides scope, gates, methods and enrollment for `user` at `now`.
///
/// Order: the policy must pass check_policy; the user's DN must parse; disabled and expired
/// accounts are out; protected accounts (adminCount=1) are out unless allow_protected_accounts;
/// then scope none → out; otherwise the rules in order, first match wins (a deny rule puts the
/// user out); with no match, `selected` → out and `all` → in with the policy defaults.
/// A rule matches when every condition it names holds (groups: member of any, by DN or name;
/// ous: DN strictly below any; filter: in user.matched_filters); a rule naming no condition
/// matches everyone.
[[nodiscard]] decision decide(const config::policy_config& policy,
                              const config::methods_config& methods,
                              const config::enrollment_config& enrollment, const user_facts& user,
                              system_time now);

/// One thing in a policy that makes it impossible to evaluate.
struct policy_problem {
    std::string where; // "scope", "default_gates", "rules[2] (staff)", "admin_groups[0]", ...
    std::string what;
};

/// Structural problems decide() would refuse the whole policy for (it then answers
/// policy.invalid for everyone): scope or rule effect invalid, gates other than 1 or 2, an
/// invalid method, an OU that is not a DN, an empty group name. `ssprd check-config` shows them.
[[nodiscard]] std::vector<policy_problem> check_policy(const config::policy_config& policy);

/// The distinct non-empty rule filters, in rule order: the flows evaluate each against the user
/// and put those that matched into user_facts::matched_filters.
[[nodiscard]] std::vector<std::string> filters_to_evaluate(const config::policy_config& policy);

/// A DN in one canonical form for comparison: RDNs joined by ',', attribute types and ASCII
/// letters lower-cased, spaces around separators dropped, escapes decoded and written one way
/// (`\,` `\+` `\"` `\\` `\<` `\>` `\;` `\=`, other control bytes as `\xx`), multi-valued RDNs
/// sorted. Nothing when `dn` is empty or not a DN. Non-ASCII is compared byte for byte.
[[nodiscard]] std::optional<std::string> normalize_dn(std::string_view dn);

/// True when `dn` lies strictly below `base` (case-insensitively, RDN by RDN, so an escaped comma
/// in a name never passes for a separator). False when either is not a DN.
[[nodiscard]] bool dn_is_below(std::string_view dn, std::string_view base);

} // namespace sspr::policy
