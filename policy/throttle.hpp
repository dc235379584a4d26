// The policy side of throttling: which buckets exist, which events count against which bucket,
// how a bucket's key is derived from a request, and what a bucket's count means (allowed, or
// blocked with a retry-after, and when a block starts). Pure functions: the counters themselves
// live in store/ (state_store::increment, block, blocked_until, reset).
//
// Buckets say what they count by their name: "<counter>" or "<counter>_<anything>", where counter
// is one of failed_proofs, validations, emails, texts, flow_starts (see counter_of); so the fixed
// set config.hpp defines (flow_starts_per_ip, flow_starts_per_user, ...) maps onto events without
// a table to keep in step. Time is wall-clock (system_clock) because counters are shared by every
// gateway instance through the store.
#pragma once

#include "common/secret.hpp"
#include "config/config.hpp"

#include <boost/system/error_code.hpp>
#include <boost/system/result.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

namespace sspr::policy {

enum class throttle_error {
    /// A bucket's name is empty or has characters other than a-z, 0-9 and '_'.
    invalid_name = 1,
    /// Two buckets have the same name.
    duplicate_name,
    /// A bucket's name does not start with a known counter, so it would count nothing.
    unknown_counter,
    /// A bucket's key is not user, client_ip, client_net, destination or flow.
    invalid_key,
    /// A bucket's limit is 0: it would refuse everything.
    zero_limit,
    /// A bucket's window is 0 or negative.
    invalid_window,
    /// A bucket's block duration is negative.
    negative_block,
    /// No bucket counts failed proofs per user: guessing codes and answers would be unbounded.
    no_failed_proofs_bucket,
    /// The request lacks the part (user, client IP, destination, flow) the bucket is keyed by.
    missing_subject,
    /// The user given is not a DN.
    invalid_user,
    /// The client address is not an IPv4 or IPv6 address.
    invalid_ip,
    /// The destination is neither an email address nor a phone number.
    invalid_destination,
    /// The HMAC key for throttle keys is absent or shorter than min_key_bytes.
    weak_key,
};

const boost::system::error_category& throttle_category() noexcept;

inline boost::system::error_code make_error_code(throttle_error e) noexcept {
    return {static_cast<int>(e), throttle_category()};
}

/// A refused bucket configuration or key: the code, and the bucket it is about (its name, safe to
/// show an admin). Never carries the user, address or phone the key was made from.
struct throttle_failure {
    boost::system::error_code code;
    std::string bucket;

    throttle_failure() = default;
    throttle_failure(throttle_error e, std::string bucket_name = {})
        : code(make_error_code(e)), bucket(std::move(bucket_name)) {}

    [[nodiscard]] bool is(throttle_error e) const noexcept { return code == make_error_code(e); }
};

/// boost::system::result::value() throws through this when the result holds a failure.
[[noreturn]] void throw_exception_from_error(const throttle_failure& f,
                                             const boost::source_location& loc);

template <class T> using throttle_result = boost::system::result<T, throttle_failure>;

/// What happened, as the flows report it. A validation that fails is reported twice: as
/// validation_attempted (before, to ask and count) and as proof_failed (after).
enum class throttle_event {
    invalid = 0,
    /// A reset, unlock or change flow was started. Counter "flow_starts".
    flow_started,
    /// A code, TOTP or answer is about to be checked, whatever the outcome. Counter "validations".
    validation_attempted,
    /// A code, TOTP or answer was wrong. Counter "failed_proofs".
    proof_failed,
    /// An email was sent. Counter "emails".
    email_sent,
    /// A text message was sent. Counter "texts".
    sms_sent,
};

/// The event a bucket of this name counts: "emails" and "emails_per_ip" count email_sent,
/// "texts" sms_sent; invalid when the name starts with no known counter.
[[nodiscard]] throttle_event counter_of(std::string_view bucket_name) noexcept;

/// The validated buckets of a configuration. Only make_bucket_set builds one, so a bucket_set in
/// hand is always valid. Pointers it returns live as long as the set.
class bucket_set {
public:
    [[nodiscard]] const std::vector<config::throttle_bucket>& buckets() const noexcept {
        return buckets_;
    }
    /// The bucket of that name, or nullptr.
    [[nodiscard]] const config::throttle_bucket* find(std::string_view name) const noexcept;
    /// The buckets one occurrence of `e` is recorded in.
    [[nodiscard]] std::vector<const config::throttle_bucket*> counted_by(throttle_event e) const;
    /// The buckets to evaluate before doing what `e` reports: those that count `e`, plus the
    /// lockout buckets (failed_proofs*, validations*) for every event, because a user locked out
    /// after failed proofs is locked out of all of self-service, as in Entra.
    [[nodiscard]] std::vector<const config::throttle_bucket*>
    checked_before(throttle_event e) const;

private:
    friend throttle_result<bucket_set> make_bucket_set(const config::throttles_config& config);
    explicit bucket_set(std::vector<config::throttle_bucket> buckets)
        : buckets_(std::move(buckets)) {}

    std::vector<config::throttle_bucket> buckets_;
};

/// Validates the configured buckets: names made of a-z 0-9 _ and unique, a known counter, a valid
/// key, limit > 0, window > 0, block >= 0, and at least one user-keyed failed_proofs bucket.
[[nodiscard]] throttle_result<bucket_set> make_bucket_set(const config::throttles_config& config);

/// The parts of a request a key can be made from; only the part the bucket is keyed by is read.
///
/// For a login that matched nobody, `user` must still be stable per login (e.g. a stand-in DN
/// such as "uid=<escaped login>,cn=unknown"): if unknown names were never throttled, the throttle
/// would tell which names exist.
struct throttle_subject {
    std::string user;        // the user's DN
    std::string client_ip;   // the client's address (after trusted-proxy handling)
    std::string destination; // the email address or phone number a message goes to
    std::string flow_id;
    /// The region a phone number without country code is read in: config
    /// delivery.sms.default_region, the one delivery/ sends with, so that both see one number.
    /// Empty: only numbers in international form count (others are invalid_destination).
    std::string phone_region{};
};

/// An IP address in the form it is counted under by client_ip buckets: IPv4 dotted quad;
/// IPv4-mapped IPv6 as IPv4; other IPv6 as its /64 ("2001:db8:1:2::/64"), since one host usually
/// owns a whole /64 and could otherwise rotate addresses. Brackets and a zone ("%eth0") are
/// dropped.
[[nodiscard]] throttle_result<std::string> normalize_ip(std::string_view ip);

/// The network an IP address is counted under by client_net buckets: IPv6 its /48
/// ("2001:db8:1::/48"), the usual assignment to one site, so that a client hopping between the
/// 65,536 /64s it owns meets one limit; IPv4 (and IPv4-mapped IPv6) its /24 ("192.0.2.0/24").
[[nodiscard]] throttle_result<std::string> normalize_net(std::string_view ip);

/// A destination in the form it is counted under, so that spellings of one mailbox or one phone
/// share a counter:
/// - an email address (anything with '@'): trimmed and lower-cased; a sub-address dropped
///   ("a+1@x.org" and "a+2@x.org" count as "a@x.org"); for Gmail also the dots of the local
///   part and googlemail.com ("j.doe@googlemail.com" counts as "jdoe@gmail.com"). Only the
///   counting merges them: messages still go to the address as registered;
/// - a phone number: its E.164 form (common::to_e164), national numbers read in `phone_region`
///   ("010-1234-5678", "+82 10 1234 5678" and "0082 10 1234 5678" are all "+821012345678").
/// invalid_destination for anything else.
[[nodiscard]] throttle_result<std::string> normalize_destination(std::string_view destination,
                                                                 std::string_view phone_region);

/// Shortest HMAC key accepted for keys.
inline constexpr std::size_t min_key_bytes = 16;

/// The store key of `bucket` for `subject`: "bucket:<name>|<kind>:<hex>", kind one of user, ip,
/// net, dest, flow, and hex the HMAC-SHA-256 of "<kind>:<normalized subject part>" under
/// `hmac_key`. Keys are keyed hashes so the store never holds a raw address, phone number, DN or
/// flow id, and nobody without the key can test guesses against it; the bucket name stays readable
/// so counters can be inspected and cleared per bucket. Changing the key starts every counter
/// afresh.
[[nodiscard]] throttle_result<std::string> derive_key(const config::throttle_bucket& bucket,
                                                      const throttle_subject& subject,
                                                      const common::secret& hmac_key);

using system_time = std::chrono::system_clock::time_point;

/// What the store reports for one key (store::state_store::increment / blocked_until).
struct counter_reading {
    /// Events in the current window including the one just counted; 0 when nothing was counted
    /// (a check before acting, which only looks at the block).
    std::uint64_t count = 0;
    /// When the current window ends.
    system_time window_end{};
    /// The block in force on the key, if any.
    std::optional<system_time> blocked_until;
};

enum class throttle_verdict { invalid = 0, allowed, blocked };

struct throttle_decision {
    throttle_verdict verdict = throttle_verdict::invalid;
    /// When blocked: how long until a retry can succeed, rounded up, at least 1 s. Else 0.
    std::chrono::seconds retry_after{0};
    /// The bucket that decided (for the audit and metrics, never the client).
    std::string bucket;
    /// Set when this reading starts a block: the caller stores it on the key (store::block),
    /// whatever the verdict.
    std::optional<system_time> block_until;

    [[nodiscard]] bool allowed() const noexcept { return verdict == throttle_verdict::allowed; }
};

/// The decision for one bucket given the store's reading at `now`.
///
/// - A block in force refuses until it ends.
/// - The event that brings the count to `limit` is let through and starts a block: `block` long,
///   or (block 0) until the window ends. So the 5th failed proof is counted and the user is then
///   locked out for 24 h, as Entra does, and the next check before acting sees the block.
/// - A count above `limit` (a race, or a block that was not stored) refuses and starts the block.
///
/// How the flows use it, for an event `e` at `now`:
///   1. before acting, for each bucket of checked_before(e): evaluate(b, {0, {},
///      store.blocked_until(key)}); refuse when most_restrictive of them is not allowed;
///   2. for each bucket of counted_by(e): r = store.increment(key, window, now), evaluate(b, r);
///      store.block(key, *block_until) when set; refuse when not allowed.
/// proof_failed is only counted (step 2), after the proof failed. This is the only throttle rule:
/// store::throttle_cache only remembers the blocks of steps 1 and 2, so that step 1 can take a
/// block it remembers instead of asking the store.
[[nodiscard]] throttle_decision evaluate(const config::throttle_bucket& bucket,
                                         const counter_reading& reading, system_time now);

/// The decision that refuses longest; allowed (with no bucket) when none refuses.
[[nodiscard]] throttle_decision most_restrictive(std::span<const throttle_decision> decisions);

/// The keys to delete after the user reset the password successfully (as Entra: all the user's
/// counters start again): every user-keyed bucket, destination-keyed buckets for each of the
/// user's `destinations` (read as throttle_subject::phone_region says with `phone_region`; those
/// that do not normalise are skipped: they have no counter), and flow-keyed buckets for `flow_id`
/// when given. Client-IP and client-network buckets are never cleared, or anyone could wipe an
/// address's counters by resetting an account of their own.
[[nodiscard]] throttle_result<std::vector<std::string>>
keys_to_clear_on_success(const bucket_set& buckets, std::string_view user_dn,
                         std::span<const std::string> destinations, std::string_view flow_id,
                         const common::secret& hmac_key, std::string_view phone_region);

} // namespace sspr::policy

template <>
struct boost::system::is_error_code_enum<sspr::policy::throttle_error> : std::true_type {};
