// Fuzzes the UTF-8 → UTF-16LE encoder behind Active Directory's unicodePwd (ldap/unicode_pwd.hpp)
// and the UTF-8 check it shares with the escaping (ldap/escape.hpp).
//
// Invariants, for any bytes:
//   - utf8_to_utf16le gives a value exactly when is_valid_utf8 says the input is UTF-8;
//   - that value has an even size, holds no unpaired surrogate, and decodes (by the independent
//     decoder below) back to the input;
//   - ad_unicode_pwd gives a value exactly when the input is UTF-8 without NUL, and it is the
//     UTF-16LE of the input in double quotes.
#include "ldap/escape.hpp"
#include "ldap/unicode_pwd.hpp"

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
    (void)std::fprintf(stderr, "ldap_utf16: invariant broken: %s\n", what);
    std::abort();
}

void put_utf8(std::string& out, std::uint32_t cp) {
    if (cp < 0x80) {
        out.push_back(static_cast<char>(cp));
    } else if (cp < 0x800) {
        out.push_back(static_cast<char>(0xc0 | (cp >> 6)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
    } else if (cp < 0x10000) {
        out.push_back(static_cast<char>(0xe0 | (cp >> 12)));
        out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
    } else {
        out.push_back(static_cast<char>(0xf0 | (cp >> 18)));
        out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3f)));
        out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
    }
}

/// UTF-16LE to UTF-8; nullopt for an odd size or an unpaired surrogate.
std::optional<std::string> from_utf16le(std::string_view bytes) {
    if (bytes.size() % 2 != 0) {
        return std::nullopt;
    }
    std::string out;
    const auto unit = [&](std::size_t i) {
        return static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[2 * i])) |
               (static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[2 * i + 1])) << 8U);
    };
    const std::size_t n = bytes.size() / 2;
    for (std::size_t i = 0; i < n; ++i) {
        const std::uint32_t u = unit(i);
        if (u >= 0xd800 && u <= 0xdbff) {
            if (i + 1 >= n) {
                return std::nullopt;
            }
            const std::uint32_t low = unit(i + 1);
            if (low < 0xdc00 || low > 0xdfff) {
                return std::nullopt;
            }
            put_utf8(out, 0x10000 + ((u - 0xd800) << 10U) + (low - 0xdc00));
            ++i;
        } else if (u >= 0xdc00 && u <= 0xdfff) {
            return std::nullopt;
        } else {
            put_utf8(out, u);
        }
    }
    return out;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    // NOLINTNEXTLINE(cppcoreguidelines-pro-type-reinterpret-cast): the fuzzer's signature
    const std::string_view in(reinterpret_cast<const char*>(data), size);
    const bool valid = ldap::is_valid_utf8(in);
    const auto utf16 = ldap::utf8_to_utf16le(in);
    if (utf16.has_value() != valid) {
        broken("utf8_to_utf16le and is_valid_utf8 disagree");
    }
    if (utf16) {
        const auto back = from_utf16le(*utf16);
        if (!back) {
            broken("the UTF-16LE is malformed (odd size or an unpaired surrogate)");
        }
        if (*back != in) {
            broken("the UTF-16LE does not decode to the input");
        }
    }
    const auto pwd = ldap::ad_unicode_pwd(in);
    const bool has_nul = in.find('\0') != std::string_view::npos;
    if (pwd.has_value() != (valid && !has_nul)) {
        broken("ad_unicode_pwd refuses a good password or takes a bad one");
    }
    if (pwd) {
        const auto quoted = ldap::utf8_to_utf16le("\"" + std::string(in) + "\"");
        if (!quoted || pwd->reveal() != *quoted) {
            broken("ad_unicode_pwd is not the UTF-16LE of the quoted password");
        }
    }
    return 0;
}
