// Fuzzes the request headers the gateway reads itself (there are no form bodies on main: the API
// takes JSON only): Cookie and Authorization (the enrollment session's credential), Origin (CORS
// and the cross-site rule), Accept-Language (the answer's language) and X-Forwarded-For (the
// client's address behind trusted proxies). The input's first byte picks the peer (bit 0: a
// trusted proxy 10.0.0.1, else 192.0.2.10); the rest is split at 0x1f bytes into Cookie,
// Accept-Language, X-Forwarded-For, Origin and Authorization, where "$token" stands for the token
// of an enrollment session the harness opened first (api_harness.hpp makes it the same on every
// run).
//
// Invariants:
//   - negotiate gives one of the languages; a problem answer's Content-Language is that one;
//   - normalise_origin gives "" or a fixed point; is_trusted agrees with it and the policy;
//     apply_cors allows exactly the allowed cross origins, by the very origin sent;
//   - client_address: an untrusted peer is the client whatever the header says; a trusted peer
//     that appended an untrusted address makes that address the client whatever came before it
//     (a client cannot forge past the first untrusted hop); appending a trusted hop h gives what
//     h itself as the peer would give;
//   - GET /api/v1/enroll/methods with these headers answers 200 or 401 (and check()'s rules),
//     200 only when the token is in the Cookie or Authorization header;
//   - DELETE /api/v1/enroll/methods/{id} with the Cookie alone (no Authorization) from an Origin
//     that is not trusted never succeeds (the cross-site request forgery rule).
#include "fuzz/api_harness.hpp"
#include "fuzz/fields.hpp"

#include "gateway/client_ip.hpp"
#include "gateway/cors.hpp"
#include "gateway/i18n.hpp"

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

using namespace sspr;
using namespace sspr::gateway;
using sspr::fuzz::broken;
using sspr::fuzz::harness;

namespace {

namespace ip = boost::asio::ip;

void replace_all(std::string& s, std::string_view from, std::string_view to) {
    for (std::size_t at = s.find(from); at != std::string::npos;
         at = s.find(from, at + to.size())) {
        s.replace(at, from.size(), to);
    }
}

/// A header value Beast would have read: no CR, LF or NUL (the parser refuses those).
std::string header_value(std::string v) {
    for (char& c : v) {
        if (c == '\r' || c == '\n' || c == '\0') {
            c = ' ';
        }
    }
    return v;
}

const trusted_proxies& proxies() {
    static const std::vector<std::string> entries{"10.0.0.0/8", "::1"};
    static const trusted_proxies p(entries);
    return p;
}

void check_client_address(const ip::address& peer, const std::string& xff) {
    const auto& p = proxies();
    const ip::address got = p.client_address(peer, xff);
    if (!p.contains(peer) && got != unmapped(peer)) {
        broken("an untrusted peer's X-Forwarded-For was believed", 0);
    }
    const ip::address proxy = ip::make_address("10.0.0.1");
    const ip::address outsider = ip::make_address("203.0.113.9");
    if (p.client_address(proxy, xff + ", 203.0.113.9") != outsider) {
        broken("a forged hop before the first untrusted one was believed", 0);
    }
    const ip::address hop = ip::make_address("10.1.2.3");
    if (p.client_address(proxy, xff + ", 10.1.2.3") != p.client_address(hop, xff)) {
        broken("a trusted hop is not walked past like a trusted peer", 0);
    }
}

void check_origin(const origin_policy& policy, const std::string& origin) {
    const std::string n = normalise_origin(origin);
    if (!n.empty() && normalise_origin(n) != n) {
        broken("normalise_origin is not a fixed point", 0);
    }
    if (policy.is_trusted(origin) &&
        (n.empty() || (n != policy.own() && !policy.is_cross_allowed(n)))) {
        broken("is_trusted says yes for an origin neither own nor allowed", 0);
    }
    response res{http::status::ok, 11};
    apply_cors(res, policy, origin);
    const auto allow = res[http::field::access_control_allow_origin];
    if (policy.is_cross_allowed(origin) ? allow != origin : !allow.empty()) {
        broken("Access-Control-Allow-Origin for an origin not allowed, or another one", 0);
    }
}

request with_headers(http::verb method, std::string_view target,
                     const std::vector<std::string>& h) {
    request req{method, target, 11};
    if (!h[0].empty()) {
        req.set(http::field::cookie, h[0]);
    }
    if (!h[1].empty()) {
        req.set(http::field::accept_language, h[1]);
    }
    if (!h[2].empty()) {
        req.set("X-Forwarded-For", h[2]);
    }
    if (!h[3].empty()) {
        req.set(http::field::origin, h[3]);
    }
    if (!h[4].empty()) {
        req.set(http::field::authorization, h[4]);
    }
    req.prepare_payload();
    return req;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0) {
        return 0;
    }
    const ip::address peer = ip::make_address((data[0] & 1U) != 0 ? "10.0.0.1" : "192.0.2.10");
    // NOLINTNEXTLINE(cppcoreguidelines-pro-type-reinterpret-cast): the fuzzer's signature
    const std::string_view rest(reinterpret_cast<const char*>(data) + 1, size - 1);
    std::vector<std::string> h = sspr::fuzz::split_fields(rest, 5);
    for (auto& v : h) {
        v = header_value(std::move(v));
    }

    const std::array<std::string, 2> languages{"en", "ko"};
    const std::string language = negotiate(h[1], languages, "en");
    if (language != "en" && language != "ko") {
        broken("negotiate gave a language that is not offered", 0);
    }
    check_client_address(peer, h[2]);
    const config::config cfg = fuzz::test_config();
    const origin_policy policy(cfg.server.public_url, cfg.server.allowed_origins);
    check_origin(policy, h[3]);

    harness api;
    const response opened = api.send(
        [] {
            request req{http::verb::post, "/api/v1/enroll/session", 11};
            req.set(http::field::content_type, "application/json");
            req.body() = R"({"username":"alice","password":"Start-Pass-1!"})";
            req.prepare_payload();
            return req;
        }(),
        transport_problem::none);
    if (opened.result_int() != 200) {
        broken("the enrollment session did not open", static_cast<int>(opened.result_int()));
    }
    const std::string token(boost::json::parse(opened.body()).at("token").as_string());
    replace_all(h[0], "$token", token);
    replace_all(h[4], "$token", token);

    const request get = with_headers(http::verb::get, "/api/v1/enroll/methods", h);
    const response listed = api.send(get, transport_problem::none);
    fuzz::check(get, listed, transport_problem::none);
    const auto status = listed.result_int();
    if (status != 200 && status != 401) {
        broken("the methods list answered neither 200 nor 401", static_cast<int>(status));
    }
    if (status == 200 && h[0].find(token) == std::string::npos &&
        h[4].find(token) == std::string::npos) {
        broken("the methods list answered 200 without the session's token", 200);
    }
    if (status >= 400 && listed[http::field::content_language] != language) {
        broken("the problem is not in the negotiated language", static_cast<int>(status));
    }

    std::vector<std::string> cookie_only = h;
    cookie_only[4].clear();
    const request forged =
        with_headers(http::verb::delete_, "/api/v1/enroll/methods/email-0", cookie_only);
    const response removed = api.send(forged, transport_problem::none);
    fuzz::check(forged, removed, transport_problem::none);
    // The gateway judges the Origin a parser hands it: HTTP drops the blanks around a field
    // value (RFC 9110 §5.5), and header_value turned control bytes into blanks.
    std::string_view origin = h[3];
    const auto first = origin.find_first_not_of(" \t");
    origin = first == std::string_view::npos ? std::string_view() : origin.substr(first);
    origin = origin.substr(0, origin.find_last_not_of(" \t") + 1);
    if (!policy.is_trusted(origin) && removed.result_int() < 300) {
        broken("a cookie-only state change from an untrusted origin succeeded",
               static_cast<int>(removed.result_int()));
    }
    return 0;
}
