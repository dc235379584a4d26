// Refusals as the gateway answers them: RFC 9457 application/problem+json bodies
// {"type","title","status","detail","code","request_id"} (+ "retry_after", + "params"), with the
// title and detail from the message catalogue in the request's language. The flows' problems
// (flows/problem.hpp) become a problem_info in the API layer; the gateway adds its own codes for
// what never reaches a flow.
#pragma once

#include "gateway/http.hpp"
#include "gateway/i18n.hpp"

#include <array>
#include <chrono>
#include <map>
#include <string>
#include <string_view>

namespace sspr::gateway {

struct problem_info {
    /// The stable code: a flows::problem's to_string, or one of gateway_problem_codes.
    std::string code;
    unsigned status = 500;
    /// When to retry (429, 503); 0 = no advice (429 and 503 still say 1 s).
    std::chrono::seconds retry_after{0};
    /// The figures the message needs ("min" = "10"), and for invalid_request the "field" that
    /// is wrong. Never a secret, never a value the client sent.
    std::map<std::string, std::string> params;
};

/// Codes the gateway raises itself; each has catalogue texts like the flows' codes.
inline constexpr std::array<std::string_view, 9> gateway_problem_codes{
    "invalid_request",        "not_found",         "method_not_allowed",
    "unsupported_media_type", "payload_too_large", "origin_not_allowed",
    "csrf_invalid",           "overloaded",        "internal_error"};

namespace problems {
/// 400; `field` names the member of the JSON body that is missing or has the wrong type.
[[nodiscard]] problem_info invalid_request(std::string_view field = {});
[[nodiscard]] problem_info not_found();
/// 405; the caller sets Allow.
[[nodiscard]] problem_info method_not_allowed();
[[nodiscard]] problem_info unsupported_media_type();
[[nodiscard]] problem_info payload_too_large();
[[nodiscard]] problem_info origin_not_allowed();
[[nodiscard]] problem_info csrf_invalid();
/// 503 with Retry-After: 1: the worker queue is full.
[[nodiscard]] problem_info overloaded();
[[nodiscard]] problem_info internal_error();
} // namespace problems

/// "https://ssprd.dev/problems/<code>".
[[nodiscard]] std::string problem_type(std::string_view code);

/// The problem response: status, Content-Type application/problem+json, Content-Language,
/// Retry-After (429 and 503 always, others when retry_after is set). A code the catalogue does
/// not know gets type about:blank and the status's reason phrase as its title.
[[nodiscard]] response render_problem(const problem_info& p, const i18n& messages,
                                      std::string_view language, std::string_view request_id);

} // namespace sspr::gateway
