// Unit tests of the outcome mapping in delivery/curl.hpp: which transfer results are retried,
// which are reported at once, and under which error.
#include "delivery/curl.hpp"

#include <catch2/catch.hpp>

using sspr::delivery::error;
using sspr::delivery::detail::http_outcome;
using sspr::delivery::detail::smtp_outcome;

namespace {

error error_of(const sspr::delivery::result<void>& r) {
    REQUIRE_FALSE(r);
    return static_cast<error>(r.error().code.value());
}

} // namespace

TEST_CASE("curl: SMTP transport failures", "[delivery]") {
    CHECK(smtp_outcome(CURLE_OK, 250, ""));
    CHECK(error_of(smtp_outcome(CURLE_COULDNT_CONNECT, 0, "")) == error::connect_failed);
    CHECK(error_of(smtp_outcome(CURLE_COULDNT_RESOLVE_HOST, 0, "")) == error::connect_failed);
    // A timeout after the greeting keeps the last reply code; it is still a timeout.
    CHECK(error_of(smtp_outcome(CURLE_OPERATION_TIMEDOUT, 250, "")) == error::timeout);
    CHECK(error_of(smtp_outcome(CURLE_PEER_FAILED_VERIFICATION, 0, "")) == error::tls_failure);
    CHECK(error_of(smtp_outcome(CURLE_SSL_CONNECT_ERROR, 0, "")) == error::tls_failure);
    CHECK(error_of(smtp_outcome(CURLE_USE_SSL_FAILED, 0, "")) == error::tls_failure);
    CHECK(error_of(smtp_outcome(CURLE_SSL_CACERT_BADFILE, 0, "")) == error::tls_failure);
    CHECK(error_of(smtp_outcome(CURLE_RECV_ERROR, 0, "")) == error::temporary_failure);
    CHECK(error_of(smtp_outcome(CURLE_WEIRD_SERVER_REPLY, 0, "")) == error::protocol_error);
    CHECK(error_of(smtp_outcome(CURLE_UNSUPPORTED_PROTOCOL, 0, "")) == error::internal);
}

TEST_CASE("curl: SMTP reply codes: 4xx is temporary, 5xx final, 530/535 are credentials",
          "[delivery]") {
    CHECK(error_of(smtp_outcome(CURLE_SEND_ERROR, 451, "RCPT failed: 451")) ==
          error::temporary_failure);
    CHECK(error_of(smtp_outcome(CURLE_SEND_ERROR, 421, "")) == error::temporary_failure);
    CHECK(error_of(smtp_outcome(CURLE_WEIRD_SERVER_REPLY, 452, "")) == error::temporary_failure);
    CHECK(error_of(smtp_outcome(CURLE_SEND_ERROR, 550, "RCPT failed: 550")) == error::rejected);
    CHECK(error_of(smtp_outcome(CURLE_WEIRD_SERVER_REPLY, 554, "")) == error::rejected);
    CHECK(error_of(smtp_outcome(CURLE_LOGIN_DENIED, 535, "Login denied")) == error::auth_failed);
    CHECK(error_of(smtp_outcome(CURLE_SEND_ERROR, 530, "MAIL failed: 530")) == error::auth_failed);
    // 454: "temporary authentication failure" is worth another attempt.
    CHECK(error_of(smtp_outcome(CURLE_LOGIN_DENIED, 454, "")) == error::temporary_failure);
}

TEST_CASE("curl: after the whole message was handed over, only the server's answer decides",
          "[delivery]") {
    constexpr bool handed_over = true;
    // Lost after DATA, before the answer to it: maybe delivered, so not to be retried.
    CHECK(error_of(smtp_outcome(CURLE_RECV_ERROR, 354, "", handed_over)) == error::outcome_unknown);
    CHECK(error_of(smtp_outcome(CURLE_OPERATION_TIMEDOUT, 354, "", handed_over)) ==
          error::outcome_unknown);
    CHECK(error_of(smtp_outcome(CURLE_SEND_ERROR, 0, "", handed_over)) == error::outcome_unknown);
    // 250 to the end of DATA: taken, whatever failed afterwards.
    CHECK(smtp_outcome(CURLE_RECV_ERROR, 250, "", handed_over));
    // An answer to the end of DATA is a refusal like any other.
    CHECK(error_of(smtp_outcome(CURLE_RECV_ERROR, 451, "", handed_over)) ==
          error::temporary_failure);
    CHECK(error_of(smtp_outcome(CURLE_RECV_ERROR, 554, "", handed_over)) == error::rejected);
    // Before the hand-over the same failures are transient.
    CHECK(error_of(smtp_outcome(CURLE_OPERATION_TIMEDOUT, 220, "")) == error::timeout);
    CHECK(error_of(smtp_outcome(CURLE_RECV_ERROR, 354, "")) == error::temporary_failure);

    CHECK(error_of(http_outcome(CURLE_RECV_ERROR, 0, "", handed_over)) == error::outcome_unknown);
    CHECK(error_of(http_outcome(CURLE_OPERATION_TIMEDOUT, 0, "", handed_over)) ==
          error::outcome_unknown);
    CHECK(error_of(http_outcome(CURLE_OK, 503, "", handed_over)) == error::temporary_failure);
    CHECK(http_outcome(CURLE_OK, 200, "", handed_over));
    CHECK(error_of(http_outcome(CURLE_OPERATION_TIMEDOUT, 0, "")) == error::timeout);
}

TEST_CASE("curl: the SMTP diagnostic names the reply code and libcurl's text", "[delivery]") {
    const auto r = smtp_outcome(CURLE_SEND_ERROR, 451, "RCPT failed: 451");
    REQUIRE_FALSE(r);
    CHECK(r.error().diagnostic == "SMTP 451: RCPT failed: 451");
    const auto none = smtp_outcome(CURLE_COULDNT_CONNECT, 0, "");
    REQUIRE_FALSE(none);
    CHECK(none.error().diagnostic == "SMTP: Couldn't connect to server");
}

TEST_CASE("curl: HTTP statuses", "[delivery]") {
    CHECK(http_outcome(CURLE_OK, 200, ""));
    CHECK(http_outcome(CURLE_OK, 202, ""));
    CHECK(http_outcome(CURLE_OK, 204, ""));
    for (const long s : {500L, 502L, 503L, 504L, 429L, 408L}) {
        INFO(s);
        CHECK(error_of(http_outcome(CURLE_OK, s, "")) == error::temporary_failure);
    }
    for (const long s : {400L, 404L, 405L, 413L, 422L, 501L, 505L, 301L, 302L, 307L}) {
        INFO(s);
        CHECK(error_of(http_outcome(CURLE_OK, s, "")) == error::rejected);
    }
    CHECK(error_of(http_outcome(CURLE_OK, 401, "")) == error::auth_failed);
    CHECK(error_of(http_outcome(CURLE_OK, 403, "")) == error::auth_failed);
    CHECK(error_of(http_outcome(CURLE_OK, 101, "")) == error::protocol_error);
    CHECK(http_outcome(CURLE_OK, 503, "").error().diagnostic == "HTTP 503");
}

TEST_CASE("curl: HTTP transport failures", "[delivery]") {
    CHECK(error_of(http_outcome(CURLE_COULDNT_CONNECT, 0, "")) == error::connect_failed);
    CHECK(error_of(http_outcome(CURLE_OPERATION_TIMEDOUT, 0, "")) == error::timeout);
    CHECK(error_of(http_outcome(CURLE_PEER_FAILED_VERIFICATION, 0, "")) == error::tls_failure);
    CHECK(error_of(http_outcome(CURLE_GOT_NOTHING, 0, "")) == error::temporary_failure);
    CHECK(error_of(http_outcome(CURLE_UNSUPPORTED_PROTOCOL, 0, "")) == error::internal);
}

TEST_CASE("curl: slist append keeps every line", "[delivery]") {
    sspr::delivery::detail::slist_ptr list;
    REQUIRE(sspr::delivery::detail::append(list, "A: 1"));
    REQUIRE(sspr::delivery::detail::append(list, "B: 2"));
    REQUIRE(list);
    CHECK(std::string(list->data) == "A: 1");
    REQUIRE(list->next != nullptr);
    CHECK(std::string(list->next->data) == "B: 2");
    CHECK(list->next->next == nullptr);
}
