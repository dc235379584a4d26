// The StateStore seam: everything ssprd keeps between requests. Flows (an explicit state enum with
// a version for compare-and-set), one-time code hashes with their tries, the TOTP last-used step,
// throttle counters shared by every gateway instance, and each user's enrollment (contact
// addresses, TOTP secret, security question answer hashes; encrypted at rest by the real stores).
//
// flows/ talks only to this interface. sqlite_store.hpp (one file, the default) and
// postgres_store.hpp (shared by several gateway instances) implement it; tests/fakes/ has an
// in-memory fake that passes the same conformance suite.
//
// Every call of the real stores blocks on disk or network: call them from a
// common::blocking_pool, never from an I/O strand. Implementations are thread-safe and bound their
// own concurrency (error::overloaded when every connection stays in use too long).
//
// Times are kept to the millisecond (store::timestamp); a record read back compares equal to what
// was written.
#pragma once

#include "common/secret.hpp"
#include "config/config.hpp"
#include "store/error.hpp"

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sspr::common {
class random;
}

namespace sspr::store {

namespace crypto {
class keyring;
}

/// Wall-clock time as the store keeps it.
using timestamp = std::chrono::sys_time<std::chrono::milliseconds>;

/// A clock reading rounded down to what the store keeps.
[[nodiscard]] inline timestamp to_timestamp(std::chrono::system_clock::time_point t) noexcept {
    return std::chrono::floor<std::chrono::milliseconds>(t);
}

// ---- flows --------------------------------------------------------------------------------------

enum class flow_kind { invalid = 0, reset, unlock, change, enroll };

/// Where a flow stands. flows/ owns the transitions; the store only keeps the value and refuses a
/// write based on a stale read (version compare-and-set).
enum class flow_state {
    invalid = 0,
    /// The user was looked up; no gate passed yet.
    started,
    /// A challenge is outstanding (a code was sent, a TOTP or the questions were asked).
    challenged,
    /// Every gate the policy asks for was passed; the flow may complete.
    verified,
    /// Done (password set, account unlocked, enrollment saved). Terminal: a flow is single-use.
    completed,
    /// Given up (too many wrong proofs, the directory refused). Terminal.
    failed,
    /// Abandoned by the user or replaced by a newer flow. Terminal.
    cancelled,
    /// A reset was sent to the directory and its outcome is not known: the answer timed out, the
    /// connection broke, or ssprd stopped before it could mark the flow. The next completion
    /// first asks the directory whether it holds the offered password already.
    completing,
};

struct flow_record {
    /// Opaque key chosen by flows/: a hash of the bearer token, never the token itself, so that a
    /// read of the database yields no live session.
    std::string id;
    std::string user_dn;
    flow_kind kind = flow_kind::invalid;
    flow_state state = flow_state::invalid;
    unsigned gates_passed = 0;
    /// The methods whose gate was passed. Kept as a set: read back in enum order, without
    /// duplicates.
    std::vector<config::method> methods_used;
    timestamp created_at{};
    timestamp expires_at{};
    /// Set by the store: 1 on creation, +1 on every successful update.
    std::uint64_t version = 0;
};

// ---- one-time codes ----------------------------------------------------------------------------

/// The code sent for one method of one flow. Only keyed hashes are kept, made by challenge/ and
/// written as hex by flows/ (flows/adapters.hpp to_store/from_store): the store never interprets
/// them. For the security questions flows/ keeps the ids drawn for the flow here instead.
struct code_record {
    std::string flow_id;
    config::method method = config::method::invalid;
    /// HMAC of user + flow + method + destination (challenge::code_binding): a code proves only
    /// what it was sent for, to whom and where.
    std::string binding_hash;
    /// HMAC of the code itself, keyed and covering the binding too.
    std::string code_hash;
    timestamp expires_at{};
    unsigned tries_left = 0;
};

// ---- enrollment
// ----------------------------------------------------------------------------------

struct contact {
    std::string address; // e-mail address or phone number as the user confirmed it
    /// When the user last proved they receive messages there; nothing = never confirmed.
    std::optional<timestamp> confirmed_at{};

    friend bool operator==(const contact&, const contact&) = default;
};

struct totp_enrollment {
    common::secret secret; // the raw shared secret (not base32)
    /// The highest RFC 6238 time step accepted so far; a code for this step or an earlier one is
    /// a replay. -1: none yet. The store only ever raises it (see use_totp_step, put_enrollment).
    std::int64_t last_used_step = -1;
    /// The user proved the authenticator works by entering a code after scanning it.
    bool confirmed = false;
    /// When that happened (for re-confirmation); nothing for rows written before it was kept.
    std::optional<timestamp> confirmed_at{};
};

struct question_answer {
    std::string id;          // a question id from the configured pool
    std::string answer_hash; // argon2id encoded hash, made by challenge/

    friend bool operator==(const question_answer&, const question_answer&) = default;
};

struct enrollment {
    std::string user_dn;
    std::vector<contact> emails;
    std::vector<contact> phones;
    std::optional<totp_enrollment> totp;
    std::vector<question_answer> questions;
    /// When the answers were last set (for re-confirmation); nothing for rows written before it
    /// was kept.
    std::optional<timestamp> questions_confirmed_at;
    /// Set by the store: 1 on creation, +1 on every successful put; put_enrollment compares it.
    std::uint64_t version = 0;
    /// Set by the store: when the last put happened (the `now` passed to put_enrollment).
    timestamp updated_at{};
    /// Set by the store: the id of the key the stored row is encrypted under, so rotation can skip
    /// rows already under the active key (0 when the store does not encrypt, like the fake).
    std::uint32_t key_id = 0;
};

// ---- throttle counters -------------------------------------------------------------------------

struct counter_state {
    /// Attempts counted in the current window, including this one.
    std::uint64_t count = 0;
    /// When the current window ends (it started with the first attempt after the previous one).
    timestamp window_end{};
    /// Set while a block on the key is in force.
    std::optional<timestamp> blocked_until;
};

// ---- the seam -----------------------------------------------------------------------------------

class state_store {
public:
    virtual ~state_store() = default;

    // Flows. ----------------------------------------------------------------------------------

    /// Stores a new flow with version 1 and returns it as stored. conflict: the id exists
    /// (whether or not it has expired). invalid_argument: empty id or user, invalid kind/state.
    [[nodiscard]] virtual result<flow_record> create_flow(const flow_record& flow) = 0;

    /// not_found, or expired when now >= expires_at (until the purge removes it).
    [[nodiscard]] virtual result<flow_record> get_flow(std::string_view id, timestamp now) = 0;

    /// Writes state, gates_passed, methods_used and expires_at of `next` if the stored version is
    /// still next.version (the one read); user, kind and created_at never change. Returns the
    /// record as stored now (version + 1). conflict: someone else updated it first; not_found.
    /// Expiry is not checked here: flows/ reads the flow (get_flow refuses an expired one) and
    /// writes back what it read, so a flow that expires in between is at most one step late.
    [[nodiscard]] virtual result<flow_record> update_flow(const flow_record& next) = 0;

    /// Removes the flow and its codes. not_found when there is none.
    [[nodiscard]] virtual result<void> delete_flow(std::string_view id) = 0;

    // One-time codes. -------------------------------------------------------------------------

    /// Stores the code for (flow, method), replacing an earlier one (a resend restarts the tries).
    /// not_found: no such flow.
    [[nodiscard]] virtual result<void> put_code(const code_record& code) = 0;

    /// The code as stored, without spending a try. not_found; expired when now >= expires_at.
    [[nodiscard]] virtual result<code_record> get_code(std::string_view flow_id,
                                                       config::method method, timestamp now) = 0;

    /// Spends one try atomically and returns the code with the tries left after it; the caller
    /// then compares the hash. Concurrent callers can never spend more tries than there were.
    /// not_found; expired; no_tries_left (nothing spent).
    [[nodiscard]] virtual result<code_record> take_try(std::string_view flow_id,
                                                       config::method method, timestamp now) = 0;

    /// Removes the code (after it was used). not_found when there is none.
    [[nodiscard]] virtual result<void> delete_code(std::string_view flow_id,
                                                   config::method method) = 0;

    // Enrollment. ------------------------------------------------------------------------------

    /// not_found when the user never enrolled. corrupt / unknown_key when the stored data does
    /// not decrypt (the real stores: or the row fails its MAC, or a sealed field from another
    /// user or an older version of the row was put in).
    [[nodiscard]] virtual result<enrollment> get_enrollment(std::string_view user_dn) = 0;

    /// Creates (e.version == 0) or replaces (e.version == the version read) the user's enrollment
    /// and returns the new version. The stored TOTP last-used step is never lowered, so a put that
    /// raced a TOTP login cannot re-open a replay. conflict: exists already (create) or changed
    /// since it was read; not_found: replacing one that does not exist.
    [[nodiscard]] virtual result<std::uint64_t> put_enrollment(const enrollment& e,
                                                               timestamp now) = 0;

    /// not_found when there is none.
    [[nodiscard]] virtual result<void> delete_enrollment(std::string_view user_dn) = 0;

    /// Enrolled user DNs after `after` (exclusive; "" = from the start), in the database's order,
    /// at most `limit`. For paging (key rotation, helpdesk listings).
    [[nodiscard]] virtual result<std::vector<std::string>> list_enrollments(std::string_view after,
                                                                            std::size_t limit) = 0;

    /// Records that a TOTP code for `step` was accepted: true when step is greater than every step
    /// accepted before (and is now the last one), false when it is not (a replay). Atomic, so two
    /// concurrent logins with the same code cannot both succeed. not_found: no enrollment.
    [[nodiscard]] virtual result<bool> use_totp_step(std::string_view user_dn,
                                                     std::int64_t step) = 0;

    // Throttle counters. ----------------------------------------------------------------------

    /// Counts one attempt on `key` and returns the count in the current fixed window: a window
    /// starts with the first attempt at or after the end of the previous one and lasts `window`.
    /// Atomic across threads, processes and (PostgreSQL) gateway instances.
    [[nodiscard]] virtual result<counter_state>
    increment(std::string_view key, std::chrono::milliseconds window, timestamp now) = 0;

    /// Blocks `key` until `until`; an existing later block is kept (blocks only grow).
    [[nodiscard]] virtual result<void> block(std::string_view key, timestamp until) = 0;

    /// The end of the block in force on `key` at `now`, if any.
    [[nodiscard]] virtual result<std::optional<timestamp>> blocked_until(std::string_view key,
                                                                         timestamp now) = 0;

    /// Forgets the key's count and block. Succeeds when there was nothing.
    [[nodiscard]] virtual result<void> reset(std::string_view key) = 0;

    // Maintenance. ----------------------------------------------------------------------------

    /// Deletes expired flows (with their codes), expired codes, and counters whose window and
    /// block are both over, at most `max_rows` of each kind; returns how many rows went. The
    /// gateway calls it periodically from the blocking pool; while it returns a full batch there
    /// is more to do. Batches keep each write transaction (and the SQLite write lock) short.
    [[nodiscard]] virtual result<std::size_t> purge_expired(timestamp now,
                                                            std::size_t max_rows) = 0;

    /// Hands back memory the store only keeps to be faster (SQLite: the page caches of the
    /// connections not in use). The gateway calls it once a quiet spell begins, before it trims
    /// the allocator; the next reads fetch their pages again. Never blocks on a request.
    virtual void release_memory() noexcept {}
};

/// The store the configuration names (SQLite or PostgreSQL), opened and migrated to the current
/// schema. `keys` encrypts enrollment data at rest; `row_mac_key` is the server HMAC key
/// (store.hmac_key_file, as challenge::load_key_file reads it), from which the store derives the
/// key of the MAC every flow, code and enrollment row carries; `random` makes the nonces. Blocks
/// (opening, migrating); the reason of a failure is logged. invalid_argument: no backend, keys or
/// random, or a MAC key shorter than 32 bytes.
[[nodiscard]] result<std::unique_ptr<state_store>>
make_state_store(const config::store_config& cfg, std::shared_ptr<const crypto::keyring> keys,
                 const common::secret& row_mac_key, std::shared_ptr<common::random> random);

} // namespace sspr::store
