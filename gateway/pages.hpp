// The server-rendered pages at / (issue 8 §1): forgot password, unlock, change password and the
// registration of contact info, in every catalogue language, over the same flows::engine calls as
// the JSON API (api.hpp) — a page is another rendering of the same step, never a second flow.
//
// The page layer takes plain request data (page_request) and gives plain response data
// (page_response); gateway/api.cpp adapts it to the app's calls (Beast stays out of here). Every
// handle() may block (engine calls): the gateway runs it on its blocking pool.
//
// HTML comes from mustache templates (templates/*.mustache, kainjow mustache, HTML-escaped by
// default); every text from the message catalogue. No script anywhere: the pages work without
// JavaScript under the gateway's strict CSP, styled by templates/ssprd.css alone.
//
// Forgery: every page visit holds a random `ssprd_page` cookie (Secure; HttpOnly;
// SameSite=Strict); every form carries a CSRF token that is a keyed HMAC of it, and a POST is
// answered only with both, and an Origin that is the gateway's own or one of
// server.allowed_origins. The enrollment session is the API's `ssprd_enroll` cookie.
#pragma once

#include "common/secret.hpp"
#include "gateway/i18n.hpp"

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sspr::config {
class holder;
}
namespace sspr::flows {
class engine;
}

namespace sspr::gateway {

/// What the page layer needs of a request (filled by the gateway's adapter).
struct page_request {
    std::string method; // "GET" | "POST"
    std::string path;   // the target's path, without the query
    std::string query;  // the raw query, without '?'
    std::string cookie; // every Cookie header, joined with "; "
    std::string accept_language;
    std::string content_type;
    /// The Origin header; "" when there is none.
    std::string origin;
    /// origin is the gateway's own or one of server.allowed_origins.
    bool origin_trusted = false;
    /// The form body (application/x-www-form-urlencoded); a secret: passwords and codes.
    common::secret body;
    std::string request_id;
    std::string client_ip;
    std::chrono::steady_clock::time_point received{};
};

struct page_response {
    unsigned status = 200;
    std::string content_type = "text/html; charset=utf-8";
    /// The page; a secret because some pages hold one (the TOTP set-up page).
    common::secret body;
    std::vector<std::string> set_cookies;
    std::string location; // 303 See Other
    /// Not before this instant (the engine's timing floor for the steps that have one).
    std::chrono::steady_clock::time_point not_before{};
};

/// The templates every page uses, loaded and compiled at start-up. Throws catalogue_error (the
/// same start-up failure as a broken message catalogue) for a missing or malformed one.
class page_templates {
public:
    [[nodiscard]] static page_templates load(const std::filesystem::path& dir);
    /// Every template the pages use, by name ("layout" is layout.mustache).
    [[nodiscard]] static const std::vector<std::string>& names();

    [[nodiscard]] const std::string& source(std::string_view name) const;
    [[nodiscard]] const std::string& stylesheet() const noexcept { return css_; }

private:
    std::vector<std::pair<std::string, std::string>> sources_;
    std::string css_;
};

/// The organisation's logo as the pages serve it.
struct logo_image {
    std::string content_type; // image/png, image/jpeg, image/webp or image/svg+xml
    std::string bytes;
};

class pages {
public:
    /// `engine`, `config` must outlive the pages. `csrf_key` keys the CSRF tokens (derived from
    /// store.hmac_key by the caller, so that every instance on one store accepts the others').
    pages(flows::engine& engine, const config::holder& config, std::shared_ptr<const i18n> messages,
          page_templates templates, common::secret csrf_key);
    ~pages();
    pages(const pages&) = delete;
    pages& operator=(const pages&) = delete;

    /// The (method, path) pairs handle() answers, for the router.
    [[nodiscard]] static const std::vector<std::pair<std::string, std::string>>& routes();

    /// Answers one request of routes(); blocks on the engine.
    [[nodiscard]] page_response handle(const page_request& req);

    /// The stylesheet served at /static/ssprd.css.
    [[nodiscard]] const std::string& stylesheet() const noexcept;

    /// ui.logo, served at /static/logo; null when the configuration names none (or the file is
    /// no longer an image of at most 256 KiB). Reads the file once per configuration.
    [[nodiscard]] std::shared_ptr<const logo_image> logo() const;

    struct impl;

private:
    std::unique_ptr<impl> impl_;
};

/// The CSRF key of the pages from store.hmac_key (an HMAC with a label of its own, so the key
/// itself is used for nothing else here).
[[nodiscard]] common::secret page_key_from(const common::secret& hmac_key);

/// The templates directory next to a catalogue directory (…/messages → …/templates).
[[nodiscard]] std::filesystem::path templates_dir_for(const std::filesystem::path& messages_dir);

} // namespace sspr::gateway
