#include "ldap/unicode_pwd.hpp"

#include "ldap/escape.hpp"

#include <cstdint>

namespace sspr::ldap {
namespace {

void put_unit(std::string& out, std::uint32_t unit) {
    out += static_cast<char>(unit & 0xffU);
    out += static_cast<char>((unit >> 8U) & 0xffU);
}

/// Appends the UTF-16LE form of `utf8`, which must be well-formed. Never more than two bytes
/// per input byte, so a buffer reserved for that never reallocates.
void append_utf16le(std::string& out, std::string_view utf8) {
    std::size_t i = 0;
    while (i < utf8.size()) {
        const auto lead = static_cast<unsigned char>(utf8[i]);
        std::uint32_t cp = 0;
        std::size_t extra = 0;
        if (lead < 0x80U) {
            cp = lead;
        } else if ((lead & 0xe0U) == 0xc0U) {
            cp = lead & 0x1fU;
            extra = 1;
        } else if ((lead & 0xf0U) == 0xe0U) {
            cp = lead & 0x0fU;
            extra = 2;
        } else {
            cp = lead & 0x07U;
            extra = 3;
        }
        for (std::size_t k = 1; k <= extra; ++k) {
            cp = (cp << 6U) | (static_cast<unsigned char>(utf8[i + k]) & 0x3fU);
        }
        i += extra + 1;
        if (cp >= 0x10000U) {
            const std::uint32_t v = cp - 0x10000U;
            put_unit(out, 0xd800U + (v >> 10U));
            put_unit(out, 0xdc00U + (v & 0x3ffU));
        } else {
            put_unit(out, cp);
        }
    }
}

} // namespace

std::optional<std::string> utf8_to_utf16le(std::string_view utf8) {
    if (!is_valid_utf8(utf8)) {
        return std::nullopt;
    }
    std::string out;
    out.reserve(utf8.size() * 2);
    append_utf16le(out, utf8);
    return out;
}

std::optional<common::secret> ad_unicode_pwd(std::string_view password) {
    if (password.find('\0') != std::string_view::npos || !is_valid_utf8(password)) {
        return std::nullopt;
    }
    // The quotes are encoded around the password in place: no quoted UTF-8 copy of it is made.
    std::string encoded;
    encoded.reserve(password.size() * 2 + 4);
    append_utf16le(encoded, "\"");
    append_utf16le(encoded, password);
    append_utf16le(encoded, "\"");
    return common::secret(std::move(encoded));
}

} // namespace sspr::ldap
