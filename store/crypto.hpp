// Encryption at rest for the enrollment data (contact addresses, TOTP secrets, answer hashes):
// AES-256-GCM with a random 96-bit nonce per value, under keys read from key files.
//
// A sealed value is: format (1 byte, 2) | key id (4 bytes, big-endian) | nonce (12) | ciphertext
// | tag (16). The additional authenticated data binds it to its row, its field and the row's
// version (user DN, field name, enrollment version) and to its own header, so a value copied to
// another user or another column, an older value of the same field put back, or a value given a
// different key id fails authentication instead of decrypting into the wrong place or time.
// Format 1 (no version in the authenticated data) is only read by the schema migration that
// re-seals such values as format 2 (open_legacy).
//
// Keys: a keyring has one active key (used for every new value) and older keys that are only
// read, so keys can be rotated: put the new key first, keep the old one as older, run
// store::rotate (rotate.hpp), then drop the old key. A key's id is derived from the key itself
// (the first 4 bytes of SHA-256 over a label and the key), so key files need no numbering and
// the id says nothing about the key.
#pragma once

#include "common/secret.hpp"
#include "store/error.hpp"

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace sspr::common {
class random;
}

namespace sspr::store::crypto {

inline constexpr std::size_t key_bytes = 32;
inline constexpr std::size_t nonce_bytes = 12;
inline constexpr std::size_t tag_bytes = 16;
inline constexpr std::uint8_t format_version = 2;
/// The format before the version was bound in; read only by open_legacy.
inline constexpr std::uint8_t legacy_format_version = 1;
inline constexpr std::size_t header_bytes = 1 + 4;
/// Bytes a sealed value has on top of its plaintext.
inline constexpr std::size_t overhead = header_bytes + nonce_bytes + tag_bytes;
/// Longest plaintext seal() accepts; enrollment fields are far smaller.
inline constexpr std::size_t max_plaintext = std::size_t{1024} * 1024;

/// One AES-256 key. Its bytes are wiped when it dies and are never formatted.
class key {
public:
    /// Throws std::invalid_argument unless `bytes` holds exactly key_bytes, or when the derived
    /// id would be 0 (reserved for "not encrypted"; one key in four billion: make another).
    explicit key(std::span<const std::byte> bytes);
    key(const key& other) = default;
    key& operator=(const key& other) = default;
    ~key();

    [[nodiscard]] std::uint32_t id() const noexcept { return id_; }
    [[nodiscard]] const unsigned char* data() const noexcept { return bytes_.data(); }

private:
    std::array<unsigned char, key_bytes> bytes_{};
    std::uint32_t id_ = 0;
};

/// Reads a key file: exactly 32 bytes, or 64 hex digits (a trailing newline is allowed). Refuses
/// anything else, a file that is not a regular file, and a file group or others may access (it
/// must be mode 0600 or 0400). Throws std::runtime_error naming the path and the reason: this is a
/// start-up error. Make one with: head -c 32 /dev/urandom > FILE && chmod 600 FILE
[[nodiscard]] key load_key_file(const std::string& path);

/// The active key and the older ones still accepted for reading. Immutable; share it.
class keyring {
public:
    /// Throws std::invalid_argument when two keys have the same id (the same key twice).
    explicit keyring(key active, std::vector<key> older = {});

    [[nodiscard]] const key& active() const noexcept { return keys_.front(); }
    /// The key with this id, or nullptr.
    [[nodiscard]] const key* find(std::uint32_t id) const noexcept;
    /// Every id, active first.
    [[nodiscard]] std::vector<std::uint32_t> ids() const;

private:
    std::vector<key> keys_; // [0] is the active key
};

/// load_key_file for each path; the first is the active key.
[[nodiscard]] std::shared_ptr<const keyring>
load_keyring(const std::string& active_path, const std::vector<std::string>& older_paths = {});

/// Encrypts `plaintext` for field `field` of version `version` of user `user_dn`'s row under the
/// active key. invalid_argument when the plaintext is longer than max_plaintext; failed when
/// OpenSSL fails.
[[nodiscard]] result<std::string> seal(const keyring& keys, common::random& random,
                                       std::string_view plaintext, std::string_view user_dn,
                                       std::string_view field, std::uint64_t version);

/// Decrypts a sealed value of field `field` of version `version` of user `user_dn`'s row.
/// unknown_key when its key id is not in the keyring; corrupt when it is malformed, of another
/// format, or fails authentication (tampered, another row, field or version, wrong key).
[[nodiscard]] result<common::secret> open(const keyring& keys, std::string_view sealed,
                                          std::string_view user_dn, std::string_view field,
                                          std::uint64_t version);

/// Decrypts a format 1 value (bound to user and field only), for the migration that re-seals it
/// as format 2; corrupt for anything else.
[[nodiscard]] result<common::secret> open_legacy(const keyring& keys, std::string_view sealed,
                                                 std::string_view user_dn, std::string_view field);

/// The key id in a sealed value's header (format 2 or 1), or nothing when it is not a sealed
/// value.
[[nodiscard]] std::optional<std::uint32_t> sealed_key_id(std::string_view sealed) noexcept;

/// Key ids as people read them in logs and reports: 8 lower-case hex digits.
[[nodiscard]] std::string format_key_id(std::uint32_t id);

namespace detail {

/// Raw AES-256-GCM, exposed for known-answer tests: returns ciphertext followed by the tag.
[[nodiscard]] result<std::string>
aes_256_gcm_encrypt(std::span<const unsigned char, key_bytes> k,
                    std::span<const unsigned char, nonce_bytes> iv, std::string_view aad,
                    std::string_view plaintext);

} // namespace detail

} // namespace sspr::store::crypto
