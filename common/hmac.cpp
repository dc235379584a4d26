#include "common/hmac.hpp"

#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>

#include <memory>
#include <string>

namespace sspr::common {
namespace {

EVP_MAC* hmac_algorithm() {
    // Fetched once, never freed: OpenSSL's own exit handler would race a static destructor.
    static EVP_MAC* const mac = EVP_MAC_fetch(nullptr, "HMAC", nullptr);
    return mac;
}

struct ctx_free {
    void operator()(EVP_MAC_CTX* c) const noexcept { EVP_MAC_CTX_free(c); }
};
using ctx_ptr = std::unique_ptr<EVP_MAC_CTX, ctx_free>;

/// One thread's keyed contexts: a few slots, so the handful of keys a gateway uses (HMAC key,
/// CSRF key) stay keyed; a new key takes the slot after the one used last.
class keyed_contexts {
public:
    keyed_contexts() = default;
    keyed_contexts(const keyed_contexts&) = delete;
    keyed_contexts& operator=(const keyed_contexts&) = delete;
    ~keyed_contexts() {
        for (auto& s : slots_) {
            wipe(s);
        }
    }

    /// A context keyed with `key`, ready for update (nullptr if OpenSSL failed).
    EVP_MAC_CTX* keyed(std::string_view key) {
        for (auto& s : slots_) {
            if (s.ctx && s.key.size() == key.size() &&
                CRYPTO_memcmp(s.key.data(), key.data(), key.size()) == 0) {
                // NULL key: HMAC restarts with the key it already holds.
                return EVP_MAC_init(s.ctx.get(), nullptr, 0, nullptr) == 1 ? s.ctx.get() : nullptr;
            }
        }
        slot& s = slots_[next_];
        next_ = (next_ + 1) % slots_.size();
        wipe(s);
        EVP_MAC* mac = hmac_algorithm();
        if (mac == nullptr) {
            return nullptr;
        }
        ctx_ptr ctx(EVP_MAC_CTX_new(mac));
        // OSSL_PARAM wants a mutable char*; OpenSSL only reads it.
        static char digest[] = "SHA256";
        std::array<OSSL_PARAM, 2> params{
            OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
            OSSL_PARAM_construct_end()};
        if (!ctx || EVP_MAC_init(ctx.get(), reinterpret_cast<const unsigned char*>(key.data()),
                                 key.size(), params.data()) != 1) {
            return nullptr;
        }
        s.key.assign(key);
        s.ctx = std::move(ctx);
        return s.ctx.get();
    }

private:
    struct slot {
        std::string key; // compared, never logged; wiped on eviction
        ctx_ptr ctx;     // EVP_MAC_CTX_free cleanses the key schedule
    };

    static void wipe(slot& s) noexcept {
        if (!s.key.empty()) {
            OPENSSL_cleanse(s.key.data(), s.key.size());
        }
        s.key.clear();
        s.ctx.reset();
    }

    std::array<slot, 4> slots_;
    std::size_t next_ = 0;
};

} // namespace

std::optional<sha256_mac> hmac_sha256(std::string_view key, std::string_view data) {
    thread_local keyed_contexts contexts;
    EVP_MAC_CTX* ctx = contexts.keyed(key);
    if (ctx == nullptr) {
        return std::nullopt;
    }
    sha256_mac out{};
    std::size_t len = 0;
    if (EVP_MAC_update(ctx, reinterpret_cast<const unsigned char*>(data.data()), data.size()) !=
            1 ||
        EVP_MAC_final(ctx, out.data(), &len, out.size()) != 1 || len != out.size()) {
        return std::nullopt;
    }
    return out;
}

} // namespace sspr::common
