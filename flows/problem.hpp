// What a flow step can refuse with: one stable code per distinct thing the user (or the API
// client) must be told, with its HTTP status. The gateway turns a problem into an RFC 9457
// application/problem+json body whose `code` is to_string(problem) and whose `detail` comes from
// the message catalogue (messages/en.json, messages/ko.json) under "problem.<code>".
//
// The real reason behind a refusal (an unknown user, a throttle bucket, the directory's text)
// goes to the audit trail only; a problem never carries it.
#pragma once

#include <chrono>
#include <map>
#include <string>
#include <string_view>

#include <boost/system/result.hpp>

namespace sspr::flows {

enum class problem {
    invalid = 0,
    // ---- the request itself (mostly raised by the gateway) ----
    /// 400: the body is not the JSON the endpoint takes (missing field, wrong type).
    invalid_request,
    /// 404: no such flow, or it expired, or it is completed (a flow is single-use).
    flow_not_found,
    /// 400: the method id is not one offered by this flow.
    method_not_available,
    /// 409: a second gate must use a different method than the first.
    method_already_used,
    /// 409: verify for a code method before a code was sent (call challenge first).
    challenge_required,
    /// 400: the code, TOTP or answers are wrong (or the code expired / has no tries left: the same
    /// answer, so nothing is learnt from it).
    proof_invalid,
    /// 403: complete before every gate was passed.
    gates_missing,
    // ---- the new password (422) ----
    password_too_short,
    password_too_long,
    password_not_complex,
    password_contains_name,
    password_banned,
    password_breached,
    /// Not UTF-8 or holds control characters.
    password_invalid,
    /// The directory: used recently.
    password_in_history,
    /// The directory: changed too recently (minimum age).
    password_too_young,
    /// The directory refused it for a policy reason it does not name.
    password_rejected,
    /// 400: the two new passwords differ (pages only).
    password_mismatch,
    // ---- the account ----
    /// 403: the directory refuses this account (protected / admin account): helpdesk.
    account_protected,
    /// 401: wrong user or wrong password (the same for both).
    credentials_invalid,
    /// 403: the policy does not allow this action for this account (signed-in actions only).
    action_not_allowed,
    // ---- enrollment ----
    /// 401: no enrollment session, or it expired.
    session_invalid,
    /// 400: not an email address / phone number ssprd can send to.
    address_invalid,
    /// 400: the answers: unknown question id, too short, repeated, wrong count.
    answers_invalid,
    /// 409: no authenticator set-up is pending.
    totp_not_pending,
    /// 404: no registered method has this id.
    method_not_found,
    /// 403: the policy does not offer this method to this user.
    method_not_permitted,
    // ---- the service ----
    /// 429: too many attempts; Retry-After says when.
    throttled,
    /// 503: the directory cannot be reached or did not answer.
    directory_unavailable,
    /// 503: the store cannot be reached, or too much work is waiting (Retry-After).
    service_unavailable,
    /// 500: a bug or an unexpected fault; nothing was changed that the user was not told about.
    internal_error,
};

// HTTP statuses (http_status): invalid_request 400, flow_not_found 404, method_not_available 400,
// method_already_used 409, challenge_required 409, proof_invalid 400, gates_missing 403,
// password_* 422 except password_mismatch 400, account_protected 403, credentials_invalid 401,
// action_not_allowed 403, session_invalid 401, address_invalid 400, answers_invalid 400,
// totp_not_pending 409, method_not_found 404, method_not_permitted 403, throttled 429,
// directory_unavailable 503, service_unavailable 503, internal_error 500.
// The gateway adds its own codes for what never reaches a flow: not_found 404,
// method_not_allowed 405, unsupported_media_type 415, payload_too_large 413, invalid_request 400,
// origin_not_allowed 403, csrf_invalid 403, overloaded 503.

/// "flow_not_found", ...: the stable `code` of the problem body and the catalogue key suffix.
[[nodiscard]] std::string_view to_string(problem p) noexcept;

/// The HTTP status the gateway answers with.
[[nodiscard]] unsigned http_status(problem p) noexcept;

/// A refusal: the problem, when to retry (throttled / service_unavailable), and the figures the
/// message needs ("min" = "10" for password_too_short). Never a secret or a reason for the audit.
struct failure {
    flows::problem problem = problem::invalid;
    std::chrono::seconds retry_after{0};
    std::map<std::string, std::string> params;

    failure() = default;
    failure(flows::problem p) : problem(p) {} // NOLINT(google-explicit-constructor)
    failure(flows::problem p, std::chrono::seconds retry) : problem(p), retry_after(retry) {}
};

[[noreturn]] void throw_exception_from_error(const failure& f, const boost::source_location& loc);

template <class T> using result = boost::system::result<T, failure>;

} // namespace sspr::flows
