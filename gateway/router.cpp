#include "gateway/router.hpp"

#include <boost/url/parse.hpp>
#include <boost/url/url_view.hpp>

#include <algorithm>
#include <stdexcept>

namespace sspr::gateway {

namespace {

/// Our own patterns, not user input: split on '/'.
std::vector<std::string> pattern_segments(std::string_view pattern) {
    if (pattern.empty() || pattern.front() != '/') {
        throw std::invalid_argument("route pattern must start with /: " + std::string(pattern));
    }
    std::vector<std::string> out;
    std::string_view rest = pattern.substr(1);
    while (!rest.empty()) {
        const auto slash = rest.find('/');
        std::string segment(rest.substr(0, slash));
        if (segment.size() > 2 && segment.front() == '{' && segment.back() == '}') {
            segment = "{}";
        }
        out.push_back(std::move(segment));
        rest = slash == std::string_view::npos ? std::string_view{} : rest.substr(slash + 1);
    }
    return out;
}

} // namespace

std::size_t router::add(http::verb method, std::string_view pattern) {
    entry e{method, pattern_segments(pattern), std::string(pattern)};
    for (const auto& r : routes_) {
        if (r.method == method && r.segments == e.segments) {
            throw std::invalid_argument("route added twice: " + std::string(pattern));
        }
    }
    routes_.push_back(std::move(e));
    return routes_.size() - 1;
}

router::match router::find(http::verb method, std::string_view target) const {
    match m;
    const auto parsed = boost::urls::parse_origin_form(target);
    if (!parsed) {
        m.result = outcome::bad_target;
        return m;
    }
    std::vector<std::string> segments;
    for (const auto& s : parsed->segments()) {
        segments.push_back(s);
    }

    for (std::size_t i = 0; i < routes_.size(); ++i) {
        const entry& r = routes_[i];
        if (r.segments.size() != segments.size()) {
            continue;
        }
        std::vector<std::string> params;
        bool same = true;
        for (std::size_t k = 0; k < segments.size() && same; ++k) {
            if (r.segments[k] == "{}") {
                // A capture is one non-empty segment ("/methods/" names no method).
                same = !segments[k].empty();
                params.push_back(segments[k]);
            } else {
                same = r.segments[k] == segments[k];
            }
        }
        if (!same) {
            continue;
        }
        if (std::find(m.allowed.begin(), m.allowed.end(), r.method) == m.allowed.end()) {
            m.allowed.push_back(r.method);
        }
        if (r.method == method && m.result != outcome::found) {
            m.result = outcome::found;
            m.route = i;
            m.params = std::move(params);
        }
    }
    if (m.result != outcome::found) {
        m.result = m.allowed.empty() ? outcome::not_found : outcome::method_not_allowed;
    }
    return m;
}

} // namespace sspr::gateway
