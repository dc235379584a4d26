// The HTTPS server (gateway/server.hpp) in-process on 127.0.0.1, port 0, with a certificate made
// by the test and an app with test routes: security headers on every response, limits (413,
// slow headers, idle keep-alive, connections), parked idle connections, refusals (415, 400), TLS
// versions, the worker pool's 503, ordered pipelined answers, delayed answers, and a graceful
// shutdown.
#include "gateway/app.hpp"
#include "gateway/server.hpp"

#include "tests/unit/gateway/test_certificate.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/json/parse.hpp>

#include <openssl/ssl.h>

#include <catch2/catch.hpp>

#include <atomic>
#include <condition_variable>
#include <future>
#include <thread>

using namespace sspr::gateway;
namespace net = boost::asio;
namespace ssl = boost::asio::ssl;
namespace beast = boost::beast;
using tcp = net::ip::tcp;
using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;

namespace {

// ---- a small blocking TLS client whose every operation has a deadline -------------------------

struct client_options {
    int min_version = 0;
    int max_version = 0;
    bool legacy = false;           // allow what OpenSSL's default security level forbids (TLS 1.1)
    const char* ciphers = nullptr; // TLS 1.2 suites offered; nullptr: OpenSSL's default
};

class tls_client {
public:
    explicit tls_client(std::uint16_t port, client_options o = {})
        : ctx_(ssl::context::tls_client), port_(port) {
        SSL_CTX* native = ctx_.native_handle();
        if (o.legacy) {
            SSL_CTX_set_security_level(native, 0);
            SSL_CTX_set_cipher_list(native, "DEFAULT:@SECLEVEL=0");
        }
        if (o.ciphers != nullptr) {
            SSL_CTX_set_cipher_list(native, o.ciphers);
        }
        if (o.min_version != 0) {
            SSL_CTX_set_min_proto_version(native, o.min_version);
        }
        if (o.max_version != 0) {
            SSL_CTX_set_max_proto_version(native, o.max_version);
        }
        ctx_.set_verify_mode(ssl::verify_none); // the test's own self-signed certificate
        stream_.emplace(ioc_, ctx_);
    }

    /// Connects and handshakes; the handshake's error (none on success).
    beast::error_code connect() {
        auto& tcp_layer = beast::get_lowest_layer(*stream_);
        tcp_layer.expires_after(5s);
        const beast::error_code ec = run([&](auto done) {
            tcp_layer.async_connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port_), done);
        });
        if (ec) {
            return ec;
        }
        tcp_layer.expires_after(5s);
        return run([&](auto done) { stream_->async_handshake(ssl::stream_base::client, done); });
    }

    void connect_ok() { REQUIRE_FALSE(connect()); }

    void send(request req) {
        req.prepare_payload();
        beast::get_lowest_layer(*stream_).expires_after(5s);
        REQUIRE_FALSE(run([&](auto done) { http::async_write(*stream_, req, done); }));
    }

    beast::error_code send_raw(const std::string& bytes) {
        beast::get_lowest_layer(*stream_).expires_after(5s);
        return run([&](auto done) { net::async_write(*stream_, net::buffer(bytes), done); });
    }

    beast::error_code receive(response& out, std::chrono::milliseconds wait = 5000ms) {
        http::response_parser<http::string_body> parser;
        parser.body_limit(1 << 20);
        beast::get_lowest_layer(*stream_).expires_after(wait);
        const beast::error_code ec =
            run([&](auto done) { http::async_read(*stream_, buffer_, parser, done); });
        if (!ec) {
            out = parser.release();
        }
        return ec;
    }

    response receive() {
        response res;
        const auto ec = receive(res);
        INFO(ec.message());
        REQUIRE_FALSE(ec);
        return res;
    }

    response roundtrip(request req) {
        send(std::move(req));
        return receive();
    }

    /// Waits up to `wait` for the server to end the connection; true when it did.
    bool closed_within(std::chrono::milliseconds wait) {
        char byte = 0;
        beast::get_lowest_layer(*stream_).expires_after(wait);
        const beast::error_code ec =
            run([&](auto done) { stream_->async_read_some(net::buffer(&byte, 1), done); });
        return ec && ec != beast::error::timeout;
    }

private:
    template <class Start> beast::error_code run(Start start) {
        beast::error_code result;
        start([&result](const beast::error_code& ec, auto&&...) { result = ec; });
        ioc_.restart();
        ioc_.run();
        return result;
    }

    net::io_context ioc_;
    ssl::context ctx_;
    std::optional<ssl::stream<beast::tcp_stream>> stream_;
    beast::flat_buffer buffer_;
    std::uint16_t port_;
};

// ---- the server under test ---------------------------------------------------------------------

std::shared_ptr<const i18n> messages() {
    static const auto m = std::make_shared<const i18n>(
        i18n::load(SSPR_MESSAGES_DIR, std::vector<std::string>{"en", "ko"}));
    return m;
}

server_limits short_limits() {
    server_limits l;
    l.header_timeout = 400ms;
    l.idle_timeout = 1500ms;
    l.park_after = 100ms; // every connection idle for longer is parked
    l.request_timeout = 2000ms;
    l.max_body_bytes = 1024;
    l.max_connections = 16;
    return l;
}

/// A gate the slow route's jobs wait at.
struct gate {
    std::mutex mutex;
    std::condition_variable cv;
    bool open = false;
    void release() {
        {
            const std::lock_guard lock(mutex);
            open = true;
        }
        cv.notify_all();
    }
    void wait() {
        std::unique_lock lock(mutex);
        cv.wait_for(lock, 10s, [this] { return open; });
    }
};

struct test_server {
    sspr::testing::test_certificate cert;
    gate slow_gate;
    std::unique_ptr<server> srv;
    std::unique_ptr<sspr::common::blocking_pool> pool;
    std::unique_ptr<app> application;
    std::uint16_t port = 0;

    explicit test_server(server_limits limits = short_limits(),
                         sspr::config::tls_version min = sspr::config::tls_version::tls1_2) {
        server_options o;
        o.listen = {"127.0.0.1:0"};
        o.io_threads = 2;
        o.tls = {cert.certificate_file(), cert.key_file(), min};
        o.limits = limits;
        o.random = sspr::common::make_system_random();
        srv = std::make_unique<server>(o);
        pool = std::make_unique<sspr::common::blocking_pool>(1, 1);

        app_settings s;
        s.public_url = "https://localhost";
        application = std::make_unique<app>(messages(), s);
        application->add(http::verb::get, "/ok", [](const std::shared_ptr<call>& c) {
            c->json(http::status::ok, boost::json::object{{"ok", true}});
        });
        application->add(http::verb::post, "/echo", [](const std::shared_ptr<call>& c) {
            c->json(http::status::ok, c->body());
        });
        application->add(http::verb::post, "/slow", [this](const std::shared_ptr<call>& c) {
            offload(*pool, c, [this](call& work) {
                slow_gate.wait();
                work.json(http::status::ok, boost::json::object{{"slow", true}});
            });
        });
        application->add(http::verb::get, "/delay", [this](const std::shared_ptr<call>& c) {
            offload(*pool, c, [](call& work) {
                std::this_thread::sleep_for(200ms); // a blocking call, as on the real pool
                work.json(http::status::ok, boost::json::object{{"which", "delay"}});
            });
        });
        application->add(http::verb::get, "/later", [](const std::shared_ptr<call>& c) {
            c->json(http::status::ok, boost::json::object{}, steady::now() + 300ms);
        });
        srv->start(application->as_handler());
        REQUIRE(srv->endpoints().size() == 1);
        port = srv->endpoints().front().port;
        REQUIRE(port != 0);
    }

    ~test_server() {
        slow_gate.release();
        srv->shutdown(2s);
        pool.reset(); // its jobs hold responders: gone before the server
        application.reset();
        srv.reset();
    }

    test_server(const test_server&) = delete;
    test_server& operator=(const test_server&) = delete;
};

request get(std::string_view target) {
    request req{http::verb::get, target, 11};
    req.set(http::field::host, "localhost");
    return req;
}

request post(std::string_view target, std::string body,
             std::string_view type = "application/json") {
    request req{http::verb::post, target, 11};
    req.set(http::field::host, "localhost");
    if (!type.empty()) {
        req.set(http::field::content_type, type);
    }
    req.body() = std::move(body);
    return req;
}

std::string code_of(const response& res) {
    return std::string(boost::json::parse(res.body()).at("code").as_string());
}

void check_security_headers(const response& res) {
    CHECK(res[http::field::strict_transport_security] == "max-age=31536000; includeSubDomains");
    CHECK(res["Content-Security-Policy"] ==
          "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
          "frame-ancestors 'none'; base-uri 'none'");
    CHECK(res["Referrer-Policy"] == "same-origin");
    CHECK(res[http::field::cache_control] == "no-store");
    CHECK(res["X-Content-Type-Options"] == "nosniff");
    CHECK(res["X-Frame-Options"] == "DENY");
    CHECK(res["X-Request-Id"].size() == 16);
}

} // namespace

TEST_CASE("server: every response carries the security headers and a request id", "[gateway]") {
    test_server ts;
    tls_client c(ts.port);
    c.connect_ok();
    // Several requests on one kept-alive connection: a 200, a 404, a 405, a 415.
    const response ok = c.roundtrip(get("/ok"));
    CHECK(ok.result_int() == 200);
    CHECK(ok.keep_alive());
    check_security_headers(ok);
    const response missing = c.roundtrip(get("/nope"));
    CHECK(missing.result_int() == 404);
    check_security_headers(missing);
    const response wrong = c.roundtrip(post("/ok", "{}"));
    CHECK(wrong.result_int() == 405);
    CHECK(wrong[http::field::allow] == "GET");
    check_security_headers(wrong);
    CHECK(ok["X-Request-Id"] != missing["X-Request-Id"]);
    // The id in the problem body is the one in the header.
    CHECK(boost::json::parse(missing.body()).at("request_id").as_string() ==
          std::string(missing["X-Request-Id"]));
}

TEST_CASE("server: a body over max_body_bytes is 413 and the connection closes", "[gateway]") {
    test_server ts;
    tls_client c(ts.port);
    c.connect_ok();
    // Announced too large: refused as soon as the header is in, the body is never read.
    REQUIRE_FALSE(c.send_raw("POST /echo HTTP/1.1\r\nHost: localhost\r\n"
                             "Content-Type: application/json\r\nContent-Length: 100000\r\n\r\n{"));
    const response res = c.receive();
    CHECK(res.result_int() == 413);
    CHECK(code_of(res) == "payload_too_large");
    CHECK_FALSE(res.keep_alive());
    check_security_headers(res);
    CHECK(c.closed_within(2000ms));

    // Just under the limit is fine.
    tls_client c2(ts.port);
    c2.connect_ok();
    const std::string body = "{\"a\":\"" + std::string(1000, 'x') + "\"}";
    REQUIRE(body.size() < 1024);
    CHECK(c2.roundtrip(post("/echo", body)).result_int() == 200);
}

TEST_CASE("server: wrong content type 415, malformed JSON and request 400", "[gateway]") {
    test_server ts;
    tls_client c(ts.port);
    c.connect_ok();
    response res = c.roundtrip(post("/echo", R"({"a":1})", "text/plain"));
    CHECK(res.result_int() == 415);
    CHECK(code_of(res) == "unsupported_media_type");
    res = c.roundtrip(post("/echo", R"({"a":1})", ""));
    CHECK(res.result_int() == 415);
    res = c.roundtrip(post("/echo", R"({"a":)"));
    CHECK(res.result_int() == 400);
    CHECK(code_of(res) == "invalid_request");
    CHECK(res.keep_alive()); // a bad body is the client's mistake, not a broken connection

    tls_client raw(ts.port);
    raw.connect_ok();
    REQUIRE_FALSE(raw.send_raw("GARBAGE\r\n\r\n"));
    res = raw.receive();
    CHECK(res.result_int() == 400);
    check_security_headers(res);
    CHECK(raw.closed_within(2000ms));
}

TEST_CASE("server: slow headers are cut off after header_timeout", "[gateway]") {
    test_server ts; // header_timeout 400 ms
    tls_client c(ts.port);
    c.connect_ok();
    const auto start = steady::now();
    // Slowloris: a byte every 100 ms keeps the socket busy but never finishes the header.
    const std::string head = "GET /ok HTTP/1.1\r\nHost: localhost\r\nX-Slow: ";
    REQUIRE_FALSE(c.send_raw(head));
    bool cut = false;
    for (int i = 0; i < 40 && !cut; ++i) {
        std::this_thread::sleep_for(100ms);
        cut = static_cast<bool>(c.send_raw("a"));
    }
    const auto elapsed = steady::now() - start;
    CHECK((cut || c.closed_within(1000ms)));
    CHECK(elapsed >= 300ms);
    CHECK(elapsed < 1200ms); // the header deadline, not the idle one (1500 ms)
}

TEST_CASE("server: an idle kept-alive connection is closed after idle_timeout", "[gateway]") {
    test_server ts; // idle_timeout 1500 ms
    tls_client c(ts.port);
    c.connect_ok();
    CHECK(c.roundtrip(get("/ok")).result_int() == 200);
    const auto start = steady::now();
    CHECK(c.closed_within(4000ms));
    const auto elapsed = steady::now() - start;
    CHECK(elapsed >= 1300ms); // not the header deadline (400 ms)
    CHECK(elapsed < 3000ms);

    // A connection that never sends a request gets header_timeout (400 ms) after the handshake.
    tls_client silent(ts.port);
    silent.connect_ok();
    const auto t0 = steady::now();
    CHECK(silent.closed_within(3000ms));
    CHECK(steady::now() - t0 < 1200ms);
}

namespace {

/// Waits up to 2 s for the server's parked connection count to be `n`.
bool parked_becomes(const test_server& ts, std::size_t n) {
    for (int i = 0; i < 200 && ts.srv->parked_connections() != n; ++i) {
        std::this_thread::sleep_for(10ms);
    }
    return ts.srv->parked_connections() == n;
}

} // namespace

TEST_CASE("server: a kept-alive connection idle for park_after is parked, and answered again",
          "[gateway]") {
    test_server ts; // park_after 100 ms, idle_timeout 1500 ms, header_timeout 400 ms
    tls_client c(ts.port);
    c.connect_ok();
    CHECK(c.roundtrip(get("/ok")).result_int() == 200);
    for (int i = 0; i < 3; ++i) {
        CHECK(parked_becomes(ts, 1));
        CHECK(c.roundtrip(get("/ok")).result_int() == 200); // woken (parked again 100 ms later)
    }
    // The first bytes wake it, the rest of the request follows in later TLS records.
    CHECK(parked_becomes(ts, 1));
    REQUIRE_FALSE(c.send_raw("GET /ok HTTP/1.1\r\n"));
    std::this_thread::sleep_for(150ms);
    REQUIRE_FALSE(c.send_raw("Host: localhost\r\n\r\n"));
    CHECK(c.receive().body() == R"({"ok":true})");
    // A body after the pause, too.
    CHECK(parked_becomes(ts, 1));
    CHECK(c.roundtrip(post("/echo", R"({"a":1})")).body() == R"({"a":1})");
}

TEST_CASE("server: requests that follow within park_after leave the connection unparked",
          "[gateway]") {
    server_limits l = short_limits();
    l.park_after = 1000ms;
    test_server ts(l);
    tls_client c(ts.port);
    c.connect_ok();
    for (int i = 0; i < 5; ++i) {
        CHECK(c.roundtrip(get("/ok")).result_int() == 200);
        std::this_thread::sleep_for(100ms);
        CHECK(ts.srv->parked_connections() == 0);
    }
}

TEST_CASE("server: a parked connection the client closes is gone from the server", "[gateway]") {
    test_server ts;
    {
        tls_client c(ts.port);
        c.connect_ok();
        CHECK(c.roundtrip(get("/ok")).result_int() == 200);
        CHECK(parked_becomes(ts, 1));
        CHECK(ts.srv->connections() == 1);
    } // the client's socket closes without close_notify
    for (int i = 0; i < 200 && ts.srv->connections() != 0; ++i) {
        std::this_thread::sleep_for(10ms);
    }
    CHECK(ts.srv->connections() == 0); // well before idle_timeout (1500 ms)
    CHECK(ts.srv->parked_connections() == 0);
}

TEST_CASE("server: shutdown closes a parked connection at once", "[gateway]") {
    server_limits l = short_limits();
    l.idle_timeout = 10000ms;
    test_server ts(l);
    tls_client c(ts.port);
    c.connect_ok();
    CHECK(c.roundtrip(get("/ok")).result_int() == 200);
    CHECK(parked_becomes(ts, 1));
    const auto start = steady::now();
    auto stopped = std::async(std::launch::async, [&] { ts.srv->shutdown(5s); });
    CHECK(c.closed_within(2000ms));
    CHECK(stopped.wait_for(2s) == std::future_status::ready);
    CHECK(steady::now() - start < 2000ms); // not the idle timeout, not the grace
    CHECK(ts.srv->connections() == 0);
}

TEST_CASE("server: TLS 1.1 is refused; TLS 1.2 and 1.3 are accepted", "[gateway]") {
    test_server ts;
    {
        tls_client old(ts.port, {TLS1_1_VERSION, TLS1_1_VERSION, true});
        const auto ec = old.connect();
        REQUIRE(ec);
        // Refused by the server (its alert), not by our own client's settings.
        CHECK_THAT(ec.message(), Catch::Matchers::Contains("protocol version"));
    }
    {
        tls_client v12(ts.port, {TLS1_2_VERSION, TLS1_2_VERSION, false});
        v12.connect_ok();
        CHECK(v12.roundtrip(get("/ok")).result_int() == 200);
    }
    {
        tls_client v13(ts.port, {TLS1_3_VERSION, TLS1_3_VERSION, false});
        v13.connect_ok();
        CHECK(v13.roundtrip(get("/ok")).result_int() == 200);
    }
}

TEST_CASE("server: min_version TLSv1.3 refuses TLS 1.2", "[gateway]") {
    test_server ts(short_limits(), sspr::config::tls_version::tls1_3);
    tls_client v12(ts.port, {TLS1_2_VERSION, TLS1_2_VERSION, false});
    CHECK(v12.connect());
    tls_client v13(ts.port);
    v13.connect_ok();
}

TEST_CASE("server: TLS 1.2 suites without forward secrecy or AEAD are refused", "[gateway]") {
    test_server ts;
    // CBC with ECDHE, and RSA key exchange: both outside the server's list.
    tls_client cbc(ts.port, {TLS1_2_VERSION, TLS1_2_VERSION, false, "ECDHE-ECDSA-AES128-SHA"});
    CHECK(cbc.connect());
    tls_client rsa_kx(ts.port, {TLS1_2_VERSION, TLS1_2_VERSION, false, "AES128-GCM-SHA256"});
    CHECK(rsa_kx.connect());
    tls_client aead(ts.port,
                    {TLS1_2_VERSION, TLS1_2_VERSION, false, "ECDHE-ECDSA-CHACHA20-POLY1305"});
    CHECK_FALSE(aead.connect());
}

TEST_CASE("server: a full worker pool answers 503 overloaded at once", "[gateway]") {
    test_server ts; // pool: 1 worker, 1 queued
    tls_client a(ts.port);
    tls_client b(ts.port);
    tls_client c(ts.port);
    a.connect_ok();
    b.connect_ok();
    c.connect_ok();
    a.send(post("/slow", "{}"));
    // Let the worker take the first job, so the queue holds exactly the second.
    for (int i = 0; i < 400 && (ts.pool->queued() != 0 || ts.srv->connections() < 3); ++i) {
        std::this_thread::sleep_for(5ms);
    }
    std::this_thread::sleep_for(50ms);
    b.send(post("/slow", "{}"));
    for (int i = 0; i < 400 && ts.pool->queued() != 1; ++i) {
        std::this_thread::sleep_for(5ms);
    }
    REQUIRE(ts.pool->queued() == 1);
    const auto start = steady::now();
    const response refused = c.roundtrip(post("/slow", "{}"));
    CHECK(steady::now() - start < 1000ms);
    CHECK(refused.result_int() == 503);
    CHECK(refused[http::field::retry_after] == "1");
    CHECK(code_of(refused) == "overloaded");
    check_security_headers(refused);

    ts.slow_gate.release();
    CHECK(a.receive().result_int() == 200);
    CHECK(b.receive().result_int() == 200);
}

TEST_CASE("server: pipelined requests are answered in order", "[gateway]") {
    test_server ts;
    tls_client c(ts.port);
    c.connect_ok();
    // Both requests in one write: the slow one first, then one answered at once.
    REQUIRE_FALSE(c.send_raw("GET /delay HTTP/1.1\r\nHost: localhost\r\n\r\n"
                             "GET /ok HTTP/1.1\r\nHost: localhost\r\n\r\n"));
    const response first = c.receive();
    const response second = c.receive();
    CHECK(first.body() == R"({"which":"delay"})");
    CHECK(second.body() == R"({"ok":true})");
}

TEST_CASE("server: an answer held back with not_before waits on a timer", "[gateway]") {
    test_server ts;
    tls_client c(ts.port);
    c.connect_ok();
    const auto start = steady::now();
    CHECK(c.roundtrip(get("/later")).result_int() == 200);
    CHECK(steady::now() - start >= 290ms);
    // Meanwhile the I/O threads were free: another connection was answered at once.
}

TEST_CASE("server: connections over max_connections are closed at once", "[gateway]") {
    server_limits l = short_limits();
    l.max_connections = 2;
    l.idle_timeout = 5000ms;
    l.header_timeout = 5000ms;
    l.request_timeout = 5000ms;
    test_server ts(l);
    tls_client a(ts.port);
    tls_client b(ts.port);
    a.connect_ok();
    b.connect_ok();
    tls_client third(ts.port);
    CHECK(third.connect()); // accepted and closed before any TLS
    CHECK(ts.srv->refused_connections() >= 1);
    CHECK(a.roundtrip(get("/ok")).result_int() == 200); // the others are unaffected
}

TEST_CASE("server: shutdown finishes the request in flight, then closes", "[gateway]") {
    test_server ts;
    tls_client c(ts.port);
    c.connect_ok();
    tls_client idle(ts.port);
    idle.connect_ok();
    c.send(post("/slow", "{}"));
    for (int i = 0; i < 400 && ts.pool->queued() != 0; ++i) {
        std::this_thread::sleep_for(5ms);
    }
    std::this_thread::sleep_for(50ms);
    auto stopped = std::async(std::launch::async, [&] { ts.srv->shutdown(5s); });
    CHECK(idle.closed_within(2000ms));                             // nothing was owed to it
    CHECK(stopped.wait_for(100ms) == std::future_status::timeout); // still waiting for /slow
    ts.slow_gate.release();
    const response res = c.receive();
    CHECK(res.result_int() == 200);
    CHECK_FALSE(res.keep_alive());
    CHECK(stopped.wait_for(5s) == std::future_status::ready);
    // No more connections are taken.
    tls_client late(ts.port);
    CHECK(late.connect());
}

TEST_CASE("server: a certificate that cannot be loaded is a start-up error", "[gateway]") {
    sspr::testing::test_certificate cert;
    server_options o;
    o.listen = {"127.0.0.1:0"};
    o.random = sspr::common::make_system_random();
    o.tls = {cert.certificate_file(), cert.dir().string() + "/missing.pem",
             sspr::config::tls_version::tls1_2};
    CHECK_THROWS_WITH(server(o), Catch::Matchers::Contains("server.tls.key_file"));
    o.tls = {cert.key_file(), cert.key_file(), sspr::config::tls_version::tls1_2};
    CHECK_THROWS_WITH(server(o), Catch::Matchers::Contains("server.tls.certificate_file"));

    // And on reload the old certificate stays.
    o.tls = {cert.certificate_file(), cert.key_file(), sspr::config::tls_version::tls1_2};
    server s(o);
    const auto why = s.reload_tls(
        {cert.certificate_file(), "/nonexistent/key.pem", sspr::config::tls_version::tls1_2});
    REQUIRE(why);
    CHECK_THAT(*why, Catch::Matchers::Contains("/nonexistent/key.pem"));
    CHECK_FALSE(s.reload_tls(o.tls));
}
