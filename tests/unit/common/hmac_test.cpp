#include "common/hmac.hpp"

#include <catch2/catch.hpp>

#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <string>
#include <thread>
#include <vector>

using sspr::common::hmac_sha256;
using sspr::common::sha256_mac;

namespace {

// OpenSSL's one-shot HMAC, the reference the cached contexts must agree with byte for byte.
sha256_mac reference(std::string_view key, std::string_view data) {
    sha256_mac out{};
    unsigned len = 0;
    REQUIRE(HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
                 reinterpret_cast<const unsigned char*>(data.data()), data.size(), out.data(),
                 &len) != nullptr);
    REQUIRE(len == out.size());
    return out;
}

} // namespace

TEST_CASE("hmac_sha256: RFC 4231 test case 2", "[common][hmac]") {
    // Key "Jefe", data "what do ya want for nothing?".
    const auto mac = hmac_sha256("Jefe", "what do ya want for nothing?");
    REQUIRE(mac.has_value());
    const sha256_mac expected{0x5b, 0xdc, 0xc1, 0x46, 0xbf, 0x60, 0x75, 0x4e, 0x6a, 0x04, 0x24,
                              0x26, 0x08, 0x95, 0x75, 0xc7, 0x5a, 0x00, 0x3f, 0x08, 0x9d, 0x27,
                              0x39, 0x83, 0x9d, 0xec, 0x58, 0xb9, 0x64, 0xec, 0x38, 0x43};
    CHECK(*mac == expected);
}

TEST_CASE("hmac_sha256: agrees with OpenSSL's HMAC while keys come and go on one thread",
          "[common][hmac]") {
    // More keys than a thread keeps, used in an order that reuses, evicts and comes back, so a
    // context restarted with the wrong key, or with the previous message still in it, shows.
    std::vector<std::string> keys;
    keys.reserve(8);
    for (int i = 0; i < 7; ++i) {
        keys.push_back(std::string(static_cast<std::size_t>(16 + i), static_cast<char>('a' + i)));
    }
    keys.emplace_back(100, 'z'); // longer than the SHA-256 block: hashed first by HMAC
    for (std::size_t round = 0; round < 200; ++round) {
        const auto& key = keys[(round * 5 + round / 7) % keys.size()];
        const std::string data = "message " + std::to_string(round) + std::string(round % 70, 'x');
        const auto mac = hmac_sha256(key, data);
        REQUIRE(mac.has_value());
        CHECK(*mac == reference(key, data));
    }
    // Keys that differ only in their last byte, and a key that is a prefix of another.
    CHECK(*hmac_sha256("0123456789abcdef", "m") == reference("0123456789abcdef", "m"));
    CHECK(*hmac_sha256("0123456789abcdeg", "m") == reference("0123456789abcdeg", "m"));
    CHECK(*hmac_sha256("0123456789abcde", "m") == reference("0123456789abcde", "m"));
    CHECK(*hmac_sha256("0123456789abcdef", "") == reference("0123456789abcdef", ""));
}

TEST_CASE("hmac_sha256: threads keep contexts of their own", "[common][hmac]") {
    std::vector<std::thread> threads;
    std::vector<int> wrong(4, 0);
    for (std::size_t t = 0; t < wrong.size(); ++t) {
        threads.emplace_back([t, &wrong] {
            const std::string key = "thread key " + std::to_string(t);
            for (int i = 0; i < 500; ++i) {
                const std::string data = std::to_string(i);
                sha256_mac expected{};
                unsigned len = 0;
                HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
                     reinterpret_cast<const unsigned char*>(data.data()), data.size(),
                     expected.data(), &len);
                const auto mac = hmac_sha256(key, data);
                if (!mac || *mac != expected) {
                    ++wrong[t];
                }
            }
        });
    }
    for (auto& th : threads) {
        th.join();
    }
    CHECK(wrong == std::vector<int>(4, 0));
}
