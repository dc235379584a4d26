// Errors of the delivery layer (email over SMTP, SMS through an HTTP webhook): every way a message
// can fail to go out maps to one of these values, so flows can tell the user the truth ("the code
// could not be sent") and metrics can count why. The transport's own diagnostic (libcurl's text,
// the SMTP reply code, the HTTP status) travels beside the code for the log, never for the user,
// and never holds a secret, a message body or a full destination.
#pragma once

#include <boost/system/error_code.hpp>
#include <boost/system/result.hpp>

#include <iosfwd>
#include <string>
#include <type_traits>

namespace sspr::delivery {

enum class error {
    /// Too many messages are waiting for a delivery worker; refused at once, nothing was queued.
    overloaded = 1,
    /// The sender is shutting down; the message was not sent.
    stopping,
    /// The message's channel (email or SMS) is not configured.
    channel_disabled,
    /// The destination is not a usable email address or phone number; nothing was sent.
    invalid_destination,
    /// The message lacks what its kind needs (e.g. a code message without a code); a caller's bug.
    invalid_message,
    /// No connection to the server (refused, unreachable, name not resolved). Retried.
    connect_failed,
    /// The server did not answer within the configured time before the message was handed over
    /// (no greeting, a stalled handshake). Retried. A timeout after the whole message was handed
    /// over is outcome_unknown instead.
    timeout,
    /// The TLS handshake failed or the server's certificate was not trusted. Not retried.
    tls_failure,
    /// The server refused our credentials (SMTP 535, HTTP 401/403). Not retried.
    auth_failed,
    /// The server refused for now (SMTP 4xx, HTTP 5xx, 408, 429). Retried; this is the answer
    /// once the attempts are used up.
    temporary_failure,
    /// The server refused the message for good (SMTP 5xx, HTTP 4xx). Not retried.
    rejected,
    /// The server's answer made no sense (protocol error, unexpected reply). Not retried.
    protocol_error,
    /// A fault inside ssprd while preparing or sending (out of memory, a bug); logged. Not retried.
    internal,
    /// The connection failed or timed out after the whole message was handed to the server (SMTP:
    /// the DATA body; HTTP: the request body) and before its answer: it may have been delivered.
    /// Not retried, so that nobody gets the same message twice.
    outcome_unknown,
    /// The message's deadline (a code's expiry) passed before an attempt succeeded; the last
    /// attempt's failure is in the diagnostic. Sending a code that no longer works is pointless.
    expired,
};

const boost::system::error_category& delivery_category() noexcept;

inline boost::system::error_code make_error_code(error e) noexcept {
    return {static_cast<int>(e), delivery_category()};
}

/// Whether another attempt may succeed where this one failed.
[[nodiscard]] constexpr bool retryable(error e) noexcept {
    return e == error::connect_failed || e == error::temporary_failure || e == error::timeout;
}

/// A failed delivery: the typed code for decisions and counting, and the transport's diagnostic
/// ("SMTP 451", "HTTP 500", libcurl's error text) for the log only.
struct failure {
    boost::system::error_code code;
    std::string diagnostic;

    failure() = default;
    failure(error e, std::string diag = {})
        : code(make_error_code(e)), diagnostic(std::move(diag)) {}

    [[nodiscard]] bool is(error e) const noexcept { return code == make_error_code(e); }
    [[nodiscard]] bool retryable() const noexcept {
        return code.category() == delivery_category() &&
               delivery::retryable(static_cast<error>(code.value()));
    }
};

/// "server rejected the message (SMTP 550: RCPT failed: 550)": for logs and test output, never
/// for the user.
std::ostream& operator<<(std::ostream& os, const failure& f);

/// boost::system::result::value() throws through this when the result holds a failure.
[[noreturn]] void throw_exception_from_error(const failure& f, const boost::source_location& loc);

template <class T> using result = boost::system::result<T, failure>;

} // namespace sspr::delivery

template <> struct boost::system::is_error_code_enum<sspr::delivery::error> : std::true_type {};
