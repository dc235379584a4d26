// The raw side of the directory benches: libldap's async API on plain handles, with no sspr::ldap
// in between, so a bench can say what the server and the wire allow. Connections as the library
// opens them (LDAPS, the CA verified, TLS >= 1.2, a TLS context of their own); answers taken
// without waiting, including those GnuTLS or libldap already buffered; every result code and
// ppolicy response checked, any failure thrown as std::runtime_error with the server's text.
#pragma once

#include <lber.h>
#include <ldap.h>

#include <cstddef>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_map>

namespace sspr::bench {

struct ldap_closer {
    void operator()(LDAP* ld) const noexcept { ldap_unbind_ext_s(ld, nullptr, nullptr); }
};
using ldap_ptr = std::unique_ptr<LDAP, ldap_closer>;

struct message_freer {
    void operator()(LDAPMessage* m) const noexcept { ldap_msgfree(m); }
};
using message_ptr = std::unique_ptr<LDAPMessage, message_freer>;

struct control_freer {
    void operator()(LDAPControl* c) const noexcept { ldap_control_free(c); }
};
using control_ptr = std::unique_ptr<LDAPControl, control_freer>;

struct controls_freer {
    void operator()(LDAPControl** c) const noexcept { ldap_controls_free(c); }
};
using controls_ptr = std::unique_ptr<LDAPControl*, controls_freer>;

struct memfreer {
    void operator()(char* p) const noexcept { ldap_memfree(p); }
};
using ldap_string_ptr = std::unique_ptr<char, memfreer>;

struct values_freer {
    void operator()(berval** v) const noexcept { ldap_value_free_len(v); }
};
using values_ptr = std::unique_ptr<berval*, values_freer>;

/// A view of `s` for libldap, which copies request values into the BER it sends.
berval as_berval(std::string_view s);

/// Throws "raw_libldap: WHAT: ldap rc=N (text): diagnostic".
[[noreturn]] void raw_fail(LDAP* ld, int rc, const std::string& what);

/// Connected over LDAPS to `uri` with `ca_file` (verification on, TLS >= 1.2, a TLS context of
/// its own, referrals off), as the library's connection::open does; not bound.
ldap_ptr open_ldaps(const std::string& uri, const std::string& ca_file);

/// One connection and the requests it carries, by message id; `tag` says whose request it is
/// (a user, a virtual flow).
struct raw_connection {
    ldap_ptr ld;
    int fd = -1;
    Sockbuf* sb = nullptr;                          // owned by ld
    control_ptr ppolicy;                            // the request control, built once
    std::unordered_map<int, std::size_t> in_flight; // msgid -> tag
};

/// A connection to `uri`, bound with a simple bind as `bind_dn` when given (a service
/// connection), else unbound (for binds as users).
raw_connection connect_raw(const std::string& uri, const std::string& ca_file,
                           const std::optional<std::string>& bind_dn,
                           std::string_view bind_password);

/// Whether bytes for `c` wait in libldap's or GnuTLS's buffers, where poll() cannot see them.
bool buffered(const raw_connection& c);

/// The result code must be success and the ppolicy response, if any, must carry no error.
void expect_success(const raw_connection& c, LDAPMessage* msg, const std::string& what);

/// Takes every complete answer libldap has for `c`, without waiting, and calls
/// `on_answer(tag, msg)` for each after removing it from c.in_flight. With a zero timeout
/// ldap_result reads at most one PDU per call and answers 0 when that was only a search entry,
/// so it is called again while buffered bytes remain. Returns how many answers there were.
template <class OnAnswer> std::size_t drain(raw_connection& c, OnAnswer&& on_answer) {
    std::size_t handled = 0;
    // Bounded, so that a buffer libldap cannot make progress on ends in the caller's stall
    // check rather than in a spin here.
    for (int partial = 0; partial < 64;) {
        timeval zero{0, 0};
        LDAPMessage* raw = nullptr;
        const int type = ldap_result(c.ld.get(), LDAP_RES_ANY, LDAP_MSG_ALL, &zero, &raw);
        const message_ptr msg(raw);
        if (type == 0) {
            if (!buffered(c)) {
                return handled;
            }
            ++partial;
            continue;
        }
        partial = 0;
        if (type < 0) {
            int code = LDAP_SERVER_DOWN;
            ldap_get_option(c.ld.get(), LDAP_OPT_RESULT_CODE, &code);
            raw_fail(c.ld.get(), code, "waiting for results");
        }
        const auto found = c.in_flight.find(ldap_msgid(msg.get()));
        if (found == c.in_flight.end()) {
            throw std::runtime_error("raw_libldap: answer to a request never sent (type " +
                                     std::to_string(type) + ")");
        }
        const std::size_t tag = found->second;
        c.in_flight.erase(found);
        ++handled;
        on_answer(tag, msg.get());
    }
    return handled;
}

} // namespace sspr::bench
