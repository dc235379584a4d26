// The helpdesk and admin commands: what a user has registered and whether the throttles hold them,
// removing a lost method, lifting a user's throttle blocks, and the registration coverage report.
//
//   ssprd helpdesk status  USER -c FILE [--operator NAME]
//   ssprd helpdesk clear   USER METHOD -c FILE --operator NAME
//   ssprd helpdesk unblock USER -c FILE --operator NAME
//   ssprd enrollments export -c FILE [--output F] [--operator NAME]
//
// USER is a login (looked up in the directory as the flows look it up) or a DN (anything with
// '='; then the directory is not asked). METHOD is a method id as the API names it: "email-0",
// "sms-1", "totp", "questions" (flows/methods.hpp; `status` lists them).
//
// Nothing here prints or logs a secret: methods are shown as flows::describe_methods shows them
// (masked hints, confirmation times), throttles by bucket name and block end, never a key, code,
// answer hash, TOTP seed or token. Every command writes one audit event (steps helpdesk.status,
// helpdesk.clear, helpdesk.unblock, enrollments.export) with the operator in `actor`, through
// audit::trail into the same file and chain as the running gateway.
//
// Exit status: 0 done; 1 the user, their enrollment or the method is not there (nothing changed);
// 2 the configuration, a key file, the store, the directory or the audit file cannot be used;
// 64 usage error.
#pragma once

#include "common/secret.hpp"
#include "config/config.hpp"

#include <chrono>
#include <iosfwd>
#include <string>
#include <string_view>
#include <vector>

namespace sspr::audit {
class trail;
}
namespace sspr::ldap {
class directory;
}
namespace sspr::store {
class state_store;
}

namespace sspr::helpdesk {

inline constexpr int exit_ok = 0;
inline constexpr int exit_not_found = 1;
inline constexpr int exit_failure = 2;
inline constexpr int exit_usage = 64;

/// What the commands work on; the run_* entry points build it from the configuration, the unit
/// tests from fakes. Pointers are borrowed for one call.
struct services {
    const config::config* cfg = nullptr;
    store::state_store* store = nullptr;
    /// Resolves logins; may be null when every USER given is a DN.
    ldap::directory* directory = nullptr;
    audit::trail* audit = nullptr;
    /// store.hmac_key_file: the key the throttle keys are derived under.
    const common::secret* hmac_key = nullptr;
    std::chrono::system_clock::time_point now{};
};

/// Registered methods (id, masked hint, confirmed when, re-confirmation due), then each throttle
/// bucket that concerns the user (user-keyed, and destination-keyed per registered address) with
/// its block, if any.
int status(const services& s, std::string_view user, std::string_view operator_name,
           std::ostream& out, std::ostream& err);

/// Removes one registered method (METHOD as `status` lists it).
int clear(const services& s, std::string_view user, std::string_view method_id,
          std::string_view operator_name, std::ostream& out, std::ostream& err);

/// Forgets the counters and blocks of every user-keyed bucket and of the destination-keyed
/// buckets of the user's registered addresses: the keys a successful reset clears
/// (policy::keys_to_clear_on_success, without flow keys). Client-address and client-network
/// buckets are not the user's and stay. Prints each bucket and whether it was blocked.
int unblock(const services& s, std::string_view user, std::string_view operator_name,
            std::ostream& out, std::ostream& err);

/// The coverage report: RFC 4180 CSV (CRLF line ends, a header row), one row per enrolled user:
/// user_dn, methods, email_hints, sms_hints, totp, questions, last_confirmed, reconfirm_due.
/// Rows that cannot be read are named on `err` and make the exit status 2 (the rest is written).
int export_enrollments(const services& s, std::string_view operator_name, std::ostream& out,
                       std::ostream& err);

/// One CSV field: quoted (with inner quotes doubled) when it holds a comma, quote, CR or LF, and
/// with a leading ' when it starts with = + - @ TAB or CR, so that a spreadsheet shows it as text
/// instead of running it as a formula (CSV injection).
[[nodiscard]] std::string csv_field(std::string_view value);

/// The operator name when --operator is not given: $SUDO_USER (the person behind `sudo -u ssprd`),
/// else $USER; empty when neither is set.
[[nodiscard]] std::string operator_from_environment();

/// `ssprd helpdesk ...`: `args` are the words after "helpdesk" (args[0]: status|clear|unblock).
int run_helpdesk(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

/// `ssprd enrollments ...`: `args` are the words after "enrollments" (args[0]: export).
int run_enrollments(const std::vector<std::string>& args, std::ostream& out, std::ostream& err);

} // namespace sspr::helpdesk
