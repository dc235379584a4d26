// Unit tests of ldap/unicode_pwd.hpp: UTF-8 to UTF-16LE and AD's quoted unicodePwd value. The
// expected bytes are hand-computed from the code points (UTF-16 surrogates per RFC 2781 §2.1) and
// written as hex so that a failure shows which byte differs.
#include "ldap/connection.hpp"
#include "ldap/unicode_pwd.hpp"

#include <catch2/catch.hpp>

#include <optional>
#include <string>
#include <string_view>
#include <type_traits>

using namespace std::string_view_literals;
using sspr::ldap::ad_unicode_pwd;
using sspr::ldap::utf8_to_utf16le;

namespace {

// "3D D8 00 DE" for the bytes 0x3D 0xD8 0x00 0xDE; "nullopt" when there is nothing.
std::string hex_of(std::string_view value) {
    constexpr std::string_view digits = "0123456789ABCDEF";
    std::string out;
    for (const char c : value) {
        const auto byte = static_cast<unsigned char>(c);
        if (!out.empty()) {
            out += ' ';
        }
        out += digits[byte >> 4U];
        out += digits[byte & 0x0fU];
    }
    return out;
}

std::string hex_of(const std::optional<std::string>& value) {
    return value ? hex_of(std::string_view(*value)) : "nullopt";
}

std::string hex_of(const std::optional<sspr::common::secret>& value) {
    return value ? hex_of(value->reveal()) : "nullopt";
}

} // namespace

TEST_CASE("utf8_to_utf16le: ASCII becomes one little-endian unit per character", "[ldap]") {
    CHECK(hex_of(utf8_to_utf16le("")).empty());
    CHECK(utf8_to_utf16le("").has_value());
    CHECK(hex_of(utf8_to_utf16le("abc")) == "61 00 62 00 63 00");
    CHECK(hex_of(utf8_to_utf16le("\"")) == "22 00");
    CHECK(hex_of(utf8_to_utf16le("\x7f")) == "7F 00");
}

TEST_CASE("utf8_to_utf16le: two- and three-byte UTF-8 become one unit", "[ldap]") {
    CHECK(hex_of(utf8_to_utf16le("\xC3\xA4")) == "E4 00");     // U+00E4 ä
    CHECK(hex_of(utf8_to_utf16le("\xC2\x80")) == "80 00");     // U+0080
    CHECK(hex_of(utf8_to_utf16le("\xDF\xBF")) == "FF 07");     // U+07FF
    CHECK(hex_of(utf8_to_utf16le("\xED\x95\x9C")) == "5C D5"); // U+D55C 한
    CHECK(hex_of(utf8_to_utf16le("\xE2\x82\xAC")) == "AC 20"); // U+20AC €
    CHECK(hex_of(utf8_to_utf16le("\xEE\x80\x80")) == "00 E0"); // U+E000
    CHECK(hex_of(utf8_to_utf16le("\xEF\xBF\xBF")) == "FF FF"); // U+FFFF
}

TEST_CASE("utf8_to_utf16le: code points above U+FFFF become a surrogate pair", "[ldap]") {
    // U+1F600: 0x1F600 - 0x10000 = 0xF600 -> high 0xD800 + 0x3D, low 0xDC00 + 0x200.
    CHECK(hex_of(utf8_to_utf16le("\xF0\x9F\x98\x80")) == "3D D8 00 DE");
    // U+10000: the first pair, D800 DC00.
    CHECK(hex_of(utf8_to_utf16le("\xF0\x90\x80\x80")) == "00 D8 00 DC");
    // U+10FFFF: the last pair, DBFF DFFF.
    CHECK(hex_of(utf8_to_utf16le("\xF4\x8F\xBF\xBF")) == "FF DB FF DF");
}

TEST_CASE("utf8_to_utf16le: mixed text keeps its order", "[ldap]") {
    CHECK(hex_of(utf8_to_utf16le("a\xC3\xA4\xED\x95\x9C\xF0\x9F\x98\x80z")) ==
          "61 00 E4 00 5C D5 3D D8 00 DE 7A 00");
}

TEST_CASE("utf8_to_utf16le: invalid UTF-8 gives nothing", "[ldap]") {
    CHECK(hex_of(utf8_to_utf16le("\xC3")) == "nullopt");             // truncated
    CHECK(hex_of(utf8_to_utf16le("abc\x80")) == "nullopt");          // lone continuation
    CHECK(hex_of(utf8_to_utf16le("\xC0\xAF")) == "nullopt");         // overlong
    CHECK(hex_of(utf8_to_utf16le("\xED\xA0\x80")) == "nullopt");     // surrogate
    CHECK(hex_of(utf8_to_utf16le("\xF4\x90\x80\x80")) == "nullopt"); // above U+10FFFF
    CHECK(hex_of(utf8_to_utf16le("\xFF")) == "nullopt");
}

TEST_CASE("ad_unicode_pwd: wraps the password in quotes and encodes it as UTF-16LE", "[ldap]") {
    // "Pässwörd": ä is U+00E4, ö is U+00F6.
    CHECK(hex_of(ad_unicode_pwd("P\xC3\xA4ssw\xC3\xB6rd")) ==
          "22 00 50 00 E4 00 73 00 73 00 77 00 F6 00 72 00 64 00 22 00");
    CHECK(hex_of(ad_unicode_pwd("new")) == "22 00 6E 00 65 00 77 00 22 00");
    CHECK(hex_of(ad_unicode_pwd("\xF0\x9F\x98\x80")) == "22 00 3D D8 00 DE 22 00");
    // A quote inside the password is just a character to AD.
    CHECK(hex_of(ad_unicode_pwd("a\"b")) == "22 00 61 00 22 00 62 00 22 00");
}

TEST_CASE("ad_unicode_pwd: refuses NUL and invalid UTF-8", "[ldap]") {
    CHECK(hex_of(ad_unicode_pwd("pass\0word"sv)) == "nullopt");
    CHECK(hex_of(ad_unicode_pwd("\0"sv)) == "nullopt");
    CHECK(hex_of(ad_unicode_pwd("pass\xC3")) == "nullopt");
    CHECK(hex_of(ad_unicode_pwd("\xED\xA0\x80")) == "nullopt");
    CHECK(hex_of(ad_unicode_pwd("\xC0\xAF")) == "nullopt");
}

TEST_CASE("ad_unicode_pwd: the encoded password is a secret and modifications never copy it",
          "[ldap]") {
    // Wiped when it dies (common::secret), instead of a std::string the caller had to remember to
    // wipe, and whose moves left copies of short values behind.
    static_assert(
        std::is_same_v<decltype(ad_unicode_pwd("x")), std::optional<sspr::common::secret>>);
    // A modification views the caller's buffer: building one makes no unwiped copy of a password.
    static_assert(std::is_same_v<decltype(sspr::ldap::detail::modification::values),
                                 std::vector<std::string_view>>);
    const std::string password = "Short-1!"; // short values are the SSO case
    const auto encoded = ad_unicode_pwd(password);
    REQUIRE(encoded.has_value());
    const sspr::ldap::detail::modification mod{0, "unicodePwd", {encoded->reveal()}};
    CHECK(mod.values.front().data() == encoded->reveal().data());
    CHECK(hex_of(mod.values.front()) ==
          "22 00 53 00 68 00 6F 00 72 00 74 00 2D 00 31 00 21 00 22 00");
}
