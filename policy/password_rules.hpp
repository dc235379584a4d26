// The gateway's own password rules: they run before a new password is sent to the directory and
// name every rule the candidate fails, each with a stable message key the pages localise. The
// directory still enforces its own policy; these rules catch the common problems early and say
// precisely what is wrong. Nothing here keeps, logs or returns the password.
//
// The rules, in the order check() reports them:
//   invalid_utf8       the bytes are not UTF-8; nothing else is evaluated.
//   invalid_character  a control character (general category Cc: NUL, tab, newline, …): they
//                      cannot be typed reliably at a login prompt and NUL cannot reach the
//                      directory.
//   too_short/too_long length in Unicode code points after NFKC (NIST SP 800-63B), so "é" typed as
//                      e + U+0301 counts once and "ﬁ" counts twice. params: min / max.
//   not_complex        (ad_complexity) fewer than 3 of AD's 5 character classes: upper-case
//                      (Unicode Lu: A–Z, É, Σ, Ж), lower-case (Ll), decimal digits (Nd),
//                      other letters (alphabetic but neither upper nor lower: CJK, Hangul, Arabic…)
//                      and everything else that is not a letter, digit or combining mark (symbols,
//                      punctuation, space). Counting the fifth class as AD does means a Korean or
//                      Chinese password is judged as the domain controller will judge it.
//                      params: classes = "3".
//   contains_name      (ad_complexity) contains, case-insensitively, the login or a part of the
//                      display name of at least 3 code points. Parts are split at AD's delimiters
//                      , . - _ # tab and any white space; for a login "user@domain" only the part
//                      before '@' counts (whole and split). params: min_part = "3".
//   banned             Entra's banned-password score (see below) is below min_score.
//                      params: min_score.
//   breached           the password's SHA-1 is in the breached-password file.
// A password longer than max_length gets the encoding and length rules only: it cannot be set
// anyway, the others follow once it is short enough, and a hostile, body-sized candidate costs no
// more than its normalisation.
//
// Banned-password score, after Entra Password Protection:
//   1. Normalise: NFKC_Casefold (lower-case, compatibility forms folded, invisible characters
//      dropped), then 0→o 1→l 3→e 4→a 5→s 7→t $→s @→a !→i.
//   2. Find every occurrence of a banned term (the built-in list plus the configured terms, all
//      normalised the same way, each at least 4 code points): exactly, and for terms of 5 or more
//      code points also within edit distance 1 (one substitution, one deletion, or one insertion
//      inside the term, not before its first or after its last character: an appended character
//      is simply a remaining character, which is how Entra scores "ContoS0Bl@nkf9!" as 5).
//      Terms of 4 code points match only exactly, since one edit of them leaves 3 characters
//      that occur in too many innocent passwords.
//   3. Find the login and display-name parts of at least 4 code points, exactly.
//   4. Score = matched terms + remaining characters, minimised over non-overlapping choices of
//      the matches found (the strictest reading). Fail when score < min_score and anything matched.
//   A password with no match scores its length; so that it is never refused for a score it cannot
//   change, the effective minimum length is max(min_length, min_score).
#pragma once

#include "config/config.hpp"
#include "policy/breached.hpp"

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace sspr::policy {

/// Who the password is for; both may be empty. Values come from the directory, not the user.
struct password_context {
    std::string login;
    std::string display_name;
};

enum class password_rule {
    invalid = 0,
    invalid_utf8,
    invalid_character,
    too_short,
    too_long,
    not_complex,
    contains_name,
    banned,
    breached,
};

/// "password.too_short" etc.: stable, used as translation keys; "" for invalid.
[[nodiscard]] std::string_view message_key(password_rule rule) noexcept;

/// One failed rule. params are the figures the message needs ("min" = "8"); never the password
/// or a part of it.
struct rule_failure {
    password_rule rule = password_rule::invalid;
    std::string message_key;
    std::map<std::string, std::string> params;

    bool operator==(const rule_failure&) const = default;
};

/// Thrown by password_checker's constructor: the configuration cannot be used. Its message names
/// the key, file and line; the gateway reports it and does not start.
class password_config_error : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

/// The built-in banned terms (before normalisation): base words of the most common weak
/// passwords. The breached-password file catches the long tail.
[[nodiscard]] std::span<const std::string_view> builtin_banned_terms() noexcept;

/// Built once at start-up from the password section of the configuration; immutable afterwards,
/// so check() may run on any number of threads at once.
class password_checker {
public:
    /// Reads banned_terms_file (UTF-8, one term per line, '#' starts a comment line, blank lines
    /// ignored, surrounding white space trimmed) and opens breached_file. Throws
    /// password_config_error for an unreadable file, a term that is not UTF-8 or shorter than 4
    /// code points once normalised, lengths that contradict each other, or an unusable breached
    /// file; std::runtime_error when ICU or OpenSSL cannot work at all.
    explicit password_checker(const config::password_config& config);

    /// Every rule the candidate fails, in the order of password_rule; empty when it passes.
    [[nodiscard]] std::vector<rule_failure> check(std::string_view candidate,
                                                  const password_context& context) const;

    /// The banned-password score of the candidate (see above), nullopt for invalid UTF-8.
    [[nodiscard]] std::optional<std::size_t> banned_score(std::string_view candidate,
                                                          const password_context& context) const;

    [[nodiscard]] std::size_t banned_term_count() const noexcept { return terms_.size(); }
    [[nodiscard]] std::size_t effective_min_length() const noexcept { return min_length_; }
    [[nodiscard]] const breached_list* breached() const noexcept {
        return breached_ ? &*breached_ : nullptr;
    }

private:
    struct span {
        std::uint32_t start;
        std::uint32_t end;
    };
    // Where a term's first or second half begins with a given pair of code points (see .cpp).
    struct probe {
        std::uint64_t pair;
        std::uint32_t term;
        bool second_half;
    };
    struct score_result {
        std::size_t score = 0;
        bool matched = false;
    };

    void add_term(std::string_view raw, const std::string& where);
    void build_probes();
    void collect_term_spans(std::u32string_view key, std::vector<span>& out) const;
    [[nodiscard]] score_result score(std::u32string_view key,
                                     const std::vector<std::u32string>& name_parts) const;

    std::size_t min_length_ = 8;
    std::size_t max_length_ = 256;
    bool ad_complexity_ = false;
    std::size_t min_score_ = 5;
    std::vector<std::u32string> terms_; // normalised, unique
    std::vector<probe> probes_;         // sorted by pair
    std::optional<breached_list> breached_;
};

} // namespace sspr::policy
