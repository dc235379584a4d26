#include "store/crypto.hpp"

#include "common/secret_file.hpp"

#include "common/random.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cstring>
#include <stdexcept>

namespace sspr::store::crypto {
namespace {

struct cipher_ctx_freer {
    void operator()(EVP_CIPHER_CTX* ctx) const noexcept { EVP_CIPHER_CTX_free(ctx); }
};
using cipher_ctx_ptr = std::unique_ptr<EVP_CIPHER_CTX, cipher_ctx_freer>;

struct cipher_freer {
    void operator()(EVP_CIPHER* c) const noexcept { EVP_CIPHER_free(c); }
};
using cipher_ptr = std::unique_ptr<EVP_CIPHER, cipher_freer>;

struct md_ctx_freer {
    void operator()(EVP_MD_CTX* ctx) const noexcept { EVP_MD_CTX_free(ctx); }
};
using md_ctx_ptr = std::unique_ptr<EVP_MD_CTX, md_ctx_freer>;

// Fetched once: an implicit fetch on every value would search the provider tables each time.
const EVP_CIPHER* aes_gcm() {
    static const cipher_ptr cipher(EVP_CIPHER_fetch(nullptr, "AES-256-GCM", nullptr));
    return cipher.get();
}

constexpr std::string_view aad_label = "ssprd-store-v1";
constexpr std::string_view key_id_label = "ssprd key id v1";

void put_u32(std::string& out, std::uint32_t v) {
    for (int shift = 24; shift >= 0; shift -= 8) {
        out.push_back(static_cast<char>((v >> shift) & 0xffU));
    }
}

std::uint32_t get_u32(std::string_view in) noexcept {
    std::uint32_t v = 0;
    for (std::size_t i = 0; i < 4; ++i) {
        v = (v << 8U) | static_cast<unsigned char>(in[i]);
    }
    return v;
}

// Lengths are prefixed so that ("ab", "c") and ("a", "bc") never give the same bytes. The header
// comes first and holds the format, so the two formats' data can never be read one as the other.
// Format 2 appends the row version: a value sealed for version 3 does not open as version 5.
std::string make_aad(std::string_view header, std::string_view user_dn, std::string_view field,
                     std::optional<std::uint64_t> version) {
    std::string aad;
    aad.reserve(aad_label.size() + header.size() + 16 + user_dn.size() + field.size());
    aad.append(aad_label);
    aad.append(header);
    put_u32(aad, static_cast<std::uint32_t>(field.size()));
    aad.append(field);
    put_u32(aad, static_cast<std::uint32_t>(user_dn.size()));
    aad.append(user_dn);
    if (version) {
        put_u32(aad, static_cast<std::uint32_t>(*version >> 32U));
        put_u32(aad, static_cast<std::uint32_t>(*version & 0xffffffffU));
    }
    return aad;
}

const unsigned char* bytes_of(std::string_view s) noexcept {
    return reinterpret_cast<const unsigned char*>(s.data());
}

int hex_value(char c) noexcept {
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

result<std::string> gcm_encrypt(const unsigned char* k, const unsigned char* iv,
                                std::string_view aad, std::string_view plaintext) {
    const cipher_ctx_ptr ctx(EVP_CIPHER_CTX_new());
    if (!ctx || aes_gcm() == nullptr) {
        return error::failed;
    }
    std::string out(plaintext.size() + tag_bytes, '\0');
    auto* dst = reinterpret_cast<unsigned char*>(out.data());
    int len = 0;
    int total = 0;
    if (EVP_EncryptInit_ex2(ctx.get(), aes_gcm(), k, iv, nullptr) != 1 ||
        EVP_EncryptUpdate(ctx.get(), nullptr, &len, bytes_of(aad), static_cast<int>(aad.size())) !=
            1 ||
        EVP_EncryptUpdate(ctx.get(), dst, &len, bytes_of(plaintext),
                          static_cast<int>(plaintext.size())) != 1) {
        return error::failed;
    }
    total = len;
    if (EVP_EncryptFinal_ex(ctx.get(), dst + total, &len) != 1) {
        return error::failed;
    }
    total += len;
    if (EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, static_cast<int>(tag_bytes),
                            dst + total) != 1) {
        return error::failed;
    }
    return out;
}

} // namespace

// ---- key ----------------------------------------------------------------------------------------

key::key(std::span<const std::byte> bytes) {
    if (bytes.size() != key_bytes) {
        throw std::invalid_argument("an encryption key must be exactly 32 bytes");
    }
    std::memcpy(bytes_.data(), bytes.data(), key_bytes);

    std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
    unsigned int digest_len = 0;
    const md_ctx_ptr md(EVP_MD_CTX_new());
    if (!md || EVP_DigestInit_ex2(md.get(), EVP_sha256(), nullptr) != 1 ||
        EVP_DigestUpdate(md.get(), key_id_label.data(), key_id_label.size()) != 1 ||
        EVP_DigestUpdate(md.get(), bytes_.data(), bytes_.size()) != 1 ||
        EVP_DigestFinal_ex(md.get(), digest.data(), &digest_len) != 1) {
        OPENSSL_cleanse(bytes_.data(), bytes_.size());
        throw std::runtime_error("SHA-256 failed while deriving a key id");
    }
    id_ = get_u32(std::string_view(reinterpret_cast<const char*>(digest.data()), 4));
    if (id_ == 0) {
        OPENSSL_cleanse(bytes_.data(), bytes_.size());
        throw std::invalid_argument(
            "this encryption key derives the reserved key id 0; make another");
    }
}

key::~key() {
    OPENSSL_cleanse(bytes_.data(), bytes_.size());
}

key load_key_file(const std::string& path) {
    const auto fail = [&](const std::string& why) -> std::runtime_error {
        return std::runtime_error("encryption key file " + path + ": " + why);
    };
    // 66 = 64 hex digits and "\r\n"; anything longer is refused before it is read.
    auto file = common::read_secret_file(path, {66, true});
    if (!file) {
        throw fail(common::describe(file.error()));
    }
    const std::string_view bytes = file->content.reveal();
    const std::size_t size = bytes.size();
    std::array<std::byte, key_bytes> raw{};
    const auto wipe = [&] { OPENSSL_cleanse(raw.data(), raw.size()); };
    std::string_view content = bytes;
    if (content.size() == key_bytes) {
        std::memcpy(raw.data(), content.data(), key_bytes);
    } else {
        while (!content.empty() && (content.back() == '\n' || content.back() == '\r')) {
            content.remove_suffix(1);
        }
        const bool hex =
            content.size() == 2 * key_bytes &&
            std::all_of(content.begin(), content.end(), [](char c) { return hex_value(c) >= 0; });
        if (!hex) {
            const auto held = size;
            wipe();
            throw fail("must hold exactly 32 bytes or 64 hex digits, it holds " +
                       std::to_string(held) + " bytes (make one with: head -c 32 /dev/urandom)");
        }
        for (std::size_t i = 0; i < key_bytes; ++i) {
            raw[i] = static_cast<std::byte>(hex_value(content[2 * i]) * 16 +
                                            hex_value(content[2 * i + 1]));
        }
    }
    try {
        key k(raw);
        wipe();
        return k;
    } catch (...) {
        wipe();
        throw;
    }
}

// ---- keyring ------------------------------------------------------------------------------------

keyring::keyring(key active, std::vector<key> older) {
    keys_.reserve(older.size() + 1);
    keys_.push_back(std::move(active));
    for (auto& k : older) {
        if (find(k.id()) != nullptr) {
            throw std::invalid_argument("the keyring holds key " + format_key_id(k.id()) +
                                        " twice");
        }
        keys_.push_back(std::move(k));
    }
}

const key* keyring::find(std::uint32_t id) const noexcept {
    for (const auto& k : keys_) {
        if (k.id() == id) {
            return &k;
        }
    }
    return nullptr;
}

std::vector<std::uint32_t> keyring::ids() const {
    std::vector<std::uint32_t> out;
    out.reserve(keys_.size());
    for (const auto& k : keys_) {
        out.push_back(k.id());
    }
    return out;
}

std::shared_ptr<const keyring> load_keyring(const std::string& active_path,
                                            const std::vector<std::string>& older_paths) {
    auto active = load_key_file(active_path);
    std::vector<key> older;
    older.reserve(older_paths.size());
    for (const auto& p : older_paths) {
        older.push_back(load_key_file(p));
    }
    return std::make_shared<const keyring>(std::move(active), std::move(older));
}

// ---- sealing ------------------------------------------------------------------------------------

result<std::string> seal(const keyring& keys, common::random& random, std::string_view plaintext,
                         std::string_view user_dn, std::string_view field, std::uint64_t version) {
    if (plaintext.size() > max_plaintext) {
        return error::invalid_argument;
    }
    const key& k = keys.active();
    std::string header;
    header.push_back(static_cast<char>(format_version));
    put_u32(header, k.id());

    // A random nonce per value: with 96 bits, 2^32 values under one key keep the collision
    // chance below 2^-32 (NIST SP 800-38D 8.3); rotation resets the count long before that.
    std::array<unsigned char, nonce_bytes> nonce{};
    random.fill(std::as_writable_bytes(std::span(nonce)));

    auto body =
        gcm_encrypt(k.data(), nonce.data(), make_aad(header, user_dn, field, version), plaintext);
    if (!body) {
        return body.error();
    }
    std::string out;
    out.reserve(overhead + plaintext.size());
    out.append(header);
    out.append(reinterpret_cast<const char*>(nonce.data()), nonce.size());
    out.append(*body);
    return out;
}

namespace {

result<common::secret> open_format(const keyring& keys, std::string_view sealed,
                                   std::string_view user_dn, std::string_view field,
                                   std::uint8_t format, std::optional<std::uint64_t> version) {
    const auto id = sealed_key_id(sealed);
    if (!id || sealed.size() < overhead || static_cast<unsigned char>(sealed[0]) != format) {
        return error::corrupt;
    }
    const key* k = keys.find(*id);
    if (k == nullptr) {
        return error::unknown_key;
    }
    const auto header = sealed.substr(0, header_bytes);
    const auto nonce = sealed.substr(header_bytes, nonce_bytes);
    const auto body = sealed.substr(header_bytes + nonce_bytes, sealed.size() - overhead);
    const auto tag = sealed.substr(sealed.size() - tag_bytes);
    const auto aad = make_aad(header, user_dn, field, version);

    const cipher_ctx_ptr ctx(EVP_CIPHER_CTX_new());
    if (!ctx || aes_gcm() == nullptr) {
        return error::failed;
    }
    std::string plain(body.size(), '\0');
    auto* dst = reinterpret_cast<unsigned char*>(plain.data());
    int len = 0;
    std::array<unsigned char, tag_bytes> tag_copy{};
    std::memcpy(tag_copy.data(), tag.data(), tag_bytes);
    if (EVP_DecryptInit_ex2(ctx.get(), aes_gcm(), k->data(), bytes_of(nonce), nullptr) != 1 ||
        EVP_DecryptUpdate(ctx.get(), nullptr, &len, bytes_of(aad), static_cast<int>(aad.size())) !=
            1 ||
        EVP_DecryptUpdate(ctx.get(), dst, &len, bytes_of(body), static_cast<int>(body.size())) !=
            1 ||
        EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, static_cast<int>(tag_bytes),
                            tag_copy.data()) != 1) {
        OPENSSL_cleanse(plain.data(), plain.size());
        return error::failed;
    }
    int final_len = 0;
    // GCM releases nothing before the tag checks out; a failure here is tampering or a wrong key.
    if (EVP_DecryptFinal_ex(ctx.get(), dst + len, &final_len) != 1) {
        OPENSSL_cleanse(plain.data(), plain.size());
        return error::corrupt;
    }
    return common::secret(std::move(plain));
}

} // namespace

result<common::secret> open(const keyring& keys, std::string_view sealed, std::string_view user_dn,
                            std::string_view field, std::uint64_t version) {
    return open_format(keys, sealed, user_dn, field, format_version, version);
}

result<common::secret> open_legacy(const keyring& keys, std::string_view sealed,
                                   std::string_view user_dn, std::string_view field) {
    return open_format(keys, sealed, user_dn, field, legacy_format_version, std::nullopt);
}

std::optional<std::uint32_t> sealed_key_id(std::string_view sealed) noexcept {
    if (sealed.size() < header_bytes) {
        return std::nullopt;
    }
    const auto format = static_cast<unsigned char>(sealed[0]);
    if (format != format_version && format != legacy_format_version) {
        return std::nullopt;
    }
    return get_u32(sealed.substr(1, 4));
}

std::string format_key_id(std::uint32_t id) {
    static constexpr char digits[] = "0123456789abcdef";
    std::string out(8, '0');
    for (std::size_t i = 0; i < 8; ++i) {
        out[7 - i] = digits[(id >> (4 * i)) & 0xfU];
    }
    return out;
}

namespace detail {

result<std::string> aes_256_gcm_encrypt(std::span<const unsigned char, key_bytes> k,
                                        std::span<const unsigned char, nonce_bytes> iv,
                                        std::string_view aad, std::string_view plaintext) {
    return gcm_encrypt(k.data(), iv.data(), aad, plaintext);
}

} // namespace detail

} // namespace sspr::store::crypto
