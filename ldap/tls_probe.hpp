// A step-by-step look at how a directory URI's transport comes up, for `ssprd doctor`: name
// resolution, TCP connect, StartTLS (ldap://) or implicit TLS (ldaps://), then the server
// certificate checked with OpenSSL against the configured CA file and the URI's host. libldap
// (built with GnuTLS on Debian) only says "connect failed"; this names what failed. Nothing is
// bound and nothing is sent but the StartTLS request.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace sspr::ldap {

/// Where a probe stopped. `done`: the handshake completed (certificate problems are in
/// tls_probe_result::verify_errors, which a caller judges).
enum class tls_stage {
    invalid = 0,
    /// The URI does not parse, or is ldapi:// (no network transport to check).
    uri,
    /// The host name did not resolve.
    resolve,
    /// No resolved address accepted a TCP connection within the timeout.
    connect,
    /// The server did not accept StartTLS (or did not answer it).
    starttls,
    /// The configured CA file could not be loaded.
    ca_file,
    /// The TLS handshake itself failed (protocol, no common cipher, peer closed).
    handshake,
    done,
};

struct tls_probe_result {
    tls_stage stage = tls_stage::invalid;
    std::string host;
    std::uint16_t port = 0;
    bool implicit_tls = false;          // ldaps://
    std::vector<std::string> addresses; // what the name resolved to
    std::string connected_address;      // the one that accepted TCP
    std::string detail;                 // errno / OpenSSL / LDAP text of the failing stage
    /// Every X509_V_ERR_* the verification met (empty: trusted and the name matches), in order.
    std::vector<int> verify_errors;
    std::string tls_version;        // "TLSv1.3"
    std::string subject;            // of the server certificate
    std::string not_after;          // "Mar  7 02:03:39 2027 GMT"
    std::vector<std::string> names; // its subjectAltName entries: "DNS:x", "IP:1.2.3.4"
};

/// Probes `uri` (ldap:// with StartTLS unless `start_tls` is false, or ldaps://). An empty
/// `ca_file` uses the system's trust store. Each network step is bounded by `timeout`.
[[nodiscard]] tls_probe_result probe_tls(const std::string& uri, bool start_tls,
                                         const std::string& ca_file,
                                         std::chrono::milliseconds timeout);

} // namespace sspr::ldap
