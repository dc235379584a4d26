// The directory layer's part of the configuration, as plain values. config/ fills it from the
// admin's YAML; tests fill it directly.
#pragma once

#include "common/secret.hpp"

#include <chrono>
#include <cstddef>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

namespace sspr::ldap {

enum class dialect_choice {
    invalid = 0,
    /// Read the rootDSE: Active Directory advertises capability 1.2.840.113556.1.4.800.
    detect,
    active_directory,
    openldap,
};

enum class openldap_reset_mode {
    invalid = 0,
    /// RFC 3062 Password Modify: the server hashes and applies its policy (history, quality).
    password_modify_exop,
    /// `replace userPassword` with the cleartext (needs olcPPolicyHashCleartext on the server).
    replace_user_password,
};

/// One operation on one directory connection, as its connection saw it (for metrics).
struct operation_sample {
    std::string_view uri;
    /// "connect", "service_bind", "user_bind", "search", "reset", "change" or "unlock".
    std::string_view operation;
    /// "ok"; "refused" when the server answered no (a wrong password, a policy); "unavailable"
    /// when it could not be reached or did not answer in time (transport, TLS, timeout).
    std::string_view outcome;
    std::chrono::nanoseconds took{};
};

/// Called after every operation on the thread that ran it; must be cheap and must not throw.
using operation_observer = std::function<void(const operation_sample&)>;

struct config {
    /// Servers in failover order; the first that answers is used, and work returns to the first
    /// when it recovers. ldaps://, ldap:// (StartTLS unless start_tls is false) or ldapi://.
    std::vector<std::string> uris;
    dialect_choice dialect = dialect_choice::detect;

    /// The service account, which searches and resets. Its password comes from a file in config/.
    std::string bind_dn;
    common::secret bind_password;

    /// The naming context; users and groups are searched below it unless narrowed here.
    std::string base_dn;
    std::string user_base;  // empty: base_dn
    std::string group_base; // empty: base_dn
    /// How users are found; `{login}` is replaced by the RFC 4515-escaped login. Empty: the
    /// dialect's default, sAMAccountName or userPrincipalName on AD, uid on OpenLDAP.
    std::string user_filter;
    std::vector<std::string> mail_attributes{"mail"};
    std::vector<std::string> mobile_attributes{"mobile"};
    /// OpenLDAP nested groups: how deep and how many groups a recursive search may go.
    std::size_t max_group_depth = 8;
    std::size_t max_groups = 1000;

    /// TLS: verification of the server certificate is on unless switched off here (with a warning).
    std::string ca_file;
    bool tls_verify = true;
    /// For ldap:// URIs: upgrade with StartTLS. Plain LDAP only by explicitly setting false.
    bool start_tls = true;

    std::chrono::milliseconds connect_timeout{5000};
    std::chrono::milliseconds operation_timeout{10000};

    /// Service connections kept open, and as many for binds as users.
    std::size_t pool_size = 4;
    /// Operations one service connection carries at once (pipelined: sent before the earlier ones
    /// are answered). At most pool_size × pipeline_window searches and writes are in flight; a
    /// bind connection always carries one.
    std::size_t pipeline_window = 4;
    /// Callers allowed to wait for a free connection; one more is refused with error::overloaded.
    std::size_t max_waiting = 64;
    /// How long a caller may wait for a free connection before error::overloaded.
    std::chrono::milliseconds acquire_timeout{2000};
    /// Reconnect backoff per URI after a failure: doubles from min to max.
    std::chrono::milliseconds backoff_min{250};
    std::chrono::milliseconds backoff_max{30000};

    /// AD: after a reset, the user must change the password at next logon (pwdLastSet: 0).
    bool must_change_after_reset = false;
    openldap_reset_mode openldap_reset = openldap_reset_mode::password_modify_exop;

    /// Sees every connect, bind, search and write with its URI and time taken; empty: nobody.
    operation_observer on_operation{};
};

} // namespace sspr::ldap
