// How an enrollment is laid out at rest (internal to store/). The four secret fields (e-mail
// addresses, phone numbers, TOTP secret, question answer hashes) are each serialised to a small
// binary plaintext and sealed separately, with the user DN, the field name and the row's version as
// authenticated data, so one field cannot be swapped for another, moved to another user, or put
// back from an older version of the row.
#pragma once

#include "store/crypto.hpp"
#include "store/state_store.hpp"

#include <cstdint>
#include <string>
#include <string_view>

namespace sspr::store::detail {

inline constexpr std::string_view field_emails = "emails";
inline constexpr std::string_view field_phones = "phones";
inline constexpr std::string_view field_totp = "totp";
inline constexpr std::string_view field_questions = "questions";

/// Everything of an enrollment that goes into a row, ready to bind.
struct sealed_enrollment {
    std::string emails;
    std::string phones;
    std::string totp;
    std::string questions;
    std::uint32_t key_id = 0;
};

/// The unsealed plaintexts; exposed for the unit tests of the layout. Each starts with a format
/// byte. The TOTP plaintext leaves out last_used_step (a column of its own, raised atomically).
[[nodiscard]] std::string encode_contacts(const std::vector<contact>& contacts);
[[nodiscard]] result<std::vector<contact>> decode_contacts(std::string_view plain);
[[nodiscard]] std::string encode_totp(const std::optional<totp_enrollment>& totp);
[[nodiscard]] result<std::optional<totp_enrollment>> decode_totp(std::string_view plain);
/// The answers, then when they were set (enrollment::questions_confirmed_at; a plaintext written
/// before that was kept ends after the answers and decodes to nothing).
[[nodiscard]] std::string encode_questions(const std::vector<question_answer>& questions,
                                           const std::optional<timestamp>& confirmed_at = {});
[[nodiscard]] result<std::vector<question_answer>>
decode_questions(std::string_view plain, std::optional<timestamp>* confirmed_at = nullptr);

/// Serialises and seals the four fields for version `version` of the row under the active key;
/// plaintext buffers are wiped.
[[nodiscard]] result<sealed_enrollment> seal_enrollment(const enrollment& e, std::uint64_t version,
                                                        const crypto::keyring& keys,
                                                        common::random& random);

/// Opens the four sealed fields of version `version` of user_dn's row into `out` (user_dn,
/// emails, phones, totp without last_used_step, questions). corrupt / unknown_key as
/// crypto::open.
[[nodiscard]] result<void> open_enrollment(const sealed_enrollment& row, std::string_view user_dn,
                                           std::uint64_t version, const crypto::keyring& keys,
                                           enrollment& out);

/// The same for a row sealed in the legacy format (crypto::open_legacy), for the migration that
/// re-seals it.
[[nodiscard]] result<void> open_legacy_enrollment(const sealed_enrollment& row,
                                                  std::string_view user_dn,
                                                  const crypto::keyring& keys, enrollment& out);

} // namespace sspr::store::detail
