// TOTP (RFC 6238 over RFC 4226 HOTP) for authenticator apps: secrets, codes, verification with
// drift tolerance and replay refusal, the otpauth:// URI and QR code an app is set up from, and
// an enrollment that counts only once the user has typed a first valid code.
//
// Pure over values: the caller passes the time and the last step used, and stores what comes back.
// Replay protection across gateway instances needs the store to update last_used_step with a
// compare-and-swap on the value it read.
#pragma once

#include "challenge/error.hpp"
#include "common/random.hpp"
#include "common/secret.hpp"
#include "config/config.hpp"

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>

namespace sspr::challenge {

using system_time = std::chrono::system_clock::time_point;

enum class totp_algorithm { invalid = 0, sha1, sha256, sha512 };

struct totp_params {
    totp_algorithm algorithm = totp_algorithm::sha1;
    unsigned digits = 6;             // 6..8
    std::chrono::seconds period{30}; // 10..120 s (NIST: the nonce changes at least every 2 min)
    unsigned skew_steps = 1;         // 0..2 steps either side of now
};

/// The parameters from the admin's config (SHA-1, which every authenticator app supports), or
/// invalid_parameters when digits, period or skew are out of range.
result<totp_params> make_totp_params(const config::totp_config& cfg);
/// The same checks on parameters built in code.
result<void> check_totp_params(const totp_params& params);

/// Secret size for an algorithm: the hash's output size (160 bits for SHA-1, as RFC 4226 advises).
std::size_t totp_secret_bytes(totp_algorithm algorithm);

/// A fresh random secret of totp_secret_bytes(algorithm) raw bytes.
common::secret make_totp_secret(common::random& random, totp_algorithm algorithm);

/// T = floor(unix time / period); times before 1970 give step 0.
std::uint64_t totp_step(system_time now, std::chrono::seconds period);

/// The code (params.digits digits, zero-padded) for one time step. `params` must pass
/// check_totp_params and `key` must not be empty (std::invalid_argument otherwise: a programming
/// error).
common::secret totp_at(const common::secret& key, std::uint64_t step, const totp_params& params);

enum class totp_status {
    invalid = 0,
    /// Accepted; `step` is the step it matched, to be stored as the last used step.
    ok,
    /// Matches no step within the window.
    wrong,
    /// Matches a step at or before the last used one: a code is accepted once, and never one older
    /// than a code already accepted.
    replay,
    /// The enrollment is not in the state the call needs (confirm needs pending, verify needs
    /// active).
    wrong_state,
};

struct totp_verification {
    totp_status status = totp_status::invalid;
    std::uint64_t step = 0; // meaningful when status == ok
};

/// Checks `candidate` (spaces ignored) against the steps now - skew .. now + skew. Every step in
/// the window is computed and compared in constant time, whichever matches. An empty key matches
/// nothing (wrong); `params` as for totp_at.
totp_verification verify_totp(const common::secret& key, std::string_view candidate,
                              system_time now, std::optional<std::uint64_t> last_used_step,
                              const totp_params& params);

/// otpauth://totp/ISSUER:ACCOUNT?secret=…&issuer=…&algorithm=…&digits=…&period=… with issuer and
/// account percent-encoded (everything but RFC 3986 unreserved characters, so a ':' or space in
/// either cannot break the label). The URI holds the secret, hence a secret. invalid_parameters
/// for an empty issuer or account, or parameters that fail check_totp_params.
result<common::secret> otpauth_uri(std::string_view issuer, std::string_view account,
                                   const common::secret& key, const totp_params& params);

enum class totp_state { invalid = 0, pending, active };

/// A user's authenticator: the raw secret, the state and the last step accepted. The parameters
/// are not part of it: the store keeps none, so they come from the config on every call, and a
/// change of digits, period or algorithm there breaks every app already set up.
struct totp_enrollment {
    common::secret secret;
    totp_state state = totp_state::invalid;
    std::optional<std::uint64_t> last_used_step;
};

/// What the enrollment page shows: the URI and its QR code (both hold the secret), and the pending
/// enrollment for the store.
struct totp_offer {
    totp_enrollment enrollment;
    common::secret uri;
    common::secret qr_svg;
};

/// A new pending enrollment with a fresh secret.
result<totp_offer> begin_totp_enrollment(std::string_view issuer, std::string_view account,
                                         const totp_params& params, common::random& random);

/// pending -> active on the first valid code (and that code's step is spent). Anything else leaves
/// the enrollment as it was. `params` must pass check_totp_params (else wrong_state).
totp_status confirm_totp_enrollment(totp_enrollment& enrollment, std::string_view candidate,
                                    system_time now, const totp_params& params);

/// A proof at reset: only an active enrollment counts. On ok, last_used_step advances.
totp_status verify_enrolled_totp(totp_enrollment& enrollment, std::string_view candidate,
                                 system_time now, const totp_params& params);

} // namespace sspr::challenge
