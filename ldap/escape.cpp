#include "ldap/escape.hpp"

#include <cstdint>

namespace sspr::ldap {
namespace {

constexpr std::string_view hex_digits = "0123456789abcdef";

void append_hex(std::string& out, char c) {
    const auto byte = static_cast<unsigned char>(c);
    out += '\\';
    out += hex_digits[byte >> 4U];
    out += hex_digits[byte & 0x0fU];
}

bool is_control(char c) noexcept {
    const auto byte = static_cast<unsigned char>(c);
    return byte < 0x20 || byte == 0x7f;
}

} // namespace

std::string escape_filter_value(std::string_view value) {
    std::string out;
    out.reserve(value.size() + 8);
    for (const char c : value) {
        if (c == '*' || c == '(' || c == ')' || c == '\\' || is_control(c)) {
            append_hex(out, c);
        } else {
            out += c;
        }
    }
    return out;
}

std::string escape_dn_value(std::string_view value) {
    std::string out;
    out.reserve(value.size() + 8);
    for (std::size_t i = 0; i < value.size(); ++i) {
        const char c = value[i];
        const bool first = i == 0;
        const bool last = i + 1 == value.size();
        if (is_control(c)) {
            append_hex(out, c);
        } else if (c == '"' || c == '+' || c == ',' || c == ';' || c == '<' || c == '>' ||
                   c == '\\' || c == '=' || (first && c == '#') || ((first || last) && c == ' ')) {
            out += '\\';
            out += c;
        } else {
            out += c;
        }
    }
    return out;
}

bool is_valid_utf8(std::string_view value) noexcept {
    std::size_t i = 0;
    while (i < value.size()) {
        const auto lead = static_cast<unsigned char>(value[i]);
        std::size_t extra = 0;
        std::uint32_t cp = 0;
        std::uint32_t min = 0;
        if (lead < 0x80U) {
            ++i;
            continue;
        }
        if ((lead & 0xe0U) == 0xc0U) {
            extra = 1;
            cp = lead & 0x1fU;
            min = 0x80;
        } else if ((lead & 0xf0U) == 0xe0U) {
            extra = 2;
            cp = lead & 0x0fU;
            min = 0x800;
        } else if ((lead & 0xf8U) == 0xf0U) {
            extra = 3;
            cp = lead & 0x07U;
            min = 0x10000;
        } else {
            return false;
        }
        if (value.size() - i <= extra) {
            return false;
        }
        for (std::size_t k = 1; k <= extra; ++k) {
            const auto cont = static_cast<unsigned char>(value[i + k]);
            if ((cont & 0xc0U) != 0x80U) {
                return false;
            }
            cp = (cp << 6U) | (cont & 0x3fU);
        }
        if (cp < min || cp > 0x10ffffU || (cp >= 0xd800U && cp <= 0xdfffU)) {
            return false;
        }
        i += extra + 1;
    }
    return true;
}

bool is_valid_filter_template(std::string_view tmpl) noexcept {
    if (tmpl.size() < 2 || tmpl.front() != '(' || tmpl.back() != ')') {
        return false;
    }
    int depth = 0;
    for (std::size_t i = 0; i < tmpl.size(); ++i) {
        if (tmpl[i] == '(') {
            ++depth;
        } else if (tmpl[i] == ')' && --depth < 0) {
            return false;
        }
        // The outer parentheses close only at the end: "(a=b)(uid={login})" is two filters side
        // by side, which libldap's parser refuses (LDAP_FILTER_ERROR) on every search.
        if (depth == 0 && i + 1 < tmpl.size()) {
            return false;
        }
    }
    return depth == 0 && tmpl.find(login_placeholder) != std::string_view::npos;
}

std::string expand_filter(std::string_view tmpl, std::string_view login) {
    const std::string escaped = escape_filter_value(login);
    std::string out;
    out.reserve(tmpl.size() + escaped.size());
    std::size_t pos = 0;
    for (;;) {
        const std::size_t hit = tmpl.find(login_placeholder, pos);
        if (hit == std::string_view::npos) {
            out.append(tmpl.substr(pos));
            return out;
        }
        out.append(tmpl.substr(pos, hit - pos));
        out += escaped;
        pos = hit + login_placeholder.size();
    }
}

} // namespace sspr::ldap
