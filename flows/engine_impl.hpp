// Internal to flows/: the engine's state and the helpers its steps share (engine.cpp: reset,
// unlock, change; enroll.cpp: enrollment). Not included outside flows/.
#pragma once

#include "audit/audit.hpp"
#include "challenge/code.hpp"
#include "config/config.hpp"
#include "delivery/sender.hpp"
#include "flows/engine.hpp"
#include "ldap/directory.hpp"
#include "policy/decision.hpp"
#include "policy/password_rules.hpp"
#include "policy/throttle.hpp"
#include "store/state_store.hpp"
#include "store/throttle_cache.hpp"

#include <atomic>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sspr::flows {

/// One method a flow offers, with what the client never sees (the destination).
struct offer {
    std::string id;
    config::method kind = config::method::invalid;
    std::string destination; // address or number for email/sms; a stand-in for fakes
    std::string hint;
};

/// Whom a flow is about, as read at one step. A stand-in (real == false) is everyone who must
/// not learn that self-service cannot help them: unknown, out of scope, disabled, protected,
/// unenrolled. Stand-ins get offers derived from a keyed hash, and their proofs never pass.
struct subject {
    bool real = false;
    std::string dn; // the real DN, or the stand-in DN the flow and the throttles are keyed by
    std::optional<ldap::user_entry> user;
    store::enrollment enrollment;
    policy::decision decision;
    unsigned gates = 1;
    std::vector<offer> offers;
    std::string reason; // for the audit: why a stand-in, or "allowed"
};

/// The configuration in force and what is built from it; rebuilt when the holder's generation
/// changes (a reload), kept as it was when the rebuild fails.
struct snapshot {
    std::shared_ptr<const config::config> cfg;
    std::shared_ptr<const policy::password_checker> checker;
    std::shared_ptr<const policy::bucket_set> buckets;
};

/// Steps that log to the audit trail fill one of these as they go.
struct audit_note {
    audit::event e;
    explicit audit_note(const request_context& ctx, std::string step) {
        e.request_id = ctx.request_id;
        e.client_ip = ctx.client_ip;
        e.step = std::move(step);
    }
};

struct engine::impl {
    explicit impl(dependencies deps);

    dependencies d;
    challenge::code_issuer issuer;
    /// Blocks seen lately, so a blocked key is refused without a store round trip (a flood from
    /// one address or against one account costs memory lookups only).
    store::throttle_cache blocks;
    std::atomic<std::uint64_t> early_refusals{0};
    /// argon2id work running now (answers verified or hashed); bounded by d.max_argon2.
    std::atomic<std::size_t> argon2_running{0};
    /// An argon2id hash of nothing anyone knows, verified in place of a stand-in's answers so
    /// that their verification costs what a real one does.
    std::string dummy_answer_hash;

    mutable std::mutex snapshot_mutex;
    std::uint64_t generation = 0; // guarded by snapshot_mutex
    snapshot current;             // guarded by snapshot_mutex

    [[nodiscard]] snapshot snap();
    [[nodiscard]] std::chrono::system_clock::time_point now() const;
    void record(audit_note& note, std::string outcome, std::string reason);

    // ---- tokens ----
    [[nodiscard]] common::secret new_token();
    [[nodiscard]] std::string flow_id_of(std::string_view purpose, std::string_view token) const;
    [[nodiscard]] std::string hmac_hex(std::string_view data) const;

    // ---- subjects ----
    [[nodiscard]] std::string standin_dn(std::string_view login) const;
    [[nodiscard]] static bool is_standin(std::string_view dn) noexcept;
    /// Looks a login up and decides; a directory failure is the only error.
    [[nodiscard]] result<subject> subject_for_login(const snapshot& s, flow_type type,
                                                    std::string_view login);
    /// Reads the subject of a flow afresh (fresh entry, groups, enrollment, decision).
    [[nodiscard]] result<subject> subject_for_dn(const snapshot& s, flow_type type,
                                                 const std::string& dn);
    [[nodiscard]] result<subject> decide_real(const snapshot& s, flow_type type,
                                              ldap::user_entry user);
    void fill_standin(const snapshot& s, subject& sub, std::optional<std::string_view> login);
    [[nodiscard]] result<store::enrollment> enrollment_of(const std::string& dn);
    /// The user who knows this password, decided afresh: unknown logins and wrong passwords both
    /// give credentials_invalid (counted as failed proofs); the flow_starts throttles apply.
    [[nodiscard]] result<subject> sign_in(const snapshot& s, const request_context& ctx,
                                          std::string_view username, const common::secret& password,
                                          audit_note& note);

    // ---- throttles ----
    /// Before acting on `e`: refuses while a bucket that matters is blocked; with `count`, also
    /// counts the event and refuses when that reaches a limit. `check_address` false leaves the
    /// client-IP and client-network buckets out of the check (not out of the count): for a caller
    /// that checked them just before, so that they are not read from the store twice.
    [[nodiscard]] result<void> throttle(const snapshot& s, policy::throttle_event e,
                                        const policy::throttle_subject& who, bool count,
                                        audit_note& note, bool check_address = true);
    /// Counts a failed proof (after the fact; a block it starts refuses the next attempt).
    void count_failure(const snapshot& s, const policy::throttle_subject& who);
    void clear_counters(const snapshot& s, const subject& sub, std::string_view flow_id);

    // ---- flows ----
    [[nodiscard]] result<store::flow_record>
    load_flow(std::string_view token, std::string_view purpose, store::flow_kind kind);
    /// A slot for argon2id work, or service_unavailable when every slot is taken.
    [[nodiscard]] result<void> take_argon2_slot();
    void release_argon2_slot() noexcept;

    // ---- delivery ----
    /// Queues the code for delivery, retried until `expires_at` (the stored record's expiry: a
    /// code that no longer works is not worth sending); audits the first transient failure and
    /// the outcome as "delivery.code".
    void send_code(const snapshot& s, const subject& sub, const offer& o, common::secret code,
                   std::chrono::seconds lifetime, std::chrono::system_clock::time_point expires_at,
                   const request_context& ctx);
    void notify(const snapshot& s, const subject& sub, delivery::message_kind kind,
                const request_context& ctx);

    // ---- enrollment ----
    [[nodiscard]] result<subject> session_subject(const snapshot& s, std::string_view token,
                                                  store::flow_record& flow);
};

/// The problem a store failure is told to the client as.
[[nodiscard]] failure store_problem(const boost::system::error_code& ec);
/// The problem a directory failure is told to the client as (a refusal of the new password keeps
/// its own code).
[[nodiscard]] failure directory_problem(const ldap::failure& f);
/// The problem of the first failed password rule, with its figures.
[[nodiscard]] failure rule_problem(const policy::rule_failure& r);

[[nodiscard]] std::string_view method_name(config::method m) noexcept;

} // namespace sspr::flows
