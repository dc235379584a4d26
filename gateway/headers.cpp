#include "gateway/headers.hpp"

#include <array>
#include <cstddef>

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
