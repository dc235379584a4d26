// Unit tests of challenge/base32.hpp against RFC 4648 section 10, and the leniency people need
// when they type a secret in by hand.
#include "challenge/base32.hpp"

#include <catch2/catch.hpp>

#include <array>
#include <string>
#include <utility>

namespace {
using sspr::challenge::base32_decode;
using sspr::challenge::base32_encode;

// RFC 4648 section 10.
constexpr std::array<std::pair<const char*, const char*>, 7> rfc4648{{
    {"", ""},
    {"f", "MY======"},
    {"fo", "MZXQ===="},
    {"foo", "MZXW6==="},
    {"foob", "MZXW6YQ="},
    {"fooba", "MZXW6YTB"},
    {"foobar", "MZXW6YTBOI======"},
}};
} // namespace

TEST_CASE("base32: RFC 4648 test vectors encode", "[challenge]") {
    for (const auto& [plain, encoded] : rfc4648) {
        CHECK(base32_encode(plain) == encoded);
    }
    CHECK(base32_encode("foobar", false) == "MZXW6YTBOI");
    CHECK(base32_encode("12345678901234567890", false) == "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
}

TEST_CASE("base32: RFC 4648 test vectors decode, padded or not, in either case", "[challenge]") {
    for (const auto& [plain, encoded] : rfc4648) {
        const auto padded = base32_decode(encoded);
        REQUIRE(padded.has_value());
        CHECK(*padded == plain);

        std::string unpadded(encoded);
        while (!unpadded.empty() && unpadded.back() == '=') {
            unpadded.pop_back();
        }
        const auto bare = base32_decode(unpadded);
        REQUIRE(bare.has_value());
        CHECK(*bare == plain);
    }
    const auto lower = base32_decode("mzxw6ytboi");
    REQUIRE(lower.has_value());
    CHECK(*lower == "foobar");
    const auto grouped = base32_decode("GEZD GNBV GY3T QOJQ-GEZD GNBV GY3T QOJQ");
    REQUIRE(grouped.has_value());
    CHECK(*grouped == "12345678901234567890");
}

TEST_CASE("base32: bytes outside ASCII survive the round trip", "[challenge]") {
    std::string all;
    for (int i = 0; i < 256; ++i) {
        all.push_back(static_cast<char>(i));
    }
    const auto back = base32_decode(base32_encode(all));
    REQUIRE(back.has_value());
    CHECK(*back == all);
}

TEST_CASE("base32: foreign characters, misplaced padding and impossible lengths are refused",
          "[challenge]") {
    for (const char* bad : {"MZXW6YTB1", "MZXW6YT0", "MZ=XW6YT", "M", "MZX", "MZXW6Y",
                            "MY==", "MZXW6YTB========", "MZXW6YQ=A", "MZ_W6YTB"}) {
        const auto r = base32_decode(bad);
        CHECK_FALSE(r.has_value());
        if (!r) {
            CHECK(r.error() == sspr::challenge::error::invalid_base32);
        }
    }
}
