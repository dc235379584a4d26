// Unit tests of policy/text.hpp: strict UTF-8, code point counting, NFKC, NFKC_Casefold, case
// folding and white-space collapsing. Expected bytes are written out from the Unicode tables
// (UnicodeData.txt, CaseFolding.txt) by hand, never produced by the code under test.
#include "policy/text.hpp"

#include <catch2/catch.hpp>

#include <string>
#include <string_view>

using namespace std::string_view_literals;
namespace text = sspr::policy::text;

TEST_CASE("text: is_valid_utf8 accepts well-formed UTF-8 of every length", "[policy]") {
    CHECK(text::is_valid_utf8(""));
    CHECK(text::is_valid_utf8("password"));
    CHECK(text::is_valid_utf8("\xC3\xA9"));         // é U+00E9
    CHECK(text::is_valid_utf8("\xE2\x82\xAC"));     // € U+20AC
    CHECK(text::is_valid_utf8("\xF0\x9F\x98\x80")); // 😀 U+1F600
    CHECK(text::is_valid_utf8("\xED\x9F\xBF"));     // U+D7FF, just below the surrogates
    CHECK(text::is_valid_utf8("\xF4\x8F\xBF\xBF")); // U+10FFFF, the last code point
    CHECK(text::is_valid_utf8("a\0b"sv));           // NUL is well-formed
}

TEST_CASE("text: is_valid_utf8 refuses every ill-formed sequence", "[policy]") {
    CHECK_FALSE(text::is_valid_utf8("\xC3"));             // truncated 2-byte
    CHECK_FALSE(text::is_valid_utf8("\xE2\x82"));         // truncated 3-byte
    CHECK_FALSE(text::is_valid_utf8("\xF0\x9F\x98"));     // truncated 4-byte
    CHECK_FALSE(text::is_valid_utf8("\x80"));             // lone continuation byte
    CHECK_FALSE(text::is_valid_utf8("\xC0\xAF"));         // overlong '/'
    CHECK_FALSE(text::is_valid_utf8("\xC1\xBF"));         // overlong
    CHECK_FALSE(text::is_valid_utf8("\xE0\x80\xAF"));     // overlong 3-byte
    CHECK_FALSE(text::is_valid_utf8("\xF0\x80\x80\xAF")); // overlong 4-byte
    CHECK_FALSE(text::is_valid_utf8("\xED\xA0\x80"));     // U+D800, a surrogate
    CHECK_FALSE(text::is_valid_utf8("\xF4\x90\x80\x80")); // U+110000, beyond Unicode
    CHECK_FALSE(text::is_valid_utf8("\xF5\x80\x80\x80"));
    CHECK_FALSE(text::is_valid_utf8("\xFF"));
    CHECK_FALSE(text::is_valid_utf8("\xE2\x28\xA1")); // second byte not a continuation
    CHECK_FALSE(text::is_valid_utf8("ok\xC3("));
}

TEST_CASE("text: code_points counts code points, not bytes", "[policy]") {
    CHECK(text::code_points("") == 0U);
    CHECK(text::code_points("abc") == 3U);
    CHECK(text::code_points("\xC3\xA9") == 1U);                 // é precomposed
    CHECK(text::code_points("e\xCC\x81") == 2U);                // e + U+0301 COMBINING ACUTE
    CHECK(text::code_points("\xF0\x9F\x98\x80") == 1U);         // 😀
    CHECK(text::code_points("\xEF\xAC\x81") == 1U);             // ﬁ U+FB01
    CHECK(text::code_points("\xE6\x97\xA5\xE6\x9C\xAC") == 2U); // 日本
    CHECK_FALSE(text::code_points("ab\xC3").has_value());
}

TEST_CASE("text: to_utf32 and to_utf8 round-trip; to_utf8 replaces non-scalar values", "[policy]") {
    CHECK(text::to_utf32("a\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80") == U"a\u00E9\u20AC\U0001F600");
    CHECK_FALSE(text::to_utf32("\xED\xA0\x80").has_value());
    CHECK(text::to_utf8(U"a\u00E9\u20AC\U0001F600") == "a\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80");
    const char32_t surrogate[] = {0xD800U, 0};
    CHECK(text::to_utf8(surrogate) == "\xEF\xBF\xBD");
    const char32_t too_big[] = {0x110000U, 0};
    CHECK(text::to_utf8(too_big) == "\xEF\xBF\xBD");
}

TEST_CASE("text: nfkc folds compatibility forms and composes", "[policy]") {
    CHECK(text::nfkc("password") == "password");
    CHECK(text::nfkc("\xEF\xAC\x81") == "fi");             // ﬁ ligature
    CHECK(text::nfkc("e\xCC\x81") == "\xC3\xA9");          // e + acute → é
    CHECK(text::nfkc("\xEF\xBC\xA1\xEF\xBD\x82") == "Ab"); // full-width Ａｂ
    CHECK(text::nfkc("\xE2\x91\xA0") == "1");              // ① circled one
    CHECK(text::nfkc("\xC2\xB2") == "2");                  // ² superscript two
    CHECK(text::nfkc("\xE1\x84\x92\xE1\x85\xA1\xE1\x86\xAB") == "\xED\x95\x9C"); // jamo → 한
    CHECK(text::nfkc("Stra\xC3\x9F"
                     "e") == "Stra\xC3\x9F"
                             "e"); // NFKC keeps case and ß
    CHECK(text::nfkc("") == "");
}

TEST_CASE("text: nfkc refuses invalid UTF-8 instead of repairing it", "[policy]") {
    CHECK_FALSE(text::nfkc("\xC3").has_value());
    CHECK_FALSE(text::nfkc("caf\xC3\xA9\xFF").has_value());
    CHECK_FALSE(text::nfkc("\xED\xA0\x80").has_value());
}

TEST_CASE("text: nfkc_casefold folds case, compatibility forms and invisible characters",
          "[policy]") {
    CHECK(text::nfkc_casefold("PassWord") == "password");
    CHECK(text::nfkc_casefold("\xEF\xBC\xB0\xEF\xBC\xA1\xEF\xBC\xB3\xEF\xBC\xB3") ==
          "pass"); // ＰＡＳＳ
    CHECK(text::nfkc_casefold("Stra\xC3\x9F"
                              "e") == "strasse");
    CHECK(text::nfkc_casefold("pass\xC2\xADword") == "password");     // soft hyphen dropped
    CHECK(text::nfkc_casefold("pass\xE2\x80\x8Dword") == "password"); // ZERO WIDTH JOINER dropped
    CHECK_FALSE(text::nfkc_casefold("\xC3").has_value());
}

TEST_CASE("text: case_fold applies full Unicode case folding, no normalisation", "[policy]") {
    CHECK(text::case_fold("ABC def") == "abc def");
    CHECK(text::case_fold("Stra\xC3\x9F"
                          "e") == "strasse");                                         // ß → ss
    CHECK(text::case_fold("\xCE\xA3\xCE\x91\xCE\xA3") == "\xCF\x83\xCE\xB1\xCF\x83"); // ΣΑΣ → σασ
    CHECK(text::case_fold("\xCF\x82") == "\xCF\x83");         // final ς → σ
    CHECK(text::case_fold("\xC4\xB0") == "i\xCC\x87");        // İ → i + U+0307
    CHECK(text::case_fold("\xEF\xBC\xA1") == "\xEF\xBD\x81"); // Ａ → ａ, not "a"
    CHECK_FALSE(text::case_fold("A\xC3").has_value());
}

TEST_CASE("text: collapse_whitespace trims and collapses Unicode white space", "[policy]") {
    CHECK(text::collapse_whitespace("  a \t\xC2\xA0 b\xE3\x80\x80"
                                    "c  ") == "a b c"); // NBSP, U+3000
    CHECK(text::collapse_whitespace("one\r\n\n two") == "one two");
    CHECK(text::collapse_whitespace("") == "");
    CHECK(text::collapse_whitespace(" \t\n ") == "");
    CHECK(text::collapse_whitespace("caf\xC3\xA9") == "caf\xC3\xA9");
    // U+200B ZERO WIDTH SPACE is not White_Space: it is kept.
    CHECK(text::collapse_whitespace("a\xE2\x80\x8B"
                                    "b") == "a\xE2\x80\x8B"
                                            "b");
    CHECK_FALSE(text::collapse_whitespace(" a \xC3").has_value());
}
