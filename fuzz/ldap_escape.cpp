// Fuzzes the RFC 4515 filter and RFC 4514 DN value escaping (ldap/escape.hpp) and the filter
// template expansion. The first byte chooses a split of the rest into a template and a login.
//
// Invariants, for any bytes:
//   - escape_filter_value: the output has none of * ( ) NUL or other control bytes, every
//     backslash starts \XX with two hex digits, and decoding the \XX pairs gives the input back;
//   - escape_dn_value: no unescaped special character (" + , ; < > = \ and NUL/control bytes),
//     no unescaped leading '#' or space, no unescaped trailing space, and unescaping (\c and \XX)
//     gives the input back;
//   - expand_filter on a valid template: the output is the template with each {login} replaced by
//     exactly escape_filter_value(login), and it holds no more '(' than the template.
#include "ldap/escape.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>

using namespace sspr;

namespace {

[[noreturn]] void broken(const char* what) {
    (void)std::fprintf(stderr, "ldap_escape: invariant broken: %s\n", what);
    std::abort();
}

std::optional<int> hex(char c) {
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return std::nullopt;
}

bool is_control(unsigned char c) {
    return c < 0x20 || c == 0x7f;
}

/// Decodes \XX pairs (and, for DNs, \c of a special character); nullopt when malformed.
std::optional<std::string> unescape(std::string_view s, bool dn) {
    std::string out;
    for (std::size_t i = 0; i < s.size(); ++i) {
        if (s[i] != '\\') {
            out.push_back(s[i]);
            continue;
        }
        if (i + 1 >= s.size()) {
            return std::nullopt;
        }
        const auto hi = hex(s[i + 1]);
        const auto lo = i + 2 < s.size() ? hex(s[i + 2]) : std::nullopt;
        if (hi && lo) {
            out.push_back(static_cast<char>(*hi * 16 + *lo));
            i += 2;
        } else if (dn &&
                   std::string_view("\"+,;<>\\= #").find(s[i + 1]) != std::string_view::npos) {
            out.push_back(s[i + 1]);
            i += 1;
        } else {
            return std::nullopt;
        }
    }
    return out;
}

void check_filter_value(std::string_view in) {
    const std::string out = ldap::escape_filter_value(in);
    for (std::size_t i = 0; i < out.size(); ++i) {
        const auto c = static_cast<unsigned char>(out[i]);
        if (c == '*' || c == '(' || c == ')' || is_control(c)) {
            broken("filter value carries a raw special or control byte");
        }
        if (c == '\\' && (i + 2 >= out.size() || !hex(out[i + 1]) || !hex(out[i + 2]))) {
            broken("filter value has a backslash not followed by two hex digits");
        }
    }
    const auto back = unescape(out, false);
    if (!back || *back != in) {
        broken("filter value does not decode to the input");
    }
}

void check_dn_value(std::string_view in) {
    const std::string out = ldap::escape_dn_value(in);
    bool escaped = false;
    for (std::size_t i = 0; i < out.size(); ++i) {
        const auto c = static_cast<unsigned char>(out[i]);
        if (escaped) {
            escaped = false;
            continue;
        }
        if (c == '\\') {
            escaped = true;
            continue;
        }
        if (std::string_view("\"+,;<>=").find(static_cast<char>(c)) != std::string_view::npos ||
            is_control(c)) {
            broken("DN value carries an unescaped special or control byte");
        }
        if (i == 0 && (c == '#' || c == ' ')) {
            broken("DN value starts with an unescaped '#' or space");
        }
    }
    if (escaped) {
        broken("DN value ends in a lone backslash");
    }
    if (!out.empty() && out.back() == ' ' && (out.size() < 2 || out[out.size() - 2] != '\\')) {
        broken("DN value ends in an unescaped space");
    }
    const auto back = unescape(out, true);
    if (!back || *back != in) {
        broken("DN value does not unescape to the input");
    }
}

void check_expand(std::string_view tmpl, std::string_view login) {
    if (!ldap::is_valid_filter_template(tmpl)) {
        return;
    }
    const std::string out = ldap::expand_filter(tmpl, login);
    std::string expected(tmpl);
    const std::string escaped = ldap::escape_filter_value(login);
    const std::string_view ph = ldap::login_placeholder;
    for (std::size_t at = expected.find(ph); at != std::string::npos;
         at = expected.find(ph, at + escaped.size())) {
        expected.replace(at, ph.size(), escaped);
    }
    if (out != expected) {
        broken("expand_filter differs from the template with each {login} escaped");
    }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    // NOLINTNEXTLINE(cppcoreguidelines-pro-type-reinterpret-cast): the fuzzer's signature
    const std::string_view all(reinterpret_cast<const char*>(data), size);
    check_filter_value(all);
    check_dn_value(all);
    if (size > 1) {
        const std::string_view rest = all.substr(1);
        const std::size_t cut = data[0] % (rest.size() + 1);
        check_expand(rest.substr(0, cut), rest.substr(cut));
    }
    return 0;
}
