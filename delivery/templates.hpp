// The words of every message ssprd sends, in English and Korean: subject, plain text and HTML for
// email, one short text for SMS. Templates are code-reviewed constants with {placeholders}; the
// values put into them are plain text, cleaned of control characters and escaped for HTML.
#pragma once

#include "common/secret.hpp"
#include "delivery/sender.hpp"

#include <chrono>
#include <string>
#include <string_view>

namespace sspr::delivery {

struct email_content {
    /// One line of UTF-8; never holds the code.
    std::string subject;
    /// text/plain, lines ending in LF (the MIME builder makes them CRLF).
    common::secret text;
    /// A complete small HTML document.
    common::secret html;
};

/// "en" or "ko": the language a message is written in for a requested tag ("ko-KR" → "ko",
/// anything unknown → "en").
[[nodiscard]] std::string_view pick_language(std::string_view requested) noexcept;

/// The email for `msg`. The message must have passed the dispatcher's checks (its kind's
/// parameters are present).
[[nodiscard]] email_content render_email(const message& msg);

/// The SMS text for `msg`; short enough for one or two SMS parts.
[[nodiscard]] common::secret render_sms_text(const message& msg);

/// `& < > " '` as character references.
[[nodiscard]] std::string html_escape(std::string_view text);

/// One line of text from an outside value: control characters (C0, DEL, C1) removed, invalid
/// UTF-8 replaced with U+FFFD, so a value can neither break a line nor smuggle a header.
[[nodiscard]] std::string clean_text(std::string_view value);

/// "10 minutes", "1 hour", "90 seconds"; "10분", "1시간", "90초".
[[nodiscard]] std::string format_lifetime(std::chrono::seconds lifetime, std::string_view language);

/// "2024-05-01 09:30 UTC".
[[nodiscard]] std::string format_time_utc(std::chrono::system_clock::time_point when);

} // namespace sspr::delivery
