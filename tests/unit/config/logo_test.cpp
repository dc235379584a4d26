// config::logo_content_type: the images ui.logo may be, told by their first bytes.
#include "config/logo.hpp"

#include <catch2/catch.hpp>

#include <string>

using sspr::config::logo_content_type;
using namespace std::string_literals;

TEST_CASE("logo: PNG, JPEG and WebP by their signatures", "[config][logo]") {
    CHECK(logo_content_type("\x89PNG\r\n\x1a\n\0\0\0\rIHDR"s) == "image/png");
    CHECK(logo_content_type("\xFF\xD8\xFF\xE0\0\x10JFIF"s) == "image/jpeg");
    CHECK(logo_content_type("RIFF\x10\0\0\0WEBPVP8 "s) == "image/webp");
    // Near misses: a truncated signature, RIFF of another kind, a GIF.
    CHECK(logo_content_type("\x89PNG\r\n"s).empty());
    CHECK(logo_content_type("RIFF\x10\0\0\0WAVEfmt "s).empty());
    CHECK(logo_content_type("GIF89a").empty());
    CHECK(logo_content_type("").empty());
}

TEST_CASE("logo: an SVG's root element after a declaration, comments and a DOCTYPE",
          "[config][logo]") {
    CHECK(logo_content_type("<svg xmlns=\"http://www.w3.org/2000/svg\"/>") == "image/svg+xml");
    CHECK(logo_content_type("\xEF\xBB\xBF\n  <?xml version=\"1.0\"?>\n<!-- logo -->\n"
                            "<!DOCTYPE svg>\n<svg>\n</svg>") == "image/svg+xml");
    CHECK(logo_content_type("<svg>") == "image/svg+xml");
    // Not an SVG root: another element first, a longer name, an unterminated comment, HTML.
    CHECK(logo_content_type("<html><svg></svg></html>").empty());
    CHECK(logo_content_type("<svgx/>").empty());
    CHECK(logo_content_type("<!-- <svg>").empty());
    CHECK(logo_content_type("<svg").empty());
    CHECK(logo_content_type("   \n\t").empty());
}
