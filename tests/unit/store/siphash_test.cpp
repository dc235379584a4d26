// SipHash-2-4 against the authors' test vectors (vectors.h of the reference implementation:
// key 00..0f, message 00 01 .. of each length, the tag read little-endian).
#include "store/siphash.hpp"

#include <catch2/catch.hpp>

#include <string>

TEST_CASE("siphash: SipHash-2-4 matches the reference vectors", "[store]") {
    const std::array<std::uint64_t, 2> key{0x0706050403020100ULL, 0x0f0e0d0c0b0a0908ULL};
    const auto message = [](std::size_t n) {
        std::string m;
        for (std::size_t i = 0; i < n; ++i) {
            m.push_back(static_cast<char>(i));
        }
        return m;
    };
    using sspr::store::detail::siphash24;
    CHECK(siphash24(key, message(0)) == 0x726fdb47dd0e0e31ULL);
    CHECK(siphash24(key, message(1)) == 0x74f839c593dc67fdULL);
    CHECK(siphash24(key, message(7)) == 0xab0200f58b01d137ULL);
    CHECK(siphash24(key, message(8)) == 0x93f5f5799a932462ULL);
    CHECK(siphash24(key, message(9)) == 0x9e0082df0ba9e4b0ULL);
}

TEST_CASE("siphash: another key gives another hash", "[store]") {
    using sspr::store::detail::siphash24;
    CHECK(siphash24({1, 2}, "ip:203.0.113.7") != siphash24({1, 3}, "ip:203.0.113.7"));
    CHECK(siphash24({1, 2}, "ip:203.0.113.7") != siphash24({1, 2}, "ip:203.0.113.8"));
}
