#include "challenge/detail/mac.hpp"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/params.h>

#include <algorithm>
#include <cstdint>
#include <stdexcept>

namespace sspr::challenge::detail {
namespace {

EVP_MAC* hmac_algorithm() {
    // Fetched once: fetching is a provider lookup under a lock, too slow for every code. It is
    // deliberately never freed; OpenSSL's own exit handler would race a static destructor.
    static EVP_MAC* const mac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
    if (mac == nullptr) {
        throw std::runtime_error("OpenSSL has no HMAC implementation");
    }
    return mac;
}

const char* digest_name(mac_digest d) {
    switch (d) {
    case mac_digest::sha1:
        return "SHA1";
    case mac_digest::sha256:
        return "SHA256";
    case mac_digest::sha512:
        return "SHA512";
    }
    throw std::logic_error("unknown mac_digest");
}

} // namespace

hmac::hmac(mac_digest digest, std::string_view key) : ctx_(EVP_MAC_CTX_new(hmac_algorithm())) {
    if (!ctx_) {
        throw std::runtime_error("EVP_MAC_CTX_new failed");
    }
    // OSSL_PARAM wants a mutable char*; OpenSSL only reads it.
    std::array<OSSL_PARAM, 2> params{
        OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
                                         const_cast<char*>(digest_name(digest)), 0),
        OSSL_PARAM_construct_end()};
    if (EVP_MAC_init(ctx_.get(), reinterpret_cast<const unsigned char*>(key.data()), key.size(),
                     params.data()) != 1) {
        throw std::runtime_error("EVP_MAC_init failed");
    }
}

hmac::~hmac() {
    OPENSSL_cleanse(out_.data(), out_.size());
}

hmac& hmac::update(std::string_view bytes) {
    return update(std::span(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size()));
}

hmac& hmac::update(std::span<const unsigned char> bytes) {
    if (!bytes.empty() && EVP_MAC_update(ctx_.get(), bytes.data(), bytes.size()) != 1) {
        throw std::runtime_error("EVP_MAC_update failed");
    }
    return *this;
}

hmac& hmac::update_field(std::string_view bytes) {
    std::array<unsigned char, 8> length{};
    auto n = static_cast<std::uint64_t>(bytes.size());
    for (auto it = length.rbegin(); it != length.rend(); ++it) {
        *it = static_cast<unsigned char>(n & 0xffU);
        n >>= 8U;
    }
    update(length);
    return update(bytes);
}

std::span<const unsigned char> hmac::final() {
    if (EVP_MAC_final(ctx_.get(), out_.data(), &out_size_, out_.size()) != 1) {
        throw std::runtime_error("EVP_MAC_final failed");
    }
    return {out_.data(), out_size_};
}

std::array<unsigned char, 32> hmac_sha256_fields(std::string_view key, std::string_view label,
                                                 std::initializer_list<std::string_view> fields) {
    hmac mac(mac_digest::sha256, key);
    mac.update_field(label);
    for (const auto field : fields) {
        mac.update_field(field);
    }
    const auto out = mac.final();
    std::array<unsigned char, 32> result{};
    std::copy_n(out.begin(), result.size(), result.begin());
    return result;
}

} // namespace sspr::challenge::detail
