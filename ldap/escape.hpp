// Escaping of untrusted values for LDAP: filter assertion values (RFC 4515 §3) and DN attribute
// values (RFC 4514 §2.4). Every value that comes from a user goes through one of these before it
// reaches the directory; DNs of users are always read from the directory, never built from a name.
#pragma once

#include <string>
#include <string_view>

namespace sspr::ldap {

/// RFC 4515 §3: `*` `(` `)` `\` and NUL become `\2a` `\28` `\29` `\5c` `\00`; other control
/// characters are written as `\XX` too so a filter never carries raw control bytes.
[[nodiscard]] std::string escape_filter_value(std::string_view value);

/// RFC 4514 §2.4: `"` `+` `,` `;` `<` `>` `\` `=` get a backslash, as do a leading `#` or space
/// and a trailing space; NUL and other control characters become `\XX`.
[[nodiscard]] std::string escape_dn_value(std::string_view value);

/// True when `value` is well-formed UTF-8 (no overlong forms, no surrogates, at most U+10FFFF).
[[nodiscard]] bool is_valid_utf8(std::string_view value) noexcept;

/// The placeholder a user filter template must contain, e.g.
/// "(&(objectClass=person)(uid={login}))".
inline constexpr std::string_view login_placeholder = "{login}";

/// True when `tmpl` is a parenthesised filter that contains the login placeholder.
[[nodiscard]] bool is_valid_filter_template(std::string_view tmpl) noexcept;

/// Replaces every `{login}` in `tmpl` with the RFC 4515-escaped login.
[[nodiscard]] std::string expand_filter(std::string_view tmpl, std::string_view login);

} // namespace sspr::ldap
