// One-time codes sent by email or SMS. Pure over values: the issuer makes a code and the record
// the store keeps (keyed hashes only, never the code). Two ways to check a code:
//   - verify(): the whole decision (used, tries, expiry, binding, code) on a record, returning
//     the record as it must be stored next;
//   - compare(): only binding and code, for a store that checks expiry and spends the try itself,
//     atomically, before the comparison (store::state_store::take_try), which is what several
//     gateway instances sharing one store need.
//
// A code is bound to user + flow + method + destination: the record holds an HMAC of all four,
// and the code's own hash is keyed and covers that binding too, so a code never works for anything
// it was not sent for. Comparisons are constant-time (CRYPTO_memcmp).
#pragma once

#include "challenge/error.hpp"
#include "common/random.hpp"
#include "common/secret.hpp"
#include "config/config.hpp"

#include <array>
#include <chrono>
#include <memory>
#include <string>
#include <string_view>

namespace sspr::challenge {

using digest = std::array<unsigned char, 32>;
using system_time = std::chrono::system_clock::time_point;

/// What a code is for. Every field is compared byte for byte, so the caller passes the same
/// canonical form when issuing and when verifying (the entry's DN or GUID rather than the login as
/// typed, the address as read from the directory).
struct code_binding {
    std::string user;
    std::string flow;
    config::method method = config::method::invalid; // email or sms
    std::string destination;
};

/// What the store keeps for an outstanding code. No plaintext: with the HMAC key out of reach, a
/// stolen record does not give the code.
struct code_record {
    digest binding_hash{};
    digest code_hash{};
    system_time expires_at{}; // the code is refused from this instant on
    unsigned tries_left = 0;
    bool used = false;
};

struct issued_code {
    /// The plaintext code, for the Sender only: never stored, logged, shown or put in an error.
    common::secret code;
    code_record record;
};

enum class code_status {
    invalid = 0,
    /// The code is right; the returned record is marked used.
    ok,
    /// Not the code; one try is spent (the returned tries_left may now be 0).
    wrong,
    /// now >= expires_at; nothing compared, nothing spent.
    expired,
    /// No tries left; nothing compared.
    exhausted,
    /// The code was already accepted once; a code is single use.
    used,
    /// The record was made for another user, flow, method or destination; one try is spent.
    wrong_binding,
};

struct code_verification {
    code_status status = code_status::invalid;
    /// The record to store in place of the one given; store it before acting on status, so that
    /// a crash cannot hand out a free try or a second use.
    code_record record;
};

/// Thread-safe: const after construction (the random seam is itself thread-safe).
class code_issuer {
public:
    /// `key` is the server HMAC key from load_key_file(); a shorter one is a programming error
    /// (std::invalid_argument). `random` must not be null.
    code_issuer(common::secret key, std::shared_ptr<common::random> random);

    /// A fresh code of cfg.code_length uniform digits (6..8), valid for cfg.lifetime from `now`,
    /// with cfg.max_tries tries. invalid_parameters for a length outside 6..8, a non-positive
    /// lifetime, zero tries, a method other than email/sms, or an empty binding field.
    [[nodiscard]] result<issued_code> issue(const code_binding& binding,
                                            const config::code_method_config& cfg,
                                            system_time now) const;

    /// Checks `candidate` (spaces and hyphens the user typed between digits are ignored) against
    /// `record` for `binding` at `now`. Order: used, exhausted, expired, then binding and code,
    /// both always computed and compared in constant time.
    [[nodiscard]] code_verification verify(const code_record& record, const code_binding& binding,
                                           std::string_view candidate, system_time now) const;

    /// ok, wrong or wrong_binding for `candidate` against `record`, ignoring used, tries and
    /// expiry (the caller has dealt with them). Same normalisation and constant-time comparison
    /// as verify().
    [[nodiscard]] code_status compare(const code_record& record, const code_binding& binding,
                                      std::string_view candidate) const;

private:
    [[nodiscard]] digest binding_hash(const code_binding& binding) const;
    [[nodiscard]] digest code_hash(const digest& binding, std::string_view code) const;

    common::secret key_;
    std::shared_ptr<common::random> random_;
};

} // namespace sspr::challenge
