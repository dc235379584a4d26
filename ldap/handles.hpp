// RAII owners for libldap's C handles. Internal to ldap/; nothing outside this folder sees libldap.
#pragma once

#include <lber.h>
#include <ldap.h>

#include <memory>

namespace sspr::ldap::detail {

struct ldap_unbinder {
    void operator()(LDAP* ld) const noexcept { ldap_unbind_ext_s(ld, nullptr, nullptr); }
};
using ldap_ptr = std::unique_ptr<LDAP, ldap_unbinder>;

struct message_freer {
    void operator()(LDAPMessage* msg) const noexcept { ldap_msgfree(msg); }
};
using message_ptr = std::unique_ptr<LDAPMessage, message_freer>;

struct controls_freer {
    void operator()(LDAPControl** ctrls) const noexcept { ldap_controls_free(ctrls); }
};
using controls_ptr = std::unique_ptr<LDAPControl*, controls_freer>;

struct control_freer {
    void operator()(LDAPControl* ctrl) const noexcept { ldap_control_free(ctrl); }
};
using control_ptr = std::unique_ptr<LDAPControl, control_freer>;

struct ldap_memfreer {
    void operator()(char* p) const noexcept { ldap_memfree(p); }
};
using ldap_string_ptr = std::unique_ptr<char, ldap_memfreer>;

struct ber_freer {
    void operator()(BerElement* ber) const noexcept { ber_free(ber, 0); }
};
using ber_ptr = std::unique_ptr<BerElement, ber_freer>;

struct values_freer {
    void operator()(berval** vals) const noexcept { ldap_value_free_len(vals); }
};
using values_ptr = std::unique_ptr<berval*, values_freer>;

struct berval_freer {
    void operator()(berval* bv) const noexcept { ber_bvfree(bv); }
};
using berval_ptr = std::unique_ptr<berval, berval_freer>;

struct string_vector_freer {
    void operator()(char** v) const noexcept { ber_memvfree(reinterpret_cast<void**>(v)); }
};
using string_vector_ptr = std::unique_ptr<char*, string_vector_freer>;

} // namespace sspr::ldap::detail
