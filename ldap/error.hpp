// Errors of the directory layer: every refusal and fault the directory can produce maps to one of
// these values, so the flows and the pages can tell the user what really happened. The directory's
// own diagnostic text travels beside the code (ldap::failure) for the audit log, never for the
// user.
#pragma once

#include <boost/system/error_code.hpp>
#include <boost/system/result.hpp>

#include <string>
#include <type_traits>

namespace sspr::ldap {

enum class error {
    /// The user's password (or the service account's) is wrong: LDAP 49, AD data 52e.
    invalid_credentials = 1,
    /// The account is locked out: AD data 775, ppolicy accountLocked.
    account_locked,
    /// The account is disabled: AD data 533 / ACCOUNTDISABLE, OpenLDAP administrative lock.
    account_disabled,
    /// The account itself has expired: AD data 701.
    account_expired,
    /// The password has expired: AD data 532, ppolicy passwordExpired.
    password_expired,
    /// The password must be changed before anything else: AD data 773, ppolicy changeAfterReset.
    must_change_password,
    /// The new password is shorter than the directory's minimum.
    password_too_short,
    /// The new password fails the directory's complexity or quality checks.
    password_not_complex,
    /// The new password was used recently.
    password_in_history,
    /// The password was changed too recently to change again (minimum age).
    password_too_young,
    /// The new password is longer than the directory allows.
    password_too_long,
    /// The directory refused the password for a policy reason its text does not name.
    password_restriction,
    /// The current password given for a change is wrong: AD 00000056, OpenLDAP 53 on the exop.
    wrong_current_password,
    /// The directory refused the operation on this account (rights, protected/admin account).
    access_denied,
    /// The directory requires an encrypted connection: a configuration error, not the user's fault.
    tls_required,
    /// The TLS handshake or certificate verification failed.
    tls_failure,
    /// The password is not valid UTF-8 (or contains NUL); nothing was sent to the directory.
    invalid_password_encoding,
    /// More than one entry matches the login; nothing is done with an ambiguous name.
    ambiguous_user,
    /// The entry named does not exist (any more).
    no_such_object,
    /// The directory accepted a write but does not hold the new password when checked.
    not_verified,
    /// The directory does not support what this operation needs (e.g. the Password Modify exop).
    unsupported,
    /// No directory server could be reached.
    server_down,
    /// The directory did not answer within the configured time.
    timeout,
    /// Too much work is waiting for the directory; refused at once instead of queueing.
    overloaded,
    /// The directory refused for a reason not mapped above; the raw text is in the diagnostic.
    directory_refused,
};

const boost::system::error_category& ldap_category() noexcept;

inline boost::system::error_code make_error_code(error e) noexcept {
    return {static_cast<int>(e), ldap_category()};
}

/// A failed directory operation: the typed code for decisions and messages, and the directory's own
/// diagnostic text (LDAP result code and message) for the audit detail only.
struct failure {
    boost::system::error_code code;
    std::string diagnostic;
    /// The LDAP result code the server (or libldap, when negative) gave; 0 when the failure did
    /// not come from an LDAP result. For the few decisions that hinge on one (an attribute already
    /// gone), so that no code ever reads the diagnostic text.
    int ldap_result = 0;

    failure() = default;
    failure(error e, std::string diag = {})
        : code(make_error_code(e)), diagnostic(std::move(diag)) {}
    failure(error e, std::string diag, int rc)
        : code(make_error_code(e)), diagnostic(std::move(diag)), ldap_result(rc) {}

    [[nodiscard]] bool is(error e) const noexcept { return code == make_error_code(e); }
};

/// boost::system::result::value() throws through this when the result holds a failure.
[[noreturn]] void throw_exception_from_error(const failure& f, const boost::source_location& loc);

template <class T> using result = boost::system::result<T, failure>;

} // namespace sspr::ldap

template <> struct boost::system::is_error_code_enum<sspr::ldap::error> : std::true_type {};
