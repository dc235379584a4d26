// What every response of the gateway carries whatever produced it (a route, a refusal, the server
// itself): the security headers and the request id that ties the response to the access log and
// the audit trail.
#pragma once

#include "common/random.hpp"
#include "gateway/http.hpp"

#include <ctime>
#include <string>
#include <string_view>

namespace sspr::gateway {

/// Strict-Transport-Security, Content-Security-Policy, Referrer-Policy, Cache-Control: no-store,
/// X-Content-Type-Options and X-Frame-Options, replacing any value a handler set.
void set_security_headers(response& res);

/// `t` as an HTTP date (RFC 9110 IMF-fixdate, always in English and GMT):
/// "Sun, 06 Nov 1994 08:49:37 GMT".
[[nodiscard]] std::string http_date(std::time_t t);

/// Date: now, which RFC 9110 asks of every origin server with a clock; the text is made once per
/// second per thread.
void set_date_header(response& res);

/// 96 random bits, base64url (16 characters): unguessable, so it can be shown to users and
/// quoted to the helpdesk without telling anything about other requests.
[[nodiscard]] std::string make_request_id(common::random& random);

/// The header that carries it.
inline constexpr std::string_view request_id_header = "X-Request-Id";

} // namespace sspr::gateway
