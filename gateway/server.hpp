// The HTTPS server: TLS listeners, one strand per connection, HTTP/1.1 with keep-alive and
// bounded pipelining, and every limit a public listener needs (connections, handshake, slow
// headers, idle keep-alive, whole-request time, header and body size). It knows nothing of
// routes: each parsed request goes to a `handler`, which answers through the exchange's
// responder, at once or later from another thread.
//
// The session model is Beast 1.81's example/advanced/server-flex (TLS only): do_x/on_x pairs,
// shared_from_this kept alive by pending operations, expires_after before every read and write,
// a parser per request with header and body limits, responses queued in request order.
#pragma once

#include "common/random.hpp"
#include "config/config.hpp"
#include "gateway/http.hpp"

#include <boost/asio/ip/address.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace sspr::gateway {

/// The certificate and the oldest protocol accepted. TLS 1.3 is preferred; TLS 1.2 (unless
/// refused here) gets ECDHE with AES-GCM or ChaCha20-Poly1305 only. No compression, no
/// renegotiation, no session tickets.
struct tls_settings {
    std::string certificate_file; // PEM chain, leaf first
    std::string key_file;         // PEM private key
    config::tls_version min_version = config::tls_version::tls1_2;
};

/// Limits applied per connection and per request; set_limits() changes them for new requests.
struct server_limits {
    /// Open connections; one more is closed right after accept (before any TLS work).
    std::size_t max_connections = 1024;
    /// TLS handshake, and the request line and headers from their first byte.
    std::chrono::milliseconds header_timeout{10000};
    /// A kept-alive connection waiting for its next request.
    std::chrono::milliseconds idle_timeout{60000};
    /// After this long waiting, a kept-alive connection keeps only its socket and TLS state
    /// (~17 KiB instead of ~70). A request that comes sooner finds the connection as it was:
    /// parking and waking cost ~7 us, a third of a cheap request's CPU. Not a configuration key.
    std::chrono::milliseconds park_after{1000};
    /// A whole request (from its first byte to its last), and each response write.
    std::chrono::milliseconds request_timeout{30000};
    std::size_t header_limit = std::size_t{8} * 1024;
    std::size_t max_body_bytes = std::size_t{64} * 1024;
    /// Requests read ahead on one connection while earlier ones are still being answered.
    std::size_t max_pipelined = 4;
};

struct server_options {
    /// host:port; IPv6 as "[::1]:8443". Port 0 picks a free port (see endpoints()).
    std::vector<std::string> listen;
    /// Threads running the connections; 0 = one per core.
    std::size_t io_threads = 0;
    tls_settings tls;
    server_limits limits;
    /// Makes the request ids.
    std::shared_ptr<common::random> random;
};

/// What went wrong while reading a request, when the server could not read a whole one. The
/// handler still answers it (with the page or problem it chooses); the server closes the
/// connection after that answer.
enum class transport_problem {
    none = 0,
    /// The body is larger than max_body_bytes (413).
    payload_too_large,
    /// Not HTTP/1.x the parser accepts, or headers larger than header_limit (400).
    bad_request,
};

/// Answers one request. Copyable and thread-safe; the first answer counts and later ones are
/// dropped. If every copy is destroyed without an answer, the server answers 500 itself, so a
/// handler that loses a request never leaves its connection hanging.
///
/// Contract: every responder must be gone before the server is destroyed (drain the worker
/// pools that hold them first); answering after shutdown() is harmless, the answer is dropped.
class responder {
public:
    using steady_time = std::chrono::steady_clock::time_point;
    using deliver_fn = std::function<void(response&&, steady_time)>;

    responder() = default;
    /// Used by the server; `fallback` is what is sent when nobody answers.
    responder(deliver_fn deliver, response fallback);

    /// Sends `res`, but not before `not_before` (waiting on a timer of the connection's strand,
    /// never a sleeping thread). The server adds the security headers, X-Request-Id,
    /// Content-Length and the connection's keep-alive. Returns false when already answered.
    bool operator()(response res, steady_time not_before = {}) const;

    [[nodiscard]] bool answered() const noexcept;

private:
    struct state;
    std::shared_ptr<state> state_;
};

/// One request, handed to the handler on the connection's strand.
struct exchange {
    request req; // with transport_problem set, what was parsed of it (possibly only a part)
    transport_problem problem = transport_problem::none;
    boost::asio::ip::address peer;
    std::string request_id;
    /// When the first byte of this request arrived.
    std::chrono::steady_clock::time_point received{};
    responder respond;
};

/// Called on the connection's strand for every request; must not block (blocking work goes to a
/// common::blocking_pool and answers from there). Exceptions are logged and answered with 500.
using handler = std::function<void(exchange)>;

struct server_endpoint {
    boost::asio::ip::address address;
    std::uint16_t port = 0;
};

class server {
public:
    /// Loads the certificate and key, resolves and binds every listen address. Throws
    /// std::runtime_error naming the file or address that failed (a start-up error).
    explicit server(server_options options);
    /// shutdown() with no grace if it was not called.
    ~server(); // NOLINT(bugprone-exception-escape): see server.cpp
    server(const server&) = delete;
    server& operator=(const server&) = delete;

    /// The addresses bound, in the order of options.listen (ports resolved when 0 was asked).
    [[nodiscard]] std::vector<server_endpoint> endpoints() const;

    /// Starts the I/O threads and accepting. Call once; `h` must stay callable until shutdown()
    /// returns.
    void start(handler h);

    /// Stops accepting, lets requests in flight finish and closes idle connections; waits at
    /// most `grace` for connections to end, then stops the I/O threads. Blocks; idempotent.
    void shutdown(std::chrono::milliseconds grace);

    /// A new certificate for new connections (SIGHUP). On failure the old one stays; returns the
    /// reason (naming the file, never its content).
    [[nodiscard]] std::optional<std::string> reload_tls(const tls_settings& tls);

    /// New limits for requests and connections from now on.
    void set_limits(const server_limits& limits);

    /// Connections open now.
    [[nodiscard]] std::size_t connections() const noexcept;
    /// Connections closed at once because max_connections were open.
    [[nodiscard]] std::uint64_t refused_connections() const noexcept;
    /// Connections parked now: idle for longer than server_limits::park_after.
    [[nodiscard]] std::size_t parked_connections() const noexcept;

    struct impl;

private:
    std::unique_ptr<impl> impl_;
};

} // namespace sspr::gateway
