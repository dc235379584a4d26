// Unit tests of ldap/escape.hpp: RFC 4515 filter escaping, RFC 4514 DN escaping, the UTF-8
// validator and the user filter template. Expected strings are written out from the RFCs by hand.
#include "ldap/escape.hpp"

#include <catch2/catch.hpp>

#include <string>
#include <string_view>

using namespace std::string_view_literals;
using sspr::ldap::escape_dn_value;
using sspr::ldap::escape_filter_value;
using sspr::ldap::expand_filter;
using sspr::ldap::is_valid_filter_template;
using sspr::ldap::is_valid_utf8;

TEST_CASE("escape_filter_value: each RFC 4515 special becomes its hex escape", "[ldap]") {
    CHECK(escape_filter_value("*") == R"(\2a)");
    CHECK(escape_filter_value("(") == R"(\28)");
    CHECK(escape_filter_value(")") == R"(\29)");
    CHECK(escape_filter_value(R"(\)") == R"(\5c)");
    CHECK(escape_filter_value("\0"sv) == R"(\00)");
    CHECK(escape_filter_value("a\0b"sv) == R"(a\00b)");
}

TEST_CASE("escape_filter_value: other control bytes are hex-escaped too", "[ldap]") {
    CHECK(escape_filter_value("\x01") == R"(\01)");
    CHECK(escape_filter_value("a\nb") == R"(a\0ab)");
    CHECK(escape_filter_value("\r") == R"(\0d)");
    CHECK(escape_filter_value("\t") == R"(\09)");
    CHECK(escape_filter_value("\x1f") == R"(\1f)");
    CHECK(escape_filter_value("\x7f") == R"(\7f)");
}

TEST_CASE("escape_filter_value: ordinary characters and non-ASCII UTF-8 pass unchanged", "[ldap]") {
    CHECK(escape_filter_value("") == "");
    CHECK(escape_filter_value("j.doe@example.org") == "j.doe@example.org");
    // `=` `&` `|` `!` `~` `<` `>` are only special outside an assertion value.
    CHECK(escape_filter_value("a=b&c|d!e~f<g>h") == "a=b&c|d!e~f<g>h");
    CHECK(escape_filter_value("j\xC3\xBCrgen") == "j\xC3\xBCrgen");                       // jürgen
    CHECK(escape_filter_value("\xED\x95\x9C\xEA\xB5\xAD") == "\xED\x95\x9C\xEA\xB5\xAD"); // 한국
    CHECK(escape_filter_value("\xF0\x9F\x98\x80") == "\xF0\x9F\x98\x80");                 // U+1F600
}

TEST_CASE("escape_filter_value: injection attempts are neutralised", "[ldap]") {
    CHECK(escape_filter_value("*)(uid=*") == R"(\2a\29\28uid=\2a)");
    CHECK(escape_filter_value("admin)(|(uid=*") == R"(admin\29\28|\28uid=\2a)");
    CHECK(escape_filter_value("*)(objectClass=*))(|(cn=*") ==
          R"(\2a\29\28objectClass=\2a\29\29\28|\28cn=\2a)");
    // An already-escaped value is escaped again: the backslash itself is data.
    CHECK(escape_filter_value(R"(\2a)") == R"(\5c2a)");
}

TEST_CASE("expand_filter: replaces one placeholder with the escaped login", "[ldap]") {
    CHECK(expand_filter("(uid={login})", "jdoe") == "(uid=jdoe)");
    CHECK(expand_filter("(uid={login})", "*") == R"((uid=\2a))");
    CHECK(expand_filter("(&(objectClass=person)(uid={login}))", "*)(uid=*") ==
          R"((&(objectClass=person)(uid=\2a\29\28uid=\2a)))");
}

TEST_CASE("expand_filter: replaces every placeholder", "[ldap]") {
    CHECK(expand_filter("(|(sAMAccountName={login})(userPrincipalName={login}))", "a*") ==
          R"((|(sAMAccountName=a\2a)(userPrincipalName=a\2a)))");
    CHECK(expand_filter("(|(a={login})(b={login})(c={login}))", "x") == "(|(a=x)(b=x)(c=x))");
    // Adjacent placeholders.
    CHECK(expand_filter("(cn={login}{login})", "ab") == "(cn=abab)");
}

TEST_CASE("expand_filter: a login that looks like the placeholder is not expanded again",
          "[ldap]") {
    CHECK(expand_filter("(uid={login})", "{login}") == "(uid={login})");
    CHECK(expand_filter("(uid={login})", "") == "(uid=)");
    CHECK(expand_filter("(uid=jdoe)", "ignored") == "(uid=jdoe)");
}

TEST_CASE("is_valid_filter_template: accepts parenthesised filters containing {login}", "[ldap]") {
    CHECK(is_valid_filter_template("(uid={login})"));
    CHECK(is_valid_filter_template("(&(objectClass=person)(uid={login}))"));
    CHECK(is_valid_filter_template("(&(objectCategory=person)(objectClass=user)"
                                   "(|(sAMAccountName={login})(userPrincipalName={login})))"));
}

TEST_CASE("is_valid_filter_template: refuses unbalanced, unparenthesised or placeholder-less "
          "templates",
          "[ldap]") {
    CHECK_FALSE(is_valid_filter_template(""));
    CHECK_FALSE(is_valid_filter_template("("));
    CHECK_FALSE(is_valid_filter_template("()"));
    // Unbalanced parentheses.
    CHECK_FALSE(is_valid_filter_template("(uid={login}"));
    CHECK_FALSE(is_valid_filter_template("((uid={login})"));
    CHECK_FALSE(is_valid_filter_template("(uid={login}))"));
    CHECK_FALSE(is_valid_filter_template("(&(objectClass=person)(uid={login})"));
    CHECK_FALSE(is_valid_filter_template("(uid={login}))(("));
    // No outer parentheses.
    CHECK_FALSE(is_valid_filter_template("uid={login}"));
    CHECK_FALSE(is_valid_filter_template("uid=({login})"));
    CHECK_FALSE(is_valid_filter_template(")uid={login}("));
    // No placeholder (or a misspelt one).
    CHECK_FALSE(is_valid_filter_template("(uid=jdoe)"));
    CHECK_FALSE(is_valid_filter_template("(uid={Login})"));
    CHECK_FALSE(is_valid_filter_template("(uid={login)"));
}

TEST_CASE("is_valid_filter_template: refuses two filters side by side", "[ldap]") {
    // Balanced and starting/ending with parentheses, but not one filter: libldap's filter parser
    // stops after the first and answers a filter error for every search.
    CHECK_FALSE(is_valid_filter_template("(objectClass=person)(uid={login})"));
    CHECK_FALSE(is_valid_filter_template("(uid={login})(uid={login})"));
}

TEST_CASE("escape_dn_value: RFC 4514 specials get a backslash", "[ldap]") {
    CHECK(escape_dn_value(R"(a"b)") == R"(a\"b)");
    CHECK(escape_dn_value("a+b") == R"(a\+b)");
    CHECK(escape_dn_value("a,b") == R"(a\,b)");
    CHECK(escape_dn_value("a;b") == R"(a\;b)");
    CHECK(escape_dn_value("a<b") == R"(a\<b)");
    CHECK(escape_dn_value("a>b") == R"(a\>b)");
    CHECK(escape_dn_value(R"(a\b)") == R"(a\\b)");
    CHECK(escape_dn_value("a=b") == R"(a\=b)");
    CHECK(escape_dn_value("Smith, John") == R"(Smith\, John)");
    CHECK(escape_dn_value("cn=admin,dc=example") == R"(cn\=admin\,dc\=example)");
}

TEST_CASE("escape_dn_value: leading # and leading or trailing spaces are escaped, inner ones not",
          "[ldap]") {
    CHECK(escape_dn_value("#admin") == R"(\#admin)");
    CHECK(escape_dn_value("a#b#") == "a#b#");
    CHECK(escape_dn_value(" john") == R"(\ john)");
    CHECK(escape_dn_value("john ") == R"(john\ )");
    CHECK(escape_dn_value("john smith") == "john smith");
    CHECK(escape_dn_value(" a b ") == R"(\ a b\ )");
    CHECK(escape_dn_value(" ") == R"(\ )");
    CHECK(escape_dn_value("  ") == R"(\ \ )");
}

TEST_CASE("escape_dn_value: NUL and control bytes become hex pairs, UTF-8 passes unchanged",
          "[ldap]") {
    CHECK(escape_dn_value("a\0b"sv) == R"(a\00b)");
    CHECK(escape_dn_value("a\nb") == R"(a\0ab)");
    CHECK(escape_dn_value("M\xC3\xBCller") == "M\xC3\xBCller"); // Müller
    CHECK(escape_dn_value("") == "");
    CHECK(escape_dn_value("jdoe") == "jdoe");
}

TEST_CASE("is_valid_utf8: accepts well-formed 1 to 4 byte sequences", "[ldap]") {
    CHECK(is_valid_utf8(""));
    CHECK(is_valid_utf8("plain ASCII"));
    CHECK(is_valid_utf8("\0"sv));             // U+0000 is a valid scalar value
    CHECK(is_valid_utf8("\x7f"));             // U+007F
    CHECK(is_valid_utf8("\xC2\x80"));         // U+0080, smallest 2-byte
    CHECK(is_valid_utf8("\xC3\xA4"));         // U+00E4 ä
    CHECK(is_valid_utf8("\xDF\xBF"));         // U+07FF
    CHECK(is_valid_utf8("\xE0\xA0\x80"));     // U+0800, smallest 3-byte
    CHECK(is_valid_utf8("\xE2\x82\xAC"));     // U+20AC €
    CHECK(is_valid_utf8("\xED\x9F\xBF"));     // U+D7FF, just below the surrogates
    CHECK(is_valid_utf8("\xEE\x80\x80"));     // U+E000, just above them
    CHECK(is_valid_utf8("\xEF\xBF\xBF"));     // U+FFFF
    CHECK(is_valid_utf8("\xF0\x90\x80\x80")); // U+10000, smallest 4-byte
    CHECK(is_valid_utf8("\xF0\x9F\x98\x80")); // U+1F600
    CHECK(is_valid_utf8("\xF4\x8F\xBF\xBF")); // U+10FFFF, the last code point
    CHECK(is_valid_utf8("P\xC3\xA4ss \xED\x95\x9C \xF0\x9F\x98\x80!")); // mixed
}

TEST_CASE("is_valid_utf8: refuses overlong forms", "[ldap]") {
    CHECK_FALSE(is_valid_utf8("\xC0\xAF"));         // '/' in 2 bytes
    CHECK_FALSE(is_valid_utf8("\xC0\x80"));         // NUL in 2 bytes
    CHECK_FALSE(is_valid_utf8("\xC1\xBF"));         // U+007F in 2 bytes
    CHECK_FALSE(is_valid_utf8("\xE0\x80\xAF"));     // '/' in 3 bytes
    CHECK_FALSE(is_valid_utf8("\xE0\x9F\xBF"));     // U+07FF in 3 bytes
    CHECK_FALSE(is_valid_utf8("\xF0\x80\x80\xAF")); // '/' in 4 bytes
    CHECK_FALSE(is_valid_utf8("\xF0\x8F\xBF\xBF")); // U+FFFF in 4 bytes
}

TEST_CASE("is_valid_utf8: refuses surrogates and code points above U+10FFFF", "[ldap]") {
    CHECK_FALSE(is_valid_utf8("\xED\xA0\x80"));             // U+D800
    CHECK_FALSE(is_valid_utf8("\xED\xBF\xBF"));             // U+DFFF
    CHECK_FALSE(is_valid_utf8("\xED\xA0\xBD\xED\xB8\x80")); // CESU-8 pair for U+1F600
    CHECK_FALSE(is_valid_utf8("\xF4\x90\x80\x80"));         // U+110000
    CHECK_FALSE(is_valid_utf8("\xF7\xBF\xBF\xBF"));         // U+1FFFFF
    CHECK_FALSE(is_valid_utf8("\xF8\x88\x80\x80\x80"));     // old 5-byte form
    CHECK_FALSE(is_valid_utf8("\xFC\x84\x80\x80\x80\x80")); // old 6-byte form
    CHECK_FALSE(is_valid_utf8("\xFE"));
    CHECK_FALSE(is_valid_utf8("\xFF"));
}

TEST_CASE("is_valid_utf8: refuses truncated sequences and lone continuation bytes", "[ldap]") {
    CHECK_FALSE(is_valid_utf8("\xC3"));
    CHECK_FALSE(is_valid_utf8("abc\xC3"));
    CHECK_FALSE(is_valid_utf8("\xE2\x82"));
    CHECK_FALSE(is_valid_utf8("\xF0\x9F\x98"));
    CHECK_FALSE(is_valid_utf8("\xE2\x82"
                              "a"));                    // truncated, then ASCII
    CHECK_FALSE(is_valid_utf8("\xC3\x28"));             // continuation replaced by '('
    CHECK_FALSE(is_valid_utf8("\xF0\x9F\x98\xC3\xA4")); // 4-byte cut short by a new lead
    CHECK_FALSE(is_valid_utf8("\x80"));
    CHECK_FALSE(is_valid_utf8("\xBF"));
    CHECK_FALSE(is_valid_utf8("a\x80z"));
    CHECK_FALSE(is_valid_utf8("\xC3\xA4\xA4")); // one continuation too many
}
