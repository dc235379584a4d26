#include "store/row_mac.hpp"

#include "common/hmac.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <cstring>
#include <stdexcept>

namespace sspr::store::detail {
namespace {

constexpr std::string_view derive_label = "ssprd.store.row-mac.v1";

// Every field is prefixed by its length and every table by a label of its own, so no two rows
// (of one table or of two) can ever give the same input.
class message {
public:
    explicit message(std::string_view table) { text(table); }
    message& text(std::string_view s) {
        integer(static_cast<std::int64_t>(s.size()));
        out_.append(s);
        return *this;
    }
    message& integer(std::int64_t v) {
        const auto u = static_cast<std::uint64_t>(v);
        for (int shift = 56; shift >= 0; shift -= 8) {
            out_.push_back(static_cast<char>((u >> static_cast<unsigned>(shift)) & 0xffU));
        }
        return *this;
    }
    [[nodiscard]] const std::string& bytes() const noexcept { return out_; }

private:
    std::string out_;
};

void hmac_sha256(const unsigned char* key, std::size_t key_len, std::string_view data,
                 unsigned char* out) {
    const auto mac =
        common::hmac_sha256(std::string_view(reinterpret_cast<const char*>(key), key_len), data);
    if (!mac || mac->size() != row_mac_bytes) {
        throw std::runtime_error("HMAC-SHA-256 failed");
    }
    std::memcpy(out, mac->data(), mac->size());
}

} // namespace

row_mac::row_mac(const common::secret& server_key) {
    const auto k = server_key.reveal();
    if (k.size() < min_row_mac_key_bytes) {
        throw std::invalid_argument("the row MAC key must hold at least 32 bytes");
    }
    hmac_sha256(reinterpret_cast<const unsigned char*>(k.data()), k.size(), derive_label,
                key_.data());
}

row_mac::~row_mac() {
    OPENSSL_cleanse(key_.data(), key_.size());
}

std::string row_mac::mac(std::string_view data) const {
    std::string out(row_mac_bytes, '\0');
    hmac_sha256(key_.data(), key_.size(), data, reinterpret_cast<unsigned char*>(out.data()));
    return out;
}

bool row_mac::equal(std::string_view a, std::string_view b) noexcept {
    return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::string row_mac::of(const flow_columns& row) const {
    message m("flows");
    m.text(row.id)
        .text(row.user_dn)
        .integer(row.kind)
        .integer(row.state)
        .integer(row.gates_passed)
        .integer(row.methods_mask)
        .integer(row.created_at_ms)
        .integer(row.expires_at_ms)
        .integer(row.version);
    return mac(m.bytes());
}

std::string row_mac::of(const code_columns& row) const {
    message m("codes");
    m.text(row.flow_id)
        .integer(row.method)
        .text(row.binding_hash)
        .text(row.code_hash)
        .integer(row.expires_at_ms)
        .integer(row.tries_left);
    return mac(m.bytes());
}

std::string row_mac::of(const enrollment_columns& row) const {
    message m("enrollments");
    m.text(row.user_dn)
        .text(row.emails)
        .text(row.phones)
        .text(row.totp)
        .integer(row.totp_last_step)
        .text(row.questions)
        .integer(row.key_id)
        .integer(row.version)
        .integer(row.updated_at_ms);
    return mac(m.bytes());
}

} // namespace sspr::store::detail
