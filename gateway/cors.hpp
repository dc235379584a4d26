// Which origins may act on the gateway: its own (server.public_url) and the intranet origins
// the admin lists (server.allowed_origins). The JSON API answers CORS for the listed ones only,
// by exact origin, never with "*"; a state-changing request whose Origin is neither is refused.
#pragma once

#include "gateway/http.hpp"

#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace sspr::gateway {

class origin_policy {
public:
    origin_policy() = default;
    /// `public_url` is an https:// URL (its origin is the gateway's own); `allowed` are
    /// origins (scheme://host[:port]). Throws std::invalid_argument for a public_url that is
    /// not an absolute URL (the loader checks it first).
    origin_policy(std::string_view public_url, std::span<const std::string> allowed);

    /// "https://sspr.example.org" (default port left out, host in lower case).
    [[nodiscard]] const std::string& own() const noexcept { return own_; }
    /// One of allowed_origins (not the gateway's own).
    [[nodiscard]] bool is_cross_allowed(std::string_view origin) const;
    /// The gateway's own origin or an allowed one.
    [[nodiscard]] bool is_trusted(std::string_view origin) const;

private:
    std::string own_;
    std::vector<std::string> allowed_; // normalised
};

/// An origin in the form browsers send it: lower-case scheme and host, default port removed;
/// "" when `origin` is not scheme://host[:port].
[[nodiscard]] std::string normalise_origin(std::string_view origin);

/// Headers of a response to a request carrying `origin` ("" = no Origin header): always
/// Vary: Origin; for an allowed cross origin Access-Control-Allow-Origin (that origin) and
/// Access-Control-Expose-Headers (X-Request-Id, Retry-After). Credentials are never allowed
/// cross-origin: pages on other origins use the bearer token, not the cookie.
void apply_cors(response& res, const origin_policy& policy, std::string_view origin);

/// The 204 answer to a preflight from an allowed origin for a resource accepting `methods`.
[[nodiscard]] response preflight_response(std::string_view origin,
                                          std::span<const http::verb> methods);

/// "GET, POST" for an Allow or Access-Control-Allow-Methods header.
[[nodiscard]] std::string method_list(std::span<const http::verb> methods);

} // namespace sspr::gateway
