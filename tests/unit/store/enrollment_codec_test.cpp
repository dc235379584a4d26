// Unit tests of the enrollment layout at rest (store/enrollment_codec.hpp): the plaintext bytes
// written out by hand, round trips, and damaged plaintexts reported as corrupt.
#include "store/enrollment_codec.hpp"
#include "tests/fakes/fake_random.hpp"

#include <catch2/catch.hpp>

#include <array>
#include <string>

using namespace sspr::store;
using namespace sspr::store::detail;
using namespace std::chrono_literals;

namespace {

constexpr timestamp at_1000ms{std::chrono::milliseconds(1000)};

std::string bytes(std::initializer_list<int> values) {
    std::string out;
    for (const int v : values) {
        out.push_back(static_cast<char>(v));
    }
    return out;
}

} // namespace

TEST_CASE("enrollment codec: contacts are version, count, then length-prefixed address, "
          "confirmed flag and time",
          "[store]") {
    const std::vector<contact> contacts{{"a@b", at_1000ms}, {"x", std::nullopt}};
    const auto expected = bytes({1, 0, 0, 0, 2,                         // version, count 2
                                 0, 0, 0, 3, 'a', '@', 'b',             // "a@b"
                                 1, 0, 0, 0, 0,   0,   0,   0x03, 0xe8, // confirmed at 1000 ms
                                 0, 0, 0, 1, 'x',                       // "x"
                                 0, 0, 0, 0, 0,   0,   0,   0,    0});  // never confirmed
    CHECK(encode_contacts(contacts) == expected);
    CHECK(decode_contacts(expected).value() == contacts);
    CHECK(decode_contacts(bytes({1, 0, 0, 0, 0})).value().empty());
}

TEST_CASE("enrollment codec: TOTP keeps secret and confirmed flag; absent is one byte", "[store]") {
    CHECK(encode_totp(std::nullopt) == bytes({1, 0}));
    totp_enrollment t;
    t.secret = sspr::common::secret(std::string("k\0y", 3));
    t.confirmed = true;
    t.last_used_step = 99; // kept in a column of its own, not here
    const auto plain = encode_totp(t);
    // ... then the confirmation time: none (0) and eight zero bytes.
    CHECK(plain == bytes({1, 1, 0, 0, 0, 3, 'k', 0, 'y', 1, 0, 0, 0, 0, 0, 0, 0, 0, 0}));
    const auto back = decode_totp(plain).value();
    REQUIRE(back.has_value());
    CHECK(back->secret.reveal() == std::string_view("k\0y", 3));
    CHECK(back->confirmed);
    CHECK(back->last_used_step == -1);
    CHECK_FALSE(decode_totp(bytes({1, 0})).value().has_value());
    // Written before confirmation times were kept: no trailing time, read as "not known".
    CHECK_FALSE(back->confirmed_at.has_value());
    CHECK_FALSE(decode_totp(bytes({1, 1, 0, 0, 0, 3, 'k', 0, 'y', 1})).value()->confirmed_at);
}

TEST_CASE("enrollment codec: the TOTP's and the answers' confirmation times round-trip",
          "[store]") {
    totp_enrollment t;
    t.secret = sspr::common::secret(std::string("key"));
    t.confirmed = true;
    t.confirmed_at = at_1000ms;
    const auto back = decode_totp(encode_totp(t)).value();
    REQUIRE(back.has_value());
    CHECK(back->confirmed_at == std::optional<timestamp>(at_1000ms));
    const std::vector<question_answer> q{{"pet", "$h"}};
    std::optional<timestamp> when;
    CHECK(decode_questions(encode_questions(q, at_1000ms), &when).value() == q);
    CHECK(when == std::optional<timestamp>(at_1000ms));
    CHECK(decode_questions(encode_questions(q), &when).value() == q);
    CHECK_FALSE(when.has_value());
    // A time cut short is damage, not an older row.
    const auto cut = encode_totp(t);
    CHECK(decode_totp(cut.substr(0, cut.size() - 3)).error() == error::corrupt);
}

TEST_CASE("enrollment codec: questions are id and hash pairs", "[store]") {
    const std::vector<question_answer> q{{"pet", "$h"}};
    const auto plain = encode_questions(q);
    CHECK(plain == bytes({1, 0, 0,   0,   1, 0, 0, 0, 3, 'p', 'e', 't', 0, 0,
                          0, 2, '$', 'h', 0, 0, 0, 0, 0, 0,   0,   0,   0}));
    CHECK(decode_questions(plain).value() == q);
}

TEST_CASE("enrollment codec: damaged plaintexts are corrupt, never read past", "[store]") {
    const auto good = encode_contacts({{"a@b", at_1000ms}});
    for (std::size_t n = 0; n < good.size(); ++n) {
        INFO("truncated to " << n);
        CHECK(decode_contacts(good.substr(0, n)).error() == error::corrupt);
    }
    CHECK(decode_contacts(good + "x").error() == error::corrupt);             // trailing byte
    CHECK(decode_contacts(bytes({2, 0, 0, 0, 0})).error() == error::corrupt); // unknown version
    CHECK(decode_contacts(bytes({1, 0x7f, 0xff, 0xff, 0xff})).error() == error::corrupt); // count
    CHECK(decode_contacts(bytes({1, 0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff})).error() ==
          error::corrupt); // address length past the end
    CHECK(decode_totp(bytes({1, 2})).error() == error::corrupt);
    CHECK(decode_totp(bytes({1, 0, 0})).error() == error::corrupt);
    CHECK(decode_questions(bytes({1, 0, 0, 0, 1, 0, 0, 0, 9, 'p'})).error() == error::corrupt);
}

TEST_CASE("enrollment codec: a sealed enrollment opens back, and each field is sealed for itself",
          "[store]") {
    std::array<std::byte, 32> raw{};
    raw.fill(std::byte{0x11});
    const crypto::keyring keys{crypto::key(raw)};
    sspr::fakes::fake_random random;
    enrollment e;
    e.user_dn = "uid=alice,dc=x";
    e.emails = {{"alice@example.org", at_1000ms}};
    e.phones = {{"+1 555 0100", std::nullopt}};
    totp_enrollment t;
    t.secret = sspr::common::secret("JBSWY3DPEHPK3PXP");
    e.totp = std::move(t);
    e.questions = {{"pet", "$argon2id$x"}};

    const auto row = seal_enrollment(e, 4, keys, random).value();
    CHECK(row.key_id == keys.active().id());
    for (const auto* blob : {&row.emails, &row.phones, &row.totp, &row.questions}) {
        CHECK(crypto::sealed_key_id(*blob) == keys.active().id());
    }

    enrollment back;
    REQUIRE(open_enrollment(row, "uid=alice,dc=x", 4, keys, back).has_value());
    CHECK(back.user_dn == "uid=alice,dc=x");
    CHECK(back.emails == e.emails);
    CHECK(back.phones == e.phones);
    CHECK(back.totp->secret.reveal() == "JBSWY3DPEHPK3PXP");
    CHECK(back.questions == e.questions);

    enrollment elsewhere;
    CHECK(open_enrollment(row, "uid=bob,dc=x", 4, keys, elsewhere).error() == error::corrupt);
    auto swapped = row;
    std::swap(swapped.emails, swapped.phones);
    CHECK(open_enrollment(swapped, "uid=alice,dc=x", 4, keys, elsewhere).error() == error::corrupt);
    // Sealed for version 4: as version 3 or 5 of the row it does not open.
    CHECK(open_enrollment(row, "uid=alice,dc=x", 3, keys, elsewhere).error() == error::corrupt);
    CHECK(open_enrollment(row, "uid=alice,dc=x", 5, keys, elsewhere).error() == error::corrupt);
    // Nor as a legacy (format 1) row.
    CHECK(open_legacy_enrollment(row, "uid=alice,dc=x", keys, elsewhere).error() == error::corrupt);
}
