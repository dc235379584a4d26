// Unit tests of challenge/qr.hpp: the smallest version that holds the text (ISO/IEC 18004 byte
// capacities at level M), a well-formed SVG whose drawn modules show the fixed patterns every QR
// symbol has, and refusals for what cannot be encoded.
#include "challenge/qr.hpp"

#include <catch2/catch.hpp>

#include <charconv>
#include <string>
#include <string_view>
#include <vector>

namespace {

using grid = std::vector<std::vector<bool>>;

/// Reads back the dark modules from the path the SVG draws ("M x y h n v1 h-n z" per run), in
/// module coordinates including the quiet zone. Fails the test on anything else in the path.
grid modules_of(std::string_view svg, int side) {
    grid g(static_cast<std::size_t>(side),
           std::vector<bool>(static_cast<std::size_t>(side), false));
    const std::string_view marker = R"( d=")";
    const auto start = svg.find(marker);
    REQUIRE(start != std::string_view::npos);
    auto d = svg.substr(start + marker.size());
    d = d.substr(0, d.find('"'));

    const auto number = [&](std::string_view& s) {
        int v = -1;
        const auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
        REQUIRE(ec == std::errc{});
        s.remove_prefix(static_cast<std::size_t>(ptr - s.data()));
        return v;
    };
    const auto expect = [&](std::string_view& s, std::string_view token) {
        REQUIRE(s.starts_with(token));
        s.remove_prefix(token.size());
    };
    while (!d.empty()) {
        expect(d, "M");
        const int x = number(d);
        expect(d, " ");
        const int y = number(d);
        expect(d, "h");
        const int n = number(d);
        expect(d, "v1h-");
        REQUIRE(number(d) == n);
        expect(d, "z");
        REQUIRE(y >= 0);
        REQUIRE(y < side);
        REQUIRE(x >= 0);
        REQUIRE(x + n <= side);
        for (int col = x; col < x + n; ++col) {
            g[static_cast<std::size_t>(y)][static_cast<std::size_t>(col)] = true;
        }
    }
    return g;
}

bool dark(const grid& g, int x, int y) {
    return g[static_cast<std::size_t>(y)][static_cast<std::size_t>(x)];
}

/// A finder pattern: a dark 7x7 ring, a light ring inside it, a dark 3x3 centre; light separator
/// around it (checked where it lies inside the symbol).
void check_finder(const grid& g, int left, int top) {
    for (int dy = 0; dy < 7; ++dy) {
        for (int dx = 0; dx < 7; ++dx) {
            const bool ring = dx == 0 || dx == 6 || dy == 0 || dy == 6;
            const bool centre = dx >= 2 && dx <= 4 && dy >= 2 && dy <= 4;
            INFO("finder at " << left << "," << top << " module " << dx << "," << dy);
            CHECK(dark(g, left + dx, top + dy) == (ring || centre));
        }
    }
}

} // namespace

TEST_CASE("qr: a short text fits version 1 (21 modules) with a 4-module quiet zone",
          "[challenge]") {
    // Version 1-M holds 14 bytes.
    const auto qr = sspr::challenge::qr_svg("hello");
    REQUIRE(qr.has_value());
    CHECK(qr->version == 1);
    CHECK(qr->modules == 21);
    const auto svg = qr->svg.reveal();
    CHECK(svg.starts_with("<svg"));
    CHECK(svg.find(R"(xmlns="http://www.w3.org/2000/svg")") != std::string_view::npos);
    CHECK(svg.find(R"(viewBox="0 0 29 29")") != std::string_view::npos);
    CHECK(svg.ends_with("</svg>"));
}

TEST_CASE("qr: 20 bytes need version 2 (25 modules)", "[challenge]") {
    // More than version 1-M's 14 bytes, within version 2-M's 26.
    const auto qr = sspr::challenge::qr_svg("abcdefghijklmnopqrst");
    REQUIRE(qr.has_value());
    CHECK(qr->version == 2);
    CHECK(qr->modules == 25);
    CHECK(qr->svg.reveal().find(R"(viewBox="0 0 33 33")") != std::string_view::npos);
}

TEST_CASE("qr: the drawn modules carry the finder and timing patterns", "[challenge]") {
    const auto qr = sspr::challenge::qr_svg(
        "otpauth://totp/ssprd:alice?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=ssprd");
    REQUIRE(qr.has_value());
    const int w = qr->modules;
    REQUIRE(w == 17 + 4 * qr->version);
    const int side = w + 8;
    const auto g = modules_of(qr->svg.reveal(), side);

    // Quiet zone: nothing dark in the 4-module border.
    for (int y = 0; y < side; ++y) {
        for (int x = 0; x < side; ++x) {
            if (x < 4 || y < 4 || x >= side - 4 || y >= side - 4) {
                REQUIRE_FALSE(dark(g, x, y));
            }
        }
    }
    check_finder(g, 4, 4);
    check_finder(g, 4 + w - 7, 4);
    check_finder(g, 4, 4 + w - 7);
    // Timing patterns: row 6 and column 6 alternate, dark on even positions, between the finders.
    for (int i = 8; i < w - 8; ++i) {
        CHECK(dark(g, 4 + i, 4 + 6) == (i % 2 == 0));
        CHECK(dark(g, 4 + 6, 4 + i) == (i % 2 == 0));
    }
    // The dark module every symbol has at (8, 4 * version + 9).
    CHECK(dark(g, 4 + 8, 4 + 4 * qr->version + 9));
}

TEST_CASE("qr: empty text, NUL and text beyond version 40 are refused", "[challenge]") {
    CHECK(sspr::challenge::qr_svg("").error() == sspr::challenge::error::qr_failed);
    CHECK(sspr::challenge::qr_svg(std::string_view("a\0b", 3)).error() ==
          sspr::challenge::error::qr_failed);
    // Version 40-M holds 2331 bytes.
    CHECK(sspr::challenge::qr_svg(std::string(3000, 'x')).error() ==
          sspr::challenge::error::qr_failed);
}
