// One libldap connection: TLS set-up, binds, searches, modifies and the Password Modify exop,
// each with the configured timeout and its answer classified into ldap::error.
//
// Several threads may have operations outstanding on one connection at once (pipelining): each
// sends its request and waits for its own message id, and one waiting thread at a time reads the
// socket for all of them, handing the others their answers. No thread blocks inside libldap:
// poll() waits on the socket with libldap unlocked, so requests go out while answers are awaited
// (libldap's own ldap_result would hold the connection's lock across its wait). The pool decides
// who may share: only operations that leave the connection as it was (searches, modifies, the
// Password Modify exop), never a bind.
//
// A transport failure marks the connection broken: every operation on it fails, and the pool
// drops it. An operation that times out abandons its own message id only; the connection is
// retired (dropped when its last user gives it back) only if nothing at all was read from it
// during that wait, i.e. the server or the path has gone silent.
#pragma once

#include "ldap/config.hpp"
#include "ldap/diagnostics.hpp"
#include "ldap/error.hpp"
#include "ldap/handles.hpp"

#include <cstddef>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace sspr::ldap::detail {

/// One search result entry; attribute names lower-cased, values as raw bytes.
struct entry {
    std::string dn;
    std::map<std::string, std::vector<std::string>> attributes;

    [[nodiscard]] const std::vector<std::string>* values(std::string_view name) const;
    [[nodiscard]] std::string first(std::string_view name) const;
};

/// What the rootDSE says about the server, read once per connection.
struct server_info {
    std::vector<std::string> supported_controls;
    std::vector<std::string> supported_extensions;
    std::vector<std::string> supported_capabilities;

    [[nodiscard]] bool supports_control(std::string_view oid) const;
    [[nodiscard]] bool supports_extension(std::string_view oid) const;
    [[nodiscard]] bool is_active_directory() const;
};

/// A modification of one attribute; values are bytes (unicodePwd is binary). The values are views,
/// never copies: a password goes to libldap straight from the caller's (wiped) buffer, so no
/// temporary std::string holds it. They must outlive the modify() call.
struct modification {
    int op = 0; // LDAP_MOD_REPLACE / LDAP_MOD_ADD / LDAP_MOD_DELETE
    std::string attribute;
    std::vector<std::string_view> values;
};

struct control {
    std::string oid;
    std::string value;
    bool critical = false;
};

class connection {
public:
    /// Opens a connection to `uri`: TLS (ldaps:// or StartTLS) with the configured verification,
    /// referrals off, protocol v3. Does not bind.
    static result<connection> open(const std::string& uri, std::size_t uri_index,
                                   const config& cfg);

    [[nodiscard]] std::size_t uri_index() const noexcept { return uri_index_; }
    /// Broken (the transport failed) or retired (went silent): the pool must not lend it again.
    [[nodiscard]] bool broken() const noexcept;
    [[nodiscard]] const server_info& info() const noexcept { return info_; }
    /// True when the server closed the socket while the connection sat idle (restart, idle
    /// timeout). Cheap: one poll() with no wait.
    [[nodiscard]] bool hung_up() const;

    /// Simple bind. With `ppolicy`, the password policy request control is sent and its response
    /// classified; a successful bind whose control says changeAfterReset gives
    /// must_change_password.
    result<void> bind(operation_kind op, std::string_view dn, std::string_view password,
                      bool ppolicy);

    /// Reads the rootDSE into info().
    result<void> read_root_dse();

    result<std::vector<entry>> search(operation_kind op, const std::string& base, int scope,
                                      const std::string& filter,
                                      const std::vector<std::string>& attributes, int size_limit);

    result<void> modify(operation_kind op, const std::string& dn,
                        const std::vector<modification>& mods,
                        const std::vector<control>& controls);

    /// RFC 3062 Password Modify. Empty `user_dn` changes the bound user's own password; empty
    /// `old_password` resets. The ppolicy request control is always sent.
    result<void> password_modify(operation_kind op, std::string_view user_dn,
                                 std::string_view old_password, std::string_view new_password);

private:
    connection(ldap_ptr ld, std::size_t uri_index, std::chrono::milliseconds timeout);

public:
    connection(connection&&) noexcept;
    connection& operator=(connection&&) noexcept;
    connection(const connection&) = delete;
    connection& operator=(const connection&) = delete;
    ~connection();

private:
    // The operations themselves; the public ones time them for config::on_operation.
    static result<connection> open_unobserved(const std::string& uri, std::size_t uri_index,
                                              const config& cfg);
    result<void> bind_unobserved(operation_kind op, std::string_view dn, std::string_view password,
                                 bool ppolicy);
    result<std::vector<entry>> search_unobserved(operation_kind op, const std::string& base,
                                                 int scope, const std::string& filter,
                                                 const std::vector<std::string>& attributes,
                                                 int size_limit);
    result<void> modify_unobserved(operation_kind op, const std::string& dn,
                                   const std::vector<modification>& mods,
                                   const std::vector<control>& controls);
    result<void> password_modify_unobserved(operation_kind op, std::string_view user_dn,
                                            std::string_view old_password,
                                            std::string_view new_password);

    struct reply {
        int rc = 0;
        std::string diagnostic;
        std::optional<int> ppolicy_error;
    };

    /// Waits for the answer to `msgid` (all of it, for a search) for at most the operation
    /// timeout, reading answers for the connection's other waiters meanwhile.
    /// After a request was sent (rc from the ldap_*_ext call), under the libldap lock: its answer
    /// is awaited, so the reader files it for wait(msgid).
    void expect(int rc, int msgid);
    result<message_ptr> wait(int msgid);
    /// One turn as the reader: waits for the socket until `deadline`, then takes every complete
    /// answer libldap can parse from what arrived and hands them to their waiters.
    void read_answers(std::chrono::steady_clock::time_point deadline);
    reply parse(LDAPMessage* msg);
    /// Takes the libldap lock itself: call it without holding it.
    failure fail(operation_kind op, int rc, std::string_view what);
    failure refused(operation_kind op, const reply& r);
    void mark_broken(failure why);
    void wake_next_reader();

    /// Serialises every libldap call on ld_ (never held across a wait), and the waiters' state.
    struct shared_state;
    std::unique_ptr<shared_state> io_;
    ldap_ptr ld_;
    std::size_t uri_index_ = 0;
    std::chrono::milliseconds timeout_;
    server_info info_;
    std::string uri_;
    operation_observer observer_;
};

} // namespace sspr::ldap::detail
