// One libldap connection: TLS set-up, binds, searches, modifies and the Password Modify exop,
// each with the configured timeout and its answer classified into ldap::error. Used by one thread
// at a time (the pool hands it out); a transport failure marks it broken and the pool drops it.
#pragma once

#include "ldap/config.hpp"
#include "ldap/diagnostics.hpp"
#include "ldap/error.hpp"
#include "ldap/handles.hpp"

#include <cstddef>
#include <map>
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
    [[nodiscard]] bool broken() const noexcept { return broken_; }
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
    connection(ldap_ptr ld, std::size_t uri_index, std::chrono::milliseconds timeout)
        : ld_(std::move(ld)), uri_index_(uri_index), timeout_(timeout) {}

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

    /// Waits for the result of `msgid`; transport failures and timeouts mark the connection broken.
    result<message_ptr> wait(operation_kind op, int msgid, int all);
    reply parse(LDAPMessage* msg);
    failure fail(operation_kind op, int rc, std::string_view what);
    failure refused(operation_kind op, const reply& r);

    ldap_ptr ld_;
    std::size_t uri_index_ = 0;
    std::chrono::milliseconds timeout_;
    server_info info_;
    bool broken_ = false;
    std::string uri_;
    operation_observer observer_;
};

} // namespace sspr::ldap::detail
