// SMS through the provider's HTTP webhook with libcurl: HTTPS only with verification, the admin's
// method, headers and body template, bearer or basic authentication from files. Any answer but
// 2xx is an error; redirects are not followed (they would carry the credentials elsewhere). One
// attempt per call; retries are the dispatcher's business.
#pragma once

#include "config/config.hpp"
#include "delivery/error.hpp"
#include "delivery/sender.hpp"

#include <string>

namespace sspr::delivery {

class webhook_client {
public:
    /// Checks `cfg` (https URL without credentials, POST/PUT/PATCH, header syntax, one kind of
    /// authentication, the body template) and throws std::invalid_argument with a clear message
    /// when it cannot work.
    explicit webhook_client(config::sms_config cfg);

    /// Sends `msg` (destination already normalised, id set) once, blocking for at most the
    /// configured timeout. The request carries `Idempotency-Key: <msg.id>`, the same on every
    /// retry. Thread-safe: every call has its own connection.
    [[nodiscard]] result<void> send(const message& msg) const;

    /// `ssprd doctor`: connects to the URL's host and completes the TLS handshake with the
    /// configured verification, then closes. No HTTP request is sent, so no SMS.
    [[nodiscard]] result<void> probe_connect() const;

private:
    config::sms_config cfg_;
    std::string method_;
    bool custom_content_type_ = false; // the admin's headers name a Content-Type
    bool custom_user_agent_ = false;   // ... or a User-Agent
};

} // namespace sspr::delivery
