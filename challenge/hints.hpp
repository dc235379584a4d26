// Masked contact hints for the pages ("we sent a code to a****@example.org"), and the hints shown
// for logins that match nobody: derived from a keyed HMAC of the login, so they have the same
// shape as real ones, stay the same on every visit and reveal nothing without the server key.
// Real and fake hints are built by the same formatting code, so they cannot drift apart.
#pragma once

#include "challenge/error.hpp"
#include "common/secret.hpp"

#include <span>
#include <string>
#include <string_view>

namespace sspr::challenge {

/// "a****@example.org": the first character of the local part (ASCII lower-cased), always four
/// stars whatever the local part's length, the domain in ASCII lower case. invalid_email for an
/// address without '@', with an empty local part or domain, with white space or control
/// characters, or not valid UTF-8 in its first character.
result<std::string> mask_email(std::string_view address);

/// "+82 ** **** 1234": the country code (from the E.164 assignments: 1 and 7 are one digit, the
/// ITU's two-digit list, three digits otherwise) and the last four digits; the middle is always
/// "** ****", so the length of the number is not shown. Accepts '+' or "00" for international form
/// and spaces, '-', '.', '/', '(' and ')' as separators; a number without an international prefix
/// masks to "** **** 1234". invalid_phone for other characters, fewer than 6 digits after the
/// country code, or more than 15 digits in all.
result<std::string> mask_phone(std::string_view number);

/// The hint shown for a login that matches nobody. Its first character is the login's own first
/// character when that is an ASCII letter or digit (as real addresses so often start with it),
/// otherwise a letter chosen by the HMAC; the domain is chosen by the HMAC from `domains` (the
/// organisation's mail domains). The login is case-folded first, so "JSmith" and "jsmith" get the
/// same hint, as they would for a real account. invalid_parameters when `domains` is empty.
/// `key` is the server HMAC key.
result<std::string> fake_email_hint(const common::secret& key, std::string_view login,
                                    std::span<const std::string> domains);

/// "+CC ** **** NNNN" with the organisation's country code and four digits chosen by the HMAC.
/// invalid_parameters when `country_code` is not 1 to 3 digits.
result<std::string> fake_phone_hint(const common::secret& key, std::string_view login,
                                    std::string_view country_code);

} // namespace sspr::challenge
