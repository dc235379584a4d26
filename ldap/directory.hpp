// The Directory seam: everything ssprd asks of the organisation's directory. flows/ talks only to
// this interface; ldap_directory.hpp implements it with libldap, tests/fakes/ with a map.
//
// Every call blocks on the network: call it from a blocking pool (common::blocking_pool), never
// from an I/O strand. Implementations are thread-safe and bound their own concurrency: when too
// much work waits they answer error::overloaded at once.
#pragma once

#include "ldap/error.hpp"

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sspr::ldap {

enum class dialect {
    invalid = 0,
    active_directory,
    openldap,
};

struct account_state {
    bool disabled = false;
    bool locked = false;
    /// The password must be changed at next logon (AD pwdLastSet 0, OpenLDAP pwdReset).
    bool must_change = false;
    bool password_expired = false;
    bool account_expired = false;
};

struct user_entry {
    std::string dn; // as the directory returned it; the only way ssprd ever names the entry
    std::string login;
    std::string display_name;
    std::vector<std::string> mail;
    std::vector<std::string> mobile;
    account_state state;
    /// AD adminCount=1: the account is or was in a protected group.
    bool admin_count = false;
};

struct group_entry {
    std::string dn;
    std::string name;
};

struct reset_options {
    /// Also clear a lockout in the same operation (AD lockoutTime: 0; OpenLDAP does it anyway).
    bool unlock = true;
    /// Make the user change the password at next logon.
    bool must_change = false;
};

class directory {
public:
    virtual ~directory() = default;

    /// The directory's kind: as configured, or as the rootDSE said on the first connection
    /// (dialect::invalid until then).
    [[nodiscard]] virtual ldap::dialect dialect() const = 0;

    /// The one entry whose login matches, nothing when none does; error::ambiguous_user when
    /// several do. The login is escaped per RFC 4515; a login that is not UTF-8 matches nobody.
    [[nodiscard]] virtual result<std::optional<user_entry>> find_user(std::string_view login) = 0;

    /// The entry at `dn` (found before) read afresh, with the same attributes as find_user: flows
    /// keep only the DN between steps and re-read the user at each one, so group changes, a lock
    /// or a disabled account take effect mid-flow. Nothing when the entry no longer exists.
    [[nodiscard]] virtual result<std::optional<user_entry>> read_user(std::string_view dn) = 0;

    /// Whether the entry at `dn` matches the LDAP `filter` (a base-scope search): how the flows
    /// evaluate the policy's rule filters. A filter the directory rejects is an error, not false.
    [[nodiscard]] virtual result<bool> matches(std::string_view dn, std::string_view filter) = 0;

    /// Fresh account state of an entry found before.
    [[nodiscard]] virtual result<account_state> state_of(std::string_view dn) = 0;

    /// Every group the entry belongs to, directly or through nested groups.
    [[nodiscard]] virtual result<std::vector<group_entry>> groups_of(std::string_view dn) = 0;

    /// Whether `password` is the entry's password, by binding as the user on a connection of its
    /// own. A correct password on an account that must change it gives must_change_password.
    [[nodiscard]] virtual result<void> verify_password(std::string_view dn,
                                                       std::string_view password) = 0;

    /// Sets a new password as the service account. Success means the directory was checked to
    /// hold the new password afterwards.
    [[nodiscard]] virtual result<void> reset_password(std::string_view dn,
                                                      std::string_view new_password,
                                                      const reset_options& options) = 0;

    /// Changes a known password as the user (old and new), with the directory's own checks for a
    /// user change (history, minimum age). Success is checked like reset_password.
    [[nodiscard]] virtual result<void> change_password(std::string_view dn,
                                                       std::string_view old_password,
                                                       std::string_view new_password) = 0;

    /// Clears a lockout as the service account. Unlocking an account that is not locked succeeds.
    [[nodiscard]] virtual result<void> unlock(std::string_view dn) = 0;
};

} // namespace sspr::ldap
