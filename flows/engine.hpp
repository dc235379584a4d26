// The SSPR logic itself: reset, unlock, change and enrollment as state machines kept in the
// StateStore, combining policy/ (scope, gates, methods, password rules, throttles), challenge/
// (codes, TOTP, answers), delivery/ (the Sender), ldap/ (the Directory) and audit/.
//
// Every call blocks (directory, store, argon2id): the gateway runs it on its blocking pool and
// posts the answer back to the connection's strand. Calls are thread-safe. Argon2id work
// (security answers) is bounded separately: when max_argon2 verifications run already, the call
// answers service_unavailable at once.
//
// Anti-enumeration: unknown, out-of-scope, disabled, protected and unenrolled users get a flow
// like everybody else, with stable fake hints derived from a keyed HMAC of the login; their
// challenges "send" nothing and their proofs never pass. The real reason goes to the audit only.
#pragma once

#include "flows/problem.hpp"

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/secret.hpp"

namespace sspr::config {
class holder;
}
namespace sspr::ldap {
class directory;
}
namespace sspr::store {
class state_store;
}
namespace sspr::delivery {
class sender;
}
namespace sspr::common {
class clock;
class random;
} // namespace sspr::common
namespace sspr::audit {
class trail;
struct event;
} // namespace sspr::audit

namespace sspr::flows {

/// Who is asking: filled by the gateway from the connection and the headers.
struct request_context {
    std::string request_id;
    std::string client_ip; // after trusted-proxy handling
    std::string language;  // "en" or "ko"
    /// When the request arrived (the start-time floor is measured from here).
    std::chrono::steady_clock::time_point received{};
};

/// Which flow a start/challenge/verify call is for.
enum class flow_type { invalid = 0, reset, unlock };

struct method_offer {
    std::string id;   // "email-0", "sms-0", "totp", "questions"
    std::string kind; // "email", "sms", "totp", "questions"
    std::string hint; // masked: "a***@example.org", "+82 ** **** 5678"; "" for totp/questions
};

struct start_result {
    /// The flow token (128 random bits, base64url): a bearer secret for the client only.
    common::secret flow;
    unsigned gates_required = 1;
    std::vector<method_offer> methods;
    /// The gateway must not answer before this instant (the timing floor with jitter).
    std::chrono::steady_clock::time_point respond_not_before{};
};

struct question_prompt {
    std::string id;
    std::string text; // in the request's language
};

struct challenge_result {
    /// True when a code was sent (email, sms): HTTP 202.
    bool code_sent = false;
    /// For questions: the ones to answer.
    std::vector<question_prompt> questions;
};

struct answer {
    std::string id;
    common::secret text;
};

struct proof {
    common::secret code;         // email, sms, totp
    std::vector<answer> answers; // questions
};

struct verify_result {
    unsigned gates_passed = 0;
    unsigned gates_required = 0;
};

struct session_result {
    common::secret token; // bearer token of the enrollment session
    std::chrono::seconds expires_in{0};
};

struct enrolled_method_view {
    std::string id;   // "email-0", "sms-1", "totp", "questions"
    std::string kind; // email | sms | totp | questions
    std::string hint; // masked address / number; "" for totp; "3 questions" style count as ""
    bool confirmed = false;
    std::optional<std::chrono::system_clock::time_point> confirmed_at;
    /// Confirmation older than enrollment.reconfirm_after: confirm again for it to count.
    bool reconfirm_due = false;
};

struct methods_view {
    std::vector<enrolled_method_view> methods;
    /// Methods the policy lets this user register ("email", "sms", "totp", "questions").
    std::vector<std::string> allowed;
    unsigned required = 1;
    bool complete = false; // enough current methods for a reset
};

struct totp_offer_result {
    common::secret otpauth_uri;
    common::secret qr_svg;
};

struct health {
    bool directory_ok = false;
    /// The store took a write (every flow step writes; reads alone would still answer on a full
    /// disk or a read-only file system).
    bool store_ok = false;
    /// The store refused that write for want of space (SQLITE_FULL, PostgreSQL disk_full).
    bool store_full = false;
};

struct dependencies {
    config::holder* config = nullptr; // outlives the engine
    std::shared_ptr<ldap::directory> directory;
    std::shared_ptr<store::state_store> store;
    std::shared_ptr<delivery::sender> sender;
    std::shared_ptr<audit::trail> audit;
    /// Sees every audit event as it is recorded (also without a trail), e.g. to count it for
    /// metrics; called on the recording thread, must be cheap and must not throw. Optional.
    std::function<void(const audit::event&)> on_event;
    std::shared_ptr<const common::clock> clock;
    std::shared_ptr<common::random> random;
    common::secret hmac_key; // store.hmac_key_file, loaded by challenge::load_key_file
    /// Security-answer verifications (argon2id) running at once; one more is refused (503).
    std::size_t max_argon2 = 2;
};

class engine {
public:
    /// Throws std::invalid_argument for a missing dependency or a configuration the engine cannot
    /// run with (at start-up, before listening).
    explicit engine(dependencies deps);
    ~engine();
    engine(const engine&) = delete;
    engine& operator=(const engine&) = delete;

    // ---- reset and unlock: the same gates ----
    [[nodiscard]] result<start_result> start(flow_type type, const request_context& ctx,
                                             std::string_view username);
    /// For the I/O thread, before a start is handed to the worker pool: throttled when the
    /// client's address or network is under a block this instance remembers (memory only: no
    /// store, no directory, so a flood from a blocked address costs a lookup). Nothing about the
    /// name is decided, so its answer needs no response floor. Each refusal is counted
    /// (early_refusals); the block itself is in the audit from the request that started or first
    /// met it, not once per refused request of a flood. nullopt: go on with start(), which checks
    /// the address again against the store before it asks the directory.
    [[nodiscard]] std::optional<failure> address_blocked(const request_context& ctx);
    /// Starts refused by address_blocked since the engine was made.
    [[nodiscard]] std::uint64_t early_refusals() const noexcept;
    [[nodiscard]] result<challenge_result> challenge(flow_type type, const request_context& ctx,
                                                     std::string_view flow,
                                                     std::string_view method_id);
    [[nodiscard]] result<verify_result> verify(flow_type type, const request_context& ctx,
                                               std::string_view flow, std::string_view method_id,
                                               const proof& p);
    /// "changed": only once the directory holds the new password.
    [[nodiscard]] result<void> complete_reset(const request_context& ctx, std::string_view flow,
                                              const common::secret& new_password);
    /// "unlocked": the lockout is cleared, the password unchanged.
    [[nodiscard]] result<void> complete_unlock(const request_context& ctx, std::string_view flow);

    // ---- change a known password (also expired / must-change accounts) ----
    [[nodiscard]] result<void> change_password(const request_context& ctx,
                                               std::string_view username,
                                               const common::secret& current_password,
                                               const common::secret& new_password);

    // ---- enrollment, after signing in with the current password ----
    [[nodiscard]] result<session_result> enroll_session(const request_context& ctx,
                                                        std::string_view username,
                                                        const common::secret& password);
    [[nodiscard]] result<methods_view> enroll_methods(const request_context& ctx,
                                                      std::string_view token);
    /// kind "email" or "sms": sends a code to the new address (HTTP 202).
    [[nodiscard]] result<void> enroll_contact(const request_context& ctx, std::string_view token,
                                              std::string_view kind, std::string_view address);
    [[nodiscard]] result<void> enroll_contact_verify(const request_context& ctx,
                                                     std::string_view token, std::string_view kind,
                                                     std::string_view address,
                                                     const common::secret& code);
    [[nodiscard]] result<totp_offer_result> enroll_totp(const request_context& ctx,
                                                        std::string_view token);
    [[nodiscard]] result<void> enroll_totp_verify(const request_context& ctx,
                                                  std::string_view token,
                                                  const common::secret& code);
    /// The question pool in ctx.language, and how many to answer.
    [[nodiscard]] result<std::vector<question_prompt>> enroll_questions(const request_context& ctx,
                                                                        std::string_view token);
    [[nodiscard]] result<void> enroll_put_questions(const request_context& ctx,
                                                    std::string_view token,
                                                    const std::vector<answer>& answers);
    [[nodiscard]] result<void> enroll_delete_method(const request_context& ctx,
                                                    std::string_view token,
                                                    std::string_view method_id);

    /// When the gateway may answer a request of `ctx` at the earliest, whatever its outcome:
    /// ctx.received + server.response_floor + a random jitter up to server.response_jitter (read
    /// from the configuration in force, so a reload changes it). Applied to every step
    /// whose timing could tell a real account from a stand-in (reset/unlock start, challenge and
    /// verify; password change; enrollment sign-in).
    [[nodiscard]] std::chrono::steady_clock::time_point
    respond_not_before(const request_context& ctx) const;

    // ---- operations ----
    /// Asks the directory (a lookup) and the store (a write: one counter of its own) whether they
    /// answer.
    [[nodiscard]] health check_health();
    /// Deletes expired store rows (one batch); returns how many went.
    std::size_t purge_expired();

    /// The state behind the calls (flows/engine_impl.hpp); opaque outside flows/.
    struct impl;

private:
    std::unique_ptr<impl> impl_;
};

} // namespace sspr::flows
