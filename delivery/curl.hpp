// libcurl inside delivery/: RAII owners for its handles, the one-time global initialisation, and
// the mapping of a transfer's outcome (CURLcode plus the SMTP reply code or HTTP status) to
// delivery errors, which decides what is retried. Nothing outside delivery/ sees libcurl.
#pragma once

#include "delivery/error.hpp"

#include <curl/curl.h>

#include <memory>
#include <string_view>

namespace sspr::delivery::detail {

struct curl_cleanup {
    void operator()(CURL* handle) const noexcept { curl_easy_cleanup(handle); }
};
using curl_ptr = std::unique_ptr<CURL, curl_cleanup>;

struct slist_freer {
    void operator()(curl_slist* list) const noexcept { curl_slist_free_all(list); }
};
using slist_ptr = std::unique_ptr<curl_slist, slist_freer>;

/// Sets options one after another and remembers the first that failed, so a transfer is set up
/// in a straight line and checked once. Values must have the type the option documents (long,
/// const char*, curl_off_t, a pointer): they go through C varargs.
class easy_options {
public:
    explicit easy_options(CURL* handle) noexcept : handle_(handle) {}

    template <class T> void set(CURLoption option, T value) noexcept {
        if (rc_ == CURLE_OK) {
            rc_ = curl_easy_setopt(handle_, option, value);
        }
    }
    /// CURLE_OK, or the error of the first option that could not be set.
    [[nodiscard]] CURLcode rc() const noexcept { return rc_; }

private:
    CURL* handle_;
    CURLcode rc_ = CURLE_OK;
};

/// curl_global_init(CURL_GLOBAL_DEFAULT) once per process, from whichever thread comes first;
/// throws std::runtime_error if it fails. Called by the clients' constructors (at start-up).
void ensure_curl_global();

/// A fresh easy handle; error::internal when libcurl cannot make one.
[[nodiscard]] result<curl_ptr> make_easy();

/// Appends a copy of `line` to `list`; false when libcurl is out of memory.
[[nodiscard]] bool append(slist_ptr& list, const char* line);

/// The outcome of one SMTP transfer. `reply` is CURLINFO_RESPONSE_CODE (the last SMTP reply code,
/// 0 when none came), `text` libcurl's error buffer, `handed_over` whether libcurl had read the
/// whole message (it reads it only after the server's 354 to DATA).
///   handed over, then a failure: the server's reply to the end of DATA decides (250 → success,
///     the server took it; 4xx, 5xx → as below); without that reply → outcome_unknown, which is
///     not retried (the server may have queued it: a second copy is worse than none)
///   transport failures: connect/resolve → connect_failed, timeout → timeout,
///                       TLS and certificate problems → tls_failure
///   refused credentials (535, 530, CURLE_LOGIN_DENIED other than 4xx) → auth_failed
///   other 4xx → temporary_failure, other 5xx → rejected
///   connection lost without a reply → temporary_failure; anything else → protocol_error
[[nodiscard]] result<void> smtp_outcome(CURLcode rc, long reply, std::string_view text,
                                        bool handed_over = false);

/// The outcome of one HTTP request. `status` is CURLINFO_RESPONSE_CODE, `handed_over` whether the
/// whole request body was sent (CURLINFO_SIZE_UPLOAD_T).
///   2xx → success; 401, 403 → auth_failed; 408, 425, 429, 5xx except 501 and 505 →
///   temporary_failure; other 3xx and 4xx, 501, 505 → rejected (redirects are not followed);
///   a transport failure after the body was sent and before any status → outcome_unknown;
///   other transport failures as for SMTP.
[[nodiscard]] result<void> http_outcome(CURLcode rc, long status, std::string_view text,
                                        bool handed_over = false);

} // namespace sspr::delivery::detail
