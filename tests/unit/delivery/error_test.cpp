// Unit tests of delivery/error.hpp: messages, and which errors are worth another attempt.
#include "delivery/error.hpp"

#include <catch2/catch.hpp>

using sspr::delivery::error;
using sspr::delivery::failure;
using sspr::delivery::retryable;

TEST_CASE("error: only a refused connection, a timeout and a temporary refusal are retried",
          "[delivery]") {
    CHECK(retryable(error::connect_failed));
    CHECK(retryable(error::temporary_failure));
    CHECK(retryable(error::timeout));
    for (const auto e :
         {error::overloaded, error::stopping, error::channel_disabled, error::invalid_destination,
          error::invalid_message, error::tls_failure, error::auth_failed, error::rejected,
          error::protocol_error, error::internal, error::outcome_unknown, error::expired}) {
        CHECK_FALSE(retryable(e));
        CHECK_FALSE(failure(e).retryable());
    }
    CHECK(failure(error::temporary_failure, "SMTP 451").retryable());
}

TEST_CASE("error: codes carry the delivery category and a readable message", "[delivery]") {
    const boost::system::error_code ec = error::tls_failure;
    CHECK(std::string(ec.category().name()) == "sspr.delivery");
    CHECK(ec.message() == "TLS handshake or certificate verification failed");
    CHECK(failure(error::rejected).code.message() == "server rejected the message");
    CHECK(failure(error::overloaded).is(error::overloaded));
    CHECK_FALSE(failure(error::overloaded).is(error::stopping));
}
