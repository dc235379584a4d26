#include "delivery/curl.hpp"

#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>

namespace sspr::delivery::detail {
namespace {

// A transport-level failure common to SMTP and HTTP, or nothing when `rc` is not one.
std::optional<failure> transport_failure(CURLcode rc, const std::string& diag) {
    switch (rc) {
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_CONNECT:
        return failure(error::connect_failed, diag);
    case CURLE_OPERATION_TIMEDOUT:
        return failure(error::timeout, diag);
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_USE_SSL_FAILED:
    case CURLE_SSL_ENGINE_NOTFOUND:
    case CURLE_SSL_ENGINE_SETFAILED:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_SHUTDOWN_FAILED:
    case CURLE_SSL_CRL_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
    case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
    case CURLE_SSL_INVALIDCERTSTATUS:
    case CURLE_SSL_CLIENTCERT:
        return failure(error::tls_failure, diag);
    case CURLE_OUT_OF_MEMORY:
    case CURLE_UNSUPPORTED_PROTOCOL:
    case CURLE_URL_MALFORMAT:
    case CURLE_NOT_BUILT_IN:
    case CURLE_BAD_FUNCTION_ARGUMENT:
    case CURLE_UNKNOWN_OPTION:
    case CURLE_ABORTED_BY_CALLBACK:
    case CURLE_READ_ERROR:
    case CURLE_WRITE_ERROR:
        return failure(error::internal, diag);
    default:
        return std::nullopt;
    }
}

std::string diagnostic(std::string_view protocol, CURLcode rc, long code, std::string_view text) {
    std::string out(protocol);
    if (code != 0) {
        out += ' ';
        out += std::to_string(code);
    }
    out += ": ";
    out += text.empty() ? std::string_view(curl_easy_strerror(rc)) : text;
    return out;
}

} // namespace

void ensure_curl_global() {
    static std::once_flag once;
    static CURLcode rc = CURLE_OK;
    std::call_once(once, [] { rc = curl_global_init(CURL_GLOBAL_DEFAULT); });
    if (rc != CURLE_OK) {
        throw std::runtime_error(std::string("libcurl could not initialise: ") +
                                 curl_easy_strerror(rc));
    }
}

result<curl_ptr> make_easy() {
    curl_ptr handle(curl_easy_init());
    if (!handle) {
        return failure(error::internal, "curl_easy_init failed");
    }
    return handle;
}

bool append(slist_ptr& list, const char* line) {
    curl_slist* grown = curl_slist_append(list.get(), line);
    if (grown == nullptr) {
        return false;
    }
    (void)list.release(); // the old head is now part of `grown`
    list.reset(grown);
    return true;
}

result<void> smtp_outcome(CURLcode rc, long reply, std::string_view text, bool handed_over) {
    if (rc == CURLE_OK) {
        return {};
    }
    const std::string diag = diagnostic("SMTP", rc, reply, text);
    if (handed_over) {
        // The last reply is the one to the end of DATA when it came, else still the 354.
        if (reply == 250) {
            return {}; // accepted; what failed came after (QUIT)
        }
        if (reply < 400 || reply >= 600) {
            return failure(error::outcome_unknown, diag);
        }
    }
    if (auto f = transport_failure(rc, diag)) {
        return *f;
    }
    if (reply >= 400 && reply < 500) {
        return failure(error::temporary_failure, diag);
    }
    // 535: credentials invalid; 530: authentication required (we sent none, or not accepted).
    if (rc == CURLE_LOGIN_DENIED || rc == CURLE_AUTH_ERROR || reply == 535 || reply == 530) {
        return failure(error::auth_failed, diag);
    }
    if (reply >= 500 && reply < 600) {
        return failure(error::rejected, diag);
    }
    if (rc == CURLE_SEND_ERROR || rc == CURLE_RECV_ERROR || rc == CURLE_GOT_NOTHING) {
        return failure(error::temporary_failure, diag);
    }
    return failure(error::protocol_error, diag);
}

result<void> http_outcome(CURLcode rc, long status, std::string_view text, bool handed_over) {
    if (rc != CURLE_OK) {
        const std::string diag = diagnostic("HTTP", rc, status, text);
        if (handed_over && status == 0) {
            return failure(error::outcome_unknown, diag);
        }
        if (auto f = transport_failure(rc, diag)) {
            return *f;
        }
        if (rc == CURLE_SEND_ERROR || rc == CURLE_RECV_ERROR || rc == CURLE_GOT_NOTHING ||
            rc == CURLE_PARTIAL_FILE) {
            return failure(error::temporary_failure, diag);
        }
        return failure(error::protocol_error, diag);
    }
    if (status >= 200 && status < 300) {
        return {};
    }
    const std::string diag = "HTTP " + std::to_string(status);
    if (status == 401 || status == 403) {
        return failure(error::auth_failed, diag);
    }
    if (status == 408 || status == 425 || status == 429 ||
        (status >= 500 && status < 600 && status != 501 && status != 505)) {
        return failure(error::temporary_failure, diag);
    }
    if (status >= 300 && status < 600) {
        return failure(error::rejected, diag);
    }
    return failure(error::protocol_error, diag);
}

} // namespace sspr::delivery::detail
