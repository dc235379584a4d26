#include "delivery/error.hpp"

#include <boost/throw_exception.hpp>

#include <ostream>

namespace sspr::delivery {
namespace {

// Boost's error_category has a protected non-virtual destructor by design; categories are never
// deleted through a base pointer.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wnon-virtual-dtor"
class category_impl final : public boost::system::error_category {
public:
    [[nodiscard]] const char* name() const noexcept override { return "sspr.delivery"; }

    [[nodiscard]] std::string message(int ev) const override {
        switch (static_cast<error>(ev)) {
        case error::overloaded:
            return "too many messages waiting to be sent";
        case error::stopping:
            return "delivery is shutting down";
        case error::channel_disabled:
            return "delivery channel not configured";
        case error::invalid_destination:
            return "invalid destination";
        case error::invalid_message:
            return "message incomplete for its kind";
        case error::connect_failed:
            return "could not connect to the server";
        case error::timeout:
            return "server did not answer in time";
        case error::tls_failure:
            return "TLS handshake or certificate verification failed";
        case error::auth_failed:
            return "server refused the credentials";
        case error::temporary_failure:
            return "server refused the message for now";
        case error::rejected:
            return "server rejected the message";
        case error::protocol_error:
            return "unexpected answer from the server";
        case error::internal:
            return "internal error while sending";
        case error::outcome_unknown:
            return "connection lost after the message was handed over";
        case error::expired:
            return "message expired before it could be sent";
        }
        return "unknown sspr.delivery error";
    }
};
#pragma GCC diagnostic pop

} // namespace

const boost::system::error_category& delivery_category() noexcept {
    static const category_impl instance;
    return instance;
}

std::ostream& operator<<(std::ostream& os, const failure& f) {
    os << f.code.message();
    if (!f.diagnostic.empty()) {
        os << " (" << f.diagnostic << ")";
    }
    return os;
}

void throw_exception_from_error(const failure& f, const boost::source_location& loc) {
    boost::throw_exception(boost::system::system_error(f.code), loc);
}

} // namespace sspr::delivery
