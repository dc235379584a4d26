#include "policy/text.hpp"

#include <unicode/bytestream.h>
#include <unicode/casemap.h>
#include <unicode/normalizer2.h>
#include <unicode/stringoptions.h>
#include <unicode/uchar.h>
#include <unicode/utypes.h>

#include <cstdint>
#include <limits>
#include <stdexcept>

namespace sspr::policy::text {
namespace {

constexpr char32_t invalid_code_point = 0xFFFFFFFFU;

[[nodiscard]] constexpr bool is_trail(unsigned char b) noexcept {
    return (b & 0xC0U) == 0x80U;
}

// Decodes one code point at s[i] and advances i, or returns invalid_code_point (i unspecified).
// The accepted second-byte ranges are those of table 3-7; they exclude overlong forms, surrogates
// and values above U+10FFFF without decoding first.
[[nodiscard]] char32_t decode_next(std::string_view s, std::size_t& i) noexcept {
    const auto b0 = static_cast<unsigned char>(s[i]);
    if (b0 < 0x80U) {
        ++i;
        return b0;
    }
    std::size_t length = 0;
    unsigned char lo = 0x80U;
    unsigned char hi = 0xBFU;
    char32_t cp = 0;
    if (b0 >= 0xC2U && b0 <= 0xDFU) {
        length = 2;
        cp = b0 & 0x1FU;
    } else if (b0 >= 0xE0U && b0 <= 0xEFU) {
        length = 3;
        cp = b0 & 0x0FU;
        if (b0 == 0xE0U) {
            lo = 0xA0U;
        } else if (b0 == 0xEDU) {
            hi = 0x9FU;
        }
    } else if (b0 >= 0xF0U && b0 <= 0xF4U) {
        length = 4;
        cp = b0 & 0x07U;
        if (b0 == 0xF0U) {
            lo = 0x90U;
        } else if (b0 == 0xF4U) {
            hi = 0x8FU;
        }
    } else {
        return invalid_code_point;
    }
    if (s.size() - i < length) {
        return invalid_code_point;
    }
    const auto b1 = static_cast<unsigned char>(s[i + 1]);
    if (b1 < lo || b1 > hi) {
        return invalid_code_point;
    }
    cp = (cp << 6U) | (b1 & 0x3FU);
    for (std::size_t k = 2; k < length; ++k) {
        const auto b = static_cast<unsigned char>(s[i + k]);
        if (!is_trail(b)) {
            return invalid_code_point;
        }
        cp = (cp << 6U) | (b & 0x3FU);
    }
    i += length;
    return cp;
}

[[nodiscard]] bool is_ascii(std::string_view s) noexcept {
    for (const char c : s) {
        if (static_cast<unsigned char>(c) >= 0x80U) {
            return false;
        }
    }
    return true;
}

[[nodiscard]] std::string ascii_lower(std::string_view s) {
    std::string out(s);
    for (char& c : out) {
        if (c >= 'A' && c <= 'Z') {
            c = static_cast<char>(c - 'A' + 'a');
        }
    }
    return out;
}

void throw_if_icu_failed(UErrorCode ec, const char* what) {
    if (U_FAILURE(ec)) {
        throw std::runtime_error(std::string("ICU ") + what + " failed: " + u_errorName(ec));
    }
}

// ICU's string APIs take int32_t lengths.
[[nodiscard]] bool fits_icu(std::string_view s) noexcept {
    return s.size() <= static_cast<std::size_t>(std::numeric_limits<std::int32_t>::max());
}

[[nodiscard]] icu::StringPiece piece(std::string_view s) noexcept {
    return {s.data(), static_cast<std::int32_t>(s.size())};
}

using normaliser_getter = const icu::Normalizer2* (*)(UErrorCode&);

[[nodiscard]] std::optional<std::string> normalise(std::string_view s, normaliser_getter get,
                                                   const char* what) {
    if (!is_valid_utf8(s) || !fits_icu(s)) {
        return std::nullopt;
    }
    UErrorCode ec = U_ZERO_ERROR;
    const icu::Normalizer2* normaliser = get(ec);
    throw_if_icu_failed(ec, what);
    std::string out;
    out.reserve(s.size());
    icu::StringByteSink<std::string> sink(&out);
    normaliser->normalizeUTF8(0, piece(s), sink, nullptr, ec);
    throw_if_icu_failed(ec, what);
    return out;
}

} // namespace

bool is_valid_utf8(std::string_view s) noexcept {
    std::size_t i = 0;
    while (i < s.size()) {
        if (decode_next(s, i) == invalid_code_point) {
            return false;
        }
    }
    return true;
}

std::optional<std::size_t> code_points(std::string_view s) noexcept {
    std::size_t i = 0;
    std::size_t count = 0;
    while (i < s.size()) {
        if (decode_next(s, i) == invalid_code_point) {
            return std::nullopt;
        }
        ++count;
    }
    return count;
}

std::optional<std::u32string> to_utf32(std::string_view s) {
    std::u32string out;
    out.reserve(s.size());
    std::size_t i = 0;
    while (i < s.size()) {
        const char32_t cp = decode_next(s, i);
        if (cp == invalid_code_point) {
            return std::nullopt;
        }
        out.push_back(cp);
    }
    return out;
}

std::string to_utf8(std::u32string_view s) {
    std::string out;
    out.reserve(s.size());
    for (char32_t cp : s) {
        if (cp > 0x10FFFFU || (cp >= 0xD800U && cp <= 0xDFFFU)) {
            cp = 0xFFFDU;
        }
        if (cp < 0x80U) {
            out.push_back(static_cast<char>(cp));
        } else if (cp < 0x800U) {
            out.push_back(static_cast<char>(0xC0U | (cp >> 6U)));
            out.push_back(static_cast<char>(0x80U | (cp & 0x3FU)));
        } else if (cp < 0x10000U) {
            out.push_back(static_cast<char>(0xE0U | (cp >> 12U)));
            out.push_back(static_cast<char>(0x80U | ((cp >> 6U) & 0x3FU)));
            out.push_back(static_cast<char>(0x80U | (cp & 0x3FU)));
        } else {
            out.push_back(static_cast<char>(0xF0U | (cp >> 18U)));
            out.push_back(static_cast<char>(0x80U | ((cp >> 12U) & 0x3FU)));
            out.push_back(static_cast<char>(0x80U | ((cp >> 6U) & 0x3FU)));
            out.push_back(static_cast<char>(0x80U | (cp & 0x3FU)));
        }
    }
    return out;
}

std::optional<std::string> nfkc(std::string_view s) {
    // Every ASCII string is already in NFKC; most passwords are ASCII, and this keeps ICU off the
    // common path of a check.
    if (is_ascii(s)) {
        return std::string(s);
    }
    return normalise(s, &icu::Normalizer2::getNFKCInstance, "NFKC");
}

std::optional<std::string> nfkc_casefold(std::string_view s) {
    // On ASCII, NFKC_Casefold only lower-cases: no ASCII character decomposes or is ignorable.
    if (is_ascii(s)) {
        return ascii_lower(s);
    }
    return normalise(s, &icu::Normalizer2::getNFKCCasefoldInstance, "NFKC_Casefold");
}

std::optional<std::string> case_fold(std::string_view s) {
    if (is_ascii(s)) {
        return ascii_lower(s);
    }
    if (!is_valid_utf8(s) || !fits_icu(s)) {
        return std::nullopt;
    }
    std::string out;
    out.reserve(s.size());
    icu::StringByteSink<std::string> sink(&out);
    UErrorCode ec = U_ZERO_ERROR;
    icu::CaseMap::utf8Fold(U_FOLD_CASE_DEFAULT, piece(s), sink, nullptr, ec);
    throw_if_icu_failed(ec, "case folding");
    return out;
}

std::optional<std::string> collapse_whitespace(std::string_view s) {
    std::string out;
    out.reserve(s.size());
    bool pending_space = false;
    std::size_t i = 0;
    while (i < s.size()) {
        const std::size_t start = i;
        const char32_t cp = decode_next(s, i);
        if (cp == invalid_code_point) {
            return std::nullopt;
        }
        if (u_isUWhiteSpace(static_cast<UChar32>(cp)) != 0) {
            pending_space = !out.empty();
            continue;
        }
        if (pending_space) {
            out.push_back(' ');
            pending_space = false;
        }
        out.append(s.substr(start, i - start));
    }
    return out;
}

} // namespace sspr::policy::text
