#include "ldap/tls_probe.hpp"

#include "ldap/handles.hpp"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <memory>

namespace sspr::ldap {
namespace {

using detail::ber_ptr;
using detail::berval_ptr;

struct fd_closer {
    int fd = -1;
    fd_closer() = default;
    fd_closer(const fd_closer&) = delete;
    fd_closer& operator=(const fd_closer&) = delete;
    ~fd_closer() {
        if (fd >= 0) {
            ::close(fd);
        }
    }
};

struct ssl_ctx_freer {
    void operator()(SSL_CTX* c) const noexcept { SSL_CTX_free(c); }
};
using ssl_ctx_ptr = std::unique_ptr<SSL_CTX, ssl_ctx_freer>;
struct ssl_freer {
    void operator()(SSL* s) const noexcept { SSL_free(s); }
};
using ssl_ptr = std::unique_ptr<SSL, ssl_freer>;
struct x509_freer {
    void operator()(X509* x) const noexcept { X509_free(x); }
};
using x509_ptr = std::unique_ptr<X509, x509_freer>;
struct names_freer {
    void operator()(GENERAL_NAMES* n) const noexcept { GENERAL_NAMES_free(n); }
};
using names_ptr = std::unique_ptr<GENERAL_NAMES, names_freer>;
struct bio_freer {
    void operator()(BIO* b) const noexcept { BIO_free(b); }
};
using bio_ptr = std::unique_ptr<BIO, bio_freer>;
struct sockbuf_freer {
    void operator()(Sockbuf* sb) const noexcept { ber_sockbuf_free(sb); }
};
using sockbuf_ptr = std::unique_ptr<Sockbuf, sockbuf_freer>;
struct addrinfo_freer {
    void operator()(addrinfo* a) const noexcept { ::freeaddrinfo(a); }
};
using addrinfo_ptr = std::unique_ptr<addrinfo, addrinfo_freer>;

std::string openssl_errors() {
    std::string out;
    while (const unsigned long e = ERR_get_error()) {
        std::array<char, 256> buf{};
        ERR_error_string_n(e, buf.data(), buf.size());
        out += out.empty() ? "" : "; ";
        out += buf.data();
    }
    return out;
}

std::string address_text(const sockaddr* sa) {
    std::array<char, INET6_ADDRSTRLEN> buf{};
    const void* src =
        sa->sa_family == AF_INET6
            ? static_cast<const void*>(&reinterpret_cast<const sockaddr_in6*>(sa)->sin6_addr)
            : static_cast<const void*>(&reinterpret_cast<const sockaddr_in*>(sa)->sin_addr);
    return ::inet_ntop(sa->sa_family, src, buf.data(), buf.size()) != nullptr ? buf.data() : "?";
}

/// Non-blocking connect bounded by `timeout`; the socket is left blocking with send/receive
/// timeouts, for the StartTLS exchange and OpenSSL.
int connect_bounded(const addrinfo* a, std::chrono::milliseconds timeout, std::string& error) {
    const int fd =
        ::socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) {
        error = std::strerror(errno);
        return -1;
    }
    bool ok = ::connect(fd, a->ai_addr, a->ai_addrlen) == 0;
    if (!ok && errno == EINPROGRESS) {
        pollfd p{fd, POLLOUT, 0};
        int err = 0;
        socklen_t len = sizeof err;
        const int n = ::poll(&p, 1, static_cast<int>(timeout.count()));
        if (n == 0) {
            error = "no answer within " + std::to_string(timeout.count()) + " ms";
        } else if (n > 0 && ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) == 0) {
            ok = err == 0;
            if (!ok) {
                error = std::strerror(err);
            }
        } else {
            error = std::strerror(errno);
        }
    } else if (!ok) {
        error = std::strerror(errno);
    }
    if (!ok) {
        ::close(fd);
        return -1;
    }
    const int flags = ::fcntl(fd, F_GETFL);
    ::fcntl(fd, F_SETFL, flags & ~O_NONBLOCK);
    timeval tv{};
    tv.tv_sec = static_cast<time_t>(timeout.count() / 1000);
    tv.tv_usec = static_cast<suseconds_t>((timeout.count() % 1000) * 1000);
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    return fd;
}

/// The StartTLS extended request (RFC 4511 4.14) and its response, encoded and decoded by liblber.
bool start_tls(int fd, std::string& error) {
    const ber_ptr req(ber_alloc_t(LBER_USE_DER));
    if (!req || ber_printf(req.get(), "{it{ts}}", 1, LDAP_REQ_EXTENDED, LDAP_TAG_EXOP_REQ_OID,
                           LDAP_EXOP_START_TLS) < 0) {
        error = "cannot encode the StartTLS request";
        return false;
    }
    berval* raw = nullptr;
    if (ber_flatten(req.get(), &raw) != 0) {
        error = "cannot encode the StartTLS request";
        return false;
    }
    const berval_ptr bytes(raw);
    if (::send(fd, bytes->bv_val, bytes->bv_len, MSG_NOSIGNAL) !=
        static_cast<ssize_t>(bytes->bv_len)) {
        error = std::string("sending StartTLS: ") + std::strerror(errno);
        return false;
    }
    const sockbuf_ptr sb(ber_sockbuf_alloc());
    int sock = fd;
    if (!sb ||
        ber_sockbuf_add_io(sb.get(), &ber_sockbuf_io_tcp, LBER_SBIOD_LEVEL_PROVIDER, &sock) != 0) {
        error = "cannot read the StartTLS response";
        return false;
    }
    const ber_ptr resp(ber_alloc_t(LBER_USE_DER));
    ber_len_t len = 0;
    if (!resp || ber_get_next(sb.get(), &len, resp.get()) == LBER_DEFAULT) {
        error = "the server sent no StartTLS response (is this an LDAP server?)";
        // The Sockbuf does not own the descriptor; detach so it is closed once, by our caller.
        ber_sockbuf_remove_io(sb.get(), &ber_sockbuf_io_tcp, LBER_SBIOD_LEVEL_PROVIDER);
        return false;
    }
    ber_sockbuf_remove_io(sb.get(), &ber_sockbuf_io_tcp, LBER_SBIOD_LEVEL_PROVIDER);
    ber_int_t msgid = 0;
    ber_int_t code = -1;
    if (ber_scanf(resp.get(), "{i{e", &msgid, &code) == LBER_ERROR) {
        error = "the StartTLS response does not parse";
        return false;
    }
    if (code != LDAP_SUCCESS) {
        error = "the server refused StartTLS: LDAP " + std::to_string(code) + " (" +
                ldap_err2string(code) + ")";
        return false;
    }
    return true;
}

/// Records every verification error and lets the handshake go on, so all of them are reported.
int collect_errors(int preverify_ok, X509_STORE_CTX* store) {
    if (preverify_ok == 0) {
        auto* ssl = static_cast<SSL*>(
            X509_STORE_CTX_get_ex_data(store, SSL_get_ex_data_X509_STORE_CTX_idx()));
        auto* errors = static_cast<std::vector<int>*>(SSL_get_app_data(ssl));
        const int e = X509_STORE_CTX_get_error(store);
        if (errors != nullptr && std::find(errors->begin(), errors->end(), e) == errors->end()) {
            errors->push_back(e);
        }
    }
    return 1;
}

void describe_certificate(X509* cert, tls_probe_result& out) {
    std::array<char, 512> subject{};
    X509_NAME_oneline(X509_get_subject_name(cert), subject.data(), subject.size());
    out.subject = subject.data();
    if (const bio_ptr bio(BIO_new(BIO_s_mem())); bio) {
        if (ASN1_TIME_print(bio.get(), X509_get0_notAfter(cert)) == 1) {
            char* data = nullptr;
            const long n = BIO_get_mem_data(bio.get(), &data);
            out.not_after.assign(data, static_cast<std::size_t>(n));
        }
    }
    const names_ptr names(static_cast<GENERAL_NAMES*>(
        X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr)));
    if (!names) {
        return;
    }
    for (int i = 0; i < sk_GENERAL_NAME_num(names.get()); ++i) {
        const GENERAL_NAME* n = sk_GENERAL_NAME_value(names.get(), i);
        if (n->type == GEN_DNS) {
            const auto* s = ASN1_STRING_get0_data(n->d.dNSName);
            out.names.push_back(
                "DNS:" + std::string(reinterpret_cast<const char*>(s),
                                     static_cast<std::size_t>(ASN1_STRING_length(n->d.dNSName))));
        } else if (n->type == GEN_IPADD) {
            const int len = ASN1_STRING_length(n->d.iPAddress);
            const auto* p = ASN1_STRING_get0_data(n->d.iPAddress);
            std::array<char, INET6_ADDRSTRLEN> buf{};
            const int family = len == 16 ? AF_INET6 : AF_INET;
            if ((len == 4 || len == 16) && ::inet_ntop(family, p, buf.data(), buf.size())) {
                out.names.push_back(std::string("IP:") + buf.data());
            }
        }
    }
}

} // namespace

tls_probe_result probe_tls(const std::string& uri, bool start_tls_wanted,
                           const std::string& ca_file, std::chrono::milliseconds timeout) {
    tls_probe_result out;
    LDAPURLDesc* raw = nullptr;
    if (ldap_url_parse(uri.c_str(), &raw) != LDAP_URL_SUCCESS) {
        out.stage = tls_stage::uri;
        out.detail = "the URI does not parse";
        return out;
    }
    const std::unique_ptr<LDAPURLDesc, decltype(&ldap_free_urldesc)> url(raw, ldap_free_urldesc);
    const std::string scheme = url->lud_scheme != nullptr ? url->lud_scheme : "";
    if (scheme != "ldap" && scheme != "ldaps") {
        out.stage = tls_stage::uri;
        out.detail = scheme == "ldapi" ? "a local socket (ldapi://): no network or TLS to check"
                                       : "not an ldap:// or ldaps:// URI";
        return out;
    }
    out.implicit_tls = scheme == "ldaps";
    out.host = url->lud_host != nullptr && *url->lud_host != '\0' ? url->lud_host : "localhost";
    out.port = static_cast<std::uint16_t>(url->lud_port != 0 ? url->lud_port
                                                             : (out.implicit_tls ? 636 : 389));

    addrinfo hints{};
    hints.ai_socktype = SOCK_STREAM;
    addrinfo* found = nullptr;
    if (const int rc =
            ::getaddrinfo(out.host.c_str(), std::to_string(out.port).c_str(), &hints, &found);
        rc != 0) {
        out.stage = tls_stage::resolve;
        out.detail = ::gai_strerror(rc);
        return out;
    }
    const addrinfo_ptr addrs(found);
    for (const addrinfo* a = addrs.get(); a != nullptr; a = a->ai_next) {
        const std::string text = address_text(a->ai_addr);
        if (std::find(out.addresses.begin(), out.addresses.end(), text) == out.addresses.end()) {
            out.addresses.push_back(text);
        }
    }

    fd_closer sock;
    for (const addrinfo* a = addrs.get(); a != nullptr && sock.fd < 0; a = a->ai_next) {
        std::string error;
        sock.fd = connect_bounded(a, timeout, error);
        if (sock.fd >= 0) {
            out.connected_address = address_text(a->ai_addr);
        } else {
            out.detail += out.detail.empty() ? "" : "; ";
            out.detail += address_text(a->ai_addr) + ": " + error;
        }
    }
    if (sock.fd < 0) {
        out.stage = tls_stage::connect;
        return out;
    }
    out.detail.clear();
    if (!out.implicit_tls) {
        if (!start_tls_wanted) {
            out.stage = tls_stage::done;
            out.detail = "plain LDAP (start_tls is false): no TLS";
            return out;
        }
        if (!start_tls(sock.fd, out.detail)) {
            out.stage = tls_stage::starttls;
            return out;
        }
    }

    ERR_clear_error();
    const ssl_ctx_ptr ctx(SSL_CTX_new(TLS_client_method()));
    if (!ctx) {
        out.stage = tls_stage::handshake;
        out.detail = openssl_errors();
        return out;
    }
    SSL_CTX_set_min_proto_version(ctx.get(), TLS1_2_VERSION);
    if (!ca_file.empty()) {
        if (SSL_CTX_load_verify_locations(ctx.get(), ca_file.c_str(), nullptr) != 1) {
            out.stage = tls_stage::ca_file;
            out.detail = openssl_errors();
            return out;
        }
    } else {
        SSL_CTX_set_default_verify_paths(ctx.get());
    }
    SSL_CTX_set_verify(ctx.get(), SSL_VERIFY_PEER, collect_errors);
    const ssl_ptr ssl(SSL_new(ctx.get()));
    if (!ssl || SSL_set_fd(ssl.get(), sock.fd) != 1) {
        out.stage = tls_stage::handshake;
        out.detail = openssl_errors();
        return out;
    }
    SSL_set_app_data(ssl.get(), &out.verify_errors);
    // The name the certificate must cover: the URI's host, as an IP address when it is one.
    in6_addr ip{};
    if (::inet_pton(AF_INET, out.host.c_str(), &ip) == 1 ||
        ::inet_pton(AF_INET6, out.host.c_str(), &ip) == 1) {
        X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl.get()), out.host.c_str());
    } else {
        SSL_set1_host(ssl.get(), out.host.c_str());
        // SSL_set_tlsext_host_name is a macro with an old-style cast.
        SSL_ctrl(ssl.get(), SSL_CTRL_SET_TLSEXT_HOSTNAME, TLSEXT_NAMETYPE_host_name,
                 const_cast<char*>(out.host.c_str()));
    }
    if (SSL_connect(ssl.get()) != 1) {
        out.stage = tls_stage::handshake;
        out.detail = openssl_errors();
        if (out.detail.empty()) {
            out.detail = "the server closed the connection during the handshake";
        }
        return out;
    }
    out.stage = tls_stage::done;
    out.tls_version = SSL_get_version(ssl.get());
    if (const x509_ptr cert(SSL_get1_peer_certificate(ssl.get())); cert) {
        describe_certificate(cert.get(), out);
    }
    SSL_shutdown(ssl.get());
    return out;
}

} // namespace sspr::ldap
