#include "audit/line.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include <openssl/evp.h>

#include <algorithm>
#include <array>
#include <memory>
#include <stdexcept>

namespace sspr::audit::detail {
namespace {

constexpr std::string_view replacement = "\xEF\xBF\xBD"; // U+FFFD
constexpr std::string_view ellipsis = "\xE2\x80\xA6";    // U+2026
constexpr std::string_view hex_digits = "0123456789abcdef";

// The optional string members, in the order they are written.
struct field_ref {
    std::string_view name;
    std::string event::*member;
};
constexpr std::array<field_ref, 5> leading_fields{{
    {"request_id", &event::request_id},
    {"client_ip", &event::client_ip},
    {"username", &event::username},
    {"user_dn", &event::user_dn},
    {"flow", &event::flow},
}};
constexpr std::array<field_ref, 4> trailing_fields{{
    {"reason", &event::reason},
    {"diagnostic", &event::diagnostic},
    {"actor", &event::actor},
    {"hint", &event::hint},
}};
constexpr std::array<std::string_view, 10> optional_names{
    "request_id", "client_ip", "username",   "user_dn", "flow",
    "method",     "reason",    "diagnostic", "actor",   "hint"};

bool is_continuation(unsigned char b) {
    return b >= 0x80 && b <= 0xBF;
}

void append_escape(std::string& out, unsigned code_point) {
    out += "\\u";
    for (int shift = 12; shift >= 0; shift -= 4) {
        out += hex_digits[(code_point >> static_cast<unsigned>(shift)) & 0xFU];
    }
}

/// The code point of the (valid) UTF-8 sequence at `p` of `len` bytes.
unsigned decode(const unsigned char* p, std::size_t len) {
    switch (len) {
    case 2:
        return ((p[0] & 0x1FU) << 6U) | (p[1] & 0x3FU);
    case 3:
        return ((p[0] & 0x0FU) << 12U) | ((p[1] & 0x3FU) << 6U) | (p[2] & 0x3FU);
    default:
        return ((p[0] & 0x07U) << 18U) | ((p[1] & 0x3FU) << 12U) | ((p[2] & 0x3FU) << 6U) |
               (p[3] & 0x3FU);
    }
}

/// Characters that must not appear raw in a line although JSON allows them: DEL and the C1
/// controls (NEL is a line break to some tools, CSI starts terminal escapes), the line and
/// paragraph separators (line breaks to JavaScript and Python's splitlines), and the
/// bidirectional marks, embeddings, overrides and isolates (they reorder what a viewer shows, so
/// a username could make a line read as another outcome).
bool needs_escape(unsigned cp) {
    return (cp >= 0x7F && cp <= 0x9F) || cp == 0x200E || cp == 0x200F ||
           (cp >= 0x2028 && cp <= 0x202E) || (cp >= 0x2066 && cp <= 0x2069);
}

std::size_t sequence_length(unsigned char lead) {
    if (lead < 0x80) {
        return 1;
    }
    if (lead < 0xE0) {
        return 2;
    }
    if (lead < 0xF0) {
        return 3;
    }
    return 4;
}

struct md_free {
    void operator()(EVP_MD* md) const noexcept { EVP_MD_free(md); }
};
using md_ptr = std::unique_ptr<EVP_MD, md_free>;

const EVP_MD* sha256() {
    // Fetched once: an implicit fetch on every digest costs more than hashing a line.
    static const md_ptr md(EVP_MD_fetch(nullptr, "SHA256", nullptr));
    return md.get();
}

bool is_time(std::string_view s) {
    // YYYY-MM-DDTHH:MM:SS.mmmZ
    constexpr std::string_view shape = "dddd-dd-ddTdd:dd:dd.dddZ";
    if (s.size() != shape.size()) {
        return false;
    }
    for (std::size_t i = 0; i < shape.size(); ++i) {
        const bool ok = shape[i] == 'd' ? (s[i] >= '0' && s[i] <= '9') : s[i] == shape[i];
        if (!ok) {
            return false;
        }
    }
    return true;
}

bool is_hash(std::string_view s) {
    return s.size() == zero_hash.size() && std::all_of(s.begin(), s.end(), [](char c) {
               return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
           });
}

checked_line broken(std::string why) {
    checked_line c;
    c.why = std::move(why);
    return c;
}

void put_if_set(boost::json::object& o, std::string_view name, const std::string& value) {
    if (!value.empty()) {
        o.emplace(name, field_value(value));
    }
}

} // namespace

std::string to_valid_utf8(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    const auto* p = reinterpret_cast<const unsigned char*>(text.data());
    const std::size_t n = text.size();
    std::size_t i = 0;
    while (i < n) {
        const unsigned char lead = p[i];
        if (lead < 0x80) {
            out += static_cast<char>(lead);
            ++i;
            continue;
        }
        // The well-formed byte sequences of Unicode's table 3-7: the second byte's range depends
        // on the lead (no overlong forms, no surrogates, nothing above U+10FFFF).
        std::size_t trailing = 0;
        unsigned char lo = 0x80;
        unsigned char hi = 0xBF;
        if (lead >= 0xC2 && lead <= 0xDF) {
            trailing = 1;
        } else if (lead == 0xE0) {
            trailing = 2;
            lo = 0xA0;
        } else if ((lead >= 0xE1 && lead <= 0xEC) || lead == 0xEE || lead == 0xEF) {
            trailing = 2;
        } else if (lead == 0xED) {
            trailing = 2;
            hi = 0x9F;
        } else if (lead == 0xF0) {
            trailing = 3;
            lo = 0x90;
        } else if (lead >= 0xF1 && lead <= 0xF3) {
            trailing = 3;
        } else if (lead == 0xF4) {
            trailing = 3;
            hi = 0x8F;
        } else {
            out += replacement;
            ++i;
            continue;
        }
        std::size_t j = i + 1;
        for (std::size_t k = 0; k < trailing && j < n; ++k, ++j) {
            const unsigned char b = p[j];
            const bool fits = k == 0 ? (b >= lo && b <= hi) : is_continuation(b);
            if (!fits) {
                break;
            }
        }
        if (j - i == trailing + 1) {
            out.append(text.substr(i, trailing + 1));
        } else {
            // The maximal subpart (the lead and the continuation bytes that fitted) is one
            // U+FFFD; decoding resumes at the byte that did not fit.
            out += replacement;
        }
        i = j;
    }
    return out;
}

std::string field_value(std::string_view text) {
    std::string valid = to_valid_utf8(text);
    if (valid.size() <= max_field_bytes) {
        return valid;
    }
    std::size_t cut = max_field_bytes - ellipsis.size();
    while (cut > 0 && is_continuation(static_cast<unsigned char>(valid[cut]))) {
        --cut;
    }
    valid.resize(cut);
    valid += ellipsis;
    return valid;
}

std::string format_time(std::chrono::system_clock::time_point t) {
    using namespace std::chrono;
    const auto ms = floor<milliseconds>(t);
    const auto day = floor<days>(ms);
    const year_month_day ymd{day};
    const hh_mm_ss hms{ms - day};
    std::string out;
    out.reserve(24);
    const auto digits = [&out](long long value, int width) {
        std::array<char, 8> buf{};
        for (int i = width - 1; i >= 0; --i) {
            buf[static_cast<std::size_t>(i)] = static_cast<char>('0' + value % 10);
            value /= 10;
        }
        out.append(buf.data(), static_cast<std::size_t>(width));
    };
    digits(static_cast<int>(ymd.year()), 4);
    out += '-';
    digits(static_cast<unsigned>(ymd.month()), 2);
    out += '-';
    digits(static_cast<unsigned>(ymd.day()), 2);
    out += 'T';
    digits(hms.hours().count(), 2);
    out += ':';
    digits(hms.minutes().count(), 2);
    out += ':';
    digits(hms.seconds().count(), 2);
    out += '.';
    digits(hms.subseconds().count(), 3);
    out += 'Z';
    return out;
}

std::string serialize_line(const boost::json::object& line) {
    const std::string json = boost::json::serialize(line);
    std::string out;
    out.reserve(json.size());
    const auto* p = reinterpret_cast<const unsigned char*>(json.data());
    std::size_t i = 0;
    while (i < json.size()) {
        // Keys are ours and ASCII, and Boost.JSON's own escapes are ASCII: anything at or above
        // 0x7F is inside a string value, copied as it is unless it is one of the characters above.
        const std::size_t len = std::min(sequence_length(p[i]), json.size() - i);
        const unsigned cp = len == 1 ? p[i] : decode(p + i, len);
        if (needs_escape(cp)) {
            append_escape(out, cp);
        } else {
            out.append(json, i, len);
        }
        i += len;
    }
    return out;
}

std::string render_event(const event& e) {
    boost::json::object o;
    o.emplace("time", format_time(e.time));
    for (const auto& f : leading_fields) {
        put_if_set(o, f.name, e.*f.member);
    }
    o.emplace("step", field_value(e.step));
    put_if_set(o, "method", e.method);
    o.emplace("outcome", field_value(e.outcome));
    for (const auto& f : trailing_fields) {
        put_if_set(o, f.name, e.*f.member);
    }
    return serialize_line(o);
}

std::string chain_line(std::string rendered, std::uint64_t seq, std::string_view prev) {
    // serialize() writes an object without spaces, so the two members go before its final brace
    // exactly as if they had been in the object.
    rendered.pop_back();
    rendered += R"(,"seq":)";
    rendered += std::to_string(seq);
    rendered += R"(,"prev":")";
    rendered += prev;
    rendered += "\"}";
    return rendered;
}

std::string sha256_hex(std::string_view bytes) {
    std::array<unsigned char, EVP_MAX_MD_SIZE> md{};
    unsigned int len = 0;
    const EVP_MD* type = sha256();
    if (type == nullptr ||
        EVP_Digest(bytes.data(), bytes.size(), md.data(), &len, type, nullptr) != 1 || len != 32) {
        throw std::runtime_error("SHA-256 failed in OpenSSL");
    }
    std::string out;
    out.reserve(64);
    for (unsigned int i = 0; i < len; ++i) {
        out += hex_digits[md[i] >> 4U];
        out += hex_digits[md[i] & 0xFU];
    }
    return out;
}

checked_line check_line(std::string_view line) {
    if (line.size() > max_line_bytes) {
        return broken("longer than " + std::to_string(max_line_bytes) + " bytes");
    }
    boost::system::error_code ec;
    const boost::json::value v = boost::json::parse(line, ec);
    if (ec) {
        return broken("not JSON");
    }
    const auto* o = v.if_object();
    if (o == nullptr) {
        return broken("not a JSON object");
    }
    const auto string_member = [o](std::string_view name) -> const boost::json::string* {
        const auto* m = o->if_contains(name);
        return m == nullptr ? nullptr : m->if_string();
    };
    for (const std::string_view name : {"time", "step", "outcome", "seq", "prev"}) {
        if (!o->contains(name)) {
            return broken("missing field \"" + std::string(name) + "\"");
        }
    }
    for (const std::string_view name : {"time", "step", "outcome", "prev"}) {
        if (string_member(name) == nullptr) {
            return broken("field \"" + std::string(name) + "\" is not a string");
        }
    }
    for (const std::string_view name : optional_names) {
        if (o->contains(name) && string_member(name) == nullptr) {
            return broken("field \"" + std::string(name) + "\" is not a string");
        }
    }
    if (!is_time(*string_member("time"))) {
        return broken("field \"time\" is not a time like 2026-12-06T21:00:00.123Z");
    }
    const auto& seq = o->at("seq");
    const auto* seq_value = seq.if_uint64();
    std::uint64_t seq_number = 0;
    if (seq_value != nullptr) {
        seq_number = *seq_value;
    } else if (const auto* signed_seq = seq.if_int64(); signed_seq != nullptr && *signed_seq > 0) {
        seq_number = static_cast<std::uint64_t>(*signed_seq);
    } else {
        return broken("field \"seq\" is not a positive integer");
    }
    const boost::json::string& prev = *string_member("prev");
    if (!is_hash(prev)) {
        return broken("field \"prev\" is not 64 lower-case hex digits");
    }
    if (serialize_line(*o) != line) {
        return broken("not in the form ssprd writes (reformatted, or a field given twice)");
    }
    checked_line c;
    c.ok = true;
    c.seq = seq_number;
    c.prev = std::string(prev);
    return c;
}

} // namespace sspr::audit::detail
