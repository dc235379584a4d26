#include "config/logo.hpp"

namespace sspr::config {
namespace {

bool starts_with(std::string_view s, std::string_view prefix) noexcept {
    return s.substr(0, prefix.size()) == prefix;
}

/// Skips whitespace, an XML declaration, comments and a DOCTYPE before an SVG's root element.
bool svg_root(std::string_view s) noexcept {
    if (starts_with(s, "\xEF\xBB\xBF")) {
        s.remove_prefix(3);
    }
    // Bounded: each turn removes at least one byte or returns.
    for (;;) {
        const auto first = s.find_first_not_of(" \t\r\n");
        if (first == std::string_view::npos) {
            return false;
        }
        s.remove_prefix(first);
        if (starts_with(s, "<svg") && s.size() > 4 &&
            std::string_view(" \t\r\n>/").find(s[4]) != std::string_view::npos) {
            return true;
        }
        std::string_view end;
        if (starts_with(s, "<?xml")) {
            end = "?>";
        } else if (starts_with(s, "<!--")) {
            end = "-->";
        } else if (starts_with(s, "<!DOCTYPE")) {
            end = ">";
        } else {
            return false;
        }
        const auto at = s.find(end, 2);
        if (at == std::string_view::npos) {
            return false;
        }
        s.remove_prefix(at + end.size());
    }
}

} // namespace

std::string_view logo_content_type(std::string_view bytes) noexcept {
    using namespace std::string_view_literals;
    if (starts_with(bytes, "\x89PNG\r\n\x1a\n"sv)) {
        return "image/png";
    }
    if (starts_with(bytes, "\xFF\xD8\xFF"sv)) {
        return "image/jpeg";
    }
    if (bytes.size() >= 12 && starts_with(bytes, "RIFF") && bytes.substr(8, 4) == "WEBP") {
        return "image/webp";
    }
    if (svg_root(bytes)) {
        return "image/svg+xml";
    }
    return {};
}

} // namespace sspr::config
