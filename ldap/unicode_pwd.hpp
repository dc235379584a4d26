// Active Directory's unicodePwd value (MS-ADTS 3.1.1.3.1.5.1): the password wrapped in double
// quotes, encoded as UTF-16LE. A real UTF-8 decoder, so non-ASCII passwords survive; invalid UTF-8
// is refused before anything reaches the directory.
#pragma once

#include "common/secret.hpp"

#include <optional>
#include <string>
#include <string_view>

namespace sspr::ldap {

/// UTF-16LE bytes of `utf8`, or nothing when it is not well-formed UTF-8.
[[nodiscard]] std::optional<std::string> utf8_to_utf16le(std::string_view utf8);

/// The unicodePwd attribute value for `password`, or nothing when the password is not valid UTF-8
/// or contains NUL. Built in one buffer reserved up front (so no reallocation leaves a copy
/// behind) and handed over as a secret, which wipes it when it dies.
[[nodiscard]] std::optional<common::secret> ad_unicode_pwd(std::string_view password);

} // namespace sspr::ldap
