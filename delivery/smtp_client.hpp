// Email over SMTP with libcurl: STARTTLS (required, never opportunistic) or implicit TLS, the
// server's certificate and name verified, optional AUTH with the password from the config file,
// one message per connection. One attempt per call; retries are the dispatcher's business.
#pragma once

#include "common/clock.hpp"
#include "config/config.hpp"
#include "delivery/error.hpp"
#include "delivery/mime.hpp"
#include "delivery/sender.hpp"

#include <memory>
#include <string>

namespace sspr::delivery {

class smtp_client {
public:
    /// Checks `cfg` (host, port, TLS mode, From address, timeout, AUTH only over TLS) and throws
    /// std::invalid_argument with a clear message when it cannot work. Warns once when TLS is off.
    smtp_client(config::smtp_config cfg, std::shared_ptr<const common::clock> clock);

    /// Sends `msg` (destination already normalised, id set) once, blocking for at most the
    /// configured timeout. Thread-safe: every call has its own connection.
    [[nodiscard]] result<void> send(const message& msg) const;

    /// `ssprd doctor`: connects, greets, upgrades with STARTTLS (or implicit TLS) verifying the
    /// certificate, and logs in when a username is set; then QUIT. No message is sent.
    [[nodiscard]] result<void> probe() const;

private:
    config::smtp_config cfg_;
    std::shared_ptr<const common::clock> clock_;
    mailbox from_;
    std::string url_;
};

} // namespace sspr::delivery
