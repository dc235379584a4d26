// Errors of the challenge layer: every expected refusal of the code, TOTP, question and hint
// helpers (a bad key file, bad parameters, an answer too short, a malformed stored hash) is one of
// these values. Wrong codes and wrong answers are not errors: they are ordinary outcomes, reported
// by the verify functions' own status types.
#pragma once

#include <boost/system/error_code.hpp>
#include <boost/system/result.hpp>

#include <type_traits>

namespace sspr::challenge {

enum class error {
    /// The key file could not be opened or read (missing, no permission, I/O error).
    key_file_unreadable = 1,
    /// The key file is not a regular file (a directory, a device, a FIFO).
    key_file_not_regular,
    /// The key file can be read or written by its group or by others; it must be mode 0600/0400.
    key_file_permissions,
    /// The key file holds fewer than 32 bytes: too short to be a 256-bit HMAC key.
    key_too_short,
    /// The key file is larger than any key ssprd makes; probably the wrong file.
    key_too_long,
    /// A parameter is outside what the function supports (code length, TOTP digits or period,
    /// argon2 cost, method); a configuration error.
    invalid_parameters,
    /// A base32 string has characters outside RFC 4648's alphabet or an impossible length.
    invalid_base32,
    /// Text is not well-formed UTF-8 (or holds NUL).
    invalid_text,
    /// The answer is shorter than the configured minimum after normalisation.
    answer_too_short,
    /// The answer is longer than any real answer; refused before any work is done on it.
    answer_too_long,
    /// ICU could not normalise the text.
    normalisation_failed,
    /// argon2id failed to hash (most likely it could not allocate the configured memory).
    hash_failed,
    /// A stored answer hash is not an argon2id string this code can verify.
    malformed_hash,
    /// Fewer questions are registered than must be asked, or a question id repeats.
    not_enough_questions,
    /// The text is too long for a QR code, or libqrencode failed.
    qr_failed,
    /// The email address has no local part, no '@' or no domain.
    invalid_email,
    /// The phone number has characters other than digits and separators, or too few digits.
    invalid_phone,
};

const boost::system::error_category& challenge_category() noexcept;

inline boost::system::error_code make_error_code(error e) noexcept {
    return {static_cast<int>(e), challenge_category()};
}

template <class T> using result = boost::system::result<T>;

} // namespace sspr::challenge

template <> struct boost::system::is_error_code_enum<sspr::challenge::error> : std::true_type {};
