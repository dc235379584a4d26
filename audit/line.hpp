// The form of one audit line (see audit.hpp), shared by the writer (trail.cpp) and the checker
// (verify.cpp), so that verify accepts exactly what the trail writes and open() continues only
// after a line verify would accept. Internal to audit/; exposed for its tests.
#pragma once

#include "audit/audit.hpp"

#include <boost/json/object.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace sspr::audit::detail {

/// Longest field value in a line, in bytes of UTF-8 before JSON escaping.
inline constexpr std::size_t max_field_bytes = 1024;
/// Longest line verify and open accept. Thirteen capped fields, each escaped at worst six bytes
/// for one (\u00XX), stay below it.
inline constexpr std::size_t max_line_bytes = std::size_t{256} * 1024;
/// prev of the first line of a chain.
inline constexpr std::string_view zero_hash =
    "0000000000000000000000000000000000000000000000000000000000000000";

/// `text` with every ill-formed UTF-8 sequence replaced by U+FFFD, one per maximal subpart (as
/// Unicode's "best practice" and the WHATWG decoder do): overlong forms, surrogates, code points
/// above U+10FFFF, stray continuation bytes and truncated sequences.
[[nodiscard]] std::string to_valid_utf8(std::string_view text);

/// A field as it goes into a line: valid UTF-8, at most max_field_bytes (cut at a character
/// boundary and ended with U+2026 when longer).
[[nodiscard]] std::string field_value(std::string_view text);

/// "2026-12-06T21:00:00.123Z": UTC, milliseconds rounded down.
[[nodiscard]] std::string format_time(std::chrono::system_clock::time_point t);

/// boost::json::serialize, then DEL, the C1 controls, U+200E/U+200F, U+2028..U+202E and
/// U+2066..U+2069 escaped as \uXXXX too. Expects valid UTF-8 in every string (to_valid_utf8).
[[nodiscard]] std::string serialize_line(const boost::json::object& line);

/// The line of `e` up to its chain fields: a JSON object holding time, the non-empty fields,
/// step and outcome. Everything a line needs but the chain, so it is made outside the lock.
[[nodiscard]] std::string render_event(const event& e);

/// `rendered` (from render_event) with "seq" and "prev" added as its last members; no '\n'.
[[nodiscard]] std::string chain_line(std::string rendered, std::uint64_t seq,
                                     std::string_view prev);

/// Lower-case hex SHA-256 of `bytes` (OpenSSL EVP). Throws std::runtime_error when OpenSSL
/// fails (out of memory).
[[nodiscard]] std::string sha256_hex(std::string_view bytes);

/// What check_line found in one line.
struct checked_line {
    bool ok = false;
    std::string why; // when not ok: "not JSON", "missing field \"seq\"", ...
    std::uint64_t seq = 0;
    std::string prev;
};

/// Checks that `line` (without its '\n') is a line as the trail writes it: at most
/// max_line_bytes, a JSON object with time (in format_time's form), step and outcome (strings),
/// seq (an unsigned integer), prev (64 lower-case hex digits), the other event fields strings
/// when present, and byte for byte what serialize_line makes of it (so no reformatting, no key
/// twice, no other escaping). Does not look at the chain.
[[nodiscard]] checked_line check_line(std::string_view line);

} // namespace sspr::audit::detail
