// The server's TLS context: certificate chain and key from files, TLS 1.2 or 1.3 minimum, AEAD
// cipher suites with forward secrecy only, no compression, renegotiation, session tickets or
// session cache (no resumption: every connection is a full handshake, nothing is kept after it).
#pragma once

#include "gateway/server.hpp"

#include <memory>

namespace boost::asio::ssl {
class context;
}

namespace sspr::gateway {

/// Throws std::runtime_error naming the file (never its content) or the OpenSSL call that failed.
[[nodiscard]] std::shared_ptr<boost::asio::ssl::context> make_tls_context(const tls_settings& tls);

/// The TLS 1.2 cipher list the context uses (OpenSSL syntax); TLS 1.3 suites are all AEAD.
inline constexpr const char* tls12_ciphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";

} // namespace sspr::gateway
