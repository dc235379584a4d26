#include "policy/decision.hpp"

#include <algorithm>
#include <array>
#include <cstddef>
#include <unordered_set>
#include <utility>

namespace sspr::policy {
namespace {

char ascii_lower(char c) noexcept {
    if (c >= 'A' && c <= 'Z') {
        return static_cast<char>(c - 'A' + 'a');
    }
    return c;
}

bool is_blank(char c) noexcept {
    return c == ' ' || c == '\t';
}

std::string_view trim(std::string_view s) noexcept {
    while (!s.empty() && is_blank(s.front())) {
        s.remove_prefix(1);
    }
    while (!s.empty() && is_blank(s.back())) {
        s.remove_suffix(1);
    }
    return s;
}

std::string fold(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    for (char c : s) {
        out.push_back(ascii_lower(c));
    }
    return out;
}

int hex_value(char c) noexcept {
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

// RFC 4514 §2.4: the characters that must be escaped anywhere in a value.
bool is_dn_special(char c) noexcept {
    switch (c) {
    case ',':
    case '+':
    case '"':
    case '\\':
    case '<':
    case '>':
    case ';':
    case '=':
        return true;
    default:
        return false;
    }
}

bool is_type_char(char c) noexcept {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '.';
}

// Writes a decoded value back in the one escaped form used for comparison.
std::string canonical_value(const std::string& value) {
    static constexpr std::array<char, 16> digits{'0', '1', '2', '3', '4', '5', '6', '7',
                                                 '8', '9', 'a', 'b', 'c', 'd', 'e', 'f'};
    std::string out;
    out.reserve(value.size() + 4);
    for (std::size_t k = 0; k < value.size(); ++k) {
        const char c = ascii_lower(value[k]);
        const auto byte = static_cast<unsigned char>(c);
        const bool edge = (k == 0 && (c == ' ' || c == '#')) || (k + 1 == value.size() && c == ' ');
        if (byte < 0x20 || byte == 0x7f) {
            out.push_back('\\');
            out.push_back(digits[byte >> 4U]);
            out.push_back(digits[byte & 0x0fU]);
        } else if (is_dn_special(c) || edge) {
            out.push_back('\\');
            out.push_back(c);
        } else {
            out.push_back(c);
        }
    }
    return out;
}

// The RDNs of `dn` in canonical form, most specific first; nothing when it is not a DN. Parsing
// (rather than comparing strings) is what keeps `cn=x\,ou=admins,...` from passing for a DN below
// ou=admins.
std::optional<std::vector<std::string>> parse_rdns(std::string_view dn) {
    if (trim(dn).empty()) {
        return std::nullopt;
    }
    std::vector<std::string> rdns;
    std::vector<std::string> avas;
    std::size_t i = 0;
    const std::size_t n = dn.size();
    for (;;) {
        // Attribute type.
        const std::size_t type_begin = i;
        while (i < n && dn[i] != '=' && dn[i] != ',' && dn[i] != '+') {
            ++i;
        }
        if (i >= n || dn[i] != '=') {
            return std::nullopt;
        }
        const std::string_view type = trim(dn.substr(type_begin, i - type_begin));
        if (type.empty() || !std::all_of(type.begin(), type.end(), is_type_char)) {
            return std::nullopt;
        }
        ++i; // '='
        while (i < n && is_blank(dn[i])) {
            ++i;
        }
        // Attribute value; escaped bytes are never trimmed.
        std::string value;
        std::size_t keep = 0;
        while (i < n && dn[i] != ',' && dn[i] != '+') {
            if (dn[i] != '\\') {
                value.push_back(dn[i]);
                ++i;
                continue;
            }
            if (i + 1 >= n) {
                return std::nullopt;
            }
            const int hi = hex_value(dn[i + 1]);
            const int lo = i + 2 < n ? hex_value(dn[i + 2]) : -1;
            if (hi >= 0 && lo >= 0) {
                value.push_back(static_cast<char>((hi << 4) | lo));
                i += 3;
            } else if (is_dn_special(dn[i + 1]) || dn[i + 1] == ' ' || dn[i + 1] == '#') {
                value.push_back(dn[i + 1]);
                i += 2;
            } else {
                return std::nullopt;
            }
            keep = value.size();
        }
        while (value.size() > keep && is_blank(value.back())) {
            value.pop_back();
        }
        avas.push_back(fold(type) + "=" + canonical_value(value));
        if (i < n && dn[i] == '+') {
            ++i;
            continue;
        }
        // The order of the values in a multi-valued RDN carries no meaning.
        std::sort(avas.begin(), avas.end());
        std::string rdn;
        for (const auto& ava : avas) {
            if (!rdn.empty()) {
                rdn.push_back('+');
            }
            rdn += ava;
        }
        rdns.push_back(std::move(rdn));
        avas.clear();
        if (i >= n) {
            break;
        }
        ++i; // ','
    }
    return rdns;
}

bool is_below(const std::vector<std::string>& dn, const std::vector<std::string>& base) {
    if (dn.size() <= base.size()) {
        return false;
    }
    return std::equal(base.begin(), base.end(),
                      dn.end() - static_cast<std::ptrdiff_t>(base.size()));
}

std::string join(const std::vector<std::string>& rdns) {
    std::string out;
    for (const auto& rdn : rdns) {
        if (!out.empty()) {
            out.push_back(',');
        }
        out += rdn;
    }
    return out;
}

// The user's groups, each in the form it is compared in.
struct membership {
    std::unordered_set<std::string> dns;   // normalize_dn
    std::unordered_set<std::string> names; // trimmed, ASCII-folded

    explicit membership(const user_facts& user) {
        for (const auto& dn : user.group_dns) {
            if (auto n = normalize_dn(dn)) {
                dns.insert(std::move(*n));
            }
        }
        for (const auto& name : user.group_names) {
            names.insert(fold(trim(name)));
        }
    }

    // An entry of the policy names a group by DN or by cn; either may match.
    [[nodiscard]] bool has(std::string_view entry) const {
        if (auto n = normalize_dn(entry); n && dns.count(*n) != 0) {
            return true;
        }
        return names.count(fold(trim(entry))) != 0;
    }

    [[nodiscard]] bool has_any(const std::vector<std::string>& entries) const {
        return std::any_of(entries.begin(), entries.end(),
                           [this](const std::string& e) { return has(e); });
    }
};

bool rule_matches(const config::policy_rule& rule, const user_facts& user,
                  const std::vector<std::string>& user_rdns, const membership& groups) {
    if (!rule.groups.empty() && !groups.has_any(rule.groups)) {
        return false;
    }
    if (!rule.ous.empty()) {
        const bool below_any =
            std::any_of(rule.ous.begin(), rule.ous.end(), [&](const std::string& ou) {
                // check_policy has made sure every OU parses.
                const auto base = parse_rdns(ou);
                return base && is_below(user_rdns, *base);
            });
        if (!below_any) {
            return false;
        }
    }
    if (!rule.filter.empty() && user.matched_filters.count(rule.filter) == 0) {
        return false;
    }
    return true;
}

bool method_enabled(const config::methods_config& methods, config::method m) noexcept {
    switch (m) {
    case config::method::email:
        return methods.email.enabled;
    case config::method::sms:
        return methods.sms.enabled;
    case config::method::totp:
        return methods.totp.enabled;
    case config::method::questions:
        return methods.questions.enabled;
    case config::method::invalid:
        return false;
    }
    return false;
}

bool valid_method(config::method m) noexcept {
    switch (m) {
    case config::method::email:
    case config::method::sms:
    case config::method::totp:
    case config::method::questions:
        return true;
    case config::method::invalid:
        return false;
    }
    return false;
}

bool valid_gates(unsigned gates) noexcept {
    return gates == 1 || gates == 2;
}

std::vector<config::method> allowed_methods(const config::policy_config& policy,
                                            const config::policy_rule* rule,
                                            const config::methods_config& methods, bool admin) {
    // An empty list means "every enabled method": the admin already chose by enabling them.
    static const std::vector<config::method> every{config::method::email, config::method::sms,
                                                   config::method::totp, config::method::questions};
    const std::vector<config::method>* source = &policy.default_methods;
    if (rule != nullptr && !rule->methods.empty()) {
        source = &rule->methods;
    }
    if (source->empty()) {
        source = &every;
    }
    std::vector<config::method> out;
    for (const auto m : *source) {
        if (!method_enabled(methods, m)) {
            continue;
        }
        // Admins never rely on a secret others may know or guess (as Entra's two-gate policy).
        if (admin && m == config::method::questions) {
            continue;
        }
        if (std::find(out.begin(), out.end(), m) == out.end()) {
            out.push_back(m);
        }
    }
    return out;
}

decision refuse(decision d, reason_code why) {
    d.in_scope = false;
    d.gates = 0;
    d.allowed_methods.clear();
    d.methods.clear();
    d.must_reconfirm.clear();
    d.enrollment_complete = false;
    d.reset_allowed = false;
    d.unlock_allowed = false;
    d.change_allowed = false;
    d.reason = why;
    d.unlock_reason = why;
    d.change_reason = why;
    return d;
}

std::string rule_label(const config::policy_rule& rule, std::size_t index) {
    if (!rule.name.empty()) {
        return rule.name;
    }
    return "rules[" + std::to_string(index) + "]";
}

} // namespace

std::string_view to_string(reason_code r) noexcept {
    switch (r) {
    case reason_code::invalid:
        return "invalid";
    case reason_code::allowed:
        return "allowed";
    case reason_code::policy_invalid:
        return "policy.invalid";
    case reason_code::facts_invalid_dn:
        return "facts.invalid_dn";
    case reason_code::scope_none:
        return "scope.none";
    case reason_code::scope_no_rule_matched:
        return "scope.no_rule_matched";
    case reason_code::scope_denied_by_rule:
        return "scope.denied_by_rule";
    case reason_code::scope_disabled:
        return "scope.disabled";
    case reason_code::scope_account_expired:
        return "scope.account_expired";
    case reason_code::scope_protected_account:
        return "scope.protected_account";
    case reason_code::gates_admin_needs_two_methods:
        return "gates.admin_needs_two_methods";
    case reason_code::methods_not_enough_allowed:
        return "methods.not_enough_allowed";
    case reason_code::enrollment_incomplete:
        return "enrollment.incomplete";
    case reason_code::enrollment_reconfirm_required:
        return "enrollment.reconfirm_required";
    case reason_code::unlock_not_allowed:
        return "unlock.not_allowed";
    case reason_code::change_not_allowed:
        return "change.not_allowed";
    }
    return "invalid";
}

std::optional<std::string> normalize_dn(std::string_view dn) {
    auto rdns = parse_rdns(dn);
    if (!rdns) {
        return std::nullopt;
    }
    return join(*rdns);
}

bool dn_is_below(std::string_view dn, std::string_view base) {
    const auto d = parse_rdns(dn);
    const auto b = parse_rdns(base);
    return d && b && is_below(*d, *b);
}

std::vector<policy_problem> check_policy(const config::policy_config& policy) {
    std::vector<policy_problem> problems;
    switch (policy.scope) {
    case config::scope_mode::none:
    case config::scope_mode::selected:
    case config::scope_mode::all:
        break;
    case config::scope_mode::invalid:
    default:
        problems.push_back({"scope", "must be none, selected or all"});
        break;
    }
    if (!valid_gates(policy.default_gates)) {
        problems.push_back({"default_gates", "must be 1 or 2"});
    }
    if (!std::all_of(policy.default_methods.begin(), policy.default_methods.end(), valid_method)) {
        problems.push_back({"default_methods", "contains an invalid method"});
    }
    for (std::size_t i = 0; i < policy.admin_groups.size(); ++i) {
        if (trim(policy.admin_groups[i]).empty()) {
            problems.push_back({"admin_groups[" + std::to_string(i) + "]", "is empty"});
        }
    }
    for (std::size_t i = 0; i < policy.rules.size(); ++i) {
        const auto& rule = policy.rules[i];
        std::string where = "rules[" + std::to_string(i) + "]";
        if (!rule.name.empty()) {
            where += " (" + rule.name + ")";
        }
        if (rule.effect != config::rule_effect::allow && rule.effect != config::rule_effect::deny) {
            problems.push_back({where, "effect must be allow or deny"});
        }
        if (rule.gates && !valid_gates(*rule.gates)) {
            problems.push_back({where, "gates must be 1 or 2"});
        }
        if (!std::all_of(rule.methods.begin(), rule.methods.end(), valid_method)) {
            problems.push_back({where, "methods contains an invalid method"});
        }
        for (const auto& group : rule.groups) {
            if (trim(group).empty()) {
                problems.push_back({where, "a group is empty"});
            }
        }
        for (const auto& ou : rule.ous) {
            if (!parse_rdns(ou)) {
                problems.push_back({where, "ou \"" + ou + "\" is not a DN"});
            }
        }
    }
    return problems;
}

std::vector<std::string> filters_to_evaluate(const config::policy_config& policy) {
    std::vector<std::string> out;
    for (const auto& rule : policy.rules) {
        if (!rule.filter.empty() && std::find(out.begin(), out.end(), rule.filter) == out.end()) {
            out.push_back(rule.filter);
        }
    }
    return out;
}

decision decide(const config::policy_config& policy, const config::methods_config& methods,
                const config::enrollment_config& enrollment, const user_facts& user,
                system_time now) {
    decision d;
    // A policy that cannot be read as written is refused for everyone rather than half-applied:
    // skipping a broken deny rule would let in exactly the users it was meant to keep out.
    if (!check_policy(policy).empty()) {
        return refuse(std::move(d), reason_code::policy_invalid);
    }
    const auto user_rdns = parse_rdns(user.dn);
    if (!user_rdns) {
        return refuse(std::move(d), reason_code::facts_invalid_dn);
    }
    const membership groups(user);
    // Protected accounts the policy lets in are privileged all the same: they get the admins'
    // two gates.
    d.admin = groups.has_any(policy.admin_groups) ||
              (user.admin_count && policy.allow_protected_accounts);

    if (user.disabled) {
        return refuse(std::move(d), reason_code::scope_disabled);
    }
    if (user.account_expired) {
        return refuse(std::move(d), reason_code::scope_account_expired);
    }
    // Before the rules, so that no allow rule can let a protected account in by accident.
    if (user.admin_count && !policy.allow_protected_accounts) {
        return refuse(std::move(d), reason_code::scope_protected_account);
    }
    if (policy.scope == config::scope_mode::none) {
        return refuse(std::move(d), reason_code::scope_none);
    }

    const config::policy_rule* rule = nullptr;
    for (std::size_t i = 0; i < policy.rules.size(); ++i) {
        if (rule_matches(policy.rules[i], user, *user_rdns, groups)) {
            rule = &policy.rules[i];
            d.matched_rule = rule_label(*rule, i);
            break;
        }
    }
    if (rule != nullptr && rule->effect == config::rule_effect::deny) {
        return refuse(std::move(d), reason_code::scope_denied_by_rule);
    }
    if (rule == nullptr && policy.scope != config::scope_mode::all) {
        return refuse(std::move(d), reason_code::scope_no_rule_matched);
    }

    d.in_scope = true;
    d.gates = (rule != nullptr && rule->gates) ? *rule->gates : policy.default_gates;
    if (d.admin) {
        d.gates = 2;
    }
    d.allowed_methods = allowed_methods(policy, rule, methods, d.admin);

    for (const auto m : d.allowed_methods) {
        // Several registrations of one method (two phones) count once; the freshest decides.
        std::optional<system_time> latest;
        for (const auto& e : user.enrolled) {
            if (e.kind == m && (!latest || e.last_confirmed > *latest)) {
                latest = e.last_confirmed;
            }
        }
        if (!latest) {
            continue;
        }
        const bool current = enrollment.reconfirm_after <= config::seconds{0} ||
                             now < *latest + enrollment.reconfirm_after;
        (current ? d.methods : d.must_reconfirm).push_back(m);
    }

    const std::size_t needed = std::max<std::size_t>(enrollment.required_methods, d.gates);
    d.enrollment_complete = d.methods.size() >= needed;
    if (d.allowed_methods.size() < needed) {
        d.reason = (d.admin && d.allowed_methods.size() < 2)
                       ? reason_code::gates_admin_needs_two_methods
                       : reason_code::methods_not_enough_allowed;
    } else if (!d.enrollment_complete) {
        d.reason = d.methods.size() + d.must_reconfirm.size() >= needed
                       ? reason_code::enrollment_reconfirm_required
                       : reason_code::enrollment_incomplete;
    } else {
        d.reason = reason_code::allowed;
    }
    d.reset_allowed = d.reason == reason_code::allowed;

    const bool unlock_on = (rule != nullptr && rule->unlock) ? *rule->unlock : policy.allow_unlock;
    const bool change_on = (rule != nullptr && rule->change) ? *rule->change : policy.allow_change;
    // The switch is named first: it is the admin's "no", whatever the user's enrollment.
    d.unlock_reason = unlock_on ? d.reason : reason_code::unlock_not_allowed;
    d.unlock_allowed = d.unlock_reason == reason_code::allowed;
    d.change_reason = change_on ? reason_code::allowed : reason_code::change_not_allowed;
    d.change_allowed = change_on;
    return d;
}

} // namespace sspr::policy
