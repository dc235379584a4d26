#include "flows/adapters.hpp"

#include <algorithm>
#include <array>

namespace sspr::flows {

namespace {

std::string to_hex(const challenge::digest& d) {
    static constexpr std::array<char, 16> digits{'0', '1', '2', '3', '4', '5', '6', '7',
                                                 '8', '9', 'a', 'b', 'c', 'd', 'e', 'f'};
    std::string out;
    out.reserve(d.size() * 2);
    for (const unsigned char c : d) {
        out.push_back(digits[c >> 4U]);
        out.push_back(digits[c & 0x0fU]);
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
    return -1;
}

std::optional<challenge::digest> from_hex(const std::string& s) {
    challenge::digest d{};
    if (s.size() != d.size() * 2) {
        return std::nullopt;
    }
    for (std::size_t i = 0; i < d.size(); ++i) {
        const int hi = hex_value(s[2 * i]);
        const int lo = hex_value(s[2 * i + 1]);
        if (hi < 0 || lo < 0) {
            return std::nullopt;
        }
        d[i] = static_cast<unsigned char>((hi << 4) | lo);
    }
    return d;
}

using system_time = std::chrono::system_clock::time_point;

void note(std::optional<system_time>& latest, system_time t) {
    if (!latest || t > *latest) {
        latest = t;
    }
}

} // namespace

store::code_record to_store(std::string flow_id, config::method method,
                            const challenge::code_record& code) {
    store::code_record row;
    row.flow_id = std::move(flow_id);
    row.method = method;
    row.binding_hash = to_hex(code.binding_hash);
    row.code_hash = to_hex(code.code_hash);
    row.expires_at = store::to_timestamp(code.expires_at);
    row.tries_left = code.used ? 0 : code.tries_left;
    return row;
}

std::optional<challenge::code_record> from_store(const store::code_record& row) {
    auto binding = from_hex(row.binding_hash);
    auto code = from_hex(row.code_hash);
    if (!binding || !code) {
        return std::nullopt;
    }
    challenge::code_record out;
    out.binding_hash = *binding;
    out.code_hash = *code;
    out.expires_at = row.expires_at;
    out.tries_left = row.tries_left;
    // The store deletes a code once it is used, so a row read back is never a used one.
    out.used = false;
    return out;
}

std::vector<policy::enrolled_method> enrolled_methods(const store::enrollment& e,
                                                      unsigned answer_count) {
    std::vector<policy::enrolled_method> out;
    const auto add_contacts = [&](const std::vector<store::contact>& contacts,
                                  config::method kind) {
        std::optional<system_time> latest;
        for (const auto& c : contacts) {
            if (c.confirmed_at) {
                note(latest, *c.confirmed_at);
            }
        }
        if (latest) {
            out.push_back({kind, *latest});
        }
    };
    add_contacts(e.emails, config::method::email);
    add_contacts(e.phones, config::method::sms);
    // Rows written before confirmation times were kept fall back to the row's last change.
    if (e.totp && e.totp->confirmed) {
        out.push_back({config::method::totp, e.totp->confirmed_at.value_or(e.updated_at)});
    }
    if (answer_count > 0 && e.questions.size() >= answer_count) {
        out.push_back({config::method::questions, e.questions_confirmed_at.value_or(e.updated_at)});
    }
    return out;
}

policy::user_facts facts_of(const ldap::user_entry& user,
                            const std::vector<ldap::group_entry>& groups,
                            const store::enrollment& enrollment, unsigned answer_count) {
    policy::user_facts f;
    f.dn = user.dn;
    for (const auto& g : groups) {
        f.group_dns.push_back(g.dn);
        f.group_names.push_back(g.name);
    }
    f.admin_count = user.admin_count;
    f.disabled = user.state.disabled;
    f.locked = user.state.locked;
    f.must_change = user.state.must_change;
    f.password_expired = user.state.password_expired;
    f.account_expired = user.state.account_expired;
    f.enrolled = enrolled_methods(enrollment, answer_count);
    return f;
}

challenge::totp_enrollment to_challenge(const store::totp_enrollment& totp) {
    challenge::totp_enrollment out;
    out.secret = totp.secret;
    out.state = totp.confirmed ? challenge::totp_state::active : challenge::totp_state::pending;
    if (totp.last_used_step >= 0) {
        out.last_used_step = static_cast<std::uint64_t>(totp.last_used_step);
    }
    return out;
}

} // namespace sspr::flows
