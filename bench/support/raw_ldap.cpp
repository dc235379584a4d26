#include "bench/support/raw_ldap.hpp"

#include <stdexcept>

namespace sspr::bench {

berval as_berval(std::string_view s) {
    // libldap copies request values into the BER it sends; it never writes through them.
    return berval{static_cast<ber_len_t>(s.size()), const_cast<char*>(s.data())};
}

void raw_fail(LDAP* ld, int rc, const std::string& what) {
    char* raw_diag = nullptr;
    ldap_get_option(ld, LDAP_OPT_DIAGNOSTIC_MESSAGE, &raw_diag);
    const ldap_string_ptr diag(raw_diag);
    std::string text = "raw_libldap: " + what + ": ldap rc=" + std::to_string(rc) + " (" +
                       ldap_err2string(rc) + ")";
    if (diag && *diag != '\0') {
        text += ": ";
        text += diag.get();
    }
    throw std::runtime_error(text);
}

ldap_ptr open_ldaps(const std::string& uri, const std::string& ca_file) {
    LDAP* raw = nullptr;
    if (const int rc = ldap_initialize(&raw, uri.c_str()); rc != LDAP_SUCCESS) {
        throw std::runtime_error("raw_libldap: bad URI " + uri);
    }
    ldap_ptr ld(raw);
    const int version = LDAP_VERSION3;
    const int require = LDAP_OPT_X_TLS_DEMAND;
    const int min_tls = LDAP_OPT_X_TLS_PROTOCOL_TLS1_2;
    const int new_ctx = 0;
    const timeval net{2, 0};
    ldap_set_option(ld.get(), LDAP_OPT_PROTOCOL_VERSION, &version);
    ldap_set_option(ld.get(), LDAP_OPT_REFERRALS, LDAP_OPT_OFF);
    ldap_set_option(ld.get(), LDAP_OPT_NETWORK_TIMEOUT, &net);
    ldap_set_option(ld.get(), LDAP_OPT_X_TLS_REQUIRE_CERT, &require);
    ldap_set_option(ld.get(), LDAP_OPT_X_TLS_CACERTFILE, ca_file.c_str());
    ldap_set_option(ld.get(), LDAP_OPT_X_TLS_PROTOCOL_MIN, &min_tls);
    if (const int rc = ldap_set_option(ld.get(), LDAP_OPT_X_TLS_NEWCTX, &new_ctx); rc != 0) {
        raw_fail(ld.get(), rc, "TLS context");
    }
    if (const int rc = ldap_connect(ld.get()); rc != LDAP_SUCCESS) {
        int code = LDAP_SERVER_DOWN;
        ldap_get_option(ld.get(), LDAP_OPT_RESULT_CODE, &code);
        raw_fail(ld.get(), code, "connect to " + uri);
    }
    return ld;
}

raw_connection connect_raw(const std::string& uri, const std::string& ca_file,
                           const std::optional<std::string>& bind_dn,
                           std::string_view bind_password) {
    raw_connection c;
    c.ld = open_ldaps(uri, ca_file);
    if (bind_dn) {
        berval cred = as_berval(bind_password);
        if (const int rc = ldap_sasl_bind_s(c.ld.get(), bind_dn->c_str(), LDAP_SASL_SIMPLE, &cred,
                                            nullptr, nullptr, nullptr);
            rc != LDAP_SUCCESS) {
            raw_fail(c.ld.get(), rc, "service bind");
        }
    }
    if (ldap_get_option(c.ld.get(), LDAP_OPT_DESC, &c.fd) != LDAP_OPT_SUCCESS || c.fd < 0 ||
        ldap_get_option(c.ld.get(), LDAP_OPT_SOCKBUF, &c.sb) != LDAP_OPT_SUCCESS ||
        c.sb == nullptr) {
        throw std::runtime_error("raw_libldap: connection has no socket");
    }
    LDAPControl* raw = nullptr;
    if (const int rc = ldap_create_passwordpolicy_control(c.ld.get(), &raw); rc != LDAP_SUCCESS) {
        raw_fail(c.ld.get(), rc, "ppolicy control");
    }
    c.ppolicy.reset(raw);
    return c;
}

bool buffered(const raw_connection& c) {
    return ber_sockbuf_ctrl(c.sb, LBER_SB_OPT_DATA_READY, nullptr) != 0;
}

void expect_success(const raw_connection& c, LDAPMessage* msg, const std::string& what) {
    int rc = LDAP_OTHER;
    char* raw_diag = nullptr;
    LDAPControl** raw_ctrls = nullptr;
    if (const int parsed =
            ldap_parse_result(c.ld.get(), msg, &rc, nullptr, &raw_diag, nullptr, &raw_ctrls, 0);
        parsed != LDAP_SUCCESS) {
        raw_fail(c.ld.get(), parsed, what + " (unparsable answer)");
    }
    const ldap_string_ptr diag(raw_diag);
    const controls_ptr ctrls(raw_ctrls);
    if (rc != LDAP_SUCCESS) {
        throw std::runtime_error("raw_libldap: " + what + ": ldap rc=" + std::to_string(rc) + " (" +
                                 ldap_err2string(rc) + ")" +
                                 (diag ? std::string(": ") + diag.get() : std::string()));
    }
    if (LDAPControl* pp =
            ldap_control_find(LDAP_CONTROL_PASSWORDPOLICYRESPONSE, ctrls.get(), nullptr);
        pp != nullptr) {
        ber_int_t expire = -1;
        ber_int_t grace = -1;
        LDAPPasswordPolicyError error = PP_noError;
        if (ldap_parse_passwordpolicy_control(c.ld.get(), pp, &expire, &grace, &error) !=
                LDAP_SUCCESS ||
            error != PP_noError) {
            throw std::runtime_error("raw_libldap: " + what + ": ppolicy " +
                                     ldap_passwordpolicy_err2txt(error));
        }
    }
}

} // namespace sspr::bench
