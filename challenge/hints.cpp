#include "challenge/hints.hpp"

#include "challenge/detail/mac.hpp"
#include "challenge/detail/text.hpp"

#include <algorithm>
#include <array>
#include <cstdint>

namespace sspr::challenge {
namespace {

constexpr std::string_view email_stars = "***";
constexpr std::string_view phone_middle = "** ****";
constexpr std::size_t min_national_digits = 6;
constexpr std::size_t max_e164_digits = 15;
// Logins are short; anything longer is hashed as raw bytes rather than normalised.
constexpr std::size_t max_login_bytes = 1024;

char ascii_lower(char c) {
    return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

/// Bytes in the UTF-8 sequence `lead` starts, or 0 for a byte that cannot start one.
std::size_t utf8_sequence_length(unsigned char lead) {
    if (lead < 0x80U) {
        return 1;
    }
    if (lead >= 0xc2U && lead <= 0xdfU) {
        return 2;
    }
    if (lead >= 0xe0U && lead <= 0xefU) {
        return 3;
    }
    if (lead >= 0xf0U && lead <= 0xf4U) {
        return 4;
    }
    return 0;
}

/// ITU-T E.164 country codes: 1 (NANP) and 7 are one digit; this list is every two-digit code;
/// every other code is three digits. The codes form a prefix code, so the first digits decide.
std::size_t country_code_length(std::string_view digits) {
    if (digits[0] == '1' || digits[0] == '7') {
        return 1;
    }
    static constexpr std::array<std::string_view, 44> two_digit{
        "20", "27", "30", "31", "32", "33", "34", "36", "39", "40", "41", "43", "44", "45", "46",
        "47", "48", "49", "51", "52", "53", "54", "55", "56", "57", "58", "60", "61", "62", "63",
        "64", "65", "66", "81", "82", "84", "86", "90", "91", "92", "93", "94", "95", "98"};
    const auto prefix = digits.substr(0, 2);
    for (const auto code : two_digit) {
        if (code == prefix) {
            return 2;
        }
    }
    return 3;
}

std::string format_phone(std::string_view last4) {
    std::string out;
    out += phone_middle;
    out += ' ';
    out += last4;
    return out;
}

/// The login as the directory would compare it (NFKC_Casefold, trimmed), so that the hint does
/// not change with the case the visitor typed; raw bytes when it is not text.
common::secret canonical_login(std::string_view login) {
    auto n = detail::normalise_text(login, max_login_bytes);
    if (!n) {
        return common::secret(std::string(login));
    }
    return std::move(n->text);
}

std::uint64_t first_u64(const std::array<unsigned char, 32>& h, std::size_t offset) {
    std::uint64_t v = 0;
    for (std::size_t i = 0; i < 8; ++i) {
        v = (v << 8U) | h[offset + i];
    }
    return v;
}

constexpr std::array<mail_provider, 10> providers{{
    {"naver.com", 30},
    {"gmail.com", 30},
    {"daum.net", 9},
    {"hanmail.net", 9},
    {"kakao.com", 5},
    {"nate.com", 4},
    {"outlook.com", 5},
    {"hotmail.com", 3},
    {"icloud.com", 3},
    {"yahoo.com", 2},
}};

constexpr unsigned providers_total() {
    unsigned total = 0;
    for (const auto& p : providers) {
        total += p.weight;
    }
    return total;
}
static_assert(providers_total() == 100, "provider weights are percentages");

} // namespace

std::span<const mail_provider> public_mail_providers() noexcept {
    return providers;
}

result<std::string> mask_email(std::string_view address) {
    const auto at = address.rfind('@');
    if (at == std::string_view::npos || at == 0 || at + 1 == address.size()) {
        return error::invalid_email;
    }
    for (const char c : address) {
        const auto u = static_cast<unsigned char>(c);
        if (u <= 0x20U || u == 0x7fU) {
            return error::invalid_email;
        }
    }
    auto domain = address.substr(at + 1);
    const std::size_t first_len = utf8_sequence_length(static_cast<unsigned char>(domain[0]));
    if (first_len == 0 || first_len > domain.size()) {
        return error::invalid_email;
    }
    for (std::size_t i = 1; i < first_len; ++i) {
        if ((static_cast<unsigned char>(domain[i]) & 0xc0U) != 0x80U) {
            return error::invalid_email;
        }
    }
    if (domain.size() > 1 && domain.back() == '.') {
        domain.remove_suffix(1); // the root's dot: "example.org." is "example.org"
    }
    std::string_view last_label;
    if (const auto dot = domain.rfind('.'); dot != std::string_view::npos && dot >= first_len) {
        last_label = domain.substr(dot + 1);
    }

    // Nothing of the local part: its first letter follows the login for real accounts, which a
    // fake can only guess at.
    std::string out;
    out.reserve(email_stars.size() * 2 + 2 + first_len + last_label.size());
    out += email_stars;
    out += '@';
    for (std::size_t i = 0; i < first_len; ++i) {
        out += ascii_lower(domain[i]);
    }
    out += email_stars;
    if (!last_label.empty()) {
        out += '.';
        for (const char c : last_label) {
            out += ascii_lower(c);
        }
    }
    return out;
}

result<std::string> mask_phone(std::string_view number) {
    std::string digits;
    bool international = false;
    std::size_t i = 0;
    while (i < number.size() && number[i] == ' ') {
        ++i;
    }
    if (i < number.size() && number[i] == '+') {
        international = true;
        ++i;
    }
    for (; i < number.size(); ++i) {
        const char c = number[i];
        if (c >= '0' && c <= '9') {
            digits += c;
        } else if (c != ' ' && c != '-' && c != '.' && c != '/' && c != '(' && c != ')') {
            return error::invalid_phone;
        }
    }
    if (!international && digits.starts_with("00")) {
        international = true; // the ITU international call prefix, as in 0082…
        digits.erase(0, 2);
    }
    if (digits.empty() || digits.size() > max_e164_digits) {
        return error::invalid_phone;
    }
    std::string_view national = digits;
    if (international) {
        const auto cc_len = country_code_length(digits);
        national = std::string_view(digits).substr(std::min(cc_len, digits.size()));
    }
    if (national.size() < min_national_digits) {
        return error::invalid_phone;
    }
    // No country code: an organisation's fakes would all show its own, its staff abroad others.
    return format_phone(national.substr(national.size() - 4));
}

result<std::string> fake_email_hint(const common::secret& key, std::string_view login,
                                    std::span<const std::string> domains) {
    if (domains.empty()) {
        return error::invalid_parameters;
    }
    const auto canonical = canonical_login(login);
    const auto h =
        detail::hmac_sha256_fields(key.reveal(), "sspr.hint.email.v2", {canonical.reveal()});

    // 2^64 mod 100 (and mod any small count) makes the bias below 2^-57: invisible.
    std::string_view domain;
    if (first_u64(h, 0) % 100 < fake_own_domain_percent) {
        domain = domains[static_cast<std::size_t>(first_u64(h, 8) % domains.size())];
    } else {
        auto pick = static_cast<unsigned>(first_u64(h, 8) % providers_total());
        for (const auto& p : providers) {
            if (pick < p.weight) {
                domain = p.domain;
                break;
            }
            pick -= p.weight;
        }
    }

    // Through the real masker, so a fake hint is formatted exactly as a real one.
    std::string address = "x@";
    address += domain;
    return mask_email(address);
}

result<std::string> fake_phone_hint(const common::secret& key, std::string_view login) {
    const auto canonical = canonical_login(login);
    const auto h =
        detail::hmac_sha256_fields(key.reveal(), "sspr.hint.phone.v1", {canonical.reveal()});
    auto v = first_u64(h, 0) % 10000;
    std::string last4(4, '0');
    for (auto it = last4.rbegin(); it != last4.rend(); ++it) {
        *it = static_cast<char>('0' + static_cast<char>(v % 10));
        v /= 10;
    }
    return format_phone(last4);
}

} // namespace sspr::challenge
