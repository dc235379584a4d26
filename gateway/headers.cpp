#include "gateway/headers.hpp"

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdio>

namespace sspr::gateway {

void set_security_headers(response& res) {
    res.set(http::field::strict_transport_security, "max-age=31536000; includeSubDomains");
    // Pages use their own stylesheet and inline data: images (the TOTP QR code) only; no script,
    // no framing, and forms post to the gateway itself.
    res.set("Content-Security-Policy",
            "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
            "frame-ancestors 'none'; base-uri 'none'");
    // same-origin, not no-referrer: under no-referrer a browser sends "Origin: null" with the
    // pages' own form posts (Fetch, "serializing a request origin"), and the Origin check refuses
    // them; other sites still get no referrer.
    res.set("Referrer-Policy", "same-origin");
    res.set(http::field::cache_control, "no-store");
    res.set("X-Content-Type-Options", "nosniff");
    res.set("X-Frame-Options", "DENY");
}

std::string http_date(std::time_t t) {
    // Not strftime: %a and %b follow the locale, and the header must be English.
    static constexpr std::array<const char*, 7> days{"Sun", "Mon", "Tue", "Wed",
                                                     "Thu", "Fri", "Sat"};
    static constexpr std::array<const char*, 12> months{"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                        "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    std::tm tm{};
    if (gmtime_r(&t, &tm) == nullptr) {
        return {};
    }
    std::array<char, 32> buf{};
    const int n = std::snprintf(buf.data(), buf.size(), "%s, %02d %s %04d %02d:%02d:%02d GMT",
                                days.at(static_cast<std::size_t>(tm.tm_wday)), tm.tm_mday,
                                months.at(static_cast<std::size_t>(tm.tm_mon)), tm.tm_year + 1900,
                                tm.tm_hour, tm.tm_min, tm.tm_sec);
    return n > 0 ? std::string(buf.data(), static_cast<std::size_t>(n)) : std::string();
}

void set_date_header(response& res) {
    thread_local std::time_t made_for = -1;
    thread_local std::string text;
    const std::time_t now = std::chrono::system_clock::to_time_t(std::chrono::system_clock::now());
    if (now != made_for) {
        text = http_date(now);
        made_for = now;
    }
    if (!text.empty()) {
        res.set(http::field::date, text);
    }
}

std::string make_request_id(common::random& random) {
    std::array<std::byte, 12> bytes{};
    random.fill(bytes);
    static constexpr char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    std::string out;
    out.reserve(16);
    // 12 bytes are four groups of three: 16 characters, no padding.
    for (std::size_t i = 0; i < bytes.size(); i += 3) {
        const auto v = (std::to_integer<unsigned>(bytes[i]) << 16U) |
                       (std::to_integer<unsigned>(bytes[i + 1]) << 8U) |
                       std::to_integer<unsigned>(bytes[i + 2]);
        out += alphabet[(v >> 18U) & 63U];
        out += alphabet[(v >> 12U) & 63U];
        out += alphabet[(v >> 6U) & 63U];
        out += alphabet[v & 63U];
    }
    return out;
}

} // namespace sspr::gateway
