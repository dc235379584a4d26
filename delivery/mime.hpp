// Internet messages (RFC 5322 + MIME) for the SMTP client: multipart/alternative with a
// text/plain and a text/html part, both UTF-8 and base64, headers with RFC 2047 encoded words,
// CRLF line ends throughout. Dot-stuffing is left to libcurl. Pure functions, unit-tested.
#pragma once

#include "common/secret.hpp"
#include "delivery/error.hpp"

#include <chrono>
#include <string>
#include <string_view>

namespace sspr::delivery {

/// A From address as configured: `it@example.org` or `Example IT <it@example.org>` (the display
/// name may be quoted and may be non-ASCII).
struct mailbox {
    std::string display_name;
    std::string address;
};

/// Parses a configured sender; error::invalid_destination when the address part is not a plain
/// addr-spec (see normalise_email) or the form is neither of the two above.
[[nodiscard]] result<mailbox> parse_mailbox(std::string_view text);

struct mail_headers {
    mailbox from;
    std::string to;         // addr-spec, already normalised
    std::string subject;    // UTF-8, one line
    std::string message_id; // without the angle brackets: "id@domain"
    std::chrono::system_clock::time_point date;
    std::string language; // Content-Language, e.g. "ko"
};

/// The whole message as sent after DATA. `boundary` must not occur in the base64 bodies; one that
/// starts with "=_" never can.
///
/// Checks what goes into the header lines itself rather than trusting its caller (a dispatcher
/// that normalised them): `to` and `from.address` must each be one plain addr-spec (see
/// normalise_email: no CR/LF, no comma, no second address, no display name), `message_id` an id
/// of valid_message_id's alphabet, "@" and a domain of LDH labels, and `boundary` "=_" and at most
/// 68 more of [A-Za-z0-9._-]. error::invalid_destination for a bad address, invalid_message for
/// the rest.
[[nodiscard]] result<common::secret> build_mime(const mail_headers& headers, std::string_view text,
                                                std::string_view html, std::string_view boundary);

/// A header value: as is when it is printable ASCII that cannot be mistaken for an encoded word,
/// else RFC 2047 `=?UTF-8?B?…?=` words of at most 60 characters, split on character boundaries and
/// folded with CRLF SP.
[[nodiscard]] std::string encode_header_text(std::string_view utf8);

/// RFC 5322 date-time in UTC: "Wed, 01 May 2024 09:30:05 +0000".
[[nodiscard]] std::string format_rfc5322_date(std::chrono::system_clock::time_point when);

/// Standard base64 in lines of 76 characters, each ending in CRLF.
[[nodiscard]] std::string base64_lines(std::string_view data);

} // namespace sspr::delivery
