#include "common/log.hpp"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <mutex>
#include <string>

namespace sspr::common {
namespace {

std::atomic<log_level> g_level{log_level::info};
std::mutex g_write_mutex;

std::string_view name_of(log_level level) {
    switch (level) {
    case log_level::debug:
        return "debug";
    case log_level::info:
        return "info";
    case log_level::warning:
        return "warning";
    case log_level::error:
        return "error";
    }
    return "unknown";
}

constexpr std::string_view hex_digits = "0123456789abcdef";

void append_byte_escape(std::string& out, unsigned char byte) {
    out += "\\x";
    out += hex_digits[byte >> 4U];
    out += hex_digits[byte & 0x0fU];
}

void append_code_point_escape(std::string& out, std::uint32_t cp) {
    out += "\\u";
    for (int shift = 12; shift >= 0; shift -= 4) {
        out += hex_digits[(cp >> static_cast<unsigned>(shift)) & 0x0fU];
    }
}

/// Length of the well-formed UTF-8 sequence at the start of `s` (RFC 3629: no overlong forms, no
/// surrogates, nothing above U+10FFFF) and its code point; 0 when the first byte does not start
/// one.
std::size_t utf8_sequence(std::string_view s, std::uint32_t& cp) {
    const auto lead = static_cast<unsigned char>(s[0]);
    std::size_t len = 0;
    std::uint32_t min = 0;
    if (lead >= 0xc2U && lead <= 0xdfU) {
        len = 2;
        cp = lead & 0x1fU;
        min = 0x80;
    } else if (lead >= 0xe0U && lead <= 0xefU) {
        len = 3;
        cp = lead & 0x0fU;
        min = 0x800;
    } else if (lead >= 0xf0U && lead <= 0xf4U) {
        len = 4;
        cp = lead & 0x07U;
        min = 0x10000;
    } else {
        return 0;
    }
    if (s.size() < len) {
        return 0;
    }
    for (std::size_t i = 1; i < len; ++i) {
        const auto b = static_cast<unsigned char>(s[i]);
        if ((b & 0xc0U) != 0x80U) {
            return 0;
        }
        cp = (cp << 6U) | (b & 0x3fU);
    }
    if (cp < min || cp > 0x10ffffU || (cp >= 0xd800U && cp <= 0xdfffU)) {
        return 0;
    }
    return len;
}

/// Code points a terminal, a log viewer or a JSON/JavaScript consumer may treat as a line break
/// or a control sequence: C1 controls (0x9b is CSI, 0x85 NEL) and the line and paragraph
/// separators.
bool escaped_code_point(std::uint32_t cp) {
    return (cp >= 0x80U && cp <= 0x9fU) || cp == 0x2028U || cp == 0x2029U;
}

// Quotes a value so that one event stays on one line whatever the value holds, and no byte of it
// can act on the terminal or the tool that reads the log: C0 and C1 controls, DEL, U+2028/U+2029
// and bytes that are not well-formed UTF-8 are escaped (\xNN for bytes, \uNNNN for code points).
void append_quoted(std::string& out, std::string_view value) {
    out += '"';
    std::size_t i = 0;
    while (i < value.size()) {
        const char c = value[i];
        const auto byte = static_cast<unsigned char>(c);
        if (c == '"' || c == '\\') {
            out += '\\';
            out += c;
            ++i;
            continue;
        }
        if (byte < 0x20U || byte == 0x7fU) {
            append_byte_escape(out, byte);
            ++i;
            continue;
        }
        if (byte < 0x80U) {
            out += c;
            ++i;
            continue;
        }
        std::uint32_t cp = 0;
        const std::size_t len = utf8_sequence(value.substr(i), cp);
        if (len == 0) {
            // One byte at a time: the next one may start a well-formed sequence again.
            append_byte_escape(out, byte);
            ++i;
            continue;
        }
        if (escaped_code_point(cp)) {
            append_code_point_escape(out, cp);
        } else {
            out.append(value.substr(i, len));
        }
        i += len;
    }
    out += '"';
}

} // namespace

void set_log_level(log_level level) noexcept {
    g_level.store(level);
}

void log(log_level level, std::string_view message, std::initializer_list<log_field> fields) {
    if (level < g_level.load()) {
        return;
    }
    std::string line = "level=";
    line += name_of(level);
    line += " msg=";
    append_quoted(line, message);
    for (const auto& [key, value] : fields) {
        line += ' ';
        line += key;
        line += '=';
        append_quoted(line, value);
    }
    line += '\n';
    const std::lock_guard lock(g_write_mutex);
    // A log line that stderr refuses has nowhere else to go.
    (void)std::fwrite(line.data(), 1, line.size(), stderr);
}

} // namespace sspr::common
