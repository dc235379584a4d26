// Reads back the messages the SMTP client writes, for assertions: headers (unfolded, RFC 2047
// words decoded on request), the parts of a multipart body and their base64 content. Written
// independently of delivery/mime.cpp so that a test compares two implementations, and strict
// where the real client must be (CRLF only, no line over 998 octets).
#pragma once

#include <algorithm>
#include <cctype>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace sspr::testing {

inline std::string lower(std::string_view s) {
    std::string out(s);
    std::transform(out.begin(), out.end(), out.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return out;
}

inline std::string base64_decode(std::string_view in) {
    constexpr std::string_view alphabet =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    std::string out;
    unsigned buffer = 0;
    int bits = 0;
    for (const char c : in) {
        if (c == '=' || c == '\r' || c == '\n') {
            continue;
        }
        const auto v = alphabet.find(c);
        if (v == std::string_view::npos) {
            throw std::runtime_error("not base64");
        }
        buffer = (buffer << 6U) | static_cast<unsigned>(v);
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out += static_cast<char>((buffer >> static_cast<unsigned>(bits)) & 0xFFU);
        }
    }
    return out;
}

/// "=?UTF-8?B?…?=" words (separated by folding white space) decoded; other text as it is.
inline std::string decode_words(std::string_view value) {
    std::string out;
    std::size_t pos = 0;
    bool last_was_word = false;
    while (pos < value.size()) {
        const auto start = value.find("=?", pos);
        if (start == std::string_view::npos) {
            out.append(value.substr(pos));
            break;
        }
        const auto between = value.substr(pos, start - pos);
        // White space between two encoded words is not part of the text (RFC 2047 6.2).
        if (!(last_was_word && between.find_first_not_of(" \t\r\n") == std::string_view::npos)) {
            out.append(between);
        }
        const auto q1 = value.find('?', start + 2);
        const auto q2 = value.find('?', q1 + 1);
        const auto end = value.find("?=", q2 + 1);
        if (q1 == std::string_view::npos || q2 == std::string_view::npos ||
            end == std::string_view::npos) {
            throw std::runtime_error("broken encoded word");
        }
        if (lower(value.substr(start + 2, q1 - start - 2)) != "utf-8" ||
            lower(value.substr(q1 + 1, q2 - q1 - 1)) != "b") {
            throw std::runtime_error("unexpected charset or encoding in encoded word");
        }
        out += base64_decode(value.substr(q2 + 1, end - q2 - 1));
        pos = end + 2;
        last_was_word = true;
    }
    return out;
}

struct mime_entity {
    std::vector<std::pair<std::string, std::string>> headers; // name as written, value unfolded
    std::string body;                                         // raw, as after the blank line

    /// The first header of that name (case-insensitive), or nothing.
    [[nodiscard]] std::optional<std::string> header(std::string_view name) const {
        for (const auto& [n, v] : headers) {
            if (lower(n) == lower(name)) {
                return v;
            }
        }
        return std::nullopt;
    }
    [[nodiscard]] std::size_t count(std::string_view name) const {
        return static_cast<std::size_t>(
            std::count_if(headers.begin(), headers.end(),
                          [&](const auto& h) { return lower(h.first) == lower(name); }));
    }
};

/// Splits headers from body. Throws on a bare LF, a line over 998 octets or a missing blank line.
inline mime_entity parse_entity(std::string_view raw) {
    for (std::size_t i = 0; i < raw.size(); ++i) {
        if (raw[i] == '\n' && (i == 0 || raw[i - 1] != '\r')) {
            throw std::runtime_error("bare LF at offset " + std::to_string(i));
        }
    }
    std::size_t line_start = 0;
    while (line_start < raw.size()) {
        const auto eol = raw.find("\r\n", line_start);
        const auto len = (eol == std::string_view::npos ? raw.size() : eol) - line_start;
        if (len > 998) {
            throw std::runtime_error("line longer than 998 octets");
        }
        if (eol == std::string_view::npos) {
            break;
        }
        line_start = eol + 2;
    }
    const auto split = raw.find("\r\n\r\n");
    if (split == std::string_view::npos) {
        throw std::runtime_error("no blank line after the headers");
    }
    mime_entity out;
    out.body = std::string(raw.substr(split + 4));
    const auto head = raw.substr(0, split + 2);
    std::size_t pos = 0;
    while (pos < head.size()) {
        const auto eol = head.find("\r\n", pos);
        const auto line = head.substr(pos, eol - pos);
        pos = eol + 2;
        if (!line.empty() && (line.front() == ' ' || line.front() == '\t')) {
            if (out.headers.empty()) {
                throw std::runtime_error("continuation line before any header");
            }
            out.headers.back().second += std::string(line); // unfold: drop the CRLF only
            continue;
        }
        const auto colon = line.find(':');
        if (colon == std::string_view::npos) {
            throw std::runtime_error("header line without a colon");
        }
        auto value = line.substr(colon + 1);
        value.remove_prefix(std::min(value.find_first_not_of(' '), value.size()));
        out.headers.emplace_back(std::string(line.substr(0, colon)), std::string(value));
    }
    return out;
}

/// The value of parameter `name` in a header such as Content-Type (quotes removed).
inline std::string header_parameter(std::string_view value, std::string_view name) {
    const std::string key = lower(name) + "=";
    const std::string low = lower(value);
    const auto at = low.find(key);
    if (at == std::string::npos) {
        return {};
    }
    auto rest = value.substr(at + key.size());
    if (!rest.empty() && rest.front() == '"') {
        return std::string(rest.substr(1, rest.find('"', 1) - 1));
    }
    return std::string(rest.substr(0, rest.find_first_of("; \t")));
}

/// The parts of a multipart body, between the boundary lines; throws if the closing boundary is
/// missing.
inline std::vector<mime_entity> parse_parts(std::string_view body, std::string_view boundary) {
    const std::string delimiter = "--" + std::string(boundary);
    std::vector<mime_entity> parts;
    auto pos = body.find(delimiter + "\r\n");
    if (pos == std::string_view::npos) {
        throw std::runtime_error("first boundary missing");
    }
    pos += delimiter.size() + 2;
    for (;;) {
        const auto next = body.find("\r\n" + delimiter, pos);
        if (next == std::string_view::npos) {
            throw std::runtime_error("boundary missing");
        }
        parts.push_back(parse_entity(body.substr(pos, next + 2 - pos)));
        pos = next + 2 + delimiter.size();
        if (body.substr(pos, 4) == "--\r\n") {
            return parts;
        }
        if (body.substr(pos, 2) != "\r\n") {
            throw std::runtime_error("junk after a boundary");
        }
        pos += 2;
    }
}

} // namespace sspr::testing
