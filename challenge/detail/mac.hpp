// HMAC for the challenge layer (OpenSSL 3 EVP_MAC): the keyed hashes of codes and bindings, the
// TOTP/HOTP truncation input, and the fake hints of unknown users. Internal to challenge/.
#pragma once

#include <openssl/evp.h>

#include <array>
#include <cstddef>
#include <initializer_list>
#include <memory>
#include <span>
#include <string_view>

namespace sspr::challenge::detail {

enum class mac_digest { sha1, sha256, sha512 };

inline constexpr std::size_t max_mac_size = 64; // SHA-512

struct mac_ctx_deleter {
    void operator()(EVP_MAC_CTX* ctx) const noexcept { EVP_MAC_CTX_free(ctx); }
};
using mac_ctx_ptr = std::unique_ptr<EVP_MAC_CTX, mac_ctx_deleter>;

/// One HMAC computation fed in pieces. OpenSSL failing here means it cannot allocate or is broken,
/// which no request can recover from, so the constructor and final() throw std::runtime_error
/// (like common::random when RAND_bytes fails) instead of returning an error value.
class hmac {
public:
    hmac(mac_digest digest, std::string_view key);

    hmac& update(std::string_view bytes);
    hmac& update(std::span<const unsigned char> bytes);
    /// A field preceded by its length (8 bytes, big-endian), so that concatenated fields can never
    /// be read two ways ("ab"+"c" and "a"+"bc" give different input).
    hmac& update_field(std::string_view bytes);

    /// The MAC; its size is the digest's (20, 32 or 64 bytes). Call once.
    [[nodiscard]] std::span<const unsigned char> final();

    ~hmac();
    hmac(const hmac&) = delete;
    hmac& operator=(const hmac&) = delete;

private:
    mac_ctx_ptr ctx_;
    std::array<unsigned char, max_mac_size> out_{};
    std::size_t out_size_ = 0;
};

/// HMAC-SHA-256 of a list of length-prefixed fields: the form every keyed hash in challenge/ uses,
/// with a purpose label first so that MACs made for one purpose never match another's.
std::array<unsigned char, 32> hmac_sha256_fields(std::string_view key, std::string_view label,
                                                 std::initializer_list<std::string_view> fields);

} // namespace sspr::challenge::detail
