#include "flows/problem.hpp"

#include <stdexcept>
#include <string>

namespace sspr::flows {

std::string_view to_string(problem p) noexcept {
    switch (p) {
    case problem::invalid_request:
        return "invalid_request";
    case problem::flow_not_found:
        return "flow_not_found";
    case problem::method_not_available:
        return "method_not_available";
    case problem::method_already_used:
        return "method_already_used";
    case problem::challenge_required:
        return "challenge_required";
    case problem::proof_invalid:
        return "proof_invalid";
    case problem::gates_missing:
        return "gates_missing";
    case problem::password_too_short:
        return "password_too_short";
    case problem::password_too_long:
        return "password_too_long";
    case problem::password_not_complex:
        return "password_not_complex";
    case problem::password_contains_name:
        return "password_contains_name";
    case problem::password_banned:
        return "password_banned";
    case problem::password_breached:
        return "password_breached";
    case problem::password_invalid:
        return "password_invalid";
    case problem::password_in_history:
        return "password_in_history";
    case problem::password_too_young:
        return "password_too_young";
    case problem::password_rejected:
        return "password_rejected";
    case problem::password_mismatch:
        return "password_mismatch";
    case problem::account_protected:
        return "account_protected";
    case problem::credentials_invalid:
        return "credentials_invalid";
    case problem::action_not_allowed:
        return "action_not_allowed";
    case problem::session_invalid:
        return "session_invalid";
    case problem::address_invalid:
        return "address_invalid";
    case problem::answers_invalid:
        return "answers_invalid";
    case problem::totp_not_pending:
        return "totp_not_pending";
    case problem::method_not_found:
        return "method_not_found";
    case problem::method_not_permitted:
        return "method_not_permitted";
    case problem::throttled:
        return "throttled";
    case problem::directory_unavailable:
        return "directory_unavailable";
    case problem::service_unavailable:
        return "service_unavailable";
    case problem::internal_error:
        return "internal_error";
    case problem::invalid:
        break;
    }
    return "invalid";
}

unsigned http_status(problem p) noexcept {
    switch (p) {
    case problem::invalid_request:
    case problem::method_not_available:
    case problem::proof_invalid:
    case problem::password_mismatch:
    case problem::address_invalid:
    case problem::answers_invalid:
        return 400;
    case problem::credentials_invalid:
    case problem::session_invalid:
        return 401;
    case problem::gates_missing:
    case problem::account_protected:
    case problem::action_not_allowed:
    case problem::method_not_permitted:
        return 403;
    case problem::flow_not_found:
    case problem::method_not_found:
        return 404;
    case problem::method_already_used:
    case problem::challenge_required:
    case problem::totp_not_pending:
        return 409;
    case problem::password_too_short:
    case problem::password_too_long:
    case problem::password_not_complex:
    case problem::password_contains_name:
    case problem::password_banned:
    case problem::password_breached:
    case problem::password_invalid:
    case problem::password_in_history:
    case problem::password_too_young:
    case problem::password_rejected:
        return 422;
    case problem::throttled:
        return 429;
    case problem::directory_unavailable:
    case problem::service_unavailable:
        return 503;
    case problem::internal_error:
    case problem::invalid:
        break;
    }
    return 500;
}

void throw_exception_from_error(const failure& f, const boost::source_location& /*loc*/) {
    throw std::runtime_error("flow step refused: " + std::string(to_string(f.problem)));
}

} // namespace sspr::flows
