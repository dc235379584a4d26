#include "gateway/cors.hpp"

#include <boost/url/parse.hpp>
#include <boost/url/url_view.hpp>

#include <algorithm>
#include <cctype>
#include <stdexcept>

namespace sspr::gateway {

namespace {

std::string lower(std::string_view s) {
    std::string out(s);
    std::transform(out.begin(), out.end(), out.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return out;
}

std::string origin_of(const boost::urls::url_view& u) {
    std::string scheme = lower(u.scheme());
    std::string out = scheme + "://" + lower(u.encoded_host());
    const bool default_port =
        (scheme == "https" && u.port() == "443") || (scheme == "http" && u.port() == "80");
    if (u.has_port() && !u.port().empty() && !default_port) {
        out += ":" + std::string(u.port());
    }
    return out;
}

} // namespace

std::string normalise_origin(std::string_view origin) {
    const auto parsed = boost::urls::parse_absolute_uri(origin);
    if (!parsed || !parsed->has_authority() || parsed->encoded_host().empty() ||
        parsed->has_userinfo() || !parsed->encoded_path().empty() || parsed->has_query()) {
        return {};
    }
    return origin_of(*parsed);
}

origin_policy::origin_policy(std::string_view public_url, std::span<const std::string> allowed) {
    const auto parsed = boost::urls::parse_absolute_uri(public_url);
    if (!parsed || !parsed->has_authority() || parsed->encoded_host().empty()) {
        throw std::invalid_argument("server.public_url: not an absolute URL");
    }
    own_ = origin_of(*parsed);
    for (const auto& a : allowed) {
        std::string n = normalise_origin(a);
        if (!n.empty() && n != own_) {
            allowed_.push_back(std::move(n));
        }
    }
}

bool origin_policy::is_cross_allowed(std::string_view origin) const {
    if (origin.empty()) {
        return false;
    }
    const std::string n = normalise_origin(origin);
    return !n.empty() && std::find(allowed_.begin(), allowed_.end(), n) != allowed_.end();
}

bool origin_policy::is_trusted(std::string_view origin) const {
    if (origin.empty()) {
        return false;
    }
    const std::string n = normalise_origin(origin);
    return !n.empty() && (n == own_ || is_cross_allowed(n));
}

void apply_cors(response& res, const origin_policy& policy, std::string_view origin) {
    // Caches must not hand one origin's answer to another.
    res.set(http::field::vary, "Origin");
    if (policy.is_cross_allowed(origin)) {
        res.set(http::field::access_control_allow_origin, origin);
        res.set(http::field::access_control_expose_headers, "X-Request-Id, Retry-After");
    }
}

std::string method_list(std::span<const http::verb> methods) {
    std::string out;
    for (const auto m : methods) {
        if (!out.empty()) {
            out += ", ";
        }
        const auto name = http::to_string(m);
        out.append(name.data(), name.size());
    }
    return out;
}

response preflight_response(std::string_view origin, std::span<const http::verb> methods) {
    response res{http::status::no_content, 11};
    res.set(http::field::access_control_allow_origin, origin);
    res.set(http::field::access_control_allow_methods, method_list(methods));
    res.set(http::field::access_control_allow_headers,
            "Content-Type, Authorization, Accept-Language");
    res.set(http::field::access_control_max_age, "600");
    res.set(http::field::vary, "Origin");
    return res;
}

} // namespace sspr::gateway
