// Unicode text helpers for everything that compares what a person typed: password rules now,
// security answers later. All of them take UTF-8 and refuse ill-formed input (nullopt) instead of
// repairing it, because a silently replaced byte would make two different inputs compare equal.
//
// ICU does the Unicode work. No ICU handle is owned here: the normalisers are process-wide
// singletons that ICU creates once and owns, and case folding is a static function, so every
// function is thread-safe and there is nothing to close. A failure inside ICU itself (its data
// missing, out of memory) is an environment fault, not bad input, and throws std::runtime_error.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

namespace sspr::policy::text {

/// Strict UTF-8 (Unicode 15, table 3-7): no overlong forms, no surrogates, nothing above
/// U+10FFFF, no truncated sequences. NUL is well-formed; callers that cannot carry it refuse it.
[[nodiscard]] bool is_valid_utf8(std::string_view s) noexcept;

/// The number of Unicode code points, or nullopt when `s` is not valid UTF-8. This counts what is
/// given; count after nfkc() where a rule speaks of "characters".
[[nodiscard]] std::optional<std::size_t> code_points(std::string_view s) noexcept;

/// The code points of valid UTF-8, or nullopt.
[[nodiscard]] std::optional<std::u32string> to_utf32(std::string_view s);

/// UTF-8 of code points; values that are not Unicode scalar values become U+FFFD.
[[nodiscard]] std::string to_utf8(std::u32string_view s);

/// Unicode Normalization Form KC (NIST SP 800-63B: normalise before comparing or hashing), or
/// nullopt for invalid UTF-8. "ﬁ" becomes "fi", full-width "Ａ" becomes "A", "e"+U+0301 "é".
[[nodiscard]] std::optional<std::string> nfkc(std::string_view s);

/// NFKC_Casefold: NFKC, full case folding and removal of default-ignorable code points (soft
/// hyphen, zero-width joiner…) in one step; the form to compare text case-insensitively.
[[nodiscard]] std::optional<std::string> nfkc_casefold(std::string_view s);

/// Full Unicode case folding (not locale-specific): "Straße" → "strasse", "ΣΑΣ" → "σασ".
[[nodiscard]] std::optional<std::string> case_fold(std::string_view s);

/// Trims Unicode white space (the White_Space property: space, tab, newline, U+00A0, U+3000…) at
/// both ends and replaces every inner run of it by one U+0020.
[[nodiscard]] std::optional<std::string> collapse_whitespace(std::string_view s);

} // namespace sspr::policy::text
