#include "gateway/tls.hpp"

#include <boost/asio/ssl/context.hpp>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <stdexcept>
#include <string>

namespace sspr::gateway {
namespace {

/// The newest OpenSSL error as text, and the queue emptied (it is per thread and would otherwise
/// be blamed on the next TLS call of this thread).
std::string openssl_reason() {
    const unsigned long code = ERR_peek_last_error();
    std::string why = code != 0 ? ERR_reason_error_string(code) != nullptr
                                      ? ERR_reason_error_string(code)
                                      : "OpenSSL error " + std::to_string(code)
                                : "unknown OpenSSL error";
    ERR_clear_error();
    return why;
}

} // namespace

std::shared_ptr<boost::asio::ssl::context> make_tls_context(const tls_settings& tls) {
    namespace ssl = boost::asio::ssl;
    auto ctx = std::make_shared<ssl::context>(ssl::context::tls_server);
    SSL_CTX* native = ctx->native_handle();

    const int min_version =
        tls.min_version == config::tls_version::tls1_3 ? TLS1_3_VERSION : TLS1_2_VERSION;
    if (SSL_CTX_set_min_proto_version(native, min_version) != 1) {
        throw std::runtime_error("TLS: cannot set the minimum version: " + openssl_reason());
    }
    // Renegotiation is a DoS lever and pointless for short HTTP exchanges; tickets would keep a
    // long-lived key that undoes forward secrecy; the server's order picks the strongest suite.
    SSL_CTX_set_options(native, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_TICKET |
                                    SSL_OP_CIPHER_SERVER_PREFERENCE);
    if (SSL_CTX_set_cipher_list(native, tls12_ciphers) != 1) {
        throw std::runtime_error("TLS: cipher list refused: " + openssl_reason());
    }
    if (SSL_CTX_set1_groups_list(native, "X25519:P-256:P-384") != 1) {
        throw std::runtime_error("TLS: key exchange groups refused: " + openssl_reason());
    }
    // Less memory per idle kept-alive connection.
    SSL_CTX_set_mode(native, SSL_MODE_RELEASE_BUFFERS);
    // No resumption at all. Without tickets OpenSSL still issues session IDs (TLS 1.2) and
    // stateful TLS 1.3 tickets, and keeps every session in its server cache: up to 20,480 of
    // them, about 1.1 KiB each, for 2 hours (TLS 1.3's default lifetime), so every handshake grew
    // the heap until the cache was full (bench/run-soak), and the sessions' secrets stayed in
    // memory as long. A reset is a handful of requests on one kept-alive connection: a full
    // handshake per connection costs nothing that matters.
    SSL_CTX_set_session_cache_mode(native, SSL_SESS_CACHE_OFF);
    if (SSL_CTX_set_num_tickets(native, 0) != 1) {
        throw std::runtime_error("TLS: cannot switch TLS 1.3 tickets off: " + openssl_reason());
    }

    if (SSL_CTX_use_certificate_chain_file(native, tls.certificate_file.c_str()) != 1) {
        throw std::runtime_error("server.tls.certificate_file " + tls.certificate_file +
                                 ": cannot be used: " + openssl_reason());
    }
    if (SSL_CTX_use_PrivateKey_file(native, tls.key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
        throw std::runtime_error("server.tls.key_file " + tls.key_file +
                                 ": cannot be used: " + openssl_reason());
    }
    if (SSL_CTX_check_private_key(native) != 1) {
        throw std::runtime_error("server.tls.key_file " + tls.key_file +
                                 ": does not belong to the certificate in " + tls.certificate_file);
    }
    return ctx;
}

} // namespace sspr::gateway
