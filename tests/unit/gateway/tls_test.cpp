// gateway/tls.hpp: the server context keeps nothing of a connection after its handshake (no
// session cache, no tickets), checked with in-memory handshakes (a BIO pair, no sockets) at TLS
// 1.2 and 1.3 against a client that would resume if it were offered anything.
#include "gateway/tls.hpp"

#include "tests/unit/gateway/test_certificate.hpp"

#include <boost/asio/ssl/context.hpp>
#include <catch2/catch.hpp>

#include <openssl/bio.h>
#include <openssl/ssl.h>

#include <memory>

namespace {

struct ssl_ctx_freer {
    void operator()(SSL_CTX* c) const { SSL_CTX_free(c); }
};
struct ssl_freer {
    void operator()(SSL* s) const { SSL_free(s); }
};
struct session_freer {
    void operator()(SSL_SESSION* s) const { SSL_SESSION_free(s); }
};
using ssl_ctx_ptr = std::unique_ptr<SSL_CTX, ssl_ctx_freer>;
using ssl_ptr = std::unique_ptr<SSL, ssl_freer>;
using session_ptr = std::unique_ptr<SSL_SESSION, session_freer>;

bool want_more(SSL* s, int rc) {
    const int e = SSL_get_error(s, rc);
    return e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE;
}

/// One full handshake of a fresh client (at most `max_version`) with `server_ctx` over a BIO
/// pair, then a few bytes from the server so that the client reads any TLS 1.3 ticket; returns
/// the client's session. Fails the test if the handshake does not finish within 50 rounds.
session_ptr handshake(SSL_CTX* server_ctx, int max_version) {
    ssl_ctx_ptr client_ctx(SSL_CTX_new(TLS_client_method()));
    REQUIRE(client_ctx);
    REQUIRE(SSL_CTX_set_max_proto_version(client_ctx.get(), max_version) == 1);
    SSL_CTX_set_verify(client_ctx.get(), SSL_VERIFY_NONE, nullptr);
    SSL_CTX_set_session_cache_mode(client_ctx.get(), SSL_SESS_CACHE_CLIENT);

    ssl_ptr server(SSL_new(server_ctx));
    ssl_ptr client(SSL_new(client_ctx.get()));
    REQUIRE(server);
    REQUIRE(client);
    BIO* server_end = nullptr;
    BIO* client_end = nullptr;
    REQUIRE(BIO_new_bio_pair(&server_end, 0, &client_end, 0) == 1);
    SSL_set_bio(server.get(), server_end, server_end); // each SSL owns its end now
    SSL_set_bio(client.get(), client_end, client_end);
    SSL_set_accept_state(server.get());
    SSL_set_connect_state(client.get());

    bool server_done = false;
    bool client_done = false;
    for (int round = 0; round < 50 && !(server_done && client_done); ++round) {
        if (!client_done) {
            const int rc = SSL_do_handshake(client.get());
            client_done = rc == 1;
            REQUIRE((client_done || want_more(client.get(), rc)));
        }
        if (!server_done) {
            const int rc = SSL_do_handshake(server.get());
            server_done = rc == 1;
            REQUIRE((server_done || want_more(server.get(), rc)));
        }
    }
    REQUIRE(server_done);
    REQUIRE(client_done);

    const char hello[] = "hello";
    REQUIRE(SSL_write(server.get(), hello, sizeof hello) == static_cast<int>(sizeof hello));
    char got[sizeof hello] = {};
    REQUIRE(SSL_read(client.get(), got, sizeof got) == static_cast<int>(sizeof hello));
    CHECK(SSL_version(client.get()) == max_version);
    return session_ptr(SSL_get1_session(client.get()));
}

} // namespace

TEST_CASE("tls: the server keeps no session and offers the client nothing to resume", "[gateway]") {
    const sspr::testing::test_certificate cert;
    sspr::gateway::tls_settings settings;
    settings.certificate_file = cert.certificate_file();
    settings.key_file = cert.key_file();
    const auto ctx = sspr::gateway::make_tls_context(settings);
    SSL_CTX* native = ctx->native_handle();

    CHECK(SSL_CTX_get_session_cache_mode(native) == SSL_SESS_CACHE_OFF);
    CHECK(SSL_CTX_get_num_tickets(native) == 0);

    for (const int version : {TLS1_2_VERSION, TLS1_3_VERSION}) {
        CAPTURE(version);
        for (int i = 0; i < 3; ++i) {
            const session_ptr session = handshake(native, version);
            REQUIRE(session);
            unsigned int id_length = 0;
            SSL_SESSION_get_id(session.get(), &id_length);
            CHECK(id_length == 0);                             // TLS 1.2: no session ID
            CHECK(SSL_SESSION_has_ticket(session.get()) == 0); // no ticket of either kind
            CHECK(SSL_SESSION_is_resumable(session.get()) == 0);
        }
        // Every handshake above would have left a session here before (bench/run-soak saw the
        // heap grow by about 1.1 KiB per connection).
        CHECK(SSL_CTX_sess_number(native) == 0);
    }
}
