// `ssprd doctor --canary-user LOGIN`: the one check of doctor that changes something. It resets
// the canary account's password to a fresh random one through the same Directory call the reset
// flow uses (ldap::directory::reset_password: unicodePwd on AD, Password Modify or userPassword on
// OpenLDAP), then binds as the canary with it. The canary must be an ordinary account in scope:
// the policy is asked first, and an admin, protected or out-of-scope account is refused before
// anything is written. Only the canary's entry is ever written; the password is a common::secret
// that is never printed, logged or kept.
#pragma once

#include "common/random.hpp"
#include "common/secret.hpp"
#include "config/config.hpp"
#include "doctor/report.hpp"
#include "ldap/directory.hpp"
#include "policy/decision.hpp"
#include "policy/password_rules.hpp"

#include <cstddef>
#include <optional>
#include <string>

namespace sspr::doctor {

/// Length of the canary password: 32 characters, or the configured bounds when they exclude 32.
[[nodiscard]] std::size_t canary_password_length(const policy::password_checker& checker,
                                                 const config::password_config& rules);

/// A fresh password from `rng` (OpenSSL in ssprd): canary_password_length() characters with at
/// least one upper-case letter, lower-case letter, digit and symbol each (so AD's complexity and
/// a ppolicy quality check accept it), that passes `checker` for `who`. A candidate that fails
/// the rules is wiped and another drawn; nothing after 16 tries (rules no random password meets).
[[nodiscard]] std::optional<common::secret>
make_canary_password(common::random& rng, const policy::password_checker& checker,
                     const config::password_config& rules, const policy::password_context& who);

/// The FAIL for a canary the policy does not treat as an ordinary account in scope (admin,
/// protected, disabled, denied by a rule, out of scope); nothing when it may be reset.
/// `name` is the check's name, `login` and `dn` the canary's.
[[nodiscard]] std::optional<check_result> refuse_canary(const policy::decision& d,
                                                        const std::string& name,
                                                        const std::string& login,
                                                        const std::string& dn);

/// The FAIL for a reset the directory refused or could not confirm, with the directory's mapped
/// reason and a one-line fix for `dialect`.
[[nodiscard]] check_result canary_reset_failed(const ldap::failure& f, ldap::dialect dialect,
                                               const std::string& name, const std::string& dn);

/// Looks the canary up, asks the policy (groups and rule filters as the flows evaluate them),
/// and only for an ordinary account in scope resets its password the way a completed reset flow
/// does (unlock as the policy allows, directory.must_change_after_reset), then proves the
/// directory holds it with a bind as the canary. One result: PASS "canary reset applied and
/// verified", or the FAIL of the first step that did not work.
[[nodiscard]] check_result check_canary(ldap::directory& dir, common::random& rng,
                                        const config::config& c,
                                        const policy::password_checker& checker,
                                        const std::string& name, const std::string& login,
                                        policy::system_time now);

} // namespace sspr::doctor
