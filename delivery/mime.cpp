#include "delivery/mime.hpp"

#include "delivery/address.hpp"
#include "delivery/templates.hpp"

#include <openssl/evp.h>

#include <algorithm>
#include <array>
#include <ctime>

namespace sspr::delivery {
namespace {

std::string_view trim(std::string_view s) {
    const auto first = s.find_first_not_of(" \t");
    if (first == std::string_view::npos) {
        return {};
    }
    const auto last = s.find_last_not_of(" \t");
    return s.substr(first, last - first + 1);
}

bool printable_ascii(std::string_view s) {
    for (const char c : s) {
        if (c < 0x20 || c > 0x7E) {
            return false;
        }
    }
    return true;
}

// CRLF for every line end, whether the text had LF or CRLF.
std::string to_crlf(std::string_view text) {
    std::string out;
    out.reserve(text.size() + text.size() / 32 + 2);
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] == '\n' && (i == 0 || text[i - 1] != '\r')) {
            out += '\r';
        }
        out += text[i];
    }
    return out;
}

std::string base64(std::string_view data) {
    std::string out(4 * ((data.size() + 2) / 3) + 1, '\0');
    const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                  reinterpret_cast<const unsigned char*>(data.data()),
                                  static_cast<int>(data.size()));
    out.resize(static_cast<std::size_t>(n));
    return out;
}

std::string format_from(const mailbox& from) {
    const std::string name = clean_text(from.display_name);
    if (name.empty()) {
        return from.address;
    }
    if (printable_ascii(name) && name.find("=?") == std::string::npos) {
        std::string quoted = "\"";
        for (const char c : name) {
            if (c == '"' || c == '\\') {
                quoted += '\\';
            }
            quoted += c;
        }
        return quoted + "\" <" + from.address + ">";
    }
    return encode_header_text(name) + " <" + from.address + ">";
}

bool valid_language_tag(std::string_view tag) {
    if (tag.empty() || tag.size() > 35) {
        return false;
    }
    for (const char c : tag) {
        const bool ok =
            (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
        if (!ok) {
            return false;
        }
    }
    return true;
}

// "id@domain": the id as valid_message_id allows it, the domain as normalise_email's.
bool valid_message_id_header(std::string_view message_id) {
    const auto at = message_id.find('@');
    if (at == std::string_view::npos) {
        return false;
    }
    return valid_message_id(message_id.substr(0, at)) &&
           normalise_email("x" + std::string(message_id.substr(at))).has_value();
}

bool valid_boundary(std::string_view boundary) {
    // RFC 2046 allows 70 characters; "=_" cannot occur in base64, the rest is a message id.
    if (!boundary.starts_with("=_") || boundary.size() > 70) {
        return false;
    }
    return std::all_of(boundary.begin() + 2, boundary.end(), [](char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
               c == '.' || c == '_' || c == '-';
    });
}

} // namespace

result<mailbox> parse_mailbox(std::string_view text) {
    text = trim(text);
    mailbox out;
    std::string_view address = text;
    if (!text.empty() && text.back() == '>') {
        const auto open = text.rfind('<');
        if (open == std::string_view::npos) {
            return failure(error::invalid_destination, "unbalanced <> in sender address");
        }
        address = text.substr(open + 1, text.size() - open - 2);
        auto name = trim(text.substr(0, open));
        if (name.size() >= 2 && name.front() == '"' && name.back() == '"') {
            name = name.substr(1, name.size() - 2);
            for (std::size_t i = 0; i < name.size(); ++i) {
                if (name[i] == '\\' && i + 1 < name.size()) {
                    ++i;
                }
                out.display_name += name[i];
            }
        } else {
            out.display_name = std::string(name);
        }
    }
    auto normalised = normalise_email(address);
    if (!normalised) {
        return normalised.error();
    }
    out.address = std::move(*normalised);
    return out;
}

std::string encode_header_text(std::string_view utf8) {
    if (printable_ascii(utf8) && utf8.find("=?") == std::string_view::npos && utf8.size() <= 900) {
        return std::string(utf8);
    }
    // 36 octets make 48 base64 characters, so each word is 60 characters long at most.
    constexpr std::size_t max_chunk = 36;
    std::string out;
    std::size_t pos = 0;
    while (pos < utf8.size()) {
        std::size_t end = std::min(pos + max_chunk, utf8.size());
        // Never split a UTF-8 sequence: back off while the next octet is a continuation octet.
        while (end < utf8.size() && end > pos + 1 &&
               (static_cast<unsigned char>(utf8[end]) & 0xC0U) == 0x80U) {
            --end;
        }
        if (!out.empty()) {
            out += "\r\n ";
        }
        out += "=?UTF-8?B?" + base64(utf8.substr(pos, end - pos)) + "?=";
        pos = end;
    }
    return out;
}

std::string format_rfc5322_date(std::chrono::system_clock::time_point when) {
    // By hand rather than strftime: %a and %b follow the process locale.
    static constexpr std::array<std::string_view, 7> days{"Sun", "Mon", "Tue", "Wed",
                                                          "Thu", "Fri", "Sat"};
    static constexpr std::array<std::string_view, 12> months{
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    const std::time_t t = std::chrono::system_clock::to_time_t(when);
    std::tm tm{};
    ::gmtime_r(&t, &tm);
    const auto two = [](int v) {
        return std::string(1, static_cast<char>('0' + v / 10)) + static_cast<char>('0' + v % 10);
    };
    return std::string(days.at(static_cast<std::size_t>(tm.tm_wday))) + ", " + two(tm.tm_mday) +
           " " + std::string(months.at(static_cast<std::size_t>(tm.tm_mon))) + " " +
           std::to_string(tm.tm_year + 1900) + " " + two(tm.tm_hour) + ":" + two(tm.tm_min) + ":" +
           two(tm.tm_sec) + " +0000";
}

std::string base64_lines(std::string_view data) {
    const std::string encoded = base64(data);
    std::string out;
    out.reserve(encoded.size() + encoded.size() / 38 + 2);
    for (std::size_t pos = 0; pos < encoded.size(); pos += 76) {
        out.append(encoded, pos, 76);
        out += "\r\n";
    }
    return out;
}

result<common::secret> build_mime(const mail_headers& headers, std::string_view text,
                                  std::string_view html, std::string_view boundary) {
    // A header line built from a value holding CR/LF or a second address is a header (or
    // recipient) injection: check here, whatever the caller did.
    if (const auto to = normalise_email(headers.to); !to || *to != headers.to) {
        return failure(error::invalid_destination, "To must be one plain address");
    }
    if (const auto from = normalise_email(headers.from.address);
        !from || *from != headers.from.address) {
        return failure(error::invalid_destination, "From must be one plain address");
    }
    if (!valid_message_id_header(headers.message_id)) {
        return failure(error::invalid_message, "Message-ID must be id@domain of safe characters");
    }
    if (!valid_boundary(boundary)) {
        return failure(error::invalid_message, "MIME boundary must be =_ and safe characters");
    }
    std::string out;
    out.reserve(1024 + (text.size() + html.size()) * 2);
    out += "Date: " + format_rfc5322_date(headers.date) + "\r\n";
    out += "From: " + format_from(headers.from) + "\r\n";
    out += "To: " + headers.to + "\r\n";
    out += "Subject: " + encode_header_text(clean_text(headers.subject)) + "\r\n";
    out += "Message-ID: <" + headers.message_id + ">\r\n";
    out += "MIME-Version: 1.0\r\n";
    if (valid_language_tag(headers.language)) {
        out += "Content-Language: " + headers.language + "\r\n";
    }
    // RFC 3834: keeps vacation responders from answering a code message.
    out += "Auto-Submitted: auto-generated\r\n";
    out +=
        "Content-Type: multipart/alternative;\r\n boundary=\"" + std::string(boundary) + "\"\r\n";
    out += "\r\n";
    const auto part = [&](std::string_view type, std::string_view body) {
        out += "--" + std::string(boundary) + "\r\n";
        out += "Content-Type: " + std::string(type) + "; charset=UTF-8\r\n";
        out += "Content-Transfer-Encoding: base64\r\n\r\n";
        common::secret canonical(to_crlf(body));
        common::secret encoded(base64_lines(canonical.reveal()));
        out += encoded.reveal();
    };
    part("text/plain", text);
    part("text/html", html);
    out += "--" + std::string(boundary) + "--\r\n";
    return common::secret(std::move(out));
}

} // namespace sspr::delivery
