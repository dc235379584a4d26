// The HTTP message types every part of the gateway speaks: Beast's, with the whole body in a
// string (bodies are small and bounded by server.max_body_bytes).
#pragma once

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

#include <string_view>

namespace sspr::gateway {

namespace http = boost::beast::http;

using request = http::request<http::string_body>;
using response = http::response<http::string_body>;

/// `s` without leading and trailing spaces and tabs (HTTP's optional whitespace, RFC 9110 5.6.3;
/// also what a form field's value is stripped of).
inline std::string_view trim_blanks(std::string_view s) noexcept {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
        s.remove_prefix(1);
    }
    while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) {
        s.remove_suffix(1);
    }
    return s;
}

/// The first non-empty value of cookie `name` in one Cookie header (RFC 6265 4.2.1: name=value
/// pairs separated by ";"); empty when there is none. A view into `header`.
inline std::string_view cookie_value(std::string_view header, std::string_view name) noexcept {
    while (!header.empty()) {
        const auto semicolon = header.find(';');
        const std::string_view pair = trim_blanks(header.substr(0, semicolon));
        header =
            semicolon == std::string_view::npos ? std::string_view{} : header.substr(semicolon + 1);
        const auto eq = pair.find('=');
        if (eq != std::string_view::npos && trim_blanks(pair.substr(0, eq)) == name) {
            if (const auto value = trim_blanks(pair.substr(eq + 1)); !value.empty()) {
                return value;
            }
        }
    }
    return {};
}

} // namespace sspr::gateway
