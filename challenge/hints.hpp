// Masked contact hints for the pages ("we sent a code to ***@n***.com"), and the hints shown
// for logins that match nobody: derived from a keyed HMAC of the login, so they stay the same on
// every visit and reveal nothing without the server key.
//
// Anti-enumeration: a fake hint must be indistinguishable from a real one, so a hint shows only
// what a fake can imitate faithfully. An email hint shows the first character and the last label
// of the domain, never the local part (whose first letter follows the login for real accounts and
// would have to be guessed for fakes); fakes draw the domain from the organisation's own domains
// and the public mail providers users register, in their usual shares. A phone hint shows only the
// last four digits, which are evenly spread in real numbers and in fakes alike; the country code
// would tell an organisation's fakes from its staff abroad. tests/unit/challenge/hints_test.cpp
// checks that 1,000 fakes cannot be told from 1,000 realistic real hints better than chance.
// Real and fake hints are built by the same formatting code, so they cannot drift apart.
#pragma once

#include "challenge/error.hpp"
#include "common/secret.hpp"

#include <span>
#include <string>
#include <string_view>

namespace sspr::challenge {

/// "***@n***.com": always three stars for the local part, the first character of the domain
/// (ASCII lower-cased; a whole UTF-8 character), three stars, and the domain's last label in ASCII
/// lower case (none for a domain without a dot; a final dot is ignored). invalid_email for an
/// address without '@', with an empty local part or domain, with white space or control
/// characters, or not valid UTF-8 in the domain's first character.
result<std::string> mask_email(std::string_view address);

/// "** **** 1234": the last four digits; the middle is always "** ****", so neither the country
/// nor the length of the number is shown. Accepts '+' or "00" for international form and spaces,
/// '-', '.', '/', '(' and ')' as separators. invalid_phone for other characters, fewer than 6
/// digits after the country code (an international number) or in all (a national one), or more
/// than 15 digits in all.
result<std::string> mask_phone(std::string_view number);

/// One public mail provider and its share of the addresses users register.
struct mail_provider {
    std::string_view domain;
    unsigned weight;
};

/// The providers fake hints are drawn from, with their shares in percent: the big Korean portals
/// and the global ones, as registered recovery addresses of Korean organisations spread.
std::span<const mail_provider> public_mail_providers() noexcept;

/// Out of 100 fake email hints, how many use one of the organisation's own domains; the rest use
/// public_mail_providers() by weight.
inline constexpr unsigned fake_own_domain_percent = 30;

/// The hint shown for a login that matches nobody: mask_email of an address whose domain the HMAC
/// of the login draws from `domains` (the organisation's mail domains, fake_own_domain_percent of
/// the time) or from public_mail_providers(). The login is case-folded first, so "JSmith" and
/// "jsmith" get the same hint, as they would for a real account. invalid_parameters when
/// `domains` is empty. `key` is the server HMAC key.
result<std::string> fake_email_hint(const common::secret& key, std::string_view login,
                                    std::span<const std::string> domains);

/// "** **** NNNN" with four digits chosen by the HMAC of the login, as mask_phone shows a real
/// number.
result<std::string> fake_phone_hint(const common::secret& key, std::string_view login);

} // namespace sspr::challenge
