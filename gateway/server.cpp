#include "gateway/server.hpp"

#include "common/log.hpp"
#include "gateway/headers.hpp"
#include "gateway/tls.hpp"

#include <boost/asio/bind_executor.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core/bind_handler.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/read_size.hpp>
#include <boost/beast/core/stream_traits.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/ssl.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <unordered_map>
#include <utility>

namespace sspr::gateway {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace ssl = boost::asio::ssl;
using tcp = boost::asio::ip::tcp;
using steady = std::chrono::steady_clock;

// ---- responder --------------------------------------------------------------------------------

struct responder::state {
    deliver_fn deliver;
    response fallback;
    std::atomic<bool> done{false};

    state(deliver_fn d, response f) : deliver(std::move(d)), fallback(std::move(f)) {}
    state(const state&) = delete;
    state& operator=(const state&) = delete;
    ~state() {
        if (!done.exchange(true) && deliver) {
            deliver(std::move(fallback), {});
        }
    }
};

responder::responder(deliver_fn deliver, response fallback)
    : state_(std::make_shared<state>(std::move(deliver), std::move(fallback))) {}

bool responder::operator()(response res, steady_time not_before) const {
    if (!state_ || state_->done.exchange(true)) {
        return false;
    }
    state_->deliver(std::move(res), not_before);
    return true;
}

bool responder::answered() const noexcept {
    return !state_ || state_->done.load();
}

namespace {

// ---- helpers ----------------------------------------------------------------------------------

/// Frees memory only after wiping it: the connection buffer holds the raw request bytes, and
/// with them passwords, codes and answers.
template <class T> struct wiping_allocator {
    using value_type = T;
    wiping_allocator() = default;
    template <class U> wiping_allocator(const wiping_allocator<U>& /*other*/) noexcept {} // NOLINT
    T* allocate(std::size_t n) { return std::allocator<T>{}.allocate(n); }
    void deallocate(T* p, std::size_t n) noexcept {
        OPENSSL_cleanse(p, n * sizeof(T));
        std::allocator<T>{}.deallocate(p, n);
    }
    template <class U> bool operator==(const wiping_allocator<U>& /*other*/) const noexcept {
        return true;
    }
};

using stream_type = ssl::stream<beast::tcp_stream>;
/// Each connection's: its socket, stream and timers run their handlers on it.
using strand_type = net::strand<net::io_context::executor_type>;

struct ssl_freer {
    void operator()(SSL* ssl) const noexcept { SSL_free(ssl); }
};
using ssl_ptr = std::unique_ptr<SSL, ssl_freer>;
using buffer_type = beast::basic_flat_buffer<wiping_allocator<char>>;

/// Errors that only mean the peer went away or was too slow: not worth more than a debug line.
bool is_ordinary_disconnect(const beast::error_code& ec) {
    return ec == net::error::operation_aborted || ec == net::error::eof ||
           ec == net::error::connection_reset || ec == net::error::broken_pipe ||
           ec == ssl::error::stream_truncated || ec == beast::error::timeout ||
           ec == http::error::end_of_stream;
}

/// What the server answers when a handler never does: a bare problem, in English, because the
/// handler that knows the request's language is what failed.
response fallback_response(unsigned version) {
    response res{http::status::internal_server_error, version};
    res.set(http::field::content_type, "application/problem+json");
    res.body() = R"({"type":"https://ssprd.dev/problems/internal_error","title":"Internal error",)"
                 R"("status":500,"code":"internal_error"})";
    return res;
}

struct host_port {
    std::string host;
    std::string port;
};

host_port split_listen(const std::string& listen) {
    const auto colon = listen.rfind(':');
    if (colon == std::string::npos || colon + 1 == listen.size()) {
        throw std::runtime_error("server.listen " + listen + ": expected host:port");
    }
    std::string host = listen.substr(0, colon);
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
        host = host.substr(1, host.size() - 2);
    }
    return {host, listen.substr(colon + 1)};
}

std::string to_text(const tcp::endpoint& ep) {
    const auto a = ep.address();
    return (a.is_v6() ? "[" + a.to_string() + "]" : a.to_string()) + ":" +
           std::to_string(ep.port());
}

class session;

} // namespace

// ---- the server's shared state ----------------------------------------------------------------

struct server::impl {
    explicit impl(server_options o) : options(std::move(o)) {}

    server_options options;
    handler on_request;

    std::optional<net::io_context> ioc;
    std::optional<net::executor_work_guard<net::io_context::executor_type>> work;
    std::vector<tcp::acceptor> acceptors; // each on its own strand
    std::vector<std::thread> threads;
    bool started = false;
    bool shut_down = false;

    mutable std::mutex mutex;                    // guards the three below
    std::shared_ptr<ssl::context> tls;           // for new connections
    std::shared_ptr<const server_limits> limits; // for new requests
    std::unordered_map<session*, std::weak_ptr<session>> sessions;
    std::condition_variable all_closed; // sessions became empty

    std::atomic<std::size_t> open{0};
    std::atomic<std::uint64_t> refused{0};
    std::atomic<std::size_t> parked{0};
    std::atomic<bool> stopping{false};
    std::atomic<steady::rep> last_refusal_log{0};

    std::shared_ptr<ssl::context> current_tls() const {
        const std::lock_guard lock(mutex);
        return tls;
    }
    std::shared_ptr<const server_limits> current_limits() const {
        const std::lock_guard lock(mutex);
        return limits;
    }

    void do_accept(std::size_t index);
    void on_accept(std::size_t index, const beast::error_code& ec, tcp::socket socket,
                   const strand_type& strand);
    void run_thread();
};

namespace {

// ---- one connection ---------------------------------------------------------------------------

/// One TLS connection. Everything below runs on the connection's strand (executor_);
/// responders come back to it through net::post.
///
/// A kept-alive connection that has waited park_after for its next request is parked:
/// Asio's ssl::stream is destroyed and only the socket and the SSL object (keys, sequence
/// numbers) are kept, until the socket is readable or idle_timeout passes. The stream holds two
/// 17 KiB buffers, zero-filled and so resident, and OpenSSL's BIO pair under it two more: most of
/// what an idle connection would otherwise cost (bench/run-idle-bench).
class session : public std::enable_shared_from_this<session> {
public:
    /// `socket` was accepted on `strand`.
    session(server::impl& owner, tcp::socket&& socket, strand_type strand,
            std::shared_ptr<ssl::context> tls, boost::asio::ip::address peer)
        : owner_(owner), tls_(std::move(tls)), executor_(std::move(strand)),
          stream_(std::in_place, std::move(socket), *tls_), parked_socket_(executor_),
          idle_timer_(executor_), peer_(std::move(peer)), limits_(owner.current_limits()) {}

    session(const session&) = delete;
    session& operator=(const session&) = delete;

    ~session() {
        {
            const std::lock_guard lock(owner_.mutex);
            owner_.sessions.erase(this);
            owner_.open.fetch_sub(1);
        }
        owner_.all_closed.notify_all();
    }

    void run() {
        {
            const std::lock_guard lock(owner_.mutex);
            owner_.sessions.emplace(this, weak_from_this());
        }
        net::dispatch(executor_, beast::bind_front_handler(&session::on_run, shared_from_this()));
    }

    /// Server shutdown: answer what is in flight, read nothing more, then close.
    void stop() {
        net::post(executor_, [self = shared_from_this()] { self->on_stop(); });
    }

private:
    /// One request read, in request order: its answer, once there is one.
    struct slot {
        std::uint64_t seq = 0;
        std::optional<response> res;
        bool keep_alive = true;
        unsigned version = 11;
        std::string request_id;
    };

    enum class read_phase { invalid = 0, idle, header, body };

    void on_run() {
        if (owner_.stopping.load()) {
            return close_now();
        }
        beast::get_lowest_layer(*stream_).expires_after(limits_->header_timeout);
        stream_->async_handshake(
            ssl::stream_base::server,
            beast::bind_front_handler(&session::on_handshake, shared_from_this()));
    }

    void on_handshake(const beast::error_code& ec) {
        if (ec) {
            // Scanners, old clients (TLS 1.1), wrong protocols: routine on a public port.
            return fail(ec, "tls handshake");
        }
        first_request_ = true;
        do_read();
    }

    // -- reading --

    /// Reads the next request unless reading is over, the pipeline is full, or answers are
    /// still due and nothing of a next request has arrived: the idle timeout counts from the
    /// last answer, so a slow answer never makes a kept-alive connection look idle.
    void maybe_read() {
        if (reading_ || read_done_ || closing_) {
            return;
        }
        if (slots_.size() >= limits_->max_pipelined) {
            return;
        }
        if (!slots_.empty() && buffer_.size() == 0) {
            return;
        }
        do_read();
    }

    void do_read() {
        limits_ = owner_.current_limits();
        parser_.emplace();
        parser_->header_limit(static_cast<std::uint32_t>(limits_->header_limit));
        parser_->body_limit(limits_->max_body_bytes);
        reading_ = true;
        const auto now = steady::now();
        if (first_request_ || buffer_.size() > 0) {
            first_request_ = false;
            begin_header(now);
            return read_some();
        }
        // Idle: wait for the first bytes of the next request with the idle deadline. The HTTP
        // read below returns only once the whole header is in, so it cannot tell idle from slow.
        phase_ = read_phase::idle;
        deadline_ = now + limits_->idle_timeout;
        if (deadline_ - now > limits_->park_after) {
            const std::uint64_t wait = ++idle_waits_;
            idle_timer_.expires_after(limits_->park_after); // cancels a stale one
            idle_timer_.async_wait([self = shared_from_this(), wait](const beast::error_code& ec) {
                self->on_park_timer(wait, ec);
            });
        }
        idle_read();
    }

    void idle_read() {
        beast::get_lowest_layer(*stream_).expires_at(deadline_);
        stream_->async_read_some(
            buffer_.prepare(beast::read_size(buffer_, 65536)),
            beast::bind_front_handler(&session::on_idle_read, shared_from_this()));
    }

    // -- parking (see the class comment) --

    /// limits_->park_after into an idle wait: stop the read (it has not started on a record, or
    /// OpenSSL holds its bytes and park() declines) and park from on_idle_read.
    void on_park_timer(std::uint64_t wait, const beast::error_code& ec) {
        if (ec || wait != idle_waits_ || phase_ != read_phase::idle || !reading_ || closing_ ||
            !stream_) {
            return; // a request came meanwhile, or the connection ends
        }
        park_requested_ = true;
        beast::get_lowest_layer(*stream_).cancel();
    }

    /// Parks the connection, idle with nothing buffered. False, and nothing changed, when
    /// OpenSSL still holds bytes of either direction, which only the stream can carry on.
    bool park() {
        SSL* ssl = stream_->native_handle();
        if (SSL_has_pending(ssl) != 0 || BIO_ctrl_pending(SSL_get_rbio(ssl)) != 0 ||
            BIO_ctrl_wpending(SSL_get_wbio(ssl)) != 0 || SSL_up_ref(ssl) != 1) {
            return false;
        }
        parked_ssl_.reset(ssl); // the reference taken above; the stream drops its own
        parked_socket_ = stream_->next_layer().release_socket();
        stream_.reset();
        SSL_set_bio(ssl, nullptr, nullptr); // the pair's inner half, which the SSL owned
        buffer_.shrink_to_fit();            // empty: frees (and wipes) it
        owner_.parked.fetch_add(1);
        const std::uint64_t generation = ++parks_;
        idle_timer_.expires_at(deadline_);
        idle_timer_.async_wait(
            [self = shared_from_this(), generation](const beast::error_code& ec) {
                if (!ec && self->parks_ == generation && !self->stream_) {
                    self->close_now(); // idle_timeout: ends the wait below too
                }
            });
        parked_socket_.async_wait(
            tcp::socket::wait_read,
            beast::bind_front_handler(&session::on_parked_readable, shared_from_this()));
        return true;
    }

    /// Readable (the next request, the peer's close_notify or FIN), or closed by close_now().
    void on_parked_readable(const beast::error_code& ec) {
        owner_.parked.fetch_sub(1);
        idle_timer_.cancel();
        if (ec || closing_) {
            reading_ = false;
            read_done_ = true;
            return close_now();
        }
        // The stream takes over the SSL object; a fresh BIO pair is attached to it.
        stream_.emplace(std::move(parked_socket_), parked_ssl_.release());
        idle_read();
    }

    void on_idle_read(const beast::error_code& ec, std::size_t bytes) {
        buffer_.commit(bytes);
        if (std::exchange(park_requested_, false) && ec == net::error::operation_aborted &&
            bytes == 0 && !closing_) {
            if (!park()) {
                idle_read(); // OpenSSL holds part of a record: read on until the idle deadline
            }
            return;
        }
        if (ec) {
            reading_ = false;
            read_done_ = true;
            return fail(ec, "read");
        }
        begin_header(steady::now());
        read_some();
    }

    void begin_header(steady::time_point now) {
        phase_ = read_phase::header;
        received_ = now;
        deadline_ = now + limits_->header_timeout;
    }

    void read_some() {
        beast::get_lowest_layer(*stream_).expires_at(deadline_);
        http::async_read_some(*stream_, buffer_, *parser_,
                              beast::bind_front_handler(&session::on_read, shared_from_this()));
    }

    void on_read(beast::error_code ec, std::size_t /*bytes*/) {
        reading_ = false;
        if (ec == http::error::body_limit) {
            return dispatch(transport_problem::payload_too_large);
        }
        if (ec && ec.category() == beast::error_code(http::error::end_of_stream).category() &&
            ec != http::error::end_of_stream && ec != http::error::partial_message) {
            // A malformed request line or header, or headers over header_limit: answer 400 if
            // anything request-like arrived, then close.
            return dispatch(transport_problem::bad_request);
        }
        if (ec) {
            read_done_ = true;
            if (slots_.empty()) {
                return fail(ec, "read");
            }
            return; // the answers still due are written, then the connection closes
        }
        if (parser_->is_done()) {
            return dispatch(transport_problem::none);
        }
        if (phase_ == read_phase::header && parser_->is_header_done()) {
            phase_ = read_phase::body;
            deadline_ = received_ + limits_->request_timeout;
        }
        read_some();
    }

    void dispatch(transport_problem problem) {
        request req = parser_->release();
        parser_.reset();

        slot s;
        s.seq = next_seq_++;
        s.version = req.version() == 10 ? 10 : 11;
        s.keep_alive = problem == transport_problem::none && req.keep_alive();
        s.request_id = make_request_id(*owner_.options.random);
        if (!s.keep_alive) {
            read_done_ = true; // whatever follows on this connection is not read
        }

        exchange ex;
        ex.req = std::move(req);
        ex.problem = problem;
        ex.peer = peer_;
        ex.request_id = s.request_id;
        ex.received = received_;
        ex.respond = responder(
            [self = shared_from_this(), seq = s.seq](response&& res, steady::time_point at) {
                net::post(self->executor_, [self, seq, res = std::move(res), at]() mutable {
                    self->on_response(seq, std::move(res), at);
                });
            },
            fallback_response(s.version));
        slots_.push_back(std::move(s));

        try {
            owner_.on_request(std::move(ex));
        } catch (const std::exception& e) {
            // ex's responder died with the handler's frame: the fallback 500 is on its way.
            common::log(common::log_level::error, "request handler failed",
                        {{"request_id", slots_.back().request_id}, {"error", e.what()}});
        }
        maybe_read();
    }

    // -- writing --

    void on_response(std::uint64_t seq, response res, steady::time_point not_before) {
        if (not_before > steady::now()) {
            auto timer = std::make_shared<net::steady_timer>(executor_, not_before);
            timer->async_wait([self = shared_from_this(), timer, seq,
                               res = std::move(res)](const beast::error_code&) mutable {
                self->on_response(seq, std::move(res), {});
            });
            return;
        }
        if (slots_.empty() || seq < slots_.front().seq || seq > slots_.back().seq) {
            return; // the connection failed meanwhile
        }
        slots_[static_cast<std::size_t>(seq - slots_.front().seq)].res = std::move(res);
        do_write();
    }

    void do_write() {
        if (writing_ || closing_ || slots_.empty() || !slots_.front().res) {
            return;
        }
        slot& s = slots_.front();
        response& res = *s.res;
        if (owner_.stopping.load()) {
            s.keep_alive = false;
        }
        set_security_headers(res);
        set_date_header(res);
        res.set(request_id_header, s.request_id);
        res.version(s.version);
        res.keep_alive(s.keep_alive);
        res.prepare_payload();
        writing_ = true;
        beast::get_lowest_layer(*stream_).expires_after(limits_->request_timeout);
        http::async_write(*stream_, res,
                          beast::bind_front_handler(&session::on_write, shared_from_this()));
    }

    void on_write(const beast::error_code& ec, std::size_t /*bytes*/) {
        writing_ = false;
        if (slots_.empty()) {
            return close_now();
        }
        slot& s = slots_.front();
        const bool keep_alive = s.keep_alive;
        // Bodies carry flow tokens, session tokens and TOTP secrets.
        OPENSSL_cleanse(s.res->body().data(), s.res->body().size());
        slots_.pop_front();
        if (ec) {
            return fail(ec, "write");
        }
        if (!keep_alive) {
            read_done_ = true;
            return graceful_close();
        }
        if (read_done_ && slots_.empty()) {
            return graceful_close();
        }
        do_write();
        maybe_read();
    }

    // -- ending --

    void on_stop() {
        read_done_ = true;
        if (slots_.empty()) {
            close_now(); // idle, mid-handshake or mid-request: nothing is owed
        }
        // else: the answers due are written with Connection: close, then on_write closes
    }

    /// Sends close_notify (when no read is pending, since TLS shutdown reads too), then closes.
    void graceful_close() {
        if (closing_) {
            return;
        }
        closing_ = true;
        slots_.clear();
        if (reading_) {
            return close_now();
        }
        beast::get_lowest_layer(*stream_).expires_after(
            std::min<std::chrono::milliseconds>(limits_->header_timeout, std::chrono::seconds(5)));
        stream_->async_shutdown(
            [self = shared_from_this()](const beast::error_code&) { self->close_now(); });
    }

    void close_now() {
        closing_ = true;
        slots_.clear();
        beast::error_code ignored;
        idle_timer_.cancel(); // its handler holds this session
        if (!stream_) {       // parked
            parked_socket_.shutdown(tcp::socket::shutdown_both, ignored);
            parked_socket_.close(ignored);
            return;
        }
        beast::get_lowest_layer(*stream_).socket().shutdown(tcp::socket::shutdown_both, ignored);
        beast::get_lowest_layer(*stream_).close();
    }

    void fail(const beast::error_code& ec, const char* what) {
        if (!is_ordinary_disconnect(ec)) {
            const std::string peer = peer_.to_string();
            const std::string why = ec.message();
            common::log(common::log_level::debug, "connection ended",
                        {{"peer", peer}, {"during", what}, {"error", why}});
        }
        close_now();
    }

    server::impl& owner_;
    std::shared_ptr<ssl::context> tls_; // the context this connection was made with
    strand_type executor_;              // the connection's strand
    std::optional<stream_type> stream_; // absent while parked
    tcp::socket parked_socket_;         // the connection while parked, else closed
    ssl_ptr parked_ssl_;                // its TLS state while parked, else null
    net::steady_timer idle_timer_;      // park_after in an idle wait; idle_timeout while parked
    std::uint64_t idle_waits_ = 0;      // tells a stale park_after completion from the current
    std::uint64_t parks_ = 0;           // likewise for the idle_timeout while parked
    bool park_requested_ = false;       // the idle read was cancelled in order to park
    const boost::asio::ip::address peer_;
    std::shared_ptr<const server_limits> limits_;

    buffer_type buffer_;
    std::optional<http::request_parser<http::string_body>> parser_;
    read_phase phase_ = read_phase::invalid;
    steady::time_point deadline_{};
    steady::time_point received_{};
    bool first_request_ = true;
    bool reading_ = false;
    bool read_done_ = false; // no further request is read on this connection
    bool writing_ = false;
    bool closing_ = false;

    std::deque<slot> slots_; // requests read and not yet answered on the wire, in order
    std::uint64_t next_seq_ = 0;
};

} // namespace

// ---- accepting --------------------------------------------------------------------------------

void server::impl::do_accept(std::size_t index) {
    auto strand = net::make_strand(*ioc);
    acceptors[index].async_accept(
        strand, [this, index, strand](const beast::error_code& ec, tcp::socket socket) {
            on_accept(index, ec, std::move(socket), strand);
        });
}

void server::impl::on_accept(std::size_t index, const beast::error_code& ec, tcp::socket socket,
                             const strand_type& strand) {
    if (ec == net::error::operation_aborted || stopping.load()) {
        return;
    }
    if (ec) {
        // EMFILE and friends: pause a little instead of spinning on the same error.
        const std::string why = ec.message();
        common::log(common::log_level::warning, "accept failed", {{"error", why}});
        auto timer = std::make_shared<net::steady_timer>(acceptors[index].get_executor(),
                                                         std::chrono::milliseconds(100));
        timer->async_wait([this, index, timer](const beast::error_code& wait_ec) {
            if (!wait_ec && !stopping.load()) {
                do_accept(index);
            }
        });
        return;
    }

    const auto max = current_limits()->max_connections;
    if (open.fetch_add(1) >= max) {
        open.fetch_sub(1);
        refused.fetch_add(1);
        beast::error_code ignored;
        socket.close(ignored);
        // One line per second at most: a flood must not turn into a flood of log lines.
        const auto now = steady::now().time_since_epoch().count();
        auto last = last_refusal_log.load();
        if (now - last >
                std::chrono::duration_cast<steady::duration>(std::chrono::seconds(1)).count() &&
            last_refusal_log.compare_exchange_strong(last, now)) {
            const std::string limit = std::to_string(max);
            const std::string total = std::to_string(refused.load());
            common::log(common::log_level::warning, "connection limit reached; closing new ones",
                        {{"max_connections", limit}, {"refused_total", total}});
        }
    } else {
        beast::error_code peer_ec;
        const auto remote = socket.remote_endpoint(peer_ec);
        if (peer_ec) {
            open.fetch_sub(1); // gone already
        } else {
            auto address = remote.address();
            if (address.is_v6() && address.to_v6().is_v4_mapped()) {
                address = net::ip::make_address_v4(net::ip::v4_mapped, address.to_v6());
            }
            std::make_shared<session>(*this, std::move(socket), strand, current_tls(), address)
                ->run();
        }
    }
    do_accept(index);
}

void server::impl::run_thread() {
    for (;;) {
        try {
            ioc->run();
            return;
        } catch (const std::exception& e) {
            // A bug in a completion handler; the thread keeps serving the other connections.
            common::log(common::log_level::error, "I/O thread caught an exception",
                        {{"error", e.what()}});
        }
    }
}

// ---- server -----------------------------------------------------------------------------------

server::server(server_options options) : impl_(std::make_unique<impl>(std::move(options))) {
    impl& s = *impl_;
    if (!s.options.random) {
        throw std::invalid_argument("server: no random source for request ids");
    }
    if (s.options.listen.empty()) {
        throw std::invalid_argument("server: nothing to listen on");
    }
    std::size_t threads = s.options.io_threads;
    if (threads == 0) {
        threads = std::max(1U, std::thread::hardware_concurrency());
    }
    s.options.io_threads = threads;
    s.tls = make_tls_context(s.options.tls);
    s.limits = std::make_shared<const server_limits>(s.options.limits);
    s.ioc.emplace(static_cast<int>(threads));

    tcp::resolver resolver(*s.ioc);
    for (const auto& listen : s.options.listen) {
        const auto [host, port] = split_listen(listen);
        beast::error_code ec;
        const auto results = resolver.resolve(
            host, port, tcp::resolver::passive | tcp::resolver::numeric_service, ec);
        if (ec) {
            throw std::runtime_error("server.listen " + listen + ": " + ec.message());
        }
        for (const auto& entry : results) {
            const tcp::endpoint ep = entry.endpoint();
            tcp::acceptor acceptor(net::make_strand(*s.ioc));
            acceptor.open(ep.protocol(), ec);
            if (!ec) {
                acceptor.set_option(net::socket_base::reuse_address(true), ec);
            }
            if (!ec && ep.address().is_v6()) {
                // [::] and 0.0.0.0 may both be listed; each takes only its own family.
                acceptor.set_option(net::ip::v6_only(true), ec);
            }
            if (!ec) {
                acceptor.bind(ep, ec);
            }
            if (!ec) {
                acceptor.listen(net::socket_base::max_listen_connections, ec);
            }
            if (ec) {
                throw std::runtime_error("server.listen " + listen + " (" + to_text(ep) +
                                         "): " + ec.message());
            }
            s.acceptors.push_back(std::move(acceptor));
        }
    }
}

// What could escape is bad_alloc or a failed thread join, and std::terminate answers both.
server::~server() { // NOLINT(bugprone-exception-escape)
    shutdown(std::chrono::milliseconds(0));
    impl_->acceptors.clear();
    // Destroys the connections still open (their handlers are pending in the context) while
    // the registry they leave is still alive.
    impl_->ioc.reset();
}

std::vector<server_endpoint> server::endpoints() const {
    std::vector<server_endpoint> out;
    for (const auto& a : impl_->acceptors) {
        beast::error_code ec;
        const auto ep = a.local_endpoint(ec);
        if (!ec) {
            out.push_back({ep.address(), ep.port()});
        }
    }
    return out;
}

void server::start(handler h) {
    impl& s = *impl_;
    if (s.started) {
        throw std::logic_error("server::start called twice");
    }
    s.started = true;
    s.on_request = std::move(h);
    s.work.emplace(s.ioc->get_executor());
    for (std::size_t i = 0; i < s.acceptors.size(); ++i) {
        net::dispatch(s.acceptors[i].get_executor(), [&s, i] { s.do_accept(i); });
    }
    for (std::size_t i = 0; i < s.options.io_threads; ++i) {
        s.threads.emplace_back([&s] { s.run_thread(); });
    }
}

void server::shutdown(std::chrono::milliseconds grace) {
    impl& s = *impl_;
    if (s.shut_down) {
        return;
    }
    s.shut_down = true;
    s.stopping.store(true);
    for (auto& a : s.acceptors) {
        net::post(a.get_executor(), [&a] {
            beast::error_code ignored;
            a.close(ignored);
        });
    }
    std::vector<std::shared_ptr<session>> open_sessions;
    {
        const std::lock_guard lock(s.mutex);
        for (auto& [ptr, weak] : s.sessions) {
            if (auto locked = weak.lock()) {
                open_sessions.push_back(std::move(locked));
            }
        }
    }
    for (auto& session : open_sessions) {
        session->stop();
    }
    open_sessions.clear(); // the last owners must be the pending operations, not this frame
    if (s.started) {
        std::unique_lock lock(s.mutex);
        s.all_closed.wait_for(lock, grace, [&s] { return s.sessions.empty(); });
    }
    s.work.reset();
    s.ioc->stop();
    for (auto& t : s.threads) {
        t.join();
    }
    s.threads.clear();
}

std::optional<std::string> server::reload_tls(const tls_settings& tls) {
    try {
        auto ctx = make_tls_context(tls);
        const std::lock_guard lock(impl_->mutex);
        impl_->tls = std::move(ctx);
        impl_->options.tls = tls;
        return std::nullopt;
    } catch (const std::exception& e) {
        return std::string(e.what());
    }
}

void server::set_limits(const server_limits& limits) {
    auto next = std::make_shared<const server_limits>(limits);
    const std::lock_guard lock(impl_->mutex);
    impl_->limits = std::move(next);
}

std::size_t server::connections() const noexcept {
    return impl_->open.load();
}

std::uint64_t server::refused_connections() const noexcept {
    return impl_->refused.load();
}

std::size_t server::parked_connections() const noexcept {
    return impl_->parked.load();
}

} // namespace sspr::gateway
