// The message catalogue (gateway/i18n.hpp) and the shipped messages/*.json: both languages hold
// the same keys and placeholders, every password rule and directory error has a text, loading
// refuses a drifted translation, placeholders are filled, and Accept-Language is negotiated with
// its q-values.
#include "gateway/i18n.hpp"

#include "ldap/error.hpp"
#include "policy/password_rules.hpp"

#include <catch2/catch.hpp>

#include <array>
#include <string>
#include <vector>

using Catch::Matchers::Contains;
using sspr::gateway::catalogue_error;
using sspr::gateway::i18n;
using sspr::gateway::negotiate;
using sspr::gateway::placeholders;
using sspr::gateway::substitute;

namespace {

const std::vector<std::string> languages{"en", "ko"};

i18n shipped() {
    return i18n::load(SSPR_MESSAGES_DIR, languages);
}

i18n two(const std::string& en, const std::string& ko) {
    const std::vector<i18n::document> docs{{"en", en, ""}, {"ko", ko, ""}};
    return i18n::parse(docs);
}

} // namespace

TEST_CASE("i18n: the shipped catalogues load, with the same keys in en and ko", "[gateway]") {
    // load() itself refuses a key missing in one language or a placeholder that differs.
    const i18n m = shipped();
    CHECK(m.languages() == languages);
    CHECK(m.keys().size() > 100);
    for (const auto& key : m.keys()) {
        INFO(key);
        CHECK(m.text("ko", key) != key); // a text of its own, not the key fallback
        CHECK(placeholders(m.text("en", key)) == placeholders(m.text("ko", key)));
        // Translated, not copied: only a language's own name reads the same in both.
        if (key != "ui.language.en" && key != "ui.language.ko") {
            CHECK(m.text("en", key) != m.text("ko", key));
        }
    }
    // A Korean text really is Korean (Hangul syllables are U+AC00..U+D7A3: UTF-8 lead 0xEA..0xED).
    const std::string ko = m.text("ko", "problem.flow_not_found");
    CHECK(ko != m.text("en", "problem.flow_not_found"));
    CHECK(static_cast<unsigned char>(ko.front()) >= 0xEA);
}

TEST_CASE("i18n: every password rule has a text, with the figures the rule gives", "[gateway]") {
    using sspr::policy::password_rule;
    const i18n m = shipped();
    const std::array rules{password_rule::invalid_utf8, password_rule::invalid_character,
                           password_rule::too_short,    password_rule::too_long,
                           password_rule::not_complex,  password_rule::contains_name,
                           password_rule::banned,       password_rule::breached};
    for (const auto rule : rules) {
        const std::string key(sspr::policy::message_key(rule));
        INFO(key);
        CHECK(m.has(key));
    }
    CHECK(placeholders(m.text("en", "password.too_short")) == std::vector<std::string>{"min"});
    CHECK(placeholders(m.text("en", "password.too_long")) == std::vector<std::string>{"max"});
    CHECK(placeholders(m.text("en", "password.banned")) == std::vector<std::string>{"min_score"});
}

TEST_CASE("i18n: every directory refusal of ldap/error.hpp has a text", "[gateway]") {
    // Keep this list in step with ldap::error: the static_assert fails when a value is added.
    static_assert(static_cast<int>(sspr::ldap::error::directory_refused) == 25);
    const std::array<const char*, 25> names{"invalid_credentials",
                                            "account_locked",
                                            "account_disabled",
                                            "account_expired",
                                            "password_expired",
                                            "must_change_password",
                                            "password_too_short",
                                            "password_not_complex",
                                            "password_in_history",
                                            "password_too_young",
                                            "password_too_long",
                                            "password_restriction",
                                            "wrong_current_password",
                                            "access_denied",
                                            "tls_required",
                                            "tls_failure",
                                            "invalid_password_encoding",
                                            "ambiguous_user",
                                            "no_such_object",
                                            "not_verified",
                                            "unsupported",
                                            "server_down",
                                            "timeout",
                                            "overloaded",
                                            "directory_refused"};
    const i18n m = shipped();
    for (const char* name : names) {
        INFO(name);
        CHECK(m.has(std::string("ldap.") + name));
    }
}

TEST_CASE("i18n: text fills placeholders and falls back sensibly", "[gateway]") {
    const i18n m = two(R"({"a": "at least {min} of {max}", "b": "plain {not a name} {}"})",
                       R"({"a": "{max} 중 {min} 이상", "b": "평문 {not a name} {}"})");
    CHECK(m.text("en", "a", {{"min", "8"}, {"max", "64"}}) == "at least 8 of 64");
    CHECK(m.text("ko", "a", {{"min", "8"}, {"max", "64"}}) == "64 중 8 이상");
    // A figure not given stays visible rather than silently vanishing.
    CHECK(m.text("en", "a", {{"min", "8"}}) == "at least 8 of {max}");
    CHECK(m.text("en", "b", {{"not a name", "x"}}) == "plain {not a name} {}");
    // A value is inserted as it is, never expanded again.
    CHECK(m.text("en", "a", {{"min", "{max}"}, {"max", "9"}}) == "at least {max} of 9");
    CHECK(m.text("fr", "a", {{"min", "1"}, {"max", "2"}}) == "at least 1 of 2"); // first language
    CHECK(m.text("en", "missing.key") == "missing.key");
    CHECK(substitute("{x}{x}", {{"x", "ab"}}) == "abab");
}

TEST_CASE("i18n: a drifted translation is a start-up error naming the key", "[gateway]") {
    CHECK_THROWS_WITH(two(R"({"a": "x", "b": "y"})", R"({"a": "x"})"),
                      Contains("\"b\"") && Contains("missing in ko"));
    CHECK_THROWS_WITH(two(R"({"a": "x"})", R"({"a": "x", "c": "z"})"),
                      Contains("\"c\"") && Contains("missing in en"));
    CHECK_THROWS_WITH(two(R"({"a": "{min}"})", R"({"a": "{max}"})"), Contains("\"a\""));
    CHECK_THROWS_AS(two(R"({"a": 1})", R"({"a": "x"})"), catalogue_error);
    CHECK_THROWS_AS(two(R"({"a": ""})", R"({"a": "x"})"), catalogue_error);
    CHECK_THROWS_AS(two(R"(["a"])", R"({"a": "x"})"), catalogue_error);
    CHECK_THROWS_AS(two(R"({"a": "x")", R"({"a": "x"})"), catalogue_error);
    CHECK_THROWS_WITH(i18n::load("/nonexistent-ssprd-messages", languages),
                      Contains("/nonexistent-ssprd-messages/en.json"));
}

TEST_CASE("i18n: negotiate honours q-values, order, ranges and exclusions", "[gateway]") {
    const std::vector<std::string> avail{"en", "ko"};
    CHECK(negotiate("", avail, "en") == "en");
    CHECK(negotiate("ko", avail, "en") == "ko");
    CHECK(negotiate("ko-KR,ko;q=0.9,en-US;q=0.8,en;q=0.7", avail, "en") == "ko");
    CHECK(negotiate("en-US,en;q=0.9,ko;q=0.8", avail, "ko") == "en");
    CHECK(negotiate("en;q=0.2, ko;q=0.8", avail, "en") == "ko"); // weight beats order
    CHECK(negotiate("ko;q=0.5, en;q=0.5", avail, "en") == "ko"); // tie: order
    CHECK(negotiate("KO-kr", avail, "en") == "ko");              // case-insensitive
    CHECK(negotiate("fr-FR, fr;q=0.9", avail, "ko") == "ko");    // nothing matches
    CHECK(negotiate("*", avail, "ko") == "ko");                  // any: the fallback
    CHECK(negotiate("en;q=0, *", avail, "en") == "ko");          // en excluded
    CHECK(negotiate("ko;q=0", avail, "ko") == "ko");             // all excluded: fallback
    CHECK(negotiate("en-GB;q=0.1, en;q=0.9, ko;q=0.5", avail, "ko") == "en"); // exact wins
    CHECK(negotiate("ko;q=2, en;q=0.1", avail, "ko") == "en");                // malformed q ignored
    CHECK(negotiate("ko;q=abc", avail, "en") == "en");
    CHECK(negotiate("ko ; q=0.8 , en ; q=0.9", avail, "ko") == "en"); // whitespace
    CHECK(negotiate(",,,", avail, "en") == "en");
    CHECK(negotiate("kor", avail, "en") == "en"); // "kor" is not "ko"
    // The last range without a weight of its own has q=1 (Beast 1.81's ext_list gets this
    // wrong; see negotiate).
    CHECK(negotiate("en;q=0.1, ko", avail, "en") == "ko");
    CHECK(negotiate("en;q=0, ko", avail, "en") == "ko");
}
