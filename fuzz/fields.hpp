// How harnesses cut one fuzz input into several text fields: at 0x1f (ASCII unit separator) bytes,
// so that a seed file stays readable and libFuzzer can move bytes between fields.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace sspr::fuzz {

/// Exactly `n` fields: the first n-1 separators split, the last field keeps the rest (separators
/// included), and missing fields are empty.
inline std::vector<std::string> split_fields(std::string_view s, std::size_t n) {
    std::vector<std::string> out;
    while (out.size() + 1 < n) {
        const auto at = s.find('\x1f');
        if (at == std::string_view::npos) {
            break;
        }
        out.emplace_back(s.substr(0, at));
        s.remove_prefix(at + 1);
    }
    out.emplace_back(s);
    out.resize(n);
    return out;
}

} // namespace sspr::fuzz
