// The HTTP application the server runs: for every request it works out who is asking (client
// address behind trusted proxies, language, origin), answers CORS preflights, routes (404 and 405
// with Allow), enforces the origin rule and the JSON content type, parses the body, and hands a
// `call` to the route's handler. Whatever answers the call gets the CORS headers and one access
// log line; the server adds the security headers.
//
// Routes are plain functions of a call, so the engine-backed API (api.hpp) is one set of routes
// and tests register their own.
#pragma once

#include "common/blocking_pool.hpp"
#include "common/secret.hpp"
#include "config/config.hpp"
#include "gateway/client_ip.hpp"
#include "gateway/cors.hpp"
#include "gateway/i18n.hpp"
#include "gateway/problem.hpp"
#include "gateway/router.hpp"
#include "gateway/server.hpp"

#include <boost/json/value.hpp>

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sspr::gateway {

/// What the application takes from the configuration; replaced on reload (app::update).
struct app_settings {
    std::string public_url = "https://localhost";
    std::vector<std::string> allowed_origins;
    std::vector<std::string> trusted_proxies;
    std::vector<std::string> languages{"en", "ko"};
    std::string default_language = "en";
};

[[nodiscard]] app_settings app_settings_from(const config::config& cfg);

/// Who is asking, as the flows' request_context wants it.
struct request_info {
    std::string request_id;
    std::string client_ip;
    std::string language;
    std::chrono::steady_clock::time_point received{};
};

/// The enrollment session's cookie.
inline constexpr std::string_view session_cookie_name = "ssprd_enroll";

/// A session token a request presented.
struct credential {
    common::secret token;
    /// From the cookie, not the Authorization header: state changes then need a trusted Origin.
    bool from_cookie = false;
};

/// One request being answered. Shared by the route handler and the work it queues; answering is
/// thread-safe and happens once (later answers are dropped). A call destroyed without an answer
/// answers 500 itself. The request body is wiped when the call dies.
class call {
public:
    using steady_time = std::chrono::steady_clock::time_point;
    struct core; // what the app shares with its calls (catalogue, policies)

    call(std::shared_ptr<const core> c, exchange&& ex, request_info info);
    ~call();
    call(const call&) = delete;
    call& operator=(const call&) = delete;

    [[nodiscard]] const request& req() const noexcept { return req_; }
    [[nodiscard]] const request_info& info() const noexcept { return info_; }
    /// The JSON body of routes that take one; an empty object otherwise.
    [[nodiscard]] const boost::json::object& body() const noexcept;
    /// The {name} segments of the route's pattern, decoded, in order.
    [[nodiscard]] const std::vector<std::string>& params() const noexcept { return params_; }
    /// The Origin header; "" when there is none.
    [[nodiscard]] std::string_view origin() const noexcept { return origin_; }
    /// Origin present and the gateway's own or an allowed one.
    [[nodiscard]] bool origin_trusted() const;
    /// "Authorization: Bearer TOKEN", else the ssprd_enroll cookie; nullopt when neither.
    [[nodiscard]] std::optional<credential> session_credential() const;

    /// Sends `res` (not before `not_before`), with the CORS headers, and logs the access line.
    void respond(response res, steady_time not_before = {});
    /// `body` as application/json.
    void json(http::status status, const boost::json::value& body, steady_time not_before = {});
    /// A problem+json answer in the request's language.
    void fail(const problem_info& p, steady_time not_before = {});
    /// The problem response fail() would send, to add headers to it first.
    [[nodiscard]] response problem_response(const problem_info& p) const;
    [[nodiscard]] bool answered() const noexcept { return answered_.load(); }

private:
    friend class app;

    std::shared_ptr<const core> core_;
    request req_;
    request_info info_;
    responder responder_;
    boost::json::value body_; // an object
    std::vector<std::string> params_;
    std::string origin_;
    std::atomic<bool> answered_{false};
};

using route_handler = std::function<void(const std::shared_ptr<call>&)>;

struct route_options {
    /// POST/PUT: the body must be a JSON object sent as application/json.
    bool json_body = true;
    /// An empty body is taken as {} (routes whose fields are all optional).
    bool empty_body_ok = false;
};

class app {
public:
    /// `messages` must hold the problem texts of every code the routes raise. Throws
    /// std::invalid_argument for settings that do not parse (public_url, trusted_proxies).
    app(std::shared_ptr<const i18n> messages, const app_settings& settings);
    app(const app&) = delete;
    app& operator=(const app&) = delete;

    /// Registers a route. Only before the server starts: routes are read without a lock.
    void add(http::verb method, std::string_view pattern, route_handler on_request,
             route_options options = {});

    /// New settings for requests from now on (a reload). Throws like the constructor, keeping
    /// the settings in force.
    void update(const app_settings& settings);

    /// The server's handler: runs on the connection's strand, never blocks.
    void handle(exchange ex);

    /// handle as a server::handler; the app must outlive the server's shutdown().
    [[nodiscard]] handler as_handler();

private:
    struct route {
        route_handler handler;
        route_options options;
    };

    [[nodiscard]] std::shared_ptr<const call::core> current() const;
    void preflight(const std::shared_ptr<call>& c, const router::match& m);

    router router_;
    std::vector<route> routes_; // by router id
    mutable std::mutex mutex_;
    std::shared_ptr<const call::core> core_; // guarded by mutex_
};

/// Runs `job` on `pool` for call `c`; a full pool answers 503 overloaded (Retry-After: 1) at once,
/// and a job that throws answers 500. The job answers through the call.
void offload(common::blocking_pool& pool, const std::shared_ptr<call>& c,
             std::function<void(call&)> job);

} // namespace sspr::gateway
