#include "ldap/error.hpp"

#include <boost/throw_exception.hpp>

namespace sspr::ldap {
namespace {

// Boost's error_category has a protected non-virtual destructor by design; categories are never
// deleted through a base pointer.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wnon-virtual-dtor"
class category_impl final : public boost::system::error_category {
public:
    [[nodiscard]] const char* name() const noexcept override { return "sspr.ldap"; }

    [[nodiscard]] std::string message(int ev) const override {
        switch (static_cast<error>(ev)) {
        case error::invalid_credentials:
            return "invalid credentials";
        case error::account_locked:
            return "account locked";
        case error::account_disabled:
            return "account disabled";
        case error::account_expired:
            return "account expired";
        case error::password_expired:
            return "password expired";
        case error::must_change_password:
            return "password must be changed";
        case error::password_too_short:
            return "password too short";
        case error::password_not_complex:
            return "password does not meet complexity rules";
        case error::password_in_history:
            return "password was used recently";
        case error::password_too_young:
            return "password changed too recently";
        case error::password_too_long:
            return "password too long";
        case error::password_restriction:
            return "password refused by directory policy";
        case error::wrong_current_password:
            return "current password is wrong";
        case error::access_denied:
            return "access denied by the directory";
        case error::tls_required:
            return "directory requires TLS (configuration error)";
        case error::tls_failure:
            return "TLS handshake or certificate verification failed";
        case error::invalid_password_encoding:
            return "password is not valid UTF-8";
        case error::ambiguous_user:
            return "more than one entry matches the login";
        case error::no_such_object:
            return "no such entry";
        case error::not_verified:
            return "directory does not hold the new password";
        case error::unsupported:
            return "operation not supported by the directory";
        case error::server_down:
            return "directory unreachable";
        case error::timeout:
            return "directory timed out";
        case error::overloaded:
            return "too many directory operations waiting";
        case error::directory_refused:
            return "directory refused the operation";
        }
        return "unknown sspr.ldap error";
    }
};
#pragma GCC diagnostic pop

} // namespace

const boost::system::error_category& ldap_category() noexcept {
    static const category_impl instance;
    return instance;
}

void throw_exception_from_error(const failure& f, const boost::source_location& loc) {
    boost::throw_exception(boost::system::system_error(f.code), loc);
}

} // namespace sspr::ldap
