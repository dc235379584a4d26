#include "ldap/diagnostics.hpp"

#include <ldap.h>

#include <algorithm>
#include <cctype>
#include <string>

namespace sspr::ldap {
namespace {

std::optional<std::uint32_t> parse_hex(std::string_view digits) noexcept {
    if (digits.empty() || digits.size() > 8) {
        return std::nullopt;
    }
    std::uint32_t value = 0;
    for (const char c : digits) {
        const auto u = static_cast<unsigned char>(c);
        if (!std::isxdigit(u)) {
            return std::nullopt;
        }
        const auto nibble =
            static_cast<std::uint32_t>(std::isdigit(u) ? u - '0' : std::tolower(u) - 'a' + 10);
        value = (value << 4U) | nibble;
    }
    return value;
}

bool contains_nocase(std::string_view haystack, std::string_view needle) noexcept {
    const auto it = std::search(haystack.begin(), haystack.end(), needle.begin(), needle.end(),
                                [](char a, char b) {
                                    return std::tolower(static_cast<unsigned char>(a)) ==
                                           std::tolower(static_cast<unsigned char>(b));
                                });
    return it != haystack.end();
}

// AD's 0000052D (ERROR_PASSWORD_RESTRICTION) covers every policy refusal; Samba says which rule in
// its text, real AD usually does not.
error password_restriction_from_text(std::string_view diagnostic) noexcept {
    if (contains_nocase(diagnostic, "too short")) {
        return error::password_too_short;
    }
    if (contains_nocase(diagnostic, "too long")) {
        return error::password_too_long;
    }
    if (contains_nocase(diagnostic, "complexity")) {
        return error::password_not_complex;
    }
    if (contains_nocase(diagnostic, "history") || contains_nocase(diagnostic, "already used")) {
        return error::password_in_history;
    }
    if (contains_nocase(diagnostic, "too young")) {
        return error::password_too_young;
    }
    return error::password_restriction;
}

error from_ppolicy(int pp) noexcept {
    switch (pp) {
    case PP_passwordExpired:
        return error::password_expired;
    case PP_accountLocked:
        return error::account_locked;
    case PP_changeAfterReset:
        return error::must_change_password;
    case PP_passwordModNotAllowed:
        return error::access_denied;
    case PP_mustSupplyOldPassword:
        return error::directory_refused;
    case PP_insufficientPasswordQuality:
        return error::password_not_complex;
    case PP_passwordTooShort:
        return error::password_too_short;
    case PP_passwordTooYoung:
        return error::password_too_young;
    case PP_passwordInHistory:
        return error::password_in_history;
    case PP_passwordTooLong:
        return error::password_too_long;
    default:
        return error::directory_refused;
    }
}

error from_bind_data(operation_kind op, std::optional<std::uint32_t> data) noexcept {
    const error bad =
        op == operation_kind::change ? error::wrong_current_password : error::invalid_credentials;
    if (!data) {
        return bad;
    }
    switch (*data) {
    case 0x525: // no such user
    case 0x52e:
        return bad;
    case 0x530: // not permitted to log on at this time
    case 0x531: // not permitted to log on at this workstation
        return error::access_denied;
    case 0x532:
        return error::password_expired;
    case 0x533:
        return error::account_disabled;
    case 0x701:
        return error::account_expired;
    case 0x773:
        return error::must_change_password;
    case 0x775:
        return error::account_locked;
    default:
        return bad;
    }
}

} // namespace

std::optional<std::uint32_t> ad_data_code(std::string_view diagnostic) noexcept {
    constexpr std::string_view marker = "data ";
    const std::size_t at = diagnostic.find(marker);
    if (at == std::string_view::npos) {
        return std::nullopt;
    }
    const std::size_t start = at + marker.size();
    std::size_t end = start;
    while (end < diagnostic.size() && std::isxdigit(static_cast<unsigned char>(diagnostic[end]))) {
        ++end;
    }
    return parse_hex(diagnostic.substr(start, end - start));
}

std::optional<std::uint32_t> ad_win32_code(std::string_view diagnostic) noexcept {
    if (diagnostic.size() < 9 || diagnostic[8] != ':') {
        return std::nullopt;
    }
    return parse_hex(diagnostic.substr(0, 8));
}

error classify(operation_kind op, int ldap_rc, std::string_view diagnostic,
               std::optional<int> ppolicy_error) noexcept {
    // The ppolicy response control is the most precise signal OpenLDAP gives.
    if (ppolicy_error && *ppolicy_error >= 0 && *ppolicy_error <= PP_passwordTooLong) {
        return from_ppolicy(*ppolicy_error);
    }
    const auto win32 = ad_win32_code(diagnostic);
    switch (ldap_rc) {
    case LDAP_SERVER_DOWN:
    case LDAP_CONNECT_ERROR:
    case LDAP_UNAVAILABLE:
    case LDAP_BUSY:
        if (contains_nocase(diagnostic, "TLS") || contains_nocase(diagnostic, "certificate")) {
            return error::tls_failure;
        }
        return error::server_down;
    case LDAP_TIMEOUT:
    case LDAP_TIMELIMIT_EXCEEDED:
        return error::timeout;
    case LDAP_INVALID_CREDENTIALS:
        return from_bind_data(op, ad_data_code(diagnostic));
    case LDAP_CONSTRAINT_VIOLATION:
        if (win32 == 0x56U) {
            return error::wrong_current_password;
        }
        if (win32 == 0x52dU) {
            return password_restriction_from_text(diagnostic);
        }
        if (contains_nocase(diagnostic, "in history") ||
            contains_nocase(diagnostic, "not being changed from existing value")) {
            return error::password_in_history;
        }
        if (contains_nocase(diagnostic, "too young")) {
            return error::password_too_young;
        }
        if (contains_nocase(diagnostic, "quality")) {
            return error::password_not_complex;
        }
        return error::password_restriction;
    case LDAP_UNWILLING_TO_PERFORM:
        if (win32 == 0x1fU) {
            return error::tls_required;
        }
        if (win32 == 0x52dU) {
            return password_restriction_from_text(diagnostic);
        }
        if (contains_nocase(diagnostic, "verify old password")) {
            return error::wrong_current_password;
        }
        if (contains_nocase(diagnostic, "confidential") || contains_nocase(diagnostic, "encrypt")) {
            return error::tls_required;
        }
        return error::directory_refused;
    case LDAP_CONFIDENTIALITY_REQUIRED:
    case LDAP_STRONG_AUTH_REQUIRED:
        return error::tls_required;
    case LDAP_INSUFFICIENT_ACCESS:
        return error::access_denied;
    case LDAP_NO_SUCH_OBJECT:
        return error::no_such_object;
    case LDAP_UNAVAILABLE_CRITICAL_EXTENSION:
        return error::unsupported;
    case LDAP_PROTOCOL_ERROR:
        // Samba: "Extended Operation(<oid>) not supported"; slapd: "unsupported extended
        // operation".
        if (contains_nocase(diagnostic, "not supported") ||
            contains_nocase(diagnostic, "unsupported extended operation")) {
            return error::unsupported;
        }
        return error::directory_refused;
    default:
        if (win32 == 0x5U) {
            return error::access_denied;
        }
        return error::directory_refused;
    }
}

} // namespace sspr::ldap
