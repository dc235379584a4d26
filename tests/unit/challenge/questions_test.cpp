// Unit tests of challenge/questions.hpp: normalisation, the argon2id round trip (at a small cost,
// the default one is measured in bench/challenge), the minimum length, malformed hashes, and the
// draw of questions.
#include "challenge/questions.hpp"

#include "tests/fakes/fake_random.hpp"

#include <catch2/catch.hpp>

#include <map>
#include <set>
#include <string>
#include <vector>

namespace {

namespace challenge = sspr::challenge;

// Small enough for a unit test; the cost itself is argon2's business.
constexpr sspr::config::argon2_cost test_cost{256, 1, 1};

std::string normalised(std::string_view answer) {
    auto n = challenge::normalise_answer(answer);
    REQUIRE(n.has_value());
    return std::string(n->reveal());
}

/// A fake random whose successive uniform() draws are `values` (each read as 8 little-endian
/// bytes, far below the rejection limit, so uniform(bound) is value % bound).
sspr::fakes::fake_random draws(std::initializer_list<std::uint64_t> values) {
    std::vector<std::byte> pattern;
    for (auto v : values) {
        for (int i = 0; i < 8; ++i) {
            pattern.push_back(static_cast<std::byte>(v & 0xffU));
            v >>= 8U;
        }
    }
    return sspr::fakes::fake_random(pattern);
}

const std::vector<std::string> five{"q1", "q2", "q3", "q4", "q5"};

} // namespace

TEST_CASE("questions: answers are case-folded, NFKC-normalised and trimmed", "[challenge]") {
    CHECK(normalised("  Seoul ") == "seoul");
    CHECK(normalised("SEOUL") == "seoul");
    CHECK(normalised("Ｓｅｏｕｌ") == "seoul"); // fullwidth
    CHECK(normalised("New \t York\n  City") == "new york city");
    CHECK(normalised("New\u3000York") == "new york"); // ideographic space
    CHECK(normalised("Stra\u00dfe") == "strasse");    // full case folding: ß -> ss
    CHECK(normalised("Se\u200boul") == "seoul");      // zero-width space is ignorable
    CHECK(normalised("\u1100\u1161") == "\uac00");    // conjoining jamo compose to 가
    CHECK(normalised("   ").empty());
}

TEST_CASE("questions: text that is not UTF-8, or far too long, is refused", "[challenge]") {
    CHECK(challenge::normalise_answer("\xff\xfe").error() == challenge::error::invalid_text);
    CHECK(challenge::normalise_answer("se\xc0\xafoul").error() == challenge::error::invalid_text);
    CHECK(challenge::normalise_answer(std::string_view("se\0oul", 6)).error() ==
          challenge::error::invalid_text);
    CHECK(challenge::normalise_answer(std::string(1025, 'a')).error() ==
          challenge::error::answer_too_long);
}

TEST_CASE("questions: an answer hashed with argon2id verifies in any equivalent form",
          "[challenge]") {
    sspr::fakes::fake_random random;
    const auto encoded = challenge::hash_answer("Seoul", 3, test_cost, random);
    REQUIRE(encoded.has_value());
    // The salt is the fake random's first 16 bytes (00 01 … 0f), base64 without padding.
    CHECK(encoded->starts_with("$argon2id$v=19$m=256,t=1,p=1$AAECAwQFBgcICQoLDA0ODw$"));
    CHECK(encoded->find("eoul") == std::string::npos);

    for (const char* same : {"Seoul", "seoul", "  Seoul ", "Ｓｅｏｕｌ", "SEOUL"}) {
        const auto ok = challenge::verify_answer(*encoded, same);
        REQUIRE(ok.has_value());
        CHECK(*ok);
    }
    for (const char* other : {"Busan", "Seoul City", "Seou", "", "\xff"}) {
        const auto ok = challenge::verify_answer(*encoded, other);
        REQUIRE(ok.has_value());
        CHECK_FALSE(*ok);
    }
}

TEST_CASE("questions: every answer gets its own salt", "[challenge]") {
    auto random = sspr::common::make_system_random();
    const auto a = challenge::hash_answer("seoul", 3, test_cost, *random);
    const auto b = challenge::hash_answer("seoul", 3, test_cost, *random);
    REQUIRE(a.has_value());
    REQUIRE(b.has_value());
    CHECK(*a != *b);
    CHECK(*challenge::verify_answer(*a, "seoul"));
    CHECK(*challenge::verify_answer(*b, "seoul"));
}

TEST_CASE("questions: answers shorter than the minimum after normalisation are refused",
          "[challenge]") {
    sspr::fakes::fake_random random;
    // "a b" is 3 code points.
    CHECK(challenge::hash_answer("  a b ", 3, test_cost, random).has_value());
    CHECK(challenge::hash_answer("ab   ", 3, test_cost, random).error() ==
          challenge::error::answer_too_short);
    CHECK(challenge::hash_answer(" 가 ", 2, test_cost, random).error() ==
          challenge::error::answer_too_short);
    CHECK(challenge::hash_answer("\u200b\u200bx", 2, test_cost, random).error() ==
          challenge::error::answer_too_short);
    // Code points, not bytes: three Hangul syllables are 9 bytes.
    CHECK(challenge::hash_answer("부산시", 3, test_cost, random).has_value());
}

TEST_CASE("questions: a cost argon2 cannot run is refused", "[challenge]") {
    sspr::fakes::fake_random random;
    CHECK(challenge::hash_answer("seoul", 3, {256, 0, 1}, random).error() ==
          challenge::error::invalid_parameters);
    CHECK(challenge::hash_answer("seoul", 3, {4, 1, 1}, random).error() ==
          challenge::error::invalid_parameters);
    CHECK(challenge::hash_answer("seoul", 3, {256, 1, 0}, random).error() ==
          challenge::error::invalid_parameters);
}

TEST_CASE("questions: malformed stored hashes are errors, not wrong answers", "[challenge]") {
    sspr::fakes::fake_random random;
    const auto encoded = challenge::hash_answer("seoul", 3, test_cost, random);
    REQUIRE(encoded.has_value());
    const std::string truncated = encoded->substr(0, encoded->size() - 10);
    const std::string argon2i = "$argon2i$" + encoded->substr(10);
    for (const std::string& bad :
         {truncated, argon2i, std::string("plain"), std::string(), std::string(300, '$')}) {
        const auto r = challenge::verify_answer(bad, "seoul");
        REQUIRE_FALSE(r.has_value());
        CHECK(r.error() == challenge::error::malformed_hash);
    }
}

TEST_CASE("questions: the draw follows the random seam, worked out by hand", "[challenge]") {
    // Partial Fisher-Yates over q1..q5 with draws 1, 3, 0:
    //   i=0: j = 0 + 1 % 5 = 1 -> q2 q1 q3 q4 q5
    //   i=1: j = 1 + 3 % 4 = 4 -> q2 q5 q3 q4 q1
    //   i=2: j = 2 + 0 % 3 = 2 -> q2 q5 q3 q4 q1, first three asked.
    auto random = draws({1, 3, 0});
    const auto drawn = challenge::draw_questions(five, 3, random);
    REQUIRE(drawn.has_value());
    CHECK(*drawn == std::vector<std::string>{"q2", "q5", "q3"});
}

TEST_CASE("questions: a redraw after a failure asks a different set", "[challenge]") {
    // The same draws 1, 3, 0 again give q2 q5 q3, the set asked before; then one drawn question
    // is traded for one not drawn: position 1 % 3 = 1 (q5) for position 3 + 3 % 2 = 4 (q1).
    auto random = draws({1, 3, 0});
    const std::vector<std::string> before{"q3", "q2", "q5"}; // order does not matter
    const auto again = challenge::draw_questions(five, 3, random, before);
    REQUIRE(again.has_value());
    CHECK(*again == std::vector<std::string>{"q2", "q1", "q3"});

    // With nothing else to ask the same questions come back.
    auto random_equal = draws({1, 0});
    const std::vector<std::string> two{"q1", "q2"};
    const auto same = challenge::draw_questions(two, 2, random_equal, two);
    REQUIRE(same.has_value());
    CHECK(std::set<std::string>(same->begin(), same->end()) == std::set<std::string>{"q1", "q2"});
}

TEST_CASE("questions: draws never repeat a question and reach every one", "[challenge]") {
    auto random = sspr::common::make_system_random();
    std::map<std::string, int> seen;
    std::vector<std::string> previous;
    for (int round = 0; round < 500; ++round) {
        const auto drawn = challenge::draw_questions(five, 3, *random, previous);
        REQUIRE(drawn.has_value());
        REQUIRE(drawn->size() == 3);
        const std::set<std::string> distinct(drawn->begin(), drawn->end());
        REQUIRE(distinct.size() == 3);
        if (!previous.empty()) {
            REQUIRE(distinct != std::set<std::string>(previous.begin(), previous.end()));
        }
        for (const auto& id : *drawn) {
            ++seen[id];
        }
        previous = *drawn;
    }
    REQUIRE(seen.size() == 5);
    for (const auto& [id, n] : seen) {
        CHECK(n > 150); // 300 expected each
    }
}

TEST_CASE("questions: too few, repeated or empty ids and a zero count are refused", "[challenge]") {
    sspr::fakes::fake_random random;
    CHECK(challenge::draw_questions(five, 0, random).error() ==
          challenge::error::invalid_parameters);
    CHECK(challenge::draw_questions(five, 6, random).error() ==
          challenge::error::not_enough_questions);
    const std::vector<std::string> repeated{"q1", "q2", "q1"};
    CHECK(challenge::draw_questions(repeated, 2, random).error() ==
          challenge::error::not_enough_questions);
    const std::vector<std::string> empty_id{"q1", "", "q3"};
    CHECK(challenge::draw_questions(empty_id, 2, random).error() ==
          challenge::error::not_enough_questions);
}
