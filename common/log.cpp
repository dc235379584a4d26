#include "common/log.hpp"

#include <atomic>
#include <chrono>
#include <cstdio>
#include <mutex>
#include <string>

namespace sspr::common {
namespace {

std::atomic<log_level> g_level{log_level::info};
std::mutex g_write_mutex;

std::string_view name_of(log_level level) {
    switch (level) {
    case log_level::debug: return "debug";
    case log_level::info: return "info";
    case log_level::warning: return "warning";
    case log_level::error: return "error";
    }
    return "unknown";
}

// Quotes a value so that one event stays on one line whatever the value holds.
void append_quoted(std::string& out, std::string_view value) {
    out += '"';
    for (const char c : value) {
        if (c == '"' || c == '\\') {
            out += '\\';
            out += c;
        } else if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
            constexpr std::string_view hex = "0123456789abcdef";
            const auto byte = static_cast<unsigned char>(c);
            out += "\\x";
            out += hex[byte >> 4U];
            out += hex[byte & 0x0fU];
        } else {
            out += c;
        }
    }
    out += '"';
}

} // namespace

void set_log_level(log_level level) noexcept { g_level.store(level); }

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
    std::fwrite(line.data(), 1, line.size(), stderr);
}

} // namespace sspr::common
