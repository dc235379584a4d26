// Integrity of the rows the stores keep (internal to store/): an HMAC-SHA-256 over every column of
// a flow, code or enrollment row, the key columns and the version included, kept in the row's own
// row_mac column and checked on every read. Whoever can write the database (a shared PostgreSQL
// role, a copy of the SQLite file) can still delete rows or put back an earlier row exactly as it
// was, but can no longer forge one: set a flow to verified, give a code its tries back, lower the
// TOTP step, or move a row to another id or user. A row that fails the check reads as
// error::corrupt and is never acted upon.
//
// The key is derived from the server HMAC key (store.hmac_key_file) under a label of its own, so
// the MACs can never collide with the code hashes or the hint HMACs made with the same key.
#pragma once

#include "common/secret.hpp"

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace sspr::store::detail {

inline constexpr std::size_t row_mac_bytes = 32;
/// Shortest server HMAC key accepted (as challenge/ and config/ accept it).
inline constexpr std::size_t min_row_mac_key_bytes = 32;

/// The columns of a flow row as they are stored.
struct flow_columns {
    std::string_view id;
    std::string_view user_dn;
    std::int64_t kind = 0;
    std::int64_t state = 0;
    std::int64_t gates_passed = 0;
    std::int64_t methods_mask = 0;
    std::int64_t created_at_ms = 0;
    std::int64_t expires_at_ms = 0;
    std::int64_t version = 0;
};

/// The columns of a code row as they are stored.
struct code_columns {
    std::string_view flow_id;
    std::int64_t method = 0;
    std::string_view binding_hash;
    std::string_view code_hash;
    std::int64_t expires_at_ms = 0;
    std::int64_t tries_left = 0;
};

/// The columns of an enrollment row as they are stored (the four fields sealed).
struct enrollment_columns {
    std::string_view user_dn;
    std::string_view emails;
    std::string_view phones;
    std::string_view totp;
    std::int64_t totp_last_step = 0;
    std::string_view questions;
    std::int64_t key_id = 0;
    std::int64_t version = 0;
    std::int64_t updated_at_ms = 0;
};

class row_mac {
public:
    /// Derives the row key from the server HMAC key. Throws std::invalid_argument when the key is
    /// shorter than min_row_mac_key_bytes, std::runtime_error when OpenSSL fails.
    explicit row_mac(const common::secret& server_key);
    row_mac(const row_mac&) = delete;
    row_mac& operator=(const row_mac&) = delete;
    ~row_mac();

    [[nodiscard]] std::string of(const flow_columns& row) const;
    [[nodiscard]] std::string of(const code_columns& row) const;
    [[nodiscard]] std::string of(const enrollment_columns& row) const;

    /// Whether `stored` is the MAC of the row, compared in constant time.
    template <class Columns>
    [[nodiscard]] bool matches(const Columns& row, std::string_view stored) const {
        return equal(of(row), stored);
    }

private:
    static bool equal(std::string_view a, std::string_view b) noexcept;
    [[nodiscard]] std::string mac(std::string_view message) const;

    std::array<unsigned char, row_mac_bytes> key_{};
};

} // namespace sspr::store::detail
