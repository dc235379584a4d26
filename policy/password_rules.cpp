#include "policy/password_rules.hpp"

#include "policy/text.hpp"

#include <unicode/uchar.h>

#include <algorithm>
#include <bit>
#include <fstream>

namespace sspr::policy {
namespace {

constexpr std::size_t min_term_length = 4;  // Entra: terms and names of at least 4 characters
constexpr std::size_t min_fuzzy_length = 5; // shorter terms match exactly only
constexpr std::size_t min_ad_name_part = 3; // AD complexity: name parts of at least 3
constexpr unsigned required_classes = 3;    // AD complexity: 3 of the 5 classes

constexpr std::string_view builtin_terms[] = {
    "password", "passphrase", "welcome",       "letmein",  "changeme", "secret",    "default",
    "login",    "admin",      "administrator", "root",     "guest",    "user",      "test",
    "testing",  "temp",       "access",        "qwerty",   "qwertz",   "azerty",    "asdfgh",
    "zxcvbn",   "qazwsx",     "1qaz2wsx",      "abcdef",   "abc123",   "123456",    "654321",
    "123123",   "111111",     "000000",        "987654",   "trustno1", "iloveyou",  "hello",
    "monkey",   "dragon",     "master",        "shadow",   "sunshine", "princess",  "football",
    "baseball", "soccer",     "superman",      "batman",   "starwars", "pokemon",   "whatever",
    "freedom",  "summer",     "winter",        "spring",   "autumn",   "january",   "february",
    "march",    "april",      "june",          "july",     "august",   "september", "october",
    "november", "december",   "monday",        "friday",   "company",  "office",    "computer",
    "internet", "service",    "support",       "security", "covid"};

// Entra's substitutions (its documented examples are 0 1 $ @; the rest are the usual look-alikes).
[[nodiscard]] char32_t substitute(char32_t c) noexcept {
    switch (c) {
    case U'0':
        return U'o';
    case U'1':
        return U'l';
    case U'3':
        return U'e';
    case U'4':
        return U'a';
    case U'5':
        return U's';
    case U'7':
        return U't';
    case U'$':
        return U's';
    case U'@':
        return U'a';
    case U'!':
        return U'i';
    default:
        return c;
    }
}

void substitute_all(std::u32string& s) noexcept {
    for (char32_t& c : s) {
        c = substitute(c);
    }
}

// NFKC_Casefold as code points; the input must be valid UTF-8.
[[nodiscard]] std::u32string folded_code_points(std::string_view valid) {
    auto folded = text::nfkc_casefold(valid);
    if (!folded) {
        return {};
    }
    auto cps = text::to_utf32(*folded);
    return cps ? std::move(*cps) : std::u32string{};
}

[[nodiscard]] std::uint64_t pair_key(char32_t a, char32_t b) noexcept {
    return (std::uint64_t{a} << 32U) | std::uint64_t{b};
}

[[nodiscard]] bool is_name_delimiter(char32_t c) noexcept {
    switch (c) {
    case U',':
    case U'.':
    case U'-':
    case U'_':
    case U'#':
    case U'\t':
    case U' ':
        return true;
    default:
        return u_isUWhiteSpace(static_cast<UChar32>(c)) != 0;
    }
}

void split_name(std::u32string_view s, std::vector<std::u32string>& out) {
    std::size_t start = 0;
    for (std::size_t i = 0; i <= s.size(); ++i) {
        if (i == s.size() || is_name_delimiter(s[i])) {
            if (i > start) {
                out.emplace_back(s.substr(start, i - start));
            }
            start = i + 1;
        }
    }
}

// The login (before any '@', whole and split) and the display name's parts, case-folded; AD's
// reading of "account name" and "display name". Names that are not UTF-8 contribute nothing.
[[nodiscard]] std::vector<std::u32string> name_parts(const password_context& context) {
    std::vector<std::u32string> parts;
    const std::string_view login =
        std::string_view(context.login).substr(0, context.login.find('@'));
    if (text::is_valid_utf8(login)) {
        std::u32string folded = folded_code_points(login);
        split_name(folded, parts);
        if (!folded.empty()) {
            parts.push_back(std::move(folded));
        }
    }
    if (text::is_valid_utf8(context.display_name)) {
        split_name(folded_code_points(context.display_name), parts);
    }
    return parts;
}

// True when `a` equals `b` after exactly one insertion into b (|a| == |b| + 1).
[[nodiscard]] bool one_insertion(std::u32string_view a, std::u32string_view b) noexcept {
    std::size_t i = 0;
    while (i < b.size() && a[i] == b[i]) {
        ++i;
    }
    return a.substr(i + 1) == b.substr(i);
}

// Edit distance <= 1 between a stretch of the password and a term, with an insertion allowed
// only strictly inside the term (see the header for why).
[[nodiscard]] bool within_one_edit(std::u32string_view sub, std::u32string_view term) noexcept {
    if (sub.size() == term.size()) {
        std::size_t differences = 0;
        for (std::size_t i = 0; i < sub.size() && differences < 2; ++i) {
            differences += sub[i] != term[i] ? 1U : 0U;
        }
        return differences <= 1;
    }
    if (sub.size() + 1 == term.size()) {
        return one_insertion(term, sub);
    }
    if (sub.size() == term.size() + 1) {
        return sub.front() == term.front() && sub.back() == term.back() &&
               one_insertion(sub.substr(1, sub.size() - 2), term.substr(1, term.size() - 2));
    }
    return false;
}

enum class char_class : unsigned {
    none = 0,
    upper = 1,
    lower = 2,
    digit = 4,
    other_letter = 8,
    symbol = 16
};

[[nodiscard]] char_class classify(char32_t c) noexcept {
    // ASCII without ICU: most passwords are ASCII and a property lookup per character adds up.
    if (c < 0x80U) {
        if (c >= U'A' && c <= U'Z') {
            return char_class::upper;
        }
        if (c >= U'a' && c <= U'z') {
            return char_class::lower;
        }
        if (c >= U'0' && c <= U'9') {
            return char_class::digit;
        }
        return char_class::symbol;
    }
    const auto cp = static_cast<UChar32>(c);
    if (u_isupper(cp) != 0) {
        return char_class::upper;
    }
    if (u_islower(cp) != 0) {
        return char_class::lower;
    }
    if (u_isdigit(cp) != 0) {
        return char_class::digit;
    }
    if (u_isalpha(cp) != 0) {
        return char_class::other_letter;
    }
    // A combining mark belongs to the letter it sits on, not to a class of its own.
    if ((U_GET_GC_MASK(cp) & U_GC_M_MASK) != 0) {
        return char_class::none;
    }
    return char_class::symbol;
}

// Drops Unicode white space at both ends of valid UTF-8.
[[nodiscard]] std::string trim(std::string_view valid) {
    std::u32string cps = text::to_utf32(valid).value_or(std::u32string{});
    const auto is_space = [](char32_t c) { return u_isUWhiteSpace(static_cast<UChar32>(c)) != 0; };
    const auto first = std::find_if_not(cps.begin(), cps.end(), is_space);
    const auto last =
        std::find_if_not(cps.rbegin(), std::make_reverse_iterator(first), is_space).base();
    const auto begin = static_cast<std::size_t>(first - cps.begin());
    const auto end = static_cast<std::size_t>(last - cps.begin());
    return text::to_utf8(std::u32string_view(cps).substr(begin, end - begin));
}

[[nodiscard]] bool is_control(char32_t c) noexcept {
    if (c < 0x80U) {
        return c < 0x20U || c == 0x7FU;
    }
    return u_charType(static_cast<UChar32>(c)) == U_CONTROL_CHAR;
}

[[nodiscard]] rule_failure make_failure(password_rule rule,
                                        std::map<std::string, std::string> params = {}) {
    return rule_failure{rule, std::string(message_key(rule)), std::move(params)};
}

} // namespace

std::string_view message_key(password_rule rule) noexcept {
    switch (rule) {
    case password_rule::invalid:
        return "";
    case password_rule::invalid_utf8:
        return "password.invalid_utf8";
    case password_rule::invalid_character:
        return "password.invalid_character";
    case password_rule::too_short:
        return "password.too_short";
    case password_rule::too_long:
        return "password.too_long";
    case password_rule::not_complex:
        return "password.not_complex";
    case password_rule::contains_name:
        return "password.contains_name";
    case password_rule::banned:
        return "password.banned";
    case password_rule::breached:
        return "password.breached";
    }
    return "";
}

std::span<const std::string_view> builtin_banned_terms() noexcept {
    return builtin_terms;
}

// ---- construction -----------------------------------------------------------------------------

password_checker::password_checker(const config::password_config& config)
    : max_length_(config.max_length), ad_complexity_(config.ad_complexity),
      min_score_(config.min_score) {
    // Fail here, at start-up, rather than on the first password, if ICU or OpenSSL cannot work
    // (both throw std::runtime_error then). "ﬁ" exercises the normaliser's data.
    if (text::nfkc("\xEF\xAC\x81") != "fi") {
        throw std::runtime_error("ICU NFKC normalisation gives wrong results");
    }
    (void)sha1("");
    if (config.min_length == 0) {
        throw password_config_error("password.min_length: must be at least 1");
    }
    min_length_ = std::max<std::size_t>(config.min_length, config.min_score);
    if (max_length_ < min_length_) {
        throw password_config_error("password.max_length (" + std::to_string(max_length_) +
                                    ") is below the minimum length (" +
                                    std::to_string(min_length_) +
                                    ", the larger of min_length and min_score)");
    }

    for (const std::string_view term : builtin_terms) {
        add_term(term, "built-in banned term");
    }
    for (std::size_t i = 0; i < config.banned_terms.size(); ++i) {
        add_term(config.banned_terms[i], "password.banned_terms[" + std::to_string(i) + "]");
    }
    if (!config.banned_terms_file.empty()) {
        std::ifstream file(config.banned_terms_file);
        if (!file) {
            throw password_config_error("password.banned_terms_file: cannot open " +
                                        config.banned_terms_file);
        }
        std::string line;
        std::size_t number = 0;
        while (std::getline(file, line)) {
            ++number;
            const std::string where = config.banned_terms_file + ":" + std::to_string(number);
            if (!text::is_valid_utf8(line)) {
                throw password_config_error(where + ": not valid UTF-8");
            }
            // Trim only: a term may contain inner spaces, and they must match as typed.
            const std::string term = trim(line);
            if (term.empty() || term.front() == '#') {
                continue;
            }
            add_term(term, where);
        }
        if (file.bad()) {
            throw password_config_error("password.banned_terms_file: cannot read " +
                                        config.banned_terms_file);
        }
    }
    std::sort(terms_.begin(), terms_.end());
    terms_.erase(std::unique(terms_.begin(), terms_.end()), terms_.end());
    build_probes();

    if (!config.breached_file.empty()) {
        auto list = breached_list::open(config.breached_file);
        if (!list) {
            throw password_config_error("password.breached_file: " + list.error().describe());
        }
        breached_.emplace(std::move(*list));
    }
}

void password_checker::add_term(std::string_view raw, const std::string& where) {
    if (!text::is_valid_utf8(raw)) {
        throw password_config_error(where + ": banned term is not valid UTF-8");
    }
    std::u32string key = folded_code_points(raw);
    substitute_all(key);
    if (key.size() < min_term_length) {
        throw password_config_error(where + ": banned term \"" + std::string(raw) +
                                    "\" is shorter than 4 characters once normalised");
    }
    terms_.push_back(std::move(key));
}

// Pigeonhole: a stretch within one edit of a term contains the term's first half or its second
// half unchanged. Both halves are at least 2 code points long, so the pair of code points each
// half starts with finds the candidate terms for a position of the password in one binary
// search, instead of trying every term at every position.
void password_checker::build_probes() {
    probes_.clear();
    for (std::size_t t = 0; t < terms_.size(); ++t) {
        const std::u32string& term = terms_[t];
        const std::size_t half = term.size() / 2;
        const auto index = static_cast<std::uint32_t>(t);
        probes_.push_back(probe{pair_key(term[0], term[1]), index, false});
        if (term.size() >= min_fuzzy_length) {
            probes_.push_back(probe{pair_key(term[half], term[half + 1]), index, true});
        }
    }
    std::sort(probes_.begin(), probes_.end(),
              [](const probe& a, const probe& b) { return a.pair < b.pair; });
}

// ---- matching ---------------------------------------------------------------------------------

void password_checker::collect_term_spans(std::u32string_view key, std::vector<span>& out) const {
    const std::size_t n = key.size();
    const auto add = [&](std::size_t start, std::size_t end) {
        out.push_back(span{static_cast<std::uint32_t>(start), static_cast<std::uint32_t>(end)});
    };
    for (std::size_t i = 0; i + 1 < n; ++i) {
        const std::uint64_t pair = pair_key(key[i], key[i + 1]);
        const auto [first, last] =
            std::equal_range(probes_.begin(), probes_.end(), probe{pair, 0, false},
                             [](const probe& a, const probe& b) { return a.pair < b.pair; });
        for (auto it = first; it != last; ++it) {
            const std::u32string_view term = terms_[it->term];
            const std::size_t m = term.size();
            const bool fuzzy = m >= min_fuzzy_length;
            const std::size_t half = m / 2;
            if (!fuzzy) {
                if (key.substr(i, m) == term) {
                    add(i, i + m);
                }
                continue;
            }
            if (!it->second_half) {
                // First half intact at i: the match starts at i.
                if (key.substr(i, half) != term.substr(0, half)) {
                    continue;
                }
                for (std::size_t length = m - 1; length <= m + 1; ++length) {
                    if (i + length <= n && within_one_edit(key.substr(i, length), term)) {
                        add(i, i + length);
                    }
                }
            } else {
                // Second half intact at i: the match ends where it ends.
                const std::size_t tail = m - half;
                if (key.substr(i, tail) != term.substr(half)) {
                    continue;
                }
                const std::size_t end = i + tail;
                for (std::size_t length = m - 1; length <= m + 1; ++length) {
                    if (length <= end && within_one_edit(key.substr(end - length, length), term)) {
                        add(end - length, end);
                    }
                }
            }
        }
    }
}

password_checker::score_result
password_checker::score(std::u32string_view key,
                        const std::vector<std::u32string>& name_parts) const {
    std::vector<span> spans;
    collect_term_spans(key, spans);
    for (const std::u32string& part : name_parts) {
        if (part.size() < min_term_length) {
            continue;
        }
        for (auto at = key.find(part); at != std::u32string_view::npos;
             at = key.find(part, at + 1)) {
            spans.push_back(
                span{static_cast<std::uint32_t>(at), static_cast<std::uint32_t>(at + part.size())});
        }
    }
    if (spans.empty()) {
        return {key.size(), false};
    }
    std::sort(spans.begin(), spans.end(),
              [](const span& a, const span& b) { return a.end < b.end; });
    // best[i]: the lowest score of key[0, i); each match costs 1, each other character 1.
    std::vector<std::size_t> best(key.size() + 1, 0);
    auto next = spans.begin();
    for (std::size_t i = 1; i <= key.size(); ++i) {
        best[i] = best[i - 1] + 1;
        for (; next != spans.end() && next->end == i; ++next) {
            best[i] = std::min(best[i], best[next->start] + 1);
        }
    }
    return {best[key.size()], true};
}

std::optional<std::size_t> password_checker::banned_score(std::string_view candidate,
                                                          const password_context& context) const {
    if (!text::is_valid_utf8(candidate)) {
        return std::nullopt;
    }
    std::u32string key = folded_code_points(candidate);
    substitute_all(key);
    std::vector<std::u32string> parts = name_parts(context);
    for (std::u32string& part : parts) {
        substitute_all(part);
    }
    return score(key, parts).score;
}

// ---- check ------------------------------------------------------------------------------------

std::vector<rule_failure> password_checker::check(std::string_view candidate,
                                                  const password_context& context) const {
    std::vector<rule_failure> failures;
    const auto normal = text::nfkc(candidate);
    if (!normal) {
        failures.push_back(make_failure(password_rule::invalid_utf8));
        return failures;
    }
    const auto code_points = text::to_utf32(*normal).value_or(std::u32string{});

    const bool has_control = std::any_of(code_points.begin(), code_points.end(), is_control);
    if (has_control) {
        failures.push_back(make_failure(password_rule::invalid_character));
    }
    if (code_points.size() < min_length_) {
        failures.push_back(
            make_failure(password_rule::too_short, {{"min", std::to_string(min_length_)}}));
    }
    if (code_points.size() > max_length_) {
        // The other rules mean nothing for a password that cannot be set anyway; stopping here
        // also bounds the work a hostile, body-sized "password" can cause.
        failures.push_back(
            make_failure(password_rule::too_long, {{"max", std::to_string(max_length_)}}));
        return failures;
    }

    const std::u32string folded = folded_code_points(candidate);
    std::vector<std::u32string> parts = name_parts(context);
    if (ad_complexity_) {
        unsigned seen = 0;
        for (const char32_t c : code_points) {
            seen |= static_cast<unsigned>(classify(c));
        }
        const auto classes = static_cast<unsigned>(std::popcount(seen));
        if (classes < required_classes) {
            failures.push_back(make_failure(password_rule::not_complex,
                                            {{"classes", std::to_string(required_classes)}}));
        }
        const bool contains_name = std::any_of(parts.begin(), parts.end(), [&](const auto& part) {
            return part.size() >= min_ad_name_part && folded.find(part) != std::u32string::npos;
        });
        if (contains_name) {
            failures.push_back(make_failure(password_rule::contains_name,
                                            {{"min_part", std::to_string(min_ad_name_part)}}));
        }
    }

    std::u32string key = folded;
    substitute_all(key);
    for (std::u32string& part : parts) {
        substitute_all(part);
    }
    const score_result scored = score(key, parts);
    if (scored.matched && scored.score < min_score_) {
        failures.push_back(
            make_failure(password_rule::banned, {{"min_score", std::to_string(min_score_)}}));
    }

    // Pwned Passwords hashes what people typed; a password typed in another normal form may be
    // listed in either, so both are looked up when they differ.
    if (breached_ && (breached_->contains_password(candidate) ||
                      (*normal != candidate && breached_->contains_password(*normal)))) {
        failures.push_back(make_failure(password_rule::breached));
    }
    return failures;
}

} // namespace sspr::policy
